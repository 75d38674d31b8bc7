// `svcnet up`: the whole cluster network on one machine. One process tree:
//   API server (SQLite in the data directory) + controllers (in-process client)
//   lab node: pod runner + scheduler; pods are processes in their own network namespaces (root)
//             or on 127.x addresses (rootless)
//   node agent: the data plane and node-local cluster DNS. As root it runs inside the lab's node
//             namespace (`ip netns exec`) and talks HTTPS to the API server over the lab link,
//             like a real node; rootless it runs in-process with the userspace plane.
// Everything kernel-side lives in the lab node namespace and is removed on exit (DESIGN.md).
import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { bigIntToBytes, bytesToBigInt, formatIP, parseCIDRSloppy } from '../api/ip.ts';
import { isAlreadyExists, isNotFound } from '../api/status.ts';
import type { KubeObject } from '../api/types.ts';
import { writeKubeconfig } from '../apiserver/kubeconfig.ts';
import type { Client } from '../client/client.ts';
import { InProcessClient } from '../client/in-process.ts';
import { hasNetAdmin } from '../kernel/exec.ts';
import { inNetns } from '../kernel/netns.ts';
import { LabKubelet } from '../lab/kubelet-connection.ts';
import { PodRunner } from '../lab/pod-runner.ts';
import { LabScheduler } from '../lab/scheduler.ts';
import { LabTopology } from '../lab/topology.ts';
import { isPlaneMode, planeModes, planes } from '../proxy/planes.ts';
import { startNodeAgent } from './agent.ts';
import { type ApiServerFlags, addApiServerFlags, runApiServer } from './apiserver.ts';
import { startControllers } from './controller.ts';
import { progress } from './progress.ts';
import { CliError, untilSignal } from './util.ts';

export interface UpFlags extends ApiServerFlags {
  mode: string;
  nodeName: string;
}

const bin = resolve(import.meta.dirname, '..', '..', 'bin', 'svcnet');

/** The n-th address of a CIDR (kube-dns conventionally takes the 10th). */
export function nthAddress(cidr: string, n: number): string {
  const c = parseCIDRSloppy(cidr);
  if (!c) throw new CliError(`invalid CIDR ${JSON.stringify(cidr)}`);
  return formatIP(bigIntToBytes(bytesToBigInt(c.network) + BigInt(n)));
}

/** Creates obj unless it exists (a get first: a create would allocate, and fail, before the name check). */
async function ensure(client: Client, resource: string, obj: KubeObject): Promise<void> {
  try {
    await client.get(resource, obj.metadata.namespace ?? '', obj.metadata.name ?? '');
    return;
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  try {
    await client.create(resource, obj);
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}

/** kube-system/kube-dns: ClusterIP = the 10th service address, endpoints = where DNS listens. */
async function ensureKubeDns(client: Client, clusterIP: string, dnsAddress: string, dnsPort: number): Promise<void> {
  const ns = 'kube-system';
  const labels = { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' };
  const ports = [
    { name: 'dns', port: 53, protocol: 'UDP', targetPort: dnsPort },
    { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: dnsPort },
  ];
  await ensure(client, 'services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kube-dns', namespace: ns, labels },
    spec: { clusterIP, ports },
  });
  // No selector: the endpoints are written here, as for any Service fronting something outside pods.
  const slice: KubeObject = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kube-dns-svcnet',
      namespace: ns,
      labels: { 'kubernetes.io/service-name': 'kube-dns', 'endpointslice.kubernetes.io/managed-by': 'svcnet-up' },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [dnsAddress], conditions: { ready: true, serving: true, terminating: false } }],
    ports: ports.map((p) => ({ name: p.name, port: dnsPort, protocol: p.protocol })),
  };
  try {
    const cur = await client.get('endpointslices', ns, 'kube-dns-svcnet');
    await client.update('endpointslices', {
      ...slice,
      metadata: { ...slice.metadata, resourceVersion: cur.metadata.resourceVersion },
    });
  } catch {
    await ensure(client, 'endpointslices', slice);
  }
}

