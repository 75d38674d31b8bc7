// Mirrors k8s.io/kubernetes pkg/apis/core/validation/validation.go: ValidateService, validateServicePort,
// ValidateServiceClusterIPsRelatedFields, validateServiceExternalTrafficPolicy and friends,
// ValidateServiceUpdate (validateUpgradeDowngradeClusterIPs/IPFamilies, validateLoadBalancerClassField,
// validateServiceExternalTrafficFieldsUpdate) and ValidateServiceStatusUpdate/ValidateLoadBalancerStatus.
// The error order follows the Go functions, because the aggregate message is built in that order (§0.5).
import { duplicate, type ErrorList, forbidden, invalid, notSupported, Path, required } from '../field.ts';
import { isDualStackIPs, isIPv6, parseIPSloppy } from '../ip.ts';
import type { Service, ServicePort, ServiceSpec } from '../types.ts';
import {
  isValidCIDR,
  isValidCIDRForLegacyField,
  isValidIP,
  isValidIPForLegacyField,
  validateNonSpecialIP,
} from '../validation/ip.ts';
import {
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidPortName,
  isValidPortNum,
  nameIsDNS1035Label,
  validateLabels,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation/names.ts';
import { annotationKeys } from '../well-known.ts';
import { clusterIPNone, isExternallyAccessible, isHeadless, needsHealthCheck } from './util.ts';

export const maxClientIPServiceAffinitySeconds = 86400;

const supportedSessionAffinityTypes = ['ClientIP', 'None'] as const;
const supportedServiceTypes = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
const supportedPortProtocols = ['TCP', 'UDP', 'SCTP'] as const;
const supportedTrafficPolicies = ['Cluster', 'Local'] as const;
const supportedIPFamilies = ['IPv4', 'IPv6'] as const;
const supportedIPFamilyPolicies = ['SingleStack', 'PreferDualStack', 'RequireDualStack'] as const;
// PreferSameZone and PreferSameNode are the PreferSameTrafficDistribution additions (§1.36).
const supportedTrafficDistributions = ['PreferClose', 'PreferSameZone', 'PreferSameNode'] as const;
const supportedLoadBalancerIPModes = ['VIP', 'Proxy'] as const;

const has = (set: readonly string[], v: string): boolean => set.includes(v);

/** Values a client may keep although today's rules would reject them (they were accepted before). */
interface Ratchet {
  clusterIPs: readonly string[];
  externalIPs: readonly string[];
  sourceRanges: readonly string[];
  ingressIPs: readonly string[];
}

const noRatchet: Ratchet = { clusterIPs: [], externalIPs: [], sourceRanges: [], ingressIPs: [] };

function ratchetFrom(old: Service | undefined): Ratchet {
  if (!old) return noRatchet;
  const annotation = old.metadata?.annotations?.[annotationKeys.loadBalancerSourceRanges] ?? '';
  return {
    clusterIPs: old.spec?.clusterIPs ?? [],
    externalIPs: old.spec?.externalIPs ?? [],
    sourceRanges: [
      ...(old.spec?.loadBalancerSourceRanges ?? []).map((v) => v.trim()),
      ...annotation.split(',').map((v) => v.trim()),
    ],
    ingressIPs: (old.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : [])),
  };
}

/** ValidateService: run on create, and (after the update-only checks) on update. */
export function validateService(svc: Service): ErrorList {
  return validateServiceAgainst(svc, noRatchet);
}

