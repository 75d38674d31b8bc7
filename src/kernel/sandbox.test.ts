import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { sandboxArgv, sandboxScript, shQuote } from './sandbox.ts';

const spec = {
  uid: 1000,
  gid: 3000,
  groups: [4000],
  capabilities: ['CHOWN', 'NET_RAW'],
  volumeRoots: ['/var/run/secrets'],
  volumes: [{ source: "/data/it's", target: '/var/run/secrets/kubernetes.io/serviceaccount' }],
  hide: ['/data'],
  workingDir: '/',
};

describe('sandbox script', () => {
  it('mounts volumes before hiding their source, then drops to the user with the bounding set', () => {
    const s = sandboxScript(spec);
    const at = (needle: string) => {
      const i = s.indexOf(needle);
      assert.ok(i >= 0, needle);
      return i;
    };
    assert.ok(at('svcnet-volumes') < at('mount --bind -o ro') && at('mount --bind -o ro') < at('svcnet-hidden'));
    assert.match(
      s,
      /exec setpriv --reuid=1000 --regid=3000 --groups=4000 --bounding-set=-all,\+chown,\+net_raw --inh-caps=-all -- "\$@"$/,
    );
    assert.match(s, /then exec unshare --pid --fork --kill-child --mount-proc setpriv .* -- tini -g -- "\$@"; fi\n/);
    assert.match(
      sandboxScript({ ...spec, groups: [], capabilities: 'all', noNewPrivileges: true }),
      /--clear-groups --no-new-privs --/,
    );
  });

  it('quotes paths for sh (checked by sh itself)', () => {
    assert.equal(execFileSync('sh', ['-c', `printf %s ${shQuote("a 'b' $c")}`], { encoding: 'utf8' }), "a 'b' $c");
    const argv = sandboxArgv(spec, ['id', '-u']);
    assert.deepEqual(argv.slice(0, 2), ['sh', '-c']);
    assert.deepEqual(argv.slice(3), ['svcnet-sandbox', 'id', '-u']);
    execFileSync('sh', ['-n', '-c', argv[2] ?? '']);
  });
});
