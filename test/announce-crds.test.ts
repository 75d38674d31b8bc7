// MetalLB's announcement kinds through real kubectl: served under metallb.io as MetalLB's CRDs are,
// with MetalLB's validation answering as a Kubernetes Status with field paths.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';

const manifests = `
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: communities, namespace: default}
spec:
  communities:
  - {name: no-advertise, value: "65535:65282"}
---
apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: fast, namespace: default}
spec: {receiveInterval: 100, transmitInterval: 100, detectMultiplier: 3}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: router, namespace: default}
spec: {myASN: 64512, peerASN: 64500, peerAddress: 192.0.2.1, bfdProfile: fast, holdTime: 9s}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: adv, namespace: default}
spec: {communities: [no-advertise], localPref: 100, aggregationLength: 32}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l2, namespace: default}
spec: {interfaces: [eth0]}
`;

describe('MetalLB announcement kinds via kubectl', () => {
  let s: TestApiServer;
  before(async () => {
    s = await startTestApiServer();
  });
  after(async () => {
    await s.close();
  });

  it('lists them in api-resources and applies MetalLB manifests unchanged', async () => {
    const res = await s.kc(['api-resources', '--api-group', 'metallb.io', '-o', 'name']);
    for (const r of [
      'bfdprofiles',
      'bgpadvertisements',
      'bgppeers',
      'communities',
      'ipaddresspools',
      'l2advertisements',
    ])
      assert.match(res, new RegExp(`^${r}\\.metallb\\.io$`, 'm'));
    const out = await s.kc(['apply', '-f', '-'], manifests);
    assert.match(out, /community.metallb.io\/communities created/);
    assert.match(out, /bfdprofile.metallb.io\/fast created/);
    const got = JSON.parse(await s.kc(['get', 'bfdprofile', 'fast', '-o', 'json'])) as { spec: unknown };
    assert.deepEqual(got.spec, { receiveInterval: 100, transmitInterval: 100, detectMultiplier: 3 });
  });

  it('refuses what MetalLB refuses, naming the field', async () => {
    const bad = `
apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: slow, namespace: default}
spec: {detectMultiplier: 1}
---
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: c2, namespace: default}
spec: {communities: [{name: x, value: "70000:1"}]}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r2, namespace: default}
spec: {myASN: 64512, peerASN: 64500, peerAddress: 192.0.2.1, holdTime: 1s}
`;
    const r = await s.kubectl(['apply', '-f', '-'], bad);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /BFDProfile\.metallb\.io "slow" is invalid: spec\.detectMultiplier: Invalid value: 1/);
    assert.match(
      r.stderr,
      /Community\.metallb\.io "c2" is invalid: spec\.communities\[0\]\.value: Invalid value: "70000:1"/,
    );
    assert.match(
      r.stderr,
      /BGPPeer\.metallb\.io "r2" is invalid: spec\.holdTime: Invalid value: "1s": must be 0 or at least 3s/,
    );
  });
});
