// The kubeconfig svcnet writes for its users (mode 0600: it holds the bearer token).
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  server: string;
  token: string;
  /** PEM of the serving CA when TLS is on; kubectl then verifies the server. */
  caPem?: string;
  clusterName?: string;
  /** Name to verify the serving certificate against when `server` is an address it lacks. */
  tlsServerName?: string;
}

export function renderKubeconfig(o: KubeconfigOptions): string {
  const name = o.clusterName ?? 'svcnet';
  const cluster: Record<string, string> = { server: o.server };
  if (o.caPem) cluster['certificate-authority-data'] = Buffer.from(o.caPem).toString('base64');
  if (o.tlsServerName) cluster['tls-server-name'] = o.tlsServerName;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster }],
    users: [{ name: `${name}-admin`, user: { token: o.token } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin`, namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  });
}

export function writeKubeconfig(path: string, o: KubeconfigOptions): void {
  writeFileSync(path, renderKubeconfig(o), { mode: 0o600 });
}
