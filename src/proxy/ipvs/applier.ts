// The IPVS plane's reach into the kernel, thin: the IPVS seam (kernel/ipvs.ts), the dummy link
// the service addresses are bound on, the helper table through `nft -f`, and the sysctls IPVS
// needs, all inside the node's network namespace. FakeIpvsApplier is the same in memory.
import { existsSync } from 'node:fs';
import { type Runner, run } from '../../kernel/exec.ts';
import { FakeIpvs } from '../../kernel/fake-ipvs.ts';
import { ExecIpvs, type Ipvs } from '../../kernel/ipvs.ts';
import { inNetns } from '../../kernel/netns.ts';
import { dummyLink, helperTable } from './render.ts';

export interface IpvsApplier {
  readonly ipvs: Ipvs;
  /** Creates svcnet-ipvs0 when missing; sets the sysctls IPVS needs (the namespace's own). */
  prepare(): Promise<void>;
  /** Addresses bound on svcnet-ipvs0 now ([] when the link is absent). */
  bound(): Promise<string[]>;
  bind(add: readonly string[], remove: readonly string[]): Promise<void>;
  /** Applies helper-table text in one nft transaction. */
  helper(text: string): Promise<void>;
  /** `nft list table` of the helper table; '' when absent. */
  listHelper(): Promise<string>;
  /** svcnet-ipvs0 gone (its addresses with it). */
  removeLink(): Promise<void>;
}

/**
 * As kube-proxy sets them, in the node namespace only: conntrack for IPVS connections (the
 * helper table's masquerade needs it), a real server that is gone expires its connections,
 * persistence templates of quiesced (weight 0) servers expire, and strict ARP so addresses
 * bound on the dummy are never answered for on other links (an L2 announcer decides that).
 * conn_reuse_mode keeps the kernel default: kernels since 5.9 no longer stall reused ports.
 */
export const ipvsSysctls: readonly (readonly [string, string])[] = [
  ['net.ipv4.vs.conntrack', '1'],
  ['net.ipv4.vs.expire_nodest_conn', '1'],
  ['net.ipv4.vs.expire_quiescent_template', '1'],
  ['net.ipv4.conf.all.arp_ignore', '1'],
  ['net.ipv4.conf.all.arp_announce', '2'],
  ['net.ipv4.ip_forward', '1'],
];

export class ExecIpvsApplier implements IpvsApplier {
  readonly ipvs: Ipvs;
  constructor(
    private readonly netns: string | undefined,
    private readonly runner: Runner = run,
  ) {
    this.ipvs = new ExecIpvs(netns, runner);
  }

  private sh(argv: readonly string[], input?: string) {
    return this.runner(inNetns(this.netns, argv), { timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) });
  }

  async prepare(): Promise<void> {
    if (!existsSync('/proc/net/ip_vs')) await this.runner(['modprobe', 'ip_vs']).catch(() => {});
    // One process for the link and the sysctls: a cold start spawns as little as it can.
    const sysctls = ipvsSysctls.map(([k, v]) => `${k}=${v}`).join(' ');
    await this.sh([
      'sh',
      '-ec',
      `ip link show ${dummyLink} >/dev/null 2>&1 || ip link add ${dummyLink} type dummy
       ip link set ${dummyLink} up
       sysctl -q -w ${sysctls}`,
    ]);
  }

  async bound(): Promise<string[]> {
    try {
      // Global scope only: the kernel's own IPv6 link-local address on the link is not ours.
      const { stdout } = await this.sh(['ip', '-o', 'addr', 'show', 'dev', dummyLink, 'scope', 'global']);
      return [...stdout.matchAll(/\binet6? ([0-9a-fA-F.:]+)\//g)].map((m) => m[1] ?? '').filter((a) => a !== '');
    } catch {
      return [];
    }
  }

  async bind(add: readonly string[], remove: readonly string[]): Promise<void> {
    const lines = [
      ...add.map(
        (a) => `addr add ${a}/${a.includes(':') ? 128 : 32} dev ${dummyLink}${a.includes(':') ? ' nodad' : ''}`,
      ),
      ...remove.map((a) => `addr del ${a}/${a.includes(':') ? 128 : 32} dev ${dummyLink}`),
    ];
    if (lines.length) await this.sh(['ip', '-force', '-batch', '-'], `${lines.join('\n')}\n`);
  }

  async helper(text: string): Promise<void> {
    await this.sh(['nft', '-f', '-'], text);
  }

  async listHelper(): Promise<string> {
    try {
      return (await this.sh(['nft', 'list', 'table', 'inet', helperTable])).stdout;
    } catch {
      return '';
    }
  }

  async removeLink(): Promise<void> {
    await this.sh(['ip', 'link', 'del', dummyLink]).catch(() => {});
  }
}

/** The applier in memory (unit tests): the fake IPVS, a set of bound addresses, the last helper text. */
export class FakeIpvsApplier implements IpvsApplier {
  readonly ipvs = new FakeIpvs();
  readonly addresses = new Set<string>();
  helperText = '';
  prepared = 0;
  async prepare(): Promise<void> {
    this.prepared++;
  }
  async bound(): Promise<string[]> {
    return [...this.addresses].sort();
  }
  async bind(add: readonly string[], remove: readonly string[]): Promise<void> {
    for (const a of add) this.addresses.add(a);
    for (const a of remove) this.addresses.delete(a);
  }
  /** Element deltas (partial syncs) since the last whole table. */
  helperDeltas: string[] = [];
  async helper(text: string): Promise<void> {
    if (text.startsWith('add table')) {
      this.helperText = text.includes('{') ? text : '';
      this.helperDeltas = [];
    } else this.helperDeltas.push(text);
  }
  async listHelper(): Promise<string> {
    return this.helperText;
  }
  async removeLink(): Promise<void> {
    this.addresses.clear();
  }
}