function validateServiceAgainst(svc: Service, ratchet: Ratchet): ErrorList {
  const metaPath = Path.root('metadata');
  const errs = validateObjectMeta(svc.metadata, { namespaced: true, nameFn: nameIsDNS1035Label }, metaPath);
  const spec: ServiceSpec = svc.spec ?? {};
  const annotations = svc.metadata?.annotations ?? {};
  const type = spec.type ?? '';
  const ports = spec.ports ?? [];
  const headless = isHeadless(svc);

  const hints = annotations[annotationKeys.topologyAwareHints];
  const mode = annotations[annotationKeys.topologyMode];
  if (hints !== undefined && mode !== undefined && hints !== mode) {
    errs.push(
      invalid(
        metaPath.child('annotations').key(annotationKeys.topologyMode),
        mode,
        `must match annotations[${annotationKeys.topologyAwareHints}] when both are specified`,
      ),
    );
  }

  const specPath = Path.root('spec');
  if (ports.length === 0 && !headless && type !== 'ExternalName') errs.push(required(specPath.child('ports')));

  if ((type === 'LoadBalancer' || type === 'NodePort') && headless) {
    errs.push(
      invalid(specPath.child('clusterIPs').index(0), clusterIPNone, `may not be set to 'None' for ${type} services`),
    );
  } else if (type === 'ExternalName') {
    if ((spec.clusterIPs?.length ?? 0) > 0) {
      errs.push(forbidden(specPath.child('clusterIPs'), 'may not be set for ExternalName services'));
    }
    if ((spec.ipFamilies?.length ?? 0) > 0) {
      errs.push(forbidden(specPath.child('ipFamilies'), 'may not be set for ExternalName services'));
    }
    if (spec.ipFamilyPolicy !== undefined && spec.ipFamilyPolicy !== null) {
      errs.push(forbidden(specPath.child('ipFamilyPolicy'), 'may not be set for ExternalName services'));
    }
    // A CNAME may carry one trailing dot to mark it fully qualified.
    const externalName = spec.externalName ?? '';
    const cname = externalName.endsWith('.') ? externalName.slice(0, -1) : externalName;
    if (cname.length > 0) {
      for (const msg of isDNS1123Subdomain(cname)) errs.push(invalid(specPath.child('externalName'), cname, msg));
    } else {
      errs.push(required(specPath.child('externalName')));
    }
  }

  const portNames = new Set<string>();
  ports.forEach((port, i) => {
    errs.push(...validateServicePort(port, ports.length > 1, portNames, specPath.child('ports').index(i)));
  });

  if (spec.selector !== undefined && spec.selector !== null) {
    errs.push(...validateLabels(spec.selector, specPath.child('selector')));
  }

  const affinity = spec.sessionAffinity ?? '';
  if (affinity === '') errs.push(required(specPath.child('sessionAffinity')));
  else if (!has(supportedSessionAffinityTypes, affinity)) {
    errs.push(notSupported(specPath.child('sessionAffinity'), affinity, supportedSessionAffinityTypes));
  }
  if (affinity === 'ClientIP') {
    errs.push(...validateClientIPAffinityConfig(spec, specPath.child('sessionAffinityConfig')));
  } else if (affinity === 'None' && spec.sessionAffinityConfig !== undefined && spec.sessionAffinityConfig !== null) {
    errs.push(forbidden(specPath.child('sessionAffinityConfig'), 'must not be set when session affinity is None'));
  }

  errs.push(...validateClusterIPsRelatedFields(svc, ratchet.clusterIPs));

  (spec.externalIPs ?? []).forEach((ip, i) => {
    const idxPath = specPath.child('externalIPs').index(i);
    const ipErrs = ratchet.externalIPs.includes(ip)
      ? isValidIPForLegacyField(idxPath, ip, false)
      : isValidIP(idxPath, ip);
    if (ipErrs.length > 0) errs.push(...ipErrs);
    else errs.push(...validateNonSpecialIP(ip, idxPath));
  });

  if (type === '') errs.push(required(specPath.child('type')));
  else if (!has(supportedServiceTypes, type))
    errs.push(notSupported(specPath.child('type'), type, supportedServiceTypes));

  if (type === 'ClusterIP') {
    ports.forEach((port, i) => {
      if ((port.nodePort ?? 0) !== 0) {
        errs.push(
          forbidden(specPath.child('ports').index(i).child('nodePort'), "may not be used when `type` is 'ClusterIP'"),
        );
      }
    });
  }

  // Same nodePort under TCP and UDP is fine; the pair (protocol, nodePort) must be unique.
  const nodePorts = new Set<string>();
  ports.forEach((port, i) => {
    const nodePort = port.nodePort ?? 0;
    if (nodePort === 0) return;
    const key = `${port.protocol ?? ''}/${nodePort}`;
    if (nodePorts.has(key)) errs.push(duplicate(specPath.child('ports').index(i).child('nodePort'), nodePort));
    nodePorts.add(key);
  });

  const portKeys = new Set<string>();
  ports.forEach((port, i) => {
    const key = `${port.protocol ?? ''}/${port.port ?? 0}`;
    if (portKeys.has(key)) errs.push(duplicate(specPath.child('ports').index(i), protocolPortKey(port)));
    portKeys.add(key);
  });

  errs.push(...validateSourceRanges(svc, ratchet.sourceRanges));

  if (
    spec.allocateLoadBalancerNodePorts !== undefined &&
    spec.allocateLoadBalancerNodePorts !== null &&
    type !== 'LoadBalancer'
  ) {
    errs.push(
      forbidden(specPath.child('allocateLoadBalancerNodePorts'), "may only be used when `type` is 'LoadBalancer'"),
    );
  }
  if (
    type === 'LoadBalancer' &&
    (spec.allocateLoadBalancerNodePorts === undefined || spec.allocateLoadBalancerNodePorts === null)
  ) {
    // Upstream builds this path without the spec. prefix.
    errs.push(required(Path.root('allocateLoadBalancerNodePorts')));
  }

  errs.push(...validateLoadBalancerClassField(undefined, svc));
  errs.push(...validateExternalTrafficPolicy(svc));
  errs.push(...validateInternalTrafficPolicy(svc));
  errs.push(...validateTrafficDistribution(svc));
  return errs;
}

