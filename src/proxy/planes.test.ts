// The plane table: every mode creates a plane whose metrics land in the registry it is given
// (the agent's /metrics), and every mode's cleanup removes what it programs in a namespace.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startNodeAgent } from '../cli/agent.ts';
import { createInProcessCluster, type InProcessCluster } from '../client/cluster.ts';
import { hasNetAdmin, run } from '../kernel/exec.ts';
import { inNetns } from '../kernel/netns.ts';
import { Registry } from './metrics.ts';
import { planeModes, planes } from './planes.ts';
import { syncChanges } from './snapshot.ts';
import { snapshotOf, svcPort } from './testing/fixtures.ts';
import { NetnsVipBinder } from './userspace/netns-vip-binder.ts';

const log = () => {};

describe('plane table', () => {
  for (const mode of planeModes) {
    it(`${mode}: the plane's metrics are registered in the registry it is given`, async () => {
      const metrics = new Registry();
      const plane = planes[mode].create({ serviceCIDRs: ['10.96.0.0/16'], masqueradeAll: false, metrics, log });
      const text = metrics.render();
      for (const name of planes[mode].metrics) assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
      await plane.stop();
    });
    it(`${mode}: the plane implements svcnet explain (explain/types.ts)`, async () => {
      const plane = planes[mode].create({
        serviceCIDRs: ['10.96.0.0/16'],
        masqueradeAll: false,
        metrics: new Registry(),
        log,
      });
      assert.equal(typeof plane.explainer?.explain, 'function');
      assert.equal(typeof plane.explainer?.landing, 'function');
      await plane.stop();
    });
  }

  describe('the agent serves the plane metrics on /metrics (userspace)', () => {
    let cluster: InProcessCluster;
    before(async () => {
      cluster = await createInProcessCluster();
    });
    after(async () => {
      await cluster?.close();
    });
    it('svcnet_userspace_* next to the kube-proxy set', async () => {
      const node = await startNodeAgent({
        client: cluster.client,
        nodeName: 'n1',
        nodeIPs: ['127.0.0.1'],
        mode: 'userspace',
        healthz: { host: '127.0.0.1', port: 0 },
      });
      try {
        const port = node.agent.healthzAddress?.port ?? 0;
        const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        assert.match(body, /^svcnet_userspace_connections_total /m);
        assert.match(body, /^kubeproxy_sync_proxy_rules_duration_seconds_count /m);
      } finally {
        await node.stop();
      }
    });
  });

  describe('cleanup removes what each plane programs', { skip: hasNetAdmin() ? false : 'needs root' }, () => {
    const ns = `svpl${process.pid % 100000}`;
    before(async () => {
      await run(['ip', 'netns', 'add', ns]);
      await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    });
    after(async () => {
      await run(['ip', 'netns', 'delete', ns]).catch(() => {});
    });
    it('nftables: its tables go, another table stays', async () => {
      await run(inNetns(ns, ['nft', 'add table ip other']));
      const plane = planes.nftables.create({
        netns: ns,
        serviceCIDRs: ['10.96.0.0/16'],
        masqueradeAll: false,
        metrics: new Registry(),
        log,
      });
      await plane.sync(
        snapshotOf([[svcPort('d', 'a', { clusterIPs: ['10.96.0.1'] }), []]]),
        syncChanges({ full: true }),
      );
      await plane.stop();
      assert.match((await run(inNetns(ns, ['nft', 'list', 'tables']))).stdout, /svcnet/);
      await planes.nftables.cleanup({ netns: ns, serviceCIDRs: ['10.96.0.0/16'] });
      const left = (await run(inNetns(ns, ['nft', 'list', 'tables']))).stdout;
      assert.doesNotMatch(left, /svcnet/);
      assert.match(left, /table ip other/);
      await planes.nftables.cleanup({ netns: ns, serviceCIDRs: ['10.96.0.0/16'] });
    });
    it("iptables: its chains, jumps and sets go, another program's stay", async () => {
      await run(inNetns(ns, ['iptables', '-t', 'nat', '-N', 'OTHER']));
      await run(inNetns(ns, ['iptables', '-t', 'nat', '-A', 'PREROUTING', '-j', 'OTHER']));
      const plane = planes.iptables.create({
        netns: ns,
        serviceCIDRs: ['10.96.0.0/16'],
        masqueradeAll: false,
        metrics: new Registry(),
        log,
      });
      await plane.sync(
        snapshotOf([[svcPort('d', 'a', { clusterIPs: ['10.96.0.1'] }), []]]),
        syncChanges({ full: true }),
      );
      await plane.stop();
      assert.match((await run(inNetns(ns, ['iptables-save']))).stdout, /SVCNET-SERVICES/);
      await planes.iptables.cleanup({ netns: ns, serviceCIDRs: ['10.96.0.0/16'] });
      const left =
        (await run(inNetns(ns, ['iptables-save']))).stdout + (await run(inNetns(ns, ['ip6tables-save']))).stdout;
      assert.doesNotMatch(left, /SVCNET/);
      assert.match(left, /-A PREROUTING -j OTHER/);
      assert.equal((await run(inNetns(ns, ['ipset', 'list', '-n']))).stdout.trim(), '');
      await planes.iptables.cleanup({ netns: ns, serviceCIDRs: ['10.96.0.0/16'] });
    });
    it('userspace: VIPs a crashed agent left on lo go, other addresses stay', async () => {
      const binder = new NetnsVipBinder(ns);
      await binder.add('10.96.0.7');
      await binder.add('192.0.2.1');
      await planes.userspace.cleanup({ netns: ns, serviceCIDRs: ['10.96.0.0/16'] });
      assert.deepEqual(await binder.list(), ['192.0.2.1']);
    });
  });
});
