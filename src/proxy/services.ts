// Service → ServicePortInfo[] and the Service change tracker (kube-proxy's
// ServiceChangeTracker). DESIGN.md convention 1: add and delete are updates; the tracker keeps
// one {previous, current} per Service and drops the pair when it ends where it began, so a
// Service that flapped between two syncs costs the data plane nothing.
import { isDeepStrictEqual } from 'node:util';
import { canonicalCIDR, cidrContains } from '../api/ip.ts';
import type { Service } from '../api/types.ts';
import { annotationKeys, labelKeys } from '../api/well-known.ts';
import { checkLoadBalancerIP, type LoadBalancerIPPolicy, type LoadBalancerIPRejection } from './lb-ingress.ts';
import {
  type LbAlgorithm,
  type Protocol,
  type ServiceKey,
  type ServicePortInfo,
  type ServicePortKey,
  serviceKey,
  servicePortKey,
} from './types.ts';

export interface ServiceConversionOptions {
  /** CIDRs in which spec.externalIPs are honoured; empty: none are (CVE-2020-8554). */
  externalIPAllowCIDRs: readonly string[];
  /** `svcnet.io/connect-retries` when the annotation is absent or invalid. */
  defaultConnectRetries: number;
  /** Which status.loadBalancer.ingress IPs are programmed (lb-ingress.ts); absent: all but special addresses. */
  loadBalancerIPs?: LoadBalancerIPPolicy;
}

export const defaultServiceConversion: ServiceConversionOptions = {
  externalIPAllowCIDRs: [],
  defaultConnectRetries: 2,
};

export type ServicePortMap = ReadonlyMap<ServicePortKey, ServicePortInfo>;

const lbAlgorithms: readonly LbAlgorithm[] = ['random', 'round-robin', 'least-connections'];

/** 5.1: whether kube-proxy (and so svcnet's agent) gives this Service a VIP path at all. */
export function isProxied(svc: Service): boolean {
  const lbls = svc.metadata?.labels ?? {};
  if (labelKeys.serviceProxyName in lbls || labelKeys.headless in lbls) return false;
  const ips = svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : []);
  if (ips.length === 0 || ips[0] === 'None' || ips[0] === '') return false;
  return svc.spec?.type !== 'ExternalName';
}

function lbAlgorithmOf(svc: Service): LbAlgorithm {
  const v = svc.metadata?.annotations?.[annotationKeys.lbAlgorithm];
  return lbAlgorithms.find((a) => a === v) ?? 'random';
}

function connectRetriesOf(svc: Service, dflt: number): number {
  const v = svc.metadata?.annotations?.[annotationKeys.connectRetries];
  if (v === undefined || !/^\d{1,2}$/.test(v)) return dflt;
  return Number(v);
}

export interface LoadBalancerIngress {
  readonly accepted: string[];
  readonly rejected: { ip: string; reason: LoadBalancerIPRejection }[];
}

/**
 * status.loadBalancer.ingress IPs of a LoadBalancer Service: those the data plane gets (without
 * ipMode Proxy ones, where the LB proxies to the node) and those the policy refuses.
 */
export function loadBalancerIngressOf(
  svc: Service,
  opts: ServiceConversionOptions = defaultServiceConversion,
): LoadBalancerIngress {
  const out: LoadBalancerIngress = { accepted: [], rejected: [] };
  if (svc.spec?.type !== 'LoadBalancer') return out;
  for (const i of svc.status?.loadBalancer?.ingress ?? []) {
    if (!i.ip || (i as { ipMode?: string }).ipMode === 'Proxy') continue;
    const reason = checkLoadBalancerIP(i.ip, opts.loadBalancerIPs);
    if (reason) out.rejected.push({ ip: i.ip, reason });
    else out.accepted.push(i.ip);
  }
  return out;
}

