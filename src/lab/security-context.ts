// Who a lab container's process runs as, decided as the kubelet and a CRI runtime (containerd)
// decide it. The container's securityContext overrides the pod's field by field
// (securitycontext.DetermineEffectiveSecurityContext); what neither sets comes from the image.
// The lab runs host programs rather than images, so every lab "image" has the same default user:
// nobody, 65534:65534. A runAsUser without runAsGroup takes the user's primary group from
// /etc/passwd (here the host's, which is the lab's root file system), else group 0, as
// containerd's WithUserID does. runAsNonRoot is checked by the kubelet before the container is
// created (verifyRunAsNonRoot): a refusal leaves it waiting in CreateContainerConfigError.
import { readFileSync } from 'node:fs';
import type { Capabilities, Container, PodSecurityContext, SecurityContext } from 'kubernetes-types/core/v1.js';
import type { Pod } from '../api/types.ts';

/** The lab images' user and group (`nobody`/`nogroup` on Debian). */
export const defaultImageUid = 65534;
export const defaultImageGid = 65534;

/**
 * containerd's default capability set for containers (the same as Docker's): what a root
 * container keeps unless it is privileged or its securityContext adds or drops some.
 */
export const defaultCapabilities = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FSETID',
  'FOWNER',
  'MKNOD',
  'NET_RAW',
  'SETGID',
  'SETUID',
  'SETFCAP',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'SYS_CHROOT',
  'KILL',
  'AUDIT_WRITE',
] as const;

export interface ContainerIdentity {
  uid: number;
  gid: number;
  /** Supplementary groups: the pod's supplementalGroups and fsGroup. */
  groups: number[];
  /**
   * The capability bounding set (names without CAP_), which is what a root process keeps;
   * 'all' for privileged containers. A non-root process has no capabilities either way.
   */
  capabilities: string[] | 'all';
  /** allowPrivilegeEscalation: false (the no_new_privs bit). */
  noNewPrivileges: boolean;
}

export interface IdentityRefusal {
  reason: 'CreateContainerConfigError';
  message: string;
}

/** The pod as format.Pod prints it in kubelet messages: name_namespace(uid). */
export function podDesc(pod: Pod): string {
  return `${pod.metadata?.name ?? ''}_${pod.metadata?.namespace ?? ''}(${pod.metadata?.uid ?? ''})`;
}

/** DetermineEffectiveSecurityContext, for the fields the lab honours. */
export function effectiveSecurityContext(pod: Pod, c: Container): SecurityContext {
  const p: PodSecurityContext = pod.spec?.securityContext ?? {};
  const s: SecurityContext = c.securityContext ?? {};
  const out: SecurityContext = { ...s };
  if (out.runAsUser === undefined && p.runAsUser !== undefined) out.runAsUser = p.runAsUser;
  if (out.runAsGroup === undefined && p.runAsGroup !== undefined) out.runAsGroup = p.runAsGroup;
  if (out.runAsNonRoot === undefined && p.runAsNonRoot !== undefined) out.runAsNonRoot = p.runAsNonRoot;
  return out;
}

/** A user's primary group in an /etc/passwd text; undefined when the uid is not listed. */
export function passwdPrimaryGid(passwd: string, uid: number): number | undefined {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length >= 4 && f[2] === String(uid) && /^\d+$/.test(f[3] ?? '')) return Number(f[3]);
  }
  return undefined;
}

function hostPasswd(): string {
  try {
    return readFileSync('/etc/passwd', 'utf8');
  } catch {
    return '';
  }
}

/** The bounding set a root container keeps: defaults, plus `add`, minus `drop` ("ALL" honoured in both). */
export function capabilitySet(caps: Capabilities | undefined, privileged: boolean): string[] | 'all' {
  if (privileged) return 'all';
  const norm = (c: string) => c.toUpperCase().replace(/^CAP_/, '');
  const add = (caps?.add ?? []).map(norm);
  const drop = (caps?.drop ?? []).map(norm);
  if (add.includes('ALL') && !drop.length) return 'all';
  let set: string[] = add.includes('ALL') ? [] : [...defaultCapabilities];
  if (drop.includes('ALL')) set = [];
  for (const c of add) if (c !== 'ALL' && !set.includes(c)) set.push(c);
  return set.filter((c) => !drop.includes(c));
}

/**
 * The identity container `c` of `pod` runs with, or the kubelet's refusal (runAsNonRoot with an
 * effective uid of 0). `passwd` is the lab root file system's /etc/passwd (default: the host's).
 */
export function containerIdentity(
  pod: Pod,
  c: Container,
  passwd: () => string = hostPasswd,
): ContainerIdentity | IdentityRefusal {
  const sc = effectiveSecurityContext(pod, c);
  if (sc.runAsNonRoot === true && sc.runAsUser === 0) {
    return {
      reason: 'CreateContainerConfigError',
      message: `container's runAsUser breaks non-root policy (pod: "${podDesc(pod)}", container: ${c.name})`,
    };
  }
  const uid = sc.runAsUser ?? defaultImageUid;
  const gid = sc.runAsGroup ?? (sc.runAsUser === undefined ? defaultImageGid : (passwdPrimaryGid(passwd(), uid) ?? 0));
  const p = pod.spec?.securityContext ?? {};
  const groups: number[] = [];
  for (const g of [...(p.supplementalGroups ?? []), ...(p.fsGroup !== undefined ? [p.fsGroup] : [])]) {
    if (!groups.includes(g)) groups.push(g);
  }
  return {
    uid,
    gid,
    groups,
    capabilities: capabilitySet(sc.capabilities, sc.privileged === true),
    noNewPrivileges: sc.allowPrivilegeEscalation === false,
  };
}
