// Pod validation: the part of ValidatePodSpec / ValidatePodUpdate that a Service lab meets
// (containers, ports, restart and DNS policies, names), with upstream paths and texts.
// Deployments reuse validatePodTemplateSpec for spec.template.
import type { Container, PodSpec, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { duplicate, type ErrorList, forbidden, invalid, Path, required } from '../field.ts';
import type { Pod } from '../types.ts';
import { jsonEqual, validateDNS1123Label, validateDNS1123Subdomain, validateEnum, validateProtocol } from './common.ts';
import {
  inclusiveRangeError,
  isValidPortName,
  isValidPortNum,
  nameIsDNSSubdomain,
  validateAnnotations,
  validateLabels,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from './names.ts';

export const restartPolicies = ['Always', 'OnFailure', 'Never'] as const;
export const dnsPolicies = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'] as const;
export const pullPolicies = ['Always', 'IfNotPresent', 'Never'] as const;
const terminationMessagePolicies = ['File', 'FallbackToLogsOnError'] as const;
const maxInt32 = 2147483647;

export function validatePod(pod: Pod): ErrorList {
  return [
    ...validateObjectMeta(pod.metadata, { namespaced: true, nameFn: nameIsDNSSubdomain }, Path.root('metadata')),
    ...validatePodSpec(pod.spec, Path.root('spec')),
  ];
}

/** ValidatePodTemplateSpec: template labels and annotations, then the pod spec. */
export function validatePodTemplateSpec(t: PodTemplateSpec | undefined, path: Path): ErrorList {
  const meta = path.child('metadata');
  return [
    ...validateLabels(t?.metadata?.labels, meta.child('labels')),
    ...validateAnnotations(t?.metadata?.annotations, meta.child('annotations')),
    ...validatePodSpec(t?.spec, path.child('spec')),
  ];
}

export function validatePodSpec(spec: PodSpec | undefined, path: Path): ErrorList {
  const s: Partial<PodSpec> = spec ?? {};
  const containers = s.containers ?? [];
  const errs: ErrorList = [];
  const names = new Set<string>();
  if (containers.length === 0) errs.push(required(path.child('containers'), ''));
  containers.forEach((c, i) => {
    errs.push(...validateContainer(c, path.child('containers').index(i), names));
  });
  (s.initContainers ?? []).forEach((c, i) => {
    errs.push(...validateContainer(c, path.child('initContainers').index(i), names));
  });
  if (s.hostNetwork) {
    // With host networking the container port *is* the host port; upstream requires them equal.
    containers.forEach((c, i) => {
      (c.ports ?? []).forEach((p, j) => {
        if ((p.hostPort ?? 0) !== p.containerPort)
          errs.push(
            invalid(
              path.child('containers').index(i).child('ports').index(j).child('hostPort'),
              p.hostPort ?? 0,
              'must match `containerPort` when `hostNetwork` is true',
            ),
          );
      });
    });
  }
  errs.push(...validateEnum(s.restartPolicy, restartPolicies, path.child('restartPolicy')));
  errs.push(...validateEnum(s.dnsPolicy, dnsPolicies, path.child('dnsPolicy')));
  if (s.dnsPolicy === 'None' && !s.dnsConfig)
    errs.push(required(path.child('dnsConfig'), 'must provide `dnsConfig` when `dnsPolicy` is None'));
  if (s.activeDeadlineSeconds !== undefined && (s.activeDeadlineSeconds < 1 || s.activeDeadlineSeconds > maxInt32))
    errs.push(invalid(path.child('activeDeadlineSeconds'), s.activeDeadlineSeconds, inclusiveRangeError(1, maxInt32)));
  if (s.nodeName) {
    for (const msg of nameIsDNSSubdomain(s.nodeName, false))
      errs.push(invalid(path.child('nodeName'), s.nodeName, msg));
  }
  if (s.serviceAccountName)
    errs.push(...validateDNS1123Subdomain(s.serviceAccountName, path.child('serviceAccountName')));
  errs.push(...validatePodSecurityContext(s.securityContext, path.child('securityContext')));
  if (s.hostname) errs.push(...validateDNS1123Label(s.hostname, path.child('hostname')));
  if (s.subdomain) errs.push(...validateDNS1123Label(s.subdomain, path.child('subdomain')));
  if (s.schedulerName) errs.push(...validateDNS1123Subdomain(s.schedulerName, path.child('schedulerName')));
  return errs;
}

/** IsValidUserID / IsValidGroupID: 0 … 2^31-1. */
function validateId(v: number | undefined, p: Path): ErrorList {
  if (v === undefined || (Number.isInteger(v) && v >= 0 && v <= maxInt32)) return [];
  return [invalid(p, v, inclusiveRangeError(0, maxInt32))];
}

/** ValidatePodSecurityContext's user and group fields (what the lab's kubelet honours). */
function validatePodSecurityContext(sc: PodSpec['securityContext'], p: Path): ErrorList {
  if (!sc) return [];
  return [
    ...validateId(sc.runAsUser, p.child('runAsUser')),
    ...validateId(sc.runAsGroup, p.child('runAsGroup')),
    ...validateId(sc.fsGroup, p.child('fsGroup')),
    ...(sc.supplementalGroups ?? []).flatMap((g, i) => validateId(g, p.child('supplementalGroups').index(i))),
  ];
}

/** `names` is shared by containers and init containers: names are unique across both. */
function validateContainer(c: Container, p: Path, names: Set<string>): ErrorList {
  const errs: ErrorList = [];
  const name = c.name ?? '';
  if (name.length === 0) errs.push(required(p.child('name'), ''));
  else errs.push(...validateDNS1123Label(name, p.child('name')));
  if (name.length > 0 && names.has(name)) errs.push(duplicate(p.child('name'), name));
  names.add(name);
  if (!c.image) errs.push(required(p.child('image'), ''));
  const sc = c.securityContext;
  if (sc) {
    errs.push(...validateId(sc.runAsUser, p.child('securityContext', 'runAsUser')));
    errs.push(...validateId(sc.runAsGroup, p.child('securityContext', 'runAsGroup')));
  }
  errs.push(...validateContainerPorts(c.ports ?? [], p.child('ports')));
  errs.push(...validateEnum(c.imagePullPolicy, pullPolicies, p.child('imagePullPolicy')));
  errs.push(
    ...validateEnum(c.terminationMessagePolicy, terminationMessagePolicies, p.child('terminationMessagePolicy')),
  );
  return errs;
}

function validateContainerPorts(ports: NonNullable<Container['ports']>, path: Path): ErrorList {
  const errs: ErrorList = [];
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const p = path.index(i);
    if (port.name) {
      const msgs = isValidPortName(port.name);
      if (msgs.length > 0) for (const msg of msgs) errs.push(invalid(p.child('name'), port.name, msg));
      else if (names.has(port.name)) errs.push(duplicate(p.child('name'), port.name));
      else names.add(port.name);
    }
    const cp = port.containerPort ?? 0;
    if (cp === 0) errs.push(required(p.child('containerPort'), ''));
    else for (const msg of isValidPortNum(cp)) errs.push(invalid(p.child('containerPort'), cp, msg));
    const hp = port.hostPort ?? 0;
    if (hp !== 0) for (const msg of isValidPortNum(hp)) errs.push(invalid(p.child('hostPort'), hp, msg));
    errs.push(...validateProtocol(port.protocol, p.child('protocol')));
  });
  return errs;
}

