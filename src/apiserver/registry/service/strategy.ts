// The Service REST strategy (pkg/registry/core/service/strategy.go + storage/storage.go's
// beginCreate/beginUpdate/afterDelete). Order on create (§0.8): prepareForCreate → default →
// beginCreate (normalize, families, cluster IPs, node ports; may throw 422/500) → validateCreate.

import type { ServiceStatus } from 'kubernetes-types/core/v1.js';
import type { IPFamily } from '../../../api/ip.ts';
import { setDefaultsService } from '../../../api/service/defaults.ts';
import {
  validateService,
  validateServiceStatusUpdate,
  validateServiceUpdate,
} from '../../../api/service/validation.ts';
import type { Rng } from '../../allocator/bitmap.ts';
import { IPAllocator } from '../../allocator/ip.ts';
import { PortAllocator } from '../../allocator/port.ts';
import type { RequestContext, ResourceStrategy, Txn } from '../types.ts';
import {
  releaseAll,
  type ServiceAllocators,
  txnAllocClusterIPs,
  txnAllocNodePorts,
  txnOf,
  txnUpdateClusterIPs,
  txnUpdateNodePorts,
} from './alloc.ts';
import { type FamilyConfig, initIPFamilyFields } from './families.ts';
import type { ServiceObject } from './helpers.ts';
import {
  dropTypeDependentFields,
  normalizeClusterIPs,
  patchAllocatedValues,
  trimFieldsForDualStackDowngrade,
} from './normalize.ts';

export interface ServiceStrategyOptions {
  /** --service-cluster-ip-range: one CIDR, or two of different families; the first is the default family. */
  serviceCIDRs: readonly string[];
  /** --service-node-port-range, default "30000-32767". */
  nodePortRange?: string;
  /** Injected randomness for the allocators' scans (tests). */
  rng?: Rng;
}

export interface ServiceStrategyResult {
  strategy: ResourceStrategy<ServiceObject>;
  allocators: ServiceAllocators;
  /** First usable address of the primary service CIDR, e.g. 10.96.0.1 for default/kubernetes (§3.3). */
  firstServiceIP(): string;
}

/** The name server.ts uses for the same handle. */
export type ServiceStrategyHandle = ServiceStrategyResult;

export const defaultNodePortRange = '30000-32767';

/** kubernetes-types marks status readonly (server-owned); the registry is that server. */
function setStatus(svc: ServiceObject, status: ServiceStatus): void {
  (svc as { status?: ServiceStatus }).status = status;
}

/** Builds the allocators; throws on bad flags with kube-apiserver's texts. */
export function createServiceAllocators(opts: ServiceStrategyOptions): ServiceAllocators {
  const cidrs = opts.serviceCIDRs;
  if (cidrs.length === 0) throw new Error('--service-cluster-ip-range must contain at least one valid cidr');
  if (cidrs.length > 2) throw new Error('--service-cluster-ip-range must not contain more than two entries');
  const rngOpt = opts.rng ? { rng: opts.rng } : {};
  const ip = new Map<IPFamily, IPAllocator>();
  cidrs.forEach((c, i) => {
    const a = new IPAllocator(c, {
      ...rngOpt,
      flag: i === 0 ? '--service-cluster-ip-range' : '--secondary-service-cluster-ip-range',
    });
    if (ip.has(a.family)) {
      throw new Error('--service-cluster-ip-range[0] and --service-cluster-ip-range[1] must be of different IP family');
    }
    ip.set(a.family, a);
  });
  const first = [...ip.values()][0];
  if (!first) throw new Error('--service-cluster-ip-range must contain at least one valid cidr');
  return {
    ip,
    defaultFamily: first.family,
    nodePorts: new PortAllocator(opts.nodePortRange ?? defaultNodePortRange, rngOpt),
  };
}

export function createServiceStrategy(opts: ServiceStrategyOptions): ServiceStrategyResult {
  const allocators = createServiceAllocators(opts);
  const families: FamilyConfig = { families: new Set(allocators.ip.keys()), defaultFamily: allocators.defaultFamily };

  const strategy: ResourceStrategy<ServiceObject> = {
    prepareForCreate(svc) {
      // §1.48: status is server-owned; LoadBalancerStatus is a value struct, hence {loadBalancer: {}}.
      setStatus(svc, { loadBalancer: {} });
    },
    prepareForUpdate(svc, old) {
      setStatus(svc, structuredClone(old.status ?? { loadBalancer: {} }));
    },
    prepareForStatusUpdate(svc, old) {
      // §1.47: /status never changes spec; metadata changes still apply.
      const spec = structuredClone(old.spec);
      if (spec === undefined) delete svc.spec;
      else svc.spec = spec;
    },
    default(svc) {
      setDefaultsService(svc);
    },
    beginCreate(svc, ctx: RequestContext): Txn {
      normalizeClusterIPs(undefined, svc);
      // Visible even for dry-run, like alloc.go allocateCreate.
      initIPFamilyFields(svc, undefined, families);
      const ipTxn = txnAllocClusterIPs(allocators, svc, ctx.dryRun);
      try {
        return txnOf([ipTxn, txnAllocNodePorts(allocators, svc, ctx.dryRun)]);
      } catch (e) {
        ipTxn.revert();
        throw e;
      }
    },
    beginUpdate(svc, old, ctx: RequestContext): Txn {
      // strategy.go PrepareForUpdate order, then alloc.go allocateUpdate.
      patchAllocatedValues(svc, old);
      normalizeClusterIPs(old, svc);
      dropTypeDependentFields(svc, old);
      trimFieldsForDualStackDowngrade(svc, old);
      initIPFamilyFields(svc, old, families);
      const ipTxn = txnUpdateClusterIPs(allocators, svc, old, ctx.dryRun);
      try {
        return txnOf([ipTxn, txnUpdateNodePorts(allocators, svc, old, ctx.dryRun)]);
      } catch (e) {
        ipTxn.revert();
        throw e;
      }
    },
    afterDelete(svc, ctx: RequestContext) {
      if (!ctx.dryRun) releaseAll(allocators, svc);
    },
    validateCreate: (svc) => validateService(svc),
    validateUpdate: (svc, old) => validateServiceUpdate(svc, old),
    validateStatusUpdate: (svc, old) => validateServiceStatusUpdate(svc, old),
  };
  return {
    strategy,
    allocators,
    firstServiceIP: () => allocators.ip.get(allocators.defaultFamily)?.firstIP() ?? '',
  };
}