/**
 * The bad value Go prints for a duplicate (protocol, port): the internal core.ServicePort key,
 * JSON-marshalled with Go field names because internal types have no json tags.
 */
function protocolPortKey(port: ServicePort): Record<string, unknown> {
  return {
    Name: '',
    Protocol: port.protocol ?? '',
    AppProtocol: null,
    Port: port.port ?? 0,
    TargetPort: 0,
    NodePort: 0,
  };
}

function validateServicePort(port: ServicePort, requireName: boolean, names: Set<string>, path: Path): ErrorList {
  const errs: ErrorList = [];
  const name = port.name ?? '';
  if (requireName && name.length === 0) {
    errs.push(required(path.child('name')));
  } else if (name.length > 0) {
    for (const msg of isDNS1123Label(name)) errs.push(invalid(path.child('name'), name, msg));
    if (names.has(name)) errs.push(duplicate(path.child('name'), name));
    else names.add(name);
  }
  const portNum = port.port ?? 0;
  for (const msg of isValidPortNum(portNum)) errs.push(invalid(path.child('port'), portNum, msg));
  const protocol = port.protocol ?? '';
  if (protocol.length === 0) errs.push(required(path.child('protocol')));
  else if (!has(supportedPortProtocols, protocol)) {
    errs.push(notSupported(path.child('protocol'), protocol, supportedPortProtocols));
  }
  // An absent targetPort is Go's IntOrString zero value, int 0 (defaulting normally fills it).
  const target = port.targetPort ?? 0;
  if (typeof target === 'number') {
    for (const msg of isValidPortNum(target)) errs.push(invalid(path.child('targetPort'), target, msg));
  } else {
    for (const msg of isValidPortName(target)) errs.push(invalid(path.child('targetPort'), target, msg));
  }
  if (port.appProtocol !== undefined && port.appProtocol !== null) {
    for (const msg of isQualifiedName(port.appProtocol)) {
      errs.push(invalid(path.child('appProtocol'), port.appProtocol, msg));
    }
  }
  // Headless services may have targetPort != port: the v1 API always tolerated it (§1.10).
  return errs;
}

function validateClientIPAffinityConfig(spec: ServiceSpec, path: Path): ErrorList {
  const detail = 'when session affinity type is ClientIP';
  const config = spec.sessionAffinityConfig;
  if (config === undefined || config === null) return [required(path, detail)];
  if (config.clientIP === undefined || config.clientIP === null) return [required(path.child('clientIP'), detail)];
  const timeout = config.clientIP.timeoutSeconds;
  const timeoutPath = path.child('clientIP', 'timeoutSeconds');
  if (timeout === undefined || timeout === null) return [required(timeoutPath, detail)];
  if (timeout <= 0 || timeout > maxClientIPServiceAffinitySeconds) {
    return [invalid(timeoutPath, timeout, `must be greater than 0 and less than ${maxClientIPServiceAffinitySeconds}`)];
  }
  return [];
}

