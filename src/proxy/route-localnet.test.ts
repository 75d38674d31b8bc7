// route_localnet goes back to the value the plane found, after cleanup and after a crash, in a
// network namespace this test creates.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasNetAdmin, run } from '../kernel/exec.ts';
import { cleanupNftables, createNftablesPlane } from './nftables/plane.ts';
import { RouteLocalnet } from './route-localnet.ts';
import { syncChanges } from './snapshot.ts';
import { snapshotOf, svcPort } from './testing/fixtures.ts';

const skip = hasNetAdmin() ? false : 'needs root (CAP_NET_ADMIN) to create network namespaces';
const ns = `rln${process.pid % 100000}`;

const value = async () =>
  (await run(['ip', 'netns', 'exec', ns, 'sysctl', '-n', 'net.ipv4.conf.all.route_localnet'])).stdout.trim();
const setValue = (v: string) =>
  run(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', `net.ipv4.conf.all.route_localnet=${v}`]);

describe('route_localnet is restored', { skip, concurrency: false }, () => {
  let stateDir: string;
  before(async () => {
    await run(['ip', 'netns', 'delete', ns]).catch(() => {});
    await run(['ip', 'netns', 'add', ns]);
    stateDir = await mkdtemp(join(tmpdir(), 'svcnet-rln-'));
  });
  after(async () => {
    await run(['ip', 'netns', 'delete', ns]).catch(() => {});
    await rm(stateDir, { recursive: true, force: true });
  });

  const node = { name: 'n', zone: '', ips: ['10.0.0.10'], podCIDRs: [] };
  const snap = (localhostNodePorts: boolean) =>
    snapshotOf([[svcPort('default', 'np', { clusterIPs: ['10.96.0.5'], nodePort: 30005, type: 'NodePort' }), []]], {
      node,
      nodePortIPs: ['10.0.0.10'],
      localhostNodePorts,
    });

  for (const found of ['0', '1']) {
    it(`plane cleanup writes back ${found}`, async () => {
      await setValue(found);
      const plane = createNftablesPlane({ netns: ns, serviceCIDRs: ['10.96.0.0/16'], families: ['ip'], stateDir });
      await plane.sync(snap(true), syncChanges({ full: true }));
      assert.equal(await value(), '1');
      await plane.cleanup();
      await plane.stop();
      assert.equal(await value(), found);
    });
  }

  it('after a crash, `svcnet cleanup` writes back what the crashed run found', async () => {
    await setValue('0');
    await new RouteLocalnet(ns, run, stateDir).enable();
    // kill -9 here: nothing ran but the sysctl write. A restarted plane that sets it again keeps
    // the first record (not its own 1).
    await new RouteLocalnet(ns, run, stateDir).enable();
    assert.equal(await value(), '1');
    await cleanupNftables(ns, run, stateDir);
    assert.equal(await value(), '0');
  });

  it('after a crash, the next start that needs no localhost NodePorts writes it back', async () => {
    await setValue('0');
    await new RouteLocalnet(ns, run, stateDir).enable();
    const plane = createNftablesPlane({ netns: ns, serviceCIDRs: ['10.96.0.0/16'], families: ['ip'], stateDir });
    await plane.sync(snap(false), syncChanges({ full: true }));
    assert.equal(await value(), '0');
    await plane.cleanup();
    await plane.stop();
  });
});
