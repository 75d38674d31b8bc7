// The iptables and ipset fakes against the rules the kernel enforces, and the same inputs run
// through the real tools (both iptables backends the machine has) in a namespace this test
// creates: the fake must accept and refuse what they do and dump what they save.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hasNetAdmin, run } from './exec.ts';
import { FakeIpset } from './fake-ipset.ts';
import { FakeIptables } from './fake-iptables.ts';
import { ExecIpset } from './ipset.ts';
import { ExecIptables, type IptablesBackend, parseSave } from './iptables.ts';
import { inNetns } from './netns.ts';
import { isRestoreError } from './restore-error.ts';

const sets = [
  'create t4-vips hash:ip,port family inet skbinfo maxelem 1048576',
  'add t4-vips 10.96.0.10,tcp:80 skbmark 0x10000/0xffff0000',
  'create t4-fw hash:ip,port,net family inet',
  'add t4-fw 192.0.2.12,tcp:80,198.51.100.0/24',
  'create t6-vips hash:ip,port family inet6',
].join('\n');

const base = `*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:T-SERVICES - [0:0]
:T-SVC - [0:0]
-A PREROUTING -j T-SERVICES
-A T-SERVICES -m set --match-set t4-vips dst,dst -m mark --mark 0x10000/0xffff0000 -g T-SVC
-A T-SVC -p tcp -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.244.0.5:8080
-A T-SVC -p tcp -j DNAT --to-destination 10.244.1.5:8080
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -m set --match-set t4-vips dst,dst -j SET --map-set t4-vips dst,dst --map-mark
COMMIT
`;

/** Inputs the kernel refuses, each with what it checks. */
const refused: [string, string][] = [
  ['jump to a missing chain', '*nat\n-A PREROUTING -j T-NOPE\nCOMMIT\n'],
  ['DROP in nat', '*nat\n-A OUTPUT -j DROP\nCOMMIT\n'],
  ['--map-set outside mangle', '*nat\n-A OUTPUT -j SET --map-set t4-vips dst,dst --map-mark\nCOMMIT\n'],
  ['a missing set', '*filter\n-A INPUT -m set --match-set t4-none dst -j ACCEPT\nCOMMIT\n'],
  ['a set of the other family', '*filter\n-A INPUT -m set --match-set t6-vips dst,dst -j ACCEPT\nCOMMIT\n'],
  ['deleting a referenced chain', '*nat\n:T-SVC - [0:0]\n-X T-SVC\nCOMMIT\n'],
  ['deleting a chain with rules', '*nat\n-X T-SVC\nCOMMIT\n'],
  ['DNAT with a port and no protocol', '*nat\n-A OUTPUT -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n'],
  ['a chain name over 28 characters', '*nat\n:T-AAAAAAAAAAAAAAAAAAAAAAAAAAAA - [0:0]\nCOMMIT\n'],
  ['deleting a rule that is not there', '*nat\n-D PREROUTING -j T-SVC\nCOMMIT\n'],
];