/**
 * ValidateServiceClusterIPsRelatedFields. Exported because the registry runs it as pre-validation
 * before allocating (alloc.go initIPFamilyFields). `validOld` holds stored clusterIPs, which are not
 * held to today's stricter IP syntax.
 */
export function validateClusterIPsRelatedFields(svc: Service, validOld: readonly string[] = []): ErrorList {
  const spec: ServiceSpec = svc.spec ?? {};
  if (spec.type === 'ExternalName') return [];
  const errs: ErrorList = [];
  const specPath = Path.root('spec');
  const clusterIPsPath = specPath.child('clusterIPs');
  const ipFamiliesPath = specPath.child('ipFamilies');
  const clusterIP = spec.clusterIP ?? '';
  const clusterIPs = spec.clusterIPs ?? [];
  const families = spec.ipFamilies ?? [];

  if (clusterIP.length > 0) {
    if (clusterIPs.length === 0) errs.push(required(clusterIPsPath));
    else if (clusterIPs[0] !== clusterIP) {
      errs.push(invalid(clusterIPsPath, spec.clusterIPs, 'first value must match `clusterIP`'));
    }
  } else if (clusterIPs.length > 0) {
    errs.push(invalid(clusterIPsPath, spec.clusterIPs, 'must be empty when `clusterIP` is not specified'));
  }

  const seen = new Set<string>();
  families.forEach((family, i) => {
    if (!has(supportedIPFamilies, family))
      errs.push(notSupported(ipFamiliesPath.index(i), family, supportedIPFamilies));
    if (seen.has(family)) errs.push(duplicate(ipFamiliesPath.index(i), family));
    seen.add(family);
  });

  const policy = spec.ipFamilyPolicy;
  if (policy !== undefined && policy !== null && !has(supportedIPFamilyPolicies, policy)) {
    errs.push(notSupported(specPath.child('ipFamilyPolicy'), policy, supportedIPFamilyPolicies));
  }

  let hasInvalidIPs = false;
  clusterIPs.forEach((ip, i) => {
    if (i === 0 && ip === clusterIPNone) {
      if (clusterIPs.length > 1) {
        hasInvalidIPs = true;
        errs.push(invalid(clusterIPsPath, spec.clusterIPs, "'None' must be the first and only value"));
      }
      return;
    }
    const idxPath = clusterIPsPath.index(i);
    const ipErrs = validOld.includes(ip) ? isValidIPForLegacyField(idxPath, ip, false) : isValidIP(idxPath, ip);
    if (ipErrs.length > 0) hasInvalidIPs = true;
    errs.push(...ipErrs);
  });

  if (clusterIPs.length > 2) errs.push(invalid(clusterIPsPath, spec.clusterIPs, 'may only hold up to 2 values'));

  // Bad entries would skew the family checks below (wrong index, wrong family), so stop here.
  if (hasInvalidIPs) return errs;

  if (clusterIPs.length > 1 && !isDualStackIPs(clusterIPs)) {
    errs.push(invalid(clusterIPsPath, spec.clusterIPs, 'may specify no more than one IP for each IP family'));
  }

  if (!isHeadless(svc) && clusterIPs.length > 0 && families.length > 0) {
    for (let i = 0; i < clusterIPs.length && i < families.length; i++) {
      const ip = clusterIPs[i] ?? '';
      if (families[i] === 'IPv4' && isIPv6(ip)) {
        errs.push(invalid(clusterIPsPath.index(i), ip, `expected an IPv4 value as indicated by \`ipFamilies[${i}]\``));
      }
      if (families[i] === 'IPv6' && !isIPv6(ip)) {
        errs.push(invalid(clusterIPsPath.index(i), ip, `expected an IPv6 value as indicated by \`ipFamilies[${i}]\``));
      }
    }
  }
  return errs;
}

