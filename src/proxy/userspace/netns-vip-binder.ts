// The real VipBinder: `ip -n <netns> addr … dev lo`. It only ever works inside a named network
// namespace (the lab's node namespace): binding VIPs in the root namespace of the machine would
// capture real traffic to those addresses (DESIGN.md, network safety).
// Processes are spawned only through kernel/exec.ts (the one seam that touches the OS).
import { ipFamilyOf } from '../../api/ip.ts';
import { run as exec, isExecError } from '../../kernel/exec.ts';
import type { VipBinder } from './vips.ts';

export class VipBinderError extends Error {
  constructor(
    readonly code: 'NO_NAMESPACE' | 'IP_FAILED' | 'BAD_ADDRESS',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

async function run(args: string[]): Promise<string> {
  try {
    return (await exec(['ip', ...args], { timeoutMs: 10_000 })).stdout;
  } catch (err) {
    const detail = isExecError(err) ? err.stderr.trim() || err.message : String(err);
    throw new VipBinderError('IP_FAILED', `ip ${args.join(' ')}: ${detail}`, { cause: err });
  }
}

function prefixed(ip: string): string {
  const fam = ipFamilyOf(ip);
  if (!fam) throw new VipBinderError('BAD_ADDRESS', `not an IP address: ${ip}`);
  return fam === 'IPv4' ? `${ip}/32` : `${ip}/128`;
}

export class NetnsVipBinder implements VipBinder {
  constructor(private readonly netns: string) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(netns)) {
      throw new VipBinderError('NO_NAMESPACE', 'a VIP binder needs the name of the node network namespace');
    }
  }

  async add(ip: string): Promise<void> {
    // `replace` is idempotent where `add` fails with "File exists".
    await run(['-n', this.netns, 'addr', 'replace', prefixed(ip), 'dev', 'lo']);
  }

  async remove(ip: string): Promise<void> {
    try {
      await run(['-n', this.netns, 'addr', 'del', prefixed(ip), 'dev', 'lo']);
    } catch (err) {
      // Already gone is success; anything else is real.
      if (!String((err as Error).message).includes('Cannot assign requested address')) throw err;
    }
  }

  async list(): Promise<string[]> {
    const out = await run(['-n', this.netns, '-j', 'addr', 'show', 'dev', 'lo']);
    const parsed = JSON.parse(out) as { addr_info?: { local?: string; prefixlen?: number }[] }[];
    const ips: string[] = [];
    for (const link of parsed) {
      for (const a of link.addr_info ?? []) {
        // The namespace's own loopback addresses are not VIPs.
        if (a.local && a.local !== '127.0.0.1' && a.local !== '::1') ips.push(a.local);
      }
    }
    return ips.sort();
  }
}