/** One ServicePortInfo per spec.ports entry; empty when the Service is not proxied (5.1). */
export function servicePortsOf(
  svc: Service | undefined,
  opts: ServiceConversionOptions = defaultServiceConversion,
): Map<ServicePortKey, ServicePortInfo> {
  const out = new Map<ServicePortKey, ServicePortInfo>();
  if (!svc || !isProxied(svc)) return out;
  const spec = svc.spec ?? {};
  const namespace = svc.metadata?.namespace ?? 'default';
  const name = svc.metadata?.name ?? '';
  const key = serviceKey(namespace, name);
  const clusterIPs = spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []);
  const type = spec.type === 'NodePort' || spec.type === 'LoadBalancer' ? spec.type : 'ClusterIP';
  const allExternal = spec.externalIPs ?? [];
  const externalIPs = allExternal.filter((ip) => opts.externalIPAllowCIDRs.some((c) => cidrContains(c, ip)));
  const deniedExternalIPs = allExternal.filter((ip) => !externalIPs.includes(ip));
  const loadBalancerIPs = loadBalancerIngressOf(svc, opts).accepted;
  const externallyAccessible = type !== 'ClusterIP' || externalIPs.length > 0;
  // The API accepts entries with surrounding spaces (validation trims before parsing, as
  // Kubernetes' does); kube-proxy trims them too. Unparsable entries are left out, as
  // kube-proxy's MapCIDRsByIPFamily does.
  const sourceRanges = (spec.loadBalancerSourceRanges ?? []).flatMap((r) => canonicalCIDR(r.trim()) ?? []);
  const affinity =
    spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : undefined;
  for (const p of spec.ports ?? []) {
    const protocol = (p.protocol ?? 'TCP') as Protocol;
    const portName = p.name ?? '';
    const k = servicePortKey(key, portName, protocol);
    out.set(
      k,
      Object.freeze({
        key: k,
        service: key,
        namespace,
        name,
        portName,
        protocol,
        type,
        clusterIPs: Object.freeze([...clusterIPs]),
        port: p.port,
        nodePort: type === 'ClusterIP' ? 0 : (p.nodePort ?? 0),
        externalIPs: Object.freeze(externalIPs),
        deniedExternalIPs: Object.freeze(deniedExternalIPs),
        loadBalancerIPs: Object.freeze(loadBalancerIPs),
        loadBalancerSourceRanges: Object.freeze(loadBalancerIPs.length > 0 ? sourceRanges : []),
        internalPolicyLocal: spec.internalTrafficPolicy === 'Local',
        externalPolicyLocal: externallyAccessible && spec.externalTrafficPolicy === 'Local',
        healthCheckNodePort:
          type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local' ? (spec.healthCheckNodePort ?? 0) : 0,
        affinityTimeoutSeconds: affinity,
        trafficDistribution: (spec as { trafficDistribution?: string }).trafficDistribution,
        lbAlgorithm: lbAlgorithmOf(svc),
        connectRetries: connectRetriesOf(svc, opts.defaultConnectRetries),
        ...(svc.metadata?.annotations?.[annotationKeys.ipvsScheduler] !== undefined
          ? { ipvsScheduler: svc.metadata.annotations[annotationKeys.ipvsScheduler] }
          : {}),
      }),
    );
  }
  return out;
}

export interface ServiceChange {
  previous: Map<ServicePortKey, ServicePortInfo>;
  current: Map<ServicePortKey, ServicePortInfo>;
}

export class ServiceChangeTracker {
  private pending = new Map<ServiceKey, ServiceChange>();
  /** Total changes observed (feeds kubeproxy_sync_proxy_rules_service_changes_total). */
  changesTotal = 0;

  constructor(private opts: ServiceConversionOptions = defaultServiceConversion) {}

  get options(): ServiceConversionOptions {
    return this.opts;
  }

  /**
   * The conversion changed (e.g. the IPAddressPools): `services` (every Service known) are
   * converted again; a pending change keeps its previous state, others start from the old
   * conversion, so only Services whose ports really changed are pending. Returns whether any is.
   */
  setOptions(opts: ServiceConversionOptions, services: Iterable<Service>): boolean {
    const before = this.opts;
    this.opts = opts;
    let any = false;
    for (const svc of services) {
      const key = serviceKey(svc.metadata?.namespace ?? 'default', svc.metadata?.name ?? '');
      const change: ServiceChange = {
        previous: this.pending.get(key)?.previous ?? servicePortsOf(svc, before),
        current: servicePortsOf(svc, opts),
      };
      if (isDeepStrictEqual(change.previous, change.current)) this.pending.delete(key);
      else {
        this.pending.set(key, change);
        any = true;
      }
    }
    return any;
  }

  /** (undefined, svc) is an add, (svc, undefined) a delete. Returns whether a change is pending for it. */
  update(old: Service | undefined, cur: Service | undefined): boolean {
    const obj = cur ?? old;
    if (!obj) return false;
    const key = serviceKey(obj.metadata?.namespace ?? 'default', obj.metadata?.name ?? '');
    this.changesTotal++;
    const existing = this.pending.get(key);
    const change: ServiceChange = {
      previous: existing ? existing.previous : servicePortsOf(old, this.opts),
      current: servicePortsOf(cur, this.opts),
    };
    if (isDeepStrictEqual(change.previous, change.current)) {
      this.pending.delete(key);
      return false;
    }
    this.pending.set(key, change);
    return true;
  }

  pendingCount(): number {
    return this.pending.size;
  }

  /** Hands the pending changes to the caller and starts a new batch. */
  take(): Map<ServiceKey, ServiceChange> {
    const out = this.pending;
    this.pending = new Map();
    return out;
  }
}
