// The /etc/hosts a lab pod sees, as kubelet writes it (managedHostsFileContent in
// pkg/kubelet/kubelet_pods.go): localhost lines, the pod's own name on each pod IP (its FQDN
// first when it has a subdomain), then spec.hostAliases. `ip netns exec` mounts it over /etc/hosts;
// `svcnet exec` also reads it to find a pod's namespace without entering every namespace.
import type { Pod } from 'kubernetes-types/core/v1.js';

const header = [
  '# Kubernetes-managed hosts file.',
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'fe00::0\tip6-mcastprefix',
  'fe00::1\tip6-allnodes',
  'fe00::2\tip6-allrouters',
];

/** The pod's hostname as kubelet sets it: spec.hostname, else the name cut to 63 characters. */
export function podHostname(pod: Pod): string {
  const name = pod.spec?.hostname || (pod.metadata?.name ?? '');
  return name.length > 63 ? name.slice(0, 63).replace(/[-.]+$/, '') : name;
}

export function managedHostsFile(pod: Pod, podIPs: readonly string[], clusterDomain: string): string {
  const lines = [...header];
  const host = podHostname(pod);
  const sub = pod.spec?.subdomain;
  const domain = sub ? `${sub}.${pod.metadata?.namespace ?? 'default'}.svc.${clusterDomain}` : '';
  for (const ip of podIPs) lines.push(domain ? `${ip}\t${host}.${domain}\t${host}` : `${ip}\t${host}`);
  const aliases = pod.spec?.hostAliases ?? [];
  if (aliases.length > 0) {
    lines.push('', '# Entries added by HostAliases.');
    for (const a of aliases) lines.push(`${a.ip}\t${(a.hostnames ?? []).join('\t')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Whether a hosts file written by managedHostsFile names `ip` as the pod's own address. */
export function hostsFileHasPodIP(content: string, ip: string): boolean {
  const aliasesAt = content.indexOf('# Entries added by HostAliases.');
  const own = aliasesAt >= 0 ? content.slice(0, aliasesAt) : content;
  return own.split('\n').some((l) => l.split('\t')[0] === ip && !l.startsWith('#'));
}
