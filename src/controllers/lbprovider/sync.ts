// One Service against the provider: cloud-provider's syncLoadBalancerIfNeeded and
// processServiceCreateOrUpdate, with the API writes and Events behind `SyncDeps` so the order of
// operations (finalizer before any balancer exists, finalizer removed only once it is gone,
// status written last and only when it changed) is unit-tested against a fake provider.
import type { Node, Service } from '../../api/types.ts';
import type { EventType } from '../loadbalancer/recorder.ts';
import { ok, retry, type SyncResult } from '../runtime/result.ts';
import { isImplementedElsewhere, type LoadBalancerProvider, type LoadBalancerStatus } from './provider.ts';
import { hasCleanupFinalizer, needsCleanup, type Ownership, statusEqual, wantsLoadBalancer } from './service.ts';

export interface SyncDeps {
  clusterName: string;
  provider: LoadBalancerProvider;
  own: Ownership;
  /** The eligible nodes now (nodes.ts). */
  nodes(): readonly Node[];
  /** Adds the cleanup finalizer; returns the Service as written. */
  addFinalizer(svc: Service): Promise<Service>;
  removeFinalizer(svc: Service): Promise<void>;
  /** Writes status.loadBalancer (an empty status clears it). */
  patchStatus(svc: Service, status: LoadBalancerStatus): Promise<void>;
  event(svc: Service, type: EventType, reason: string, message: string): Promise<void>;
}

export type SyncOp = 'ensured' | 'deleted' | 'skipped' | 'elsewhere';

export interface SyncOutcome {
  op: SyncOp;
  result: SyncResult;
  /** The nodes the balancer was given (ensured only): the node sync's baseline for this Service. */
  nodes?: readonly Node[];
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * `known`: the controller ensured a balancer for this Service before (its cache), so even
 * without our finalizer (older objects, a forced finalizer removal) the balancer is ours to delete.
 */
export async function syncService(svc: Service, known: boolean, d: SyncDeps): Promise<SyncOutcome> {
  const wants = wantsLoadBalancer(svc, d.own);
  if (!wants && !hasCleanupFinalizer(svc) && !known) return { op: 'skipped', result: ok };
  const op: SyncOp = wants && !needsCleanup(svc, d.own) ? 'ensured' : 'deleted';
  let nodes: readonly Node[] | undefined;
  try {
    let status: LoadBalancerStatus | undefined;
    if (op === 'deleted') {
      status = {};
      const lb = await d.provider.getLoadBalancer(d.clusterName, svc).catch((e: unknown) => {
        throw new Error(`failed to check if load balancer exists before cleanup: ${message(e)}`);
      });
      if (lb.exists) {
        await d.event(svc, 'Normal', 'DeletingLoadBalancer', 'Deleting load balancer');
        try {
          await d.provider.ensureLoadBalancerDeleted(d.clusterName, svc);
        } catch (e) {
          if (!isImplementedElsewhere(e)) throw new Error(`failed to delete load balancer: ${message(e)}`);
        }
      }
      // Always released once the balancer is gone, so the Service's deletion can finish.
      await d.removeFinalizer(svc).catch((e: unknown) => {
        throw new Error(`failed to remove load balancer cleanup finalizer: ${message(e)}`);
      });
      await d.event(svc, 'Normal', 'DeletedLoadBalancer', 'Deleted load balancer');
      // A Service on its way out vanishes with its status; writing it would only race the delete.
      if (svc.metadata?.deletionTimestamp) status = undefined;
    } else {
      await d.event(svc, 'Normal', 'EnsuringLoadBalancer', 'Ensuring load balancer');
      // Before any balancer exists, so the Service cannot be deleted without the controller
      // seeing it and deleting the balancer too.
      const written = await d.addFinalizer(svc).catch((e: unknown) => {
        throw new Error(`failed to add load balancer cleanup finalizer: ${message(e)}`);
      });
      nodes = d.nodes();
      if (nodes.length === 0)
        await d.event(svc, 'Warning', 'UnAvailableLoadBalancer', 'There are no available nodes for LoadBalancer');
      try {
        status = await d.provider.ensureLoadBalancer(d.clusterName, written, nodes);
      } catch (e) {
        if (isImplementedElsewhere(e)) return { op: 'elsewhere', result: ok };
        throw new Error(`failed to ensure load balancer: ${message(e)}`);
      }
      if (!status) throw new Error('service status returned by EnsureLoadBalancer is nil');
      await d.event(svc, 'Normal', 'EnsuredLoadBalancer', 'Ensured load balancer');
      svc = written;
    }
    if (status && !statusEqual(svc.status, status)) {
      await d.patchStatus(svc, status).catch((e: unknown) => {
        if ((e as { code?: unknown }).code === 404) return;
        throw new Error(`failed to update load balancer status: ${message(e)}`);
      });
    }
  } catch (e) {
    await d.event(svc, 'Warning', 'SyncLoadBalancerFailed', `Error syncing load balancer: ${message(e)}`);
    return { op, result: retry(message(e), { cause: e }) };
  }
  return nodes ? { op, result: ok, nodes } : { op, result: ok };
}

/** The CCM's node sync for one Service: new backends only, with its Events. */
export async function updateNodes(svc: Service, nodes: readonly Node[], d: SyncDeps): Promise<boolean> {
  try {
    await d.provider.updateLoadBalancer(d.clusterName, svc, nodes);
  } catch (e) {
    if (isImplementedElsewhere(e)) return true;
    const names = nodes.map((n) => n.metadata?.name ?? '');
    const shown = names.length > 5 ? `${names.slice(0, 5).join(' ')} ...` : names.join(' ');
    await d.event(
      svc,
      'Warning',
      'UpdateLoadBalancerFailed',
      `Error updating load balancer with new hosts [${shown}] (${names.length} nodes), error: ${message(e)}`,
    );
    return false;
  }
  await d.event(svc, 'Normal', 'UpdatedLoadBalancer', 'Updated load balancer with new hosts');
  return true;
}