const updatablePodSpecFields = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

/**
 * ValidatePodUpdate: a pod's spec is fixed once created, except images, the deadline and added
 * tolerations. Upstream appends a diff of the two specs to the message; we leave it out.
 * spec.nodeName may go from "" to a node once: the equivalent of the pods/binding subresource
 * (the lab's scheduler binds with an update); after that it is fixed like the rest.
 */
export function validatePodUpdate(pod: Pod, old: Pod): ErrorList {
  const errs = [
    ...validateObjectMetaUpdate(pod.metadata, old.metadata, Path.root('metadata')),
    ...validatePodSpec(pod.spec, Path.root('spec')),
  ];
  if (!jsonEqual(maskUpdatable(pod.spec, old.spec), old.spec ?? {})) {
    errs.push(
      forbidden(Path.root('spec'), `pod updates may not change fields other than ${updatablePodSpecFields.join(',')}`),
    );
  }
  return errs;
}

/** The new spec with every field a pod update may change copied from the old one. */
function maskUpdatable(spec: PodSpec | undefined, old: PodSpec | undefined): PodSpec | Record<string, never> {
  if (!spec) return {};
  const o: Partial<PodSpec> = old ?? {};
  const out: PodSpec = structuredClone(spec);
  const copyImages = (list: Container[] | undefined, oldList: Container[] | undefined): void => {
    list?.forEach((c, i) => {
      const prev = oldList?.[i];
      if (prev) c.image = prev.image;
    });
  };
  copyImages(out.containers, o.containers);
  copyImages(out.initContainers, o.initContainers);
  setOrDelete(out, 'activeDeadlineSeconds', o.activeDeadlineSeconds);
  if (!o.nodeName) setOrDelete(out, 'nodeName', o.nodeName);
  // Only additions: every old toleration must still be there.
  const oldTol = o.tolerations ?? [];
  if (oldTol.every((t) => (out.tolerations ?? []).some((n) => jsonEqual(n, t))))
    setOrDelete(out, 'tolerations', o.tolerations);
  const oldGrace = o.terminationGracePeriodSeconds;
  if (oldGrace !== undefined && oldGrace < 0 && out.terminationGracePeriodSeconds === 1)
    out.terminationGracePeriodSeconds = oldGrace;
  return out;
}

function setOrDelete<K extends keyof PodSpec>(spec: PodSpec, key: K, value: PodSpec[K] | undefined): void {
  if (value === undefined) delete spec[key];
  else spec[key] = value;
}
