// What the renderer writes is what the kernel saves back (so a full sync recognises its own
// jumps and dispatch tree, and explain walks the real rules): the fixture is programmed in a
// namespace this test creates, through each iptables backend, next to another program's rules;
// iptables-save and ipset save must equal the fakes' dumps, and explain must agree with the
// tracer on the fakes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { IPFamily } from '../../api/ip.ts';
import { hasNetAdmin, run } from '../../kernel/exec.ts';
import { FakeIpset } from '../../kernel/fake-ipset.ts';
import { FakeIptables } from '../../kernel/fake-iptables.ts';
import { parseSave } from '../../kernel/iptables.ts';
import { inNetns } from '../../kernel/netns.ts';
import { cases } from '../conformance/cases.ts';
import { fixtureSnapshot } from '../conformance/fixture.ts';
import { syncChanges } from '../snapshot.ts';
import { IptablesApplier } from './applier.ts';
import { createIptablesPlane, type IptablesPlane } from './plane.ts';
import { IptablesRenderer } from './render.ts';
import { IptablesTracer } from './trace.ts';

const families: IPFamily[] = ['IPv4', 'IPv6'];
const serviceCIDRs = ['10.96.0.0/16', 'fd96::/112'];

function installed(program: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

for (const backend of ['nft', 'legacy'] as const) {
  const skip = !hasNetAdmin()
    ? 'needs root (CAP_NET_ADMIN) to create network namespaces'
    : installed(`iptables-${backend}-restore`)
      ? false
      : `iptables-${backend} is not installed`;
  describe(`iptables plane read back through iptables-${backend}`, { skip, concurrency: false }, () => {
    const ns = `ir${backend[0]}${process.pid % 100000}`;
    let plane: IptablesPlane;
    const snap = fixtureSnapshot();
    before(async () => {
      await run(['ip', 'netns', 'add', ns]);
      await run(inNetns(ns, [`iptables-${backend}`, '-t', 'nat', '-N', 'OTHER']));
      await run(inNetns(ns, [`iptables-${backend}`, '-t', 'nat', '-A', 'PREROUTING', '-p', 'tcp', '-j', 'OTHER']));
      plane = createIptablesPlane({ netns: ns, serviceCIDRs, families, backend, stateDir: `/tmp/${ns}-state` });
      await plane.sync(snap, syncChanges({ full: true }));
    });
    after(async () => {
      await plane?.stop();
      await run(['ip', 'netns', 'delete', ns]).catch(() => {});
    });

    it('iptables-save and ipset save print exactly what the fakes dump', async () => {
      const ipset = new FakeIpset();
      const ipt = new FakeIptables(ipset);
      const fake = new IptablesApplier(ipt, ipset);
      const r = new IptablesRenderer({ families, serviceCIDRs, masqueradeAll: false });
      r.update(snap);
      for (const [f, p] of r.renderFull()) await fake.apply(f, p);
      for (const f of families) {
        const real = parseSave(await plane.applier.iptables.save(f));
        for (const [t, chains] of parseSave(ipt.dump(f))) {
          for (const [c, v] of chains) {
            const rules = real.get(t)?.get(c)?.rules ?? [];
            // Built-in chains also hold the other program's jump, after svcnet's.
            assert.deepEqual(
              rules.filter((x) => x !== '-p tcp -j OTHER'),
              v.rules,
              `${f} ${t} ${c}`,
            );
          }
        }
      }
      const adds = (s: string) =>
        s
          .split('\n')
          .filter((l) => l.startsWith('add '))
          .sort();
      assert.deepEqual(adds(await plane.applier.ipset.save()), adds(ipset.dump()));
      // A second full sync finds its jumps and adds none.
      await plane.sync(snap, syncChanges({ full: true }));
      const nat = parseSave(await plane.applier.iptables.save('IPv4')).get('nat');
      assert.deepEqual(nat?.get('PREROUTING')?.rules, ['-j SVCNET-SERVICES', '-p tcp -j OTHER']);
    });

    it('explain walks the programmed rules to the same verdicts as the tracer on the fakes', async () => {
      const ipset = new FakeIpset();
      const ipt = new FakeIptables(ipset);
      const r = new IptablesRenderer({ families, serviceCIDRs, masqueradeAll: false });
      r.update(snap);
      const fake = new IptablesApplier(ipt, ipset);
      for (const [f, p] of r.renderFull()) await fake.apply(f, p);
      const tracer = new IptablesTracer(ipt, ipset, { localAddresses: snap.node.ips });
      for (const c of cases) {
        const want = tracer.trace(c);
        const got = await plane.explainer.explain(c, snap);
        assert.equal(got.verdict.kind, want.kind, c.name);
        if (want.kind === 'endpoints' && got.verdict.kind === 'endpoints')
          assert.deepEqual([...got.verdict.endpoints].sort(), [...want.endpoints].sort(), c.name);
        // A refusal by a rule names it; a local address nothing listens on refuses without one.
        if ((want.kind === 'REJECT' || want.kind === 'DROP') && want.path.at(-1) !== 'no local socket')
          assert.ok(got.rule, `${c.name}: a deciding rule`);
      }
    });
  });
}