describe('FakeIptables and FakeIpset', () => {
  const setup = () => {
    const ipset = new FakeIpset();
    ipset.restoreSync(sets);
    const ipt = new FakeIptables(ipset);
    ipt.restoreSync('IPv4', base);
    return { ipset, ipt };
  };

  for (const [what, text] of refused) {
    it(`refuses ${what} and changes nothing`, () => {
      const { ipt } = setup();
      const before = ipt.dump('IPv4');
      assert.throws(() => ipt.restoreSync('IPv4', text, { noflush: true }), isRestoreError);
      assert.equal(ipt.dump('IPv4'), before);
    });
  }

  it('--noflush flushes only declared chains and keeps rules others installed', () => {
    const { ipt } = setup();
    ipt.restoreSync('IPv4', '*nat\n:OTHER - [0:0]\n-A OUTPUT -j OTHER\nCOMMIT\n', { noflush: true });
    ipt.restoreSync(
      'IPv4',
      '*nat\n:T-SVC - [0:0]\n-A T-SVC -p tcp -j DNAT --to-destination 10.244.0.9:8080\nCOMMIT\n',
      {
        noflush: true,
      },
    );
    assert.deepEqual(ipt.chain('IPv4', 'nat', 'T-SVC'), ['-p tcp -j DNAT --to-destination 10.244.0.9:8080']);
    assert.deepEqual(ipt.chain('IPv4', 'nat', 'OUTPUT'), ['-j OTHER']);
    assert.deepEqual(ipt.chain('IPv4', 'nat', 'PREROUTING'), ['-j T-SERVICES']);
    // Without --noflush the table is replaced whole.
    ipt.restoreSync('IPv4', '*nat\nCOMMIT\n');
    assert.deepEqual(ipt.chains('IPv4', 'nat'), ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']);
  });

  it('a failing table leaves earlier tables of the input unapplied (input) or applied (table, legacy)', () => {
    for (const mode of ['input', 'table'] as const) {
      const ipset = new FakeIpset();
      ipset.restoreSync(sets);
      const ipt = new FakeIptables(ipset, mode);
      const text = '*filter\n:X - [0:0]\nCOMMIT\n*nat\n-A OUTPUT -j DROP\nCOMMIT\n';
      assert.throws(() => ipt.restoreSync('IPv4', text, { noflush: true }), isRestoreError);
      assert.equal(ipt.chains('IPv4', 'filter').includes('X'), mode === 'table');
    }
  });

  it('ipset: destroy refused while referenced, swap only within a type, restore stops at the first error', () => {
    const { ipset, ipt } = setup();
    assert.throws(() => ipset.restoreSync('destroy t4-vips'), isRestoreError);
    assert.throws(() => ipset.restoreSync('swap t4-vips t4-fw'), isRestoreError);
    assert.throws(
      () => ipset.restoreSync('add t4-fw 192.0.2.13,tcp:80,10.0.0.0/8\nadd t4-fw 192.0.2.13,tcp:80,10.0.0.0/8'),
      (e) => isRestoreError(e, 'ipset') && e.line === 2,
    );
    assert.ok(ipset.match('t4-fw', ['192.0.2.13', 'tcp:80', '10.1.2.3']) !== undefined);
    ipset.restoreSync('add t4-vips 10.96.0.10,tcp:80 skbmark 0x20000/0xffff0000', { exist: true });
    assert.equal(ipset.match('t4-vips', ['10.96.0.10', 'tcp:80']), 'skbmark 0x20000/0xffff0000');
    ipt.restoreSync('IPv4', '*mangle\nCOMMIT\n');
    ipset.restoreSync(
      'create t4-tmp hash:ip,port family inet skbinfo maxelem 1048576\nswap t4-tmp t4-vips\ndestroy t4-tmp',
    );
    assert.equal(ipset.sets.get('t4-vips')?.elements.size, 0);
  });

  it('dump and load round-trip', () => {
    const { ipset, ipt } = setup();
    const again = new FakeIptables(ipset);
    again.load('IPv4', ipt.dump('IPv4'));
    assert.equal(again.dump('IPv4'), ipt.dump('IPv4'));
    const s2 = new FakeIpset();
    s2.load(ipset.dump());
    assert.equal(s2.dump(), ipset.dump());
  });
});

const skip = hasNetAdmin() ? false : 'needs root (CAP_NET_ADMIN) to create network namespaces';

async function has(program: string): Promise<boolean> {
  return run(['sh', '-c', `command -v ${program}`]).then(
    () => true,
    () => false,
  );
}

for (const backend of ['nft', 'legacy'] as IptablesBackend[]) {
  describe(`the fakes agree with iptables-${backend} and ipset`, { skip, concurrency: false }, () => {
    const ns = `fk${backend}${process.pid % 100000}`;
    let available = true;
    before(async () => {
      available = await has(`iptables-${backend}-restore`);
      if (available) await run(['ip', 'netns', 'add', ns]);
    });
    after(async () => {
      if (available) await run(['ip', 'netns', 'delete', ns]).catch(() => {});
    });

    it('accepts and refuses the same inputs, and saves what the fake dumps', async (t) => {
      if (!available) {
        t.skip(`iptables-${backend} is not installed`);
        return;
      }
      const real = new ExecIptables(ns, backend);
      const realSets = new ExecIpset(ns);
      await realSets.restore(sets);
      await real.restore('IPv4', base);
      const { ipt } = (() => {
        const ipset = new FakeIpset();
        ipset.restoreSync(sets);
        const f = new FakeIptables(ipset);
        f.restoreSync('IPv4', base);
        return { ipt: f };
      })();
      for (const [what, text] of refused) {
        const r = await real.restore('IPv4', text, { noflush: true }).then(
          () => 'ok',
          (e) => (isRestoreError(e, 'iptables') ? 'refused' : String(e)),
        );
        assert.equal(r, 'refused', `the kernel accepted ${what}`);
      }
      const nat = (s: string) => [...(parseSave(s).get('nat') ?? new Map())].map(([c, v]) => [c, v.rules]).sort();
      assert.deepEqual(nat(await real.save('IPv4', 'nat')), nat(ipt.dump('IPv4', 'nat')));
      await assert.rejects(realSets.restore('destroy t4-vips'), (e) => isRestoreError(e, 'ipset'));
      await assert.rejects(realSets.restore('swap t4-vips t4-fw'), (e) => isRestoreError(e, 'ipset'));
      const saved = await realSets.save('t4-fw');
      assert.match(saved, /^add t4-fw 192\.0\.2\.12,tcp:80,198\.51\.100\.0\/24$/m);
      await real.restore('IPv4', '*nat\nCOMMIT\n*mangle\nCOMMIT\n');
      await run(inNetns(ns, ['ipset', 'destroy']));
    });
  });
}
