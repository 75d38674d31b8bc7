// The workload controllers of the lab, started together: Deployments own ReplicaSets
// (deployment-controller.ts), ReplicaSets own Pods (replicaset-controller.ts), as
// kube-controller-manager's deployment and replicaset controllers do. A Deployment without the
// ReplicaSet controller would never get a pod, so one call starts both. Deleting an owner is
// the garbage collector's (controllers/gc). Run them only where no kube-controller-manager
// does: against a real cluster they would fight it.
import type { Client } from '../../client/client.ts';
import { Informer } from '../../client/informer.ts';
import { startDeploymentSyncController } from './deployment-controller.ts';
import { type Controller, type PodObj, startReplicaSetController } from './replicaset-controller.ts';
import type { RS } from './replicasets.ts';

export interface DeploymentControllerOptions {
  /**
   * Set spec.nodeName at creation, round-robin (default true): for API servers with no
   * scheduler. false leaves pods unbound for a scheduler, as upstream's ReplicaSet controller.
   */
  bindNodes?: boolean;
  workers?: number;
  onError?: (err: unknown) => void;
  now?: () => number;
}

export type DeploymentController = Controller;

export function startDeploymentController(
  client: Client,
  opts: DeploymentControllerOptions = {},
): DeploymentController {
  const { bindNodes, ...common } = opts;
  // One watch per resource both read, as a controller manager shares its informers.
  const informers = {
    replicaSets: new Informer<RS>(client, 'replicasets'),
    pods: new Informer<PodObj>(client, 'pods'),
  };
  const controllers = [
    startDeploymentSyncController(client, { ...common, informers }),
    startReplicaSetController(client, { ...common, informers, ...(bindNodes !== undefined ? { bindNodes } : {}) }),
  ];
  informers.replicaSets.start();
  informers.pods.start();
  return {
    async stop() {
      await Promise.all(controllers.map((c) => c.stop()));
      informers.replicaSets.stop();
      informers.pods.stop();
    },
    async synced() {
      await Promise.all(controllers.map((c) => c.synced()));
    },
  };
}
