// What the allocator needs to know about a Service, read from the object once (MetalLB's
// k8salloc.Ports / SharingKey / BackendKey, ipfamily.ForService and getDesiredLbIPs).
import { selectorFromSet } from '../../api/labels/selector.ts';
import type { Service } from '../../api/types.ts';
import { annotationKeys, metallbDeprecatedPrefix } from '../../api/well-known.ts';
import { type Addr, type IPFamily, parseAddr } from './addresses.ts';
import { AllocError } from './errors.ts';

export type ServiceFamily = IPFamily | 'DualStack';
export type FamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';

export interface Port {
  proto: string;
  port: number;
}

export const portKey = (p: Port): string => `${p.proto}/${p.port}`;

export interface ServiceClaim {
  /** "namespace/name" */
  key: string;
  namespace: string;
  labels: Readonly<Record<string, string>>;
  /** From the cluster IPs: what the LB IPs must match. */
  family: ServiceFamily;
  policy: FamilyPolicy;
  /** spec.ipFamilies[0]: which family dual-stack prefers when only one is available. */
  primary: IPFamily;
  ports: readonly Port[];
  /** "" = does not share. */
  sharingKey: string;
  /**
   * Services sharing an IP must send it to the same backends: "" for externalTrafficPolicy
   * Cluster (any node forwards to any pod), the selector for Local (the announcing node must
   * host the pods of every service on the IP).
   */
  backendKey: string;
}

export function annotation(svc: Service, name: string): string | undefined {
  const a = svc.metadata?.annotations ?? {};
  const suffix = name.slice(name.indexOf('/') + 1);
  return a[name] ?? a[metallbDeprecatedPrefix + suffix];
}

export function serviceKey(svc: Service): string {
  return `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
}

function familyOfIPs(ips: readonly Addr[]): ServiceFamily | undefined {
  const fams = new Set(ips.map((i) => i.family));
  if (ips.length === 1) return ips[0]?.family;
  if (ips.length === 2 && fams.size === 2) return 'DualStack';
  return undefined;
}

/** Throws AllocError(NoClusterIP) when the family cannot be derived. */
export function claimFor(svc: Service): ServiceClaim {
  const spec = svc.spec ?? {};
  const cips = (spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : []).filter(
    (ip) => ip && ip !== 'None',
  );
  const addrs = cips.map((ip) => parseAddr(ip)).filter((a): a is Addr => a !== undefined);
  const family = addrs.length === cips.length ? familyOfIPs(addrs) : undefined;
  if (cips.length === 0 || !family)
    throw new AllocError(
      'NoClusterIP',
      `invalid ClusterIPs [${(spec.clusterIPs ?? []).join(' ')}] [${spec.clusterIP ?? ''}], can't determine family`,
    );
  const policy = (spec.ipFamilyPolicy ?? 'SingleStack') as FamilyPolicy;
  const local = spec.externalTrafficPolicy === 'Local';
  return {
    key: serviceKey(svc),
    namespace: svc.metadata?.namespace ?? '',
    labels: svc.metadata?.labels ?? {},
    family,
    policy,
    primary: spec.ipFamilies?.[0] === 'IPv6' ? 'IPv6' : 'IPv4',
    ports: (spec.ports ?? []).map((p) => ({ proto: p.protocol ?? 'TCP', port: p.port })),
    sharingKey: annotation(svc, annotationKeys.metallbAllowSharedIP) ?? '',
    backendKey: local ? selectorFromSet(spec.selector ?? {}).toString() : '',
  };
}

export interface DesiredIPs {
  ips: Addr[];
  family: ServiceFamily;
}

/** The IPs the user asked for (annotation or the deprecated spec.loadBalancerIP), if any. */
export function desiredIPs(svc: Service): DesiredIPs | undefined {
  const fromAnno = annotation(svc, annotationKeys.metallbLoadBalancerIPs) ?? '';
  const fromSpec = svc.spec?.loadBalancerIP ?? '';
  if (!fromAnno && !fromSpec) return undefined;
  if (fromAnno && fromSpec)
    throw new AllocError(
      'InvalidRequest',
      `service can not have both ${annotationKeys.metallbLoadBalancerIPs} and svc.Spec.LoadBalancerIP`,
    );
  if (fromSpec) {
    const ip = parseAddr(fromSpec);
    if (!ip) throw new AllocError('InvalidRequest', `invalid spec.loadBalancerIP ${JSON.stringify(fromSpec)}`);
    return { ips: [ip], family: ip.family };
  }
  const ips: Addr[] = [];
  for (const part of fromAnno.split(',')) {
    const ip = parseAddr(part);
    if (!ip)
      throw new AllocError(
        'InvalidRequest',
        `invalid ${annotationKeys.metallbLoadBalancerIPs}: ${JSON.stringify(fromAnno)}`,
      );
    ips.push(ip);
  }
  const family = familyOfIPs(ips);
  if (!family)
    throw new AllocError(
      'InvalidRequest',
      `invalid ${annotationKeys.metallbLoadBalancerIPs}: ${JSON.stringify(fromAnno)}: at most one address per IP family`,
    );
  return { ips, family };
}
