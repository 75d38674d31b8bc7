import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Container } from 'kubernetes-types/core/v1.js';
import type { Pod } from '../api/types.ts';
import { capabilitySet, containerIdentity, defaultCapabilities, passwdPrimaryGid } from './security-context.ts';

const passwd =
  'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nweb:x:1000:1001::/home/web:/bin/sh\n';
const pod = (spec: Pod['spec'] = { containers: [] }): Pod => ({
  metadata: { name: 'p', namespace: 'ns', uid: 'u-1' },
  spec,
});
const c = (securityContext?: Container['securityContext']): Container => ({
  name: 'main',
  image: 'busybox',
  ...(securityContext ? { securityContext } : {}),
});
const id = (p: Pod, ctr: Container) => containerIdentity(p, ctr, () => passwd);

describe('containerIdentity', () => {
  it('is the lab image user, 65534:65534, without a securityContext', () => {
    assert.deepEqual(id(pod(), c()), {
      uid: 65534,
      gid: 65534,
      groups: [],
      capabilities: [...defaultCapabilities],
      noNewPrivileges: false,
    });
  });

  it('takes the container field over the pod field, each on its own', () => {
    const p = pod({
      containers: [],
      securityContext: { runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000], fsGroup: 5000 },
    });
    const r = id(p, c({ runAsUser: 2000 }));
    assert.ok(!('reason' in r));
    assert.deepEqual([r.uid, r.gid, r.groups], [2000, 3000, [4000, 5000]]);
  });

  it('runAsUser without runAsGroup: the primary group from /etc/passwd, else 0 (containerd)', () => {
    const g = (u: number) => {
      const r = id(pod(), c({ runAsUser: u }));
      return 'reason' in r ? r.reason : r.gid;
    };
    assert.equal(g(1000), 1001);
    assert.equal(g(4242), 0);
    assert.equal(g(0), 0);
  });

  it('runAsNonRoot with uid 0 (pod or container) is refused with the kubelet message; a default user passes', () => {
    const msg = `container's runAsUser breaks non-root policy (pod: "p_ns(u-1)", container: main)`;
    assert.deepEqual(id(pod({ containers: [], securityContext: { runAsNonRoot: true } }), c({ runAsUser: 0 })), {
      reason: 'CreateContainerConfigError',
      message: msg,
    });
    assert.deepEqual(id(pod({ containers: [], securityContext: { runAsUser: 0 } }), c({ runAsNonRoot: true })), {
      reason: 'CreateContainerConfigError',
      message: msg,
    });
    const ok = id(pod({ containers: [], securityContext: { runAsNonRoot: true } }), c());
    assert.ok(!('reason' in ok) && ok.uid === 65534);
    const overridden = id(
      pod({ containers: [], securityContext: { runAsNonRoot: true } }),
      c({ runAsNonRoot: false, runAsUser: 0 }),
    );
    assert.ok(!('reason' in overridden) && overridden.uid === 0);
  });

  it('allowPrivilegeEscalation: false sets no_new_privs', () => {
    const r = id(pod(), c({ allowPrivilegeEscalation: false }));
    assert.ok(!('reason' in r) && r.noNewPrivileges);
  });
});

describe('capabilitySet', () => {
  it("containerd's defaults, with add and drop (CAP_ prefix and case ignored), ALL, privileged", () => {
    assert.deepEqual(capabilitySet(undefined, false), [...defaultCapabilities]);
    const s = capabilitySet({ add: ['cap_net_admin'], drop: ['NET_RAW', 'kill'] }, false);
    assert.ok(Array.isArray(s) && s.includes('NET_ADMIN') && !s.includes('NET_RAW') && !s.includes('KILL'));
    assert.deepEqual(capabilitySet({ drop: ['ALL'], add: ['NET_BIND_SERVICE'] }, false), ['NET_BIND_SERVICE']);
    assert.deepEqual(capabilitySet({ drop: ['ALL'] }, false), []);
    assert.equal(capabilitySet({ add: ['ALL'] }, false), 'all');
    assert.equal(capabilitySet({ drop: ['ALL'] }, true), 'all');
  });
});

describe('passwdPrimaryGid', () => {
  it('finds the uid column, ignores malformed lines', () => {
    assert.equal(passwdPrimaryGid(passwd, 65534), 65534);
    assert.equal(passwdPrimaryGid('bad\nx:x:7:z\n', 7), undefined);
    assert.equal(passwdPrimaryGid(passwd, 1), undefined);
  });
});
