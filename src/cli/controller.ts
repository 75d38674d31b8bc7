// `svcnet controller`: the controllers against any API server (svcnet's or a real cluster's),
// as kube-controller-manager and MetalLB's controller run them.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { negotiate } from '../api/exposition.ts';
import { Registry } from '../api/metrics.ts';
import { loadBalancerClasses } from '../api/well-known.ts';
import type { Client } from '../client/client.ts';
import { createClient } from '../client/kubeconfig.ts';
import { startEndpointControllers } from '../controllers/endpoints/start.ts';
import { startGarbageCollector } from '../controllers/gc/controller.ts';
import { startServiceController } from '../controllers/lbprovider/controller.ts';
import type { LoadBalancerProvider } from '../controllers/lbprovider/provider.ts';
import {
  createLbProvider,
  defaultLbProvider,
  lbProviderNames,
  type ProviderContext,
} from '../controllers/lbprovider/registry.ts';
import { startLoadBalancerController } from '../controllers/loadbalancer/controller.ts';
import { startNodeLifecycleController } from '../controllers/nodelifecycle/controller.ts';
import { setWorkqueueMetrics } from '../controllers/runtime/workqueue-metrics.ts';
import { startDeploymentController } from '../controllers/workloads/controller.ts';
import { recordLbProvider } from './lb.ts';
import { CliError, parseHostPort, untilSignal } from './util.ts';

export interface ControllerSet {
  stop(): Promise<void>;
  synced(): Promise<void>;
}

/** Every controller svcnet has, on one client. `svcnet up` runs the same set in-process. */
export function startControllers(
  client: Client,
  opts: {
    maxEndpointsPerSlice?: number;
    /**
     * Run the EndpointSlice and Endpoints controllers (default true). A real cluster's
     * kube-controller-manager runs them already, under the same managed-by label: two would fight.
     */
    endpoints?: boolean;
    workloads?: boolean;
    /** Leave pods unbound for a scheduler (the lab's), as upstream's ReplicaSet controller does. */
    scheduler?: boolean;
    /** Run the node lifecycle controller with this grace period (kube-controller-manager's). */
    nodeMonitorGracePeriodMs?: number;
    /** A load-balancer provider for class-less Services (default: the IPAM serves them). */
    lbProvider?: LoadBalancerProvider;
    onError?: (err: unknown) => void;
  } = {},
): ControllerSet {
  const p = opts.lbProvider;
  const handles: { stop(): Promise<void>; synced(): Promise<void> }[] = [
    // Side by side by class: whoever serves class-less Services, the other answers to its own class.
    startLoadBalancerController(client, {
      loadBalancerClass: loadBalancerClasses.ipam,
      classless: !p,
      ...(opts.onError ? { onError: opts.onError } : {}),
    }),
  ];
  if (opts.endpoints ?? true) {
    handles.push(startEndpointControllers(client, { slices: { maxEndpointsPerSlice: opts.maxEndpointsPerSlice } }));
  }
  if (p)
    handles.push(
      startServiceController(client, {
        provider: p,
        own: { classless: true, loadBalancerClass: loadBalancerClasses.provider(p.name) },
        ...(opts.onError ? { onError: opts.onError } : {}),
      }),
    );
  // Against a real cluster its own controller manager runs Deployments and the garbage collector;
  // only the lab needs ours.
  if (opts.workloads)
    handles.push(startDeploymentController(client, { bindNodes: !opts.scheduler }), startGarbageCollector(client));
  if (opts.nodeMonitorGracePeriodMs !== undefined)
    handles.push(startNodeLifecycleController(client, { gracePeriodMs: opts.nodeMonitorGracePeriodMs }));
  return {
    async stop() {
      await Promise.all(handles.map((h) => h.stop()));
    },
    async synced() {
      await Promise.all(handles.map((h) => h.synced()));
    },
  };
}

export const lbProviderFlag = '--lb-provider <name>';

export function lbProviderHelp(): string {
  return `who gives LoadBalancer Services their address: ${lbProviderNames().join(', ')} (ipam: MetalLB-style pools announced by the nodes)`;
}