function validateSourceRanges(svc: Service, validOld: readonly string[]): ErrorList {
  const spec: ServiceSpec = svc.spec ?? {};
  const errs: ErrorList = [];
  const check = (path: Path, value: string): ErrorList =>
    validOld.includes(value) ? isValidCIDRForLegacyField(path, value, false) : isValidCIDR(path, value);
  const ranges = spec.loadBalancerSourceRanges ?? [];
  if (ranges.length > 0) {
    // Upstream spells this path with a capital L.
    const fieldPath = Path.root('spec').child('LoadBalancerSourceRanges');
    if (spec.type !== 'LoadBalancer') {
      errs.push(forbidden(fieldPath, "may only be used when `type` is 'LoadBalancer'"));
    }
    // Values may be space-padded, a leftover from the annotation this field replaced.
    ranges.forEach((value, i) => {
      errs.push(...check(fieldPath.index(i), value.trim()));
    });
    return errs;
  }
  const annotation = svc.metadata?.annotations?.[annotationKeys.loadBalancerSourceRanges];
  if (annotation === undefined) return errs;
  const fieldPath = Path.root('metadata').child('annotations').key(annotationKeys.loadBalancerSourceRanges);
  if (spec.type !== 'LoadBalancer') {
    errs.push(forbidden(fieldPath, "may only be used when `type` is 'LoadBalancer'"));
  }
  const value = annotation.trim();
  if (value !== '') {
    for (const cidr of value.split(',')) errs.push(...check(fieldPath, cidr.trim()));
  }
  return errs;
}

/** validateLoadBalancerClassField: immutable between two LoadBalancer versions, LB-only otherwise. */
function validateLoadBalancerClassField(old: Service | undefined, svc: Service): ErrorList {
  const errs: ErrorList = [];
  const path = Path.of('spec', 'loadBalancerClass');
  const cls = svc.spec?.loadBalancerClass ?? undefined;
  if (old && old.spec?.type === 'LoadBalancer' && svc.spec?.type === 'LoadBalancer') {
    const oldCls = old.spec?.loadBalancerClass ?? undefined;
    if (oldCls !== cls) errs.push(invalid(path, cls ?? null, 'may not change once set'));
  }
  if (svc.spec?.type === 'LoadBalancer') {
    if (cls !== undefined) for (const msg of isQualifiedName(cls)) errs.push(invalid(path, cls, msg));
  } else if (cls !== undefined) {
    errs.push(forbidden(path, "may only be used when `type` is 'LoadBalancer'"));
  }
  return errs;
}

