// Pod defaulting (core/v1 SetDefaults_Pod, SetDefaults_PodSpec, SetDefaults_Container,
// SetDefaults_ContainerPort). Pod-template defaulting (Deployments) is the PodSpec part only:
// enableServiceLinks and host-network host ports are pod-level defaults upstream.
import type { Container, PodSpec } from 'kubernetes-types/core/v1.js';
import type { Pod } from '../types.ts';

export const defaultSchedulerName = 'default-scheduler';
export const defaultTerminationGracePeriodSeconds = 30;

export function defaultPod(pod: Pod): void {
  pod.spec ??= { containers: [] };
  const spec = pod.spec;
  defaultPodSpec(spec);
  spec.enableServiceLinks ??= true;
  if (spec.hostNetwork) {
    for (const c of [...spec.containers, ...(spec.initContainers ?? [])])
      for (const p of c.ports ?? []) if (!p.hostPort) p.hostPort = p.containerPort;
  }
}

export function defaultPodSpec(spec: PodSpec): void {
  spec.containers ??= [];
  spec.dnsPolicy ||= 'ClusterFirst';
  spec.restartPolicy ||= 'Always';
  spec.terminationGracePeriodSeconds ??= defaultTerminationGracePeriodSeconds;
  spec.securityContext ??= {};
  spec.schedulerName ||= defaultSchedulerName;
  for (const c of spec.containers) defaultContainer(c);
  for (const c of spec.initContainers ?? []) defaultContainer(c);
}

export function defaultContainer(c: Container): void {
  c.imagePullPolicy ||= imageTag(c.image ?? '') === 'latest' ? 'Always' : 'IfNotPresent';
  c.terminationMessagePath ||= '/dev/termination-log';
  c.terminationMessagePolicy ||= 'File';
  for (const p of c.ports ?? []) p.protocol ||= 'TCP';
}

/**
 * The tag of an image reference as the kubelet's parsers.ParseImageName sees it: no tag and no
 * digest means "latest"; a digest without a tag means no tag at all.
 */
export function imageTag(image: string): string {
  const at = image.indexOf('@');
  const hasDigest = at >= 0;
  const ref = hasDigest ? image.slice(0, at) : image;
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.indexOf(':', lastSlash + 1);
  if (colon >= 0) return ref.slice(colon + 1);
  return hasDigest ? '' : 'latest';
}
