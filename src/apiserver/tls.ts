// Serving certificates for non-loopback listeners, made with the system openssl: a CA (kept in
// the data directory and written into the kubeconfig) and a server certificate it signs.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

export interface TlsMaterial {
  cert: string;
  key: string;
  ca: string;
}

/** A new P-256 key, unencrypted: `req … <ecKey> -keyout <file>`. */
const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr || (e as Error).message}`);
  }
}

/** Creates (once) and loads a CA + serving cert valid for `hosts` under dir. */
export function ensureServingCert(dir: string, hosts: string[]): TlsMaterial {
  const caKey = join(dir, 'ca.key');
  const caCrt = join(dir, 'ca.crt');
  const key = join(dir, 'apiserver.key');
  const crt = join(dir, 'apiserver.crt');
  if (!existsSync(caCrt)) {
    openssl(['req', '-x509', ...ecKey, '-keyout', caKey, '-out', caCrt, '-days', '3650', '-subj', '/CN=svcnet-ca']);
  }
  const san = [...new Set(['localhost', '127.0.0.1', ...hosts])]
    .map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`))
    .join(',');
  const ext = join(dir, 'apiserver.ext');
  const extText = `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n`;
  // A certificate made for other names (an older start, another --listen) is made again: in-cluster
  // clients check the ClusterIP and kubernetes.default.svc against it.
  const current = existsSync(ext) ? readFileSync(ext, 'utf8') : '';
  if (!existsSync(crt) || !existsSync(key) || current !== extText) {
    writeFileSync(ext, extText);
    const csr = join(dir, 'apiserver.csr');
    openssl(['req', ...ecKey, '-keyout', key, '-out', csr, '-subj', '/CN=svcnet-apiserver']);
    openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      caCrt,
      '-CAkey',
      caKey,
      '-CAcreateserial',
      '-out',
      crt,
      '-days',
      '825',
      '-extfile',
      ext,
    ]);
  }
  return { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8'), ca: readFileSync(caCrt, 'utf8') };
}
