// `svcnet controller`: the controllers against any API server (svcnet's or a real cluster's),
// as kube-controller-manager and MetalLB's controller run them.
import type { Command } from 'commander';
import type { Client } from '../client/client.ts';
import { createClient } from '../client/kubeconfig.ts';
import { startEndpointControllers } from '../controllers/endpoints/start.ts';
import { startGarbageCollector } from '../controllers/gc/controller.ts';
import { startLoadBalancerController } from '../controllers/loadbalancer/controller.ts';
import { startNodeLifecycleController } from '../controllers/nodelifecycle/controller.ts';
import { startDeploymentController } from '../controllers/workloads/controller.ts';
import { untilSignal } from './util.ts';

export interface ControllerSet {
  stop(): Promise<void>;
  synced(): Promise<void>;
}

/** Every controller svcnet has, on one client. `svcnet up` runs the same set in-process. */
export function startControllers(
  client: Client,
  opts: {
    maxEndpointsPerSlice?: number;
    workloads?: boolean;
    /** Leave pods unbound for a scheduler (the lab's), as upstream's ReplicaSet controller does. */
    scheduler?: boolean;
    /** Run the node lifecycle controller with this grace period (kube-controller-manager's). */
    nodeMonitorGracePeriodMs?: number;
  } = {},
): ControllerSet {
  const handles: { stop(): Promise<void>; synced(): Promise<void> }[] = [
    startEndpointControllers(client, { slices: { maxEndpointsPerSlice: opts.maxEndpointsPerSlice } }),
    startLoadBalancerController(client),
  ];
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

export function registerControllerCommand(program: Command): void {
  program
    .command('controller')
    .description('run the endpoint, load-balancer and workload controllers against an API server')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('--max-endpoints-per-slice <n>', 'endpoints per EndpointSlice (1-1000)', '100')
    .option(
      '--workloads',
      'also run the Deployment, ReplicaSet and garbage collector controllers (svcnet apiserver has none)',
    )
    .action(
      async (flags: { kubeconfig?: string; context?: string; maxEndpointsPerSlice: string; workloads?: boolean }) => {
        const max = Number(flags.maxEndpointsPerSlice);
        if (!Number.isInteger(max) || max < 1 || max > 1000) {
          throw new Error(`--max-endpoints-per-slice must be 1-1000, not ${flags.maxEndpointsPerSlice}`);
        }
        const client = createClient({ kubeconfig: flags.kubeconfig, context: flags.context });
        const set = startControllers(client, { maxEndpointsPerSlice: max, workloads: !!flags.workloads });
        await set.synced();
        console.log('svcnet: controllers synced');
        const sig = await untilSignal();
        console.log(`svcnet: ${sig}, shutting down`);
        await set.stop();
      },
    );
}