function validateExternalTrafficPolicy(svc: Service): ErrorList {
  const errs: ErrorList = [];
  const spec: ServiceSpec = svc.spec ?? {};
  const specPath = Path.root('spec');
  const etp = spec.externalTrafficPolicy ?? '';
  if (!isExternallyAccessible(svc)) {
    if (etp !== '') {
      errs.push(
        invalid(specPath.child('externalTrafficPolicy'), etp, 'may only be set for externally-accessible services'),
      );
    }
  } else if (etp === '') {
    errs.push(required(specPath.child('externalTrafficPolicy')));
  } else if (!has(supportedTrafficPolicies, etp)) {
    errs.push(notSupported(specPath.child('externalTrafficPolicy'), etp, supportedTrafficPolicies));
  }

  const hcnp = spec.healthCheckNodePort ?? 0;
  const hcnpPath = specPath.child('healthCheckNodePort');
  if (!needsHealthCheck(svc)) {
    if (hcnp !== 0) {
      errs.push(
        invalid(hcnpPath, hcnp, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"),
      );
    }
  } else if (hcnp === 0) {
    errs.push(required(hcnpPath));
  } else {
    for (const msg of isValidPortNum(hcnp)) errs.push(invalid(hcnpPath, hcnp, msg));
  }
  return errs;
}

function validateInternalTrafficPolicy(svc: Service): ErrorList {
  const spec: ServiceSpec = svc.spec ?? {};
  const path = Path.of('spec', 'internalTrafficPolicy');
  const itp = spec.internalTrafficPolicy;
  if (itp === undefined || itp === null) {
    // Not required for ExternalName (nor forbidden): stored objects predate the check.
    const t = spec.type;
    return t === 'NodePort' || t === 'LoadBalancer' || t === 'ClusterIP' ? [required(path)] : [];
  }
  return has(supportedTrafficPolicies, itp) ? [] : [notSupported(path, itp, supportedTrafficPolicies)];
}

function validateTrafficDistribution(svc: Service): ErrorList {
  const td = svc.spec?.trafficDistribution;
  if (td === undefined || td === null || has(supportedTrafficDistributions, td)) return [];
  return [notSupported(Path.of('spec', 'trafficDistribution'), td, supportedTrafficDistributions)];
}

/** validateUpgradeDowngradeClusterIPs: the primary cluster IP never changes in place (§1.42). */
function validateUpgradeDowngradeClusterIPs(old: Service, svc: Service): ErrorList {
  const errs: ErrorList = [];
  if (svc.spec?.type === 'ExternalName' || old.spec?.type === 'ExternalName') return errs;
  if (isHeadless(old) && isHeadless(svc)) return errs;
  const oldIPs = old.spec?.clusterIPs ?? [];
  const newValue = svc.spec?.clusterIPs;
  const newIPs = newValue ?? [];
  const path = Path.of('spec', 'clusterIPs');
  if (oldIPs.length === newIPs.length) {
    oldIPs.forEach((ip, i) => {
      if (ip !== newIPs[i]) errs.push(invalid(path.index(i), newValue ?? null, 'may not change once set'));
    });
  } else if (oldIPs.length > newIPs.length) {
    if (newIPs.length === 0) errs.push(invalid(path.index(0), newValue ?? null, 'primary clusterIP can not be unset'));
    if (oldIPs.length > 0 && newIPs.length > 0 && newIPs[0] !== oldIPs[0]) {
      errs.push(invalid(path.index(0), newValue ?? null, 'may not change once set'));
    }
    if (newIPs.length === 1 && svc.spec?.ipFamilyPolicy !== 'SingleStack') {
      errs.push(
        invalid(
          Path.of('spec', 'ipFamilyPolicy'),
          svc.spec?.ipFamilyPolicy ?? null,
          "must be set to 'SingleStack' when releasing the secondary clusterIP",
        ),
      );
    }
  } else if (oldIPs.length > 0 && newIPs[0] !== oldIPs[0]) {
    errs.push(invalid(path.index(0), newValue ?? null, 'may not change once set'));
  }
  return errs;
}

/**
 * validateUpgradeDowngradeIPFamilies (§1.43). Upstream quirks kept: every changed entry reports at
 * ipFamilies[0]; "primary ipFamily can not be unset" looks at clusterIPs, and two messages print
 * clusterIPs as the bad value.
 */
function validateUpgradeDowngradeIPFamilies(old: Service, svc: Service): ErrorList {
  const errs: ErrorList = [];
  if (svc.spec?.type === 'ExternalName' || old.spec?.type === 'ExternalName') return errs;
  // Changing to or from headless, or staying headless, may change families freely.
  if (isHeadless(old) || isHeadless(svc)) return errs;
  const oldFamilies = old.spec?.ipFamilies ?? [];
  const newValue = svc.spec?.ipFamilies;
  const newFamilies = newValue ?? [];
  const clusterIPsValue = svc.spec?.clusterIPs ?? null;
  const path0 = Path.of('spec', 'ipFamilies').index(0);
  if (oldFamilies.length === newFamilies.length) {
    oldFamilies.forEach((family, i) => {
      if (family !== newFamilies[i]) errs.push(invalid(path0, newValue ?? null, 'may not change once set'));
    });
  } else if (oldFamilies.length > newFamilies.length) {
    if ((svc.spec?.clusterIPs?.length ?? 0) === 0) {
      errs.push(invalid(path0, newValue ?? null, 'primary ipFamily can not be unset'));
    }
    if (newFamilies.length > 0 && newFamilies[0] !== oldFamilies[0]) {
      errs.push(invalid(path0, clusterIPsValue, 'may not change once set'));
    }
    if (newFamilies.length === 1 && svc.spec?.ipFamilyPolicy !== 'SingleStack') {
      errs.push(
        invalid(
          Path.of('spec', 'ipFamilyPolicy'),
          svc.spec?.ipFamilyPolicy ?? null,
          "must be set to 'SingleStack' when releasing the secondary ipFamily",
        ),
      );
    }
  } else if (oldFamilies.length > 0 && newFamilies.length > 0 && newFamilies[0] !== oldFamilies[0]) {
    errs.push(invalid(path0, clusterIPsValue, 'may not change once set'));
  }
  return errs;
}

function validateExternalTrafficFieldsUpdate(old: Service, svc: Service): ErrorList {
  if (needsHealthCheck(old) && needsHealthCheck(svc)) {
    if ((svc.spec?.healthCheckNodePort ?? 0) !== (old.spec?.healthCheckNodePort ?? 0)) {
      return [forbidden(Path.of('spec', 'healthCheckNodePort'), 'field is immutable')];
    }
  }
  return [];
}

/** ValidateServiceUpdate: update-only checks first, then the whole of ValidateService. */
export function validateServiceUpdate(svc: Service, old: Service): ErrorList {
  const errs = validateObjectMetaUpdate(svc.metadata, old.metadata, Path.root('metadata'));
  errs.push(...validateUpgradeDowngradeClusterIPs(old, svc));
  errs.push(...validateUpgradeDowngradeIPFamilies(old, svc));
  errs.push(...validateLoadBalancerClassField(old, svc));
  errs.push(...validateExternalTrafficFieldsUpdate(old, svc));
  errs.push(...validateServiceAgainst(svc, ratchetFrom(old)));
  return errs;
}

/** ValidateServiceStatusUpdate: metadata rules plus ValidateLoadBalancerStatus (§1.47). */
export function validateServiceStatusUpdate(svc: Service, old: Service): ErrorList {
  const errs = validateObjectMetaUpdate(svc.metadata, old.metadata, Path.root('metadata'));
  errs.push(...validateLoadBalancerStatus(svc, Path.of('status', 'loadBalancer'), ratchetFrom(old).ingressIPs));
  return errs;
}

/**
 * ValidateLoadBalancerStatus with LoadBalancerIPMode on (GA) and AllowServiceLBStatusOnNonLB off
 * (its default), so only LoadBalancer services may carry ingress points.
 */
export function validateLoadBalancerStatus(svc: Service, path: Path, validOldIPs: readonly string[] = []): ErrorList {
  const errs: ErrorList = [];
  const ingressPath = path.child('ingress');
  const ingress = svc.status?.loadBalancer?.ingress ?? [];
  if (svc.spec?.type !== 'LoadBalancer' && ingress.length > 0) {
    return [forbidden(ingressPath, "may only be used when `spec.type` is 'LoadBalancer'")];
  }
  ingress.forEach((ing, i) => {
    const idxPath = ingressPath.index(i);
    const ip = ing.ip ?? '';
    if (ip.length > 0) {
      errs.push(
        ...(validOldIPs.includes(ip)
          ? isValidIPForLegacyField(idxPath.child('ip'), ip, false)
          : isValidIP(idxPath.child('ip'), ip)),
      );
    }
    const ipMode = ing.ipMode ?? undefined;
    if (ipMode === undefined) {
      if (ip.length > 0) errs.push(required(idxPath.child('ipMode'), 'must be specified when `ip` is set'));
    } else if (ip.length === 0) {
      errs.push(forbidden(idxPath.child('ipMode'), 'may not be specified when `ip` is not set'));
    } else if (!has(supportedLoadBalancerIPModes, ipMode)) {
      errs.push(notSupported(idxPath.child('ipMode'), ipMode, supportedLoadBalancerIPModes));
    }
    const hostname = ing.hostname ?? '';
    if (hostname.length > 0) {
      for (const msg of isDNS1123Subdomain(hostname)) errs.push(invalid(idxPath.child('hostname'), hostname, msg));
      if (parseIPSloppy(hostname) !== null) {
        errs.push(invalid(idxPath.child('hostname'), hostname, 'must be a DNS name, not an IP address'));
      }
    }
  });
  return errs;
}