function spawnNodeAgent(args: string[], netns: string): ChildProcess {
  const [cmd = 'ip', ...argv] = inNetns(netns, [bin, 'agent', ...args]);
  const child = spawn(cmd, argv, {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return child;
}

export async function runUp(flags: UpFlags): Promise<void> {
  const root = hasNetAdmin();
  const mode = flags.mode === 'auto' ? (root ? 'nftables' : 'userspace') : flags.mode;
  if (!isPlaneMode(mode)) {
    throw new CliError(`--mode must be auto or one of ${planeModes.join(', ')}, not ${flags.mode}`);
  }
  if (!root && planes[mode].needsRoot)
    throw new CliError(`--mode ${mode} needs root (CAP_NET_ADMIN); use --mode userspace`);
  const dataDir = resolve(flags.dataDir);
  const serviceCIDRs = flags.serviceClusterIpRange.split(',').map((s) => s.trim());
  const dnsIP = nthAddress(serviceCIDRs[0] ?? '10.96.0.0/12', 10);
  const steps = progress();
  const topology = new LabTopology({ dataDir, mode: root ? 'netns' : 'rootless' });
  steps.step(root ? 'svcnet: building the lab node namespace' : 'svcnet: preparing the rootless lab');
  await topology.start();
  steps.done();
  const stack: (() => Promise<void>)[] = [() => topology.stop()];
  const shutdown = async () => {
    for (const f of stack.reverse())
      await f().catch((e: unknown) => console.error(`svcnet: during shutdown: ${String(e)}`));
  };
  try {
    steps.step('svcnet: starting the API server');
    const api = await runApiServer(
      flags,
      root ? { extraHosts: [topology.parentIP ?? ''] } : { allowLoopbackEndpoints: true },
    );
    stack.push(() => api.close());
    steps.done(api.url);
    steps.step('svcnet: starting the controllers, pod runner and scheduler');
    const client = new InProcessClient(api.server.registry);
    const controllers = startControllers(client, { workloads: true });
    stack.push(() => controllers.stop());
    await controllers.synced();

    const runner = new PodRunner({ client, topology, nodeName: flags.nodeName, dataDir, dnsIP });
    await runner.start();
    stack.push(() => runner.stop());
    // kubectl logs / exec / port-forward reach the pods through this node's runner.
    api.server.kubelet = new LabKubelet(() => [runner]);
    const scheduler = new LabScheduler(client);
    await scheduler.start();
    stack.push(async () => scheduler.stop());
    steps.done();

    if (root) {
      const netns = topology.nodeNetns ?? '';
      const gateway = topology.ipam.gateway();
      const nodeKubeconfig = join(dataDir, 'node-kubeconfig');
      const port = new URL(api.url).port;
      writeKubeconfig(nodeKubeconfig, {
        server: `https://${topology.parentIP}:${port}`,
        token: api.token,
        caPem: api.tls.ca,
        tlsServerName: 'localhost',
      });
      await ensureKubeDns(client, dnsIP, gateway, 53);
      const child = spawnNodeAgent(
        [
          '--kubeconfig',
          nodeKubeconfig,
          '--node-name',
          flags.nodeName,
          '--node-ip',
          topology.nodeIP,
          '--mode',
          mode,
          '--netns',
          netns,
          '--service-cidrs',
          serviceCIDRs.join(','),
          '--healthz',
          `${topology.nodeIP}:10256`,
          '--dns-listen',
          `${gateway}:53`,
        ],
        netns,
      );
      stack.push(
        () =>
          new Promise<void>((res) => {
            if (child.exitCode !== null) return res();
            child.once('exit', () => res());
            child.kill('SIGTERM');
          }),
      );
    } else {
      const running = await startNodeAgent({
        client,
        nodeName: flags.nodeName,
        nodeIPs: [topology.nodeIP],
        mode: 'userspace',
        healthz: { host: '127.0.0.1', port: 0 },
        dnsListen: [{ host: '127.0.0.1', port: 0 }],
      });
      stack.push(() => running.stop());
      const dnsPort = running.dns?.addresses[0]?.port ?? 0;
      await ensureKubeDns(client, dnsIP, '127.0.0.1', dnsPort);
      console.log(
        `svcnet: cluster DNS on 127.0.0.1:${dnsPort} (rootless: VIPs are loopback aliases, see the agent's mapping)`,
      );
    }
    console.log(`svcnet: mode ${mode}${root ? `, lab node namespace ${topology.nodeNetns}` : ', rootless'}`);
    console.log(`svcnet: ready. Try:`);
    console.log(`  export KUBECONFIG=${api.kubeconfig}`);
    console.log(`  kubectl apply -f examples/ && kubectl get svc`);
    console.log(`  svcnet exec <pod> -- curl -s http://my-service/hostname`);
  } catch (e) {
    await shutdown();
    throw e;
  }
  const sig = await untilSignal();
  console.log(`svcnet: ${sig}, shutting down`);
  await shutdown();
}

export function registerUpCommand(program: Command): Command {
  return addApiServerFlags(
    program
      .command('up')
      .description('bring up the whole cluster network on this machine: API server, controllers, lab node, agent, DNS'),
  )
    .option(
      '--mode <mode>',
      `data plane: auto (nftables as root, userspace otherwise), ${planeModes.join(', ')}`,
      'auto',
    )
    .option('--node-name <name>', 'name of the lab node', 'svcnet-node')
    .action(runUp);
}