/** A bad --lb-provider value is a one-line CLI error (checked before anything starts). */
export function checkLbProviderFlag(name: string): void {
  if (!lbProviderNames().includes(name))
    throw new CliError(`--lb-provider must be one of ${lbProviderNames().join(', ')}, not ${JSON.stringify(name)}`);
}

/** The provider a --lb-provider value names (undefined: the IPAM). */
export function lbProviderFromFlag(
  name: string,
  ctx: Omit<ProviderContext, 'onError'>,
): LoadBalancerProvider | undefined {
  checkLbProviderFlag(name);
  return createLbProvider(name, { ...ctx, onError: (e) => console.error(`svcnet: ${String(e)}`) });
}

export function registerControllerCommand(program: Command): void {
  program
    .command('controller')
    .description('run the endpoint, load-balancer and workload controllers against an API server')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('--max-endpoints-per-slice <n>', 'endpoints per EndpointSlice (1-1000)', '100')
    .option(
      '--no-endpoints',
      "leave EndpointSlices and Endpoints to the cluster's kube-controller-manager (real clusters)",
    )
    .option(
      '--workloads',
      'also run the Deployment, ReplicaSet and garbage collector controllers (svcnet apiserver has none)',
    )
    .option(lbProviderFlag, lbProviderHelp(), defaultLbProvider)
    .option(
      '--metrics-bind-address <host:port>',
      'serve /metrics (workqueue_*, as kube-controller-manager) on http://HOST:PORT (default: off)',
    )
    .option('--data-dir <dir>', "where a load-balancer provider keeps its balancer's files", './.svcnet')
    .action(
      async (flags: {
        kubeconfig?: string;
        context?: string;
        maxEndpointsPerSlice: string;
        workloads?: boolean;
        endpoints: boolean;
        lbProvider: string;
        metricsBindAddress?: string;
        dataDir: string;
      }) => {
        const max = Number(flags.maxEndpointsPerSlice);
        if (!Number.isInteger(max) || max < 1 || max > 1000) {
          throw new Error(`--max-endpoints-per-slice must be 1-1000, not ${flags.maxEndpointsPerSlice}`);
        }
        checkLbProviderFlag(flags.lbProvider);
        const client = createClient({ kubeconfig: flags.kubeconfig, context: flags.context });
        const metrics = flags.metricsBindAddress
          ? await serveMetrics(parseHostPort(flags.metricsBindAddress))
          : undefined;
        const lbProvider = lbProviderFromFlag(flags.lbProvider, { client, dataDir: resolve(flags.dataDir) });
        recordLbProvider(resolve(flags.dataDir), flags.lbProvider);
        const set = startControllers(client, {
          maxEndpointsPerSlice: max,
          workloads: !!flags.workloads,
          endpoints: flags.endpoints,
          ...(lbProvider ? { lbProvider } : {}),
          onError: (e) => console.error(`svcnet: ${e instanceof Error ? e.message : String(e)}`),
        });
        await set.synced();
        console.log('svcnet: controllers synced');
        const sig = await untilSignal();
        console.log(`svcnet: ${sig}, shutting down`);
        await set.stop();
        await metrics?.close();
      },
    );
}

/** /metrics for the controllers of this process (their workqueues register when created). */
async function serveMetrics(at: { host: string; port: number }): Promise<{ close(): Promise<void> }> {
  const reg = new Registry();
  setWorkqueueMetrics(reg);
  const server = createServer((req, res) => {
    if (req.url?.split('?')[0] === '/metrics') {
      const m = negotiate(req, reg.render());
      res.writeHead(200, { 'Content-Type': m.type });
      res.end(m.body);
      return;
    }
    res.writeHead(req.url === '/healthz' ? 200 : 404, { 'Content-Type': 'text/plain' });
    res.end(req.url === '/healthz' ? 'ok' : '404 page not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, resolve);
  });
  console.log(`svcnet: controller metrics on http://${at.host}:${(server.address() as AddressInfo).port}/metrics`);
  return { close: () => new Promise((r) => server.close(() => r())) };
}
