// Snapshot → restore text for iptables/ip6tables and ipset. Pure: no process, no socket. The
// renderer keeps each service port's contribution so a partial sync rewrites only the chains of
// ports that changed (declared chains are flushed and refilled by `iptables-restore --noflush`)
// and adds or deletes only their set elements. A full sync redeclares every svcnet chain, deletes
// svcnet chains nothing renders any more, and replaces every set's contents by `ipset swap`.
//
// Each family's plan runs in three steps, each safe for traffic at its end: `ipsetPre` (sets
// created; elements of VIPs that went away deleted), `iptables` (chains), `ipsetPost` (elements
// of new VIPs, now that their chains exist; a full sync swaps complete sets in here).
import { canonicalCIDR, cidrFamilyOf, type IPFamily } from '../../api/ip.ts';
import type { IptTable } from '../../kernel/iptables.ts';
import type { ProxySnapshot } from '../snapshot.ts';
import type { EndpointInfo, NodeInfo, ServicePortInfo, ServicePortKey } from '../types.ts';
import { type Contribution, type ContributionContext, contributionOf } from './contribution.ts';
import {
  chainPrefix,
  createSetLine,
  dropMark,
  familyWords,
  fixedChains,
  hex,
  hookJumps,
  indexShift,
  masqMark,
  maxIndex,
  type SetKey,
  setName,
  setSpecs,
  tmpSetName,
} from './structure.ts';

export interface IptablesRenderConfig {
  readonly families: readonly IPFamily[];
  /** Service CIDRs: unallocated addresses inside are dropped (5.14). */
  readonly serviceCIDRs: readonly string[];
  /** kube-proxy --masquerade-all. */
  readonly masqueradeAll: boolean;
  /**
   * kube-proxy --cluster-cidr (detectLocalMode ClusterCIDR): local traffic is a source in these;
   * undefined: in the node's pod CIDRs.
   */
  readonly clusterCIDRs?: readonly string[];
}

/** What the kernel holds of svcnet's (from iptables-save), for a full sync. */
export interface ExistingRules {
  /** Per table: svcnet chains present, and how often each built-in chain jumps to each. */
  readonly tables: ReadonlyMap<IptTable, { chains: readonly string[]; jumps: ReadonlyMap<string, number> }>;
  /** Dispatch indices found in the tree (entry chain → index): kept so live set marks stay right. */
  readonly indices: ReadonlyMap<string, number>;
}

export interface RestorePlan {
  readonly ipsetPre: string;
  readonly iptables: string;
  readonly ipsetPost: string;
}

interface Environment {
  readonly node: NodeInfo;
  readonly nodePortIPs: readonly string[];
  readonly localhostNodePorts: boolean;
}

function envKey(e: Environment): string {
  return JSON.stringify([e.node.name, e.node.zone, e.node.ips, e.node.podCIDRs, e.nodePortIPs, e.localhostNodePorts]);
}

function cidrsOf(cidrs: readonly string[], family: IPFamily): string[] {
  return cidrs.filter((c) => cidrFamilyOf(c) === family).map((c) => canonicalCIDR(c) ?? c);
}

const treeRoot = 'SVCNET-DISPATCH';
/** Tree chain for an index prefix of `digits` nibbles (1–3); the root has none. */
function treeChain(prefix: string): string {
  return prefix === '' ? treeRoot : `SVCNET-D-${prefix}`;
}
const nibbles = (i: number): string => i.toString(16).padStart(4, '0');

/** Dispatch indices: stable per entry chain; a freed index is reused only after the next render. */
class Indices {
  readonly byName = new Map<string, number>();
  private readonly used = new Set<number>();
  private pendingFree: number[] = [];
  private free: number[] = [];
  private next = 1;

  get(name: string): number {
    const have = this.byName.get(name);
    if (have !== undefined) return have;
    let i = this.free.pop();
    if (i === undefined) {
      while (this.used.has(this.next)) this.next++;
      i = this.next++;
    }
    if (i > maxIndex) throw new Error(`iptables plane: more than ${maxIndex} entry chains`);
    this.byName.set(name, i);
    this.used.add(i);
    return i;
  }

  /** Indices the kernel's tree uses: kept for these names; the rest stay reserved this round. */
  seed(found: ReadonlyMap<string, number>): void {
    for (const [name, i] of found) {
      if (this.byName.has(name) || this.used.has(i) || i < 1 || i > maxIndex) continue;
      this.byName.set(name, i);
      this.used.add(i);
    }
  }

  release(name: string): void {
    const i = this.byName.get(name);
    if (i === undefined) return;
    this.byName.delete(name);
    this.pendingFree.push(i);
  }

  /** Called after a render: indices freed before it may now be handed out again. */
  settle(): void {
    for (const i of this.pendingFree) this.used.delete(i);
    this.free.push(...this.pendingFree);
    this.free.sort((a, b) => b - a);
    this.pendingFree = [];
  }
}

class FamilyState {
  readonly chains = new Map<string, string[]>();
  readonly elements = new Map<string, { ext: string; n: number }>();
  readonly dirtyChains = new Set<string>();
  readonly dirtyElements = new Set<string>();
  /** Entry chains present here by index, and how many present indices share each prefix. */
  readonly entries = new Map<number, string>();
  readonly prefixes = new Map<string, number>();
  readonly dirtyTree = new Set<string>();

  reset(): void {
    this.chains.clear();
    this.elements.clear();
    this.dirtyChains.clear();
    this.dirtyElements.clear();
    this.entries.clear();
    this.prefixes.clear();
    this.dirtyTree.clear();
  }
}

const noContribution: Contribution = { chains: new Map(), elements: new Map() };

export class IptablesRenderer {
  private readonly fam = new Map<IPFamily, FamilyState>();
  private readonly indices = new Indices();
  private env: Environment | undefined;
  private envText = '';
  private readonly last = new Map<
    ServicePortKey,
    { svc: ServicePortInfo; eps: readonly EndpointInfo[] | undefined; c: Map<IPFamily, Contribution> }
  >();
  /** Entry chain → how many families have it (its index is released at 0). */
  private readonly entryUse = new Map<string, number>();

  constructor(readonly config: IptablesRenderConfig) {
    for (const f of config.families) this.fam.set(f, new FamilyState());
  }

  private state(f: IPFamily): FamilyState {
    const s = this.fam.get(f);
    if (!s) throw new Error(`iptables renderer: family ${f} not configured`);
    return s;
  }

  /** Local-traffic sources of a family: --cluster-cidr when given, else the node's pod CIDRs. */
  localCIDRs(family: IPFamily): string[] {
    return cidrsOf(this.config.clusterCIDRs ?? this.env?.node.podCIDRs ?? [], family);
  }

  private ctx(): ContributionContext {
    const env = this.env;
    if (!env) throw new Error('iptables renderer: no snapshot loaded');
    return {
      node: env.node,
      nodePortIPs: env.nodePortIPs,
      localhostNodePorts: env.localhostNodePorts,
      masqueradeAll: this.config.masqueradeAll,
      localCIDRs: (f) => this.localCIDRs(f),
    };
  }

  environmentChanged(s: ProxySnapshot): boolean {
    return this.env === undefined || envKey(s) !== this.envText;
  }

  /** Seeds dispatch indices from the kernel's tree (a restarted agent keeps live marks valid). */
  seedIndices(found: ReadonlyMap<string, number>): void {
    this.indices.seed(found);
  }

  /** Brings the state to `s`; with `keys` only those ports are recomputed (a partial sync). */
  update(s: ProxySnapshot, keys?: Iterable<ServicePortKey>): void {
    const envChanged = this.environmentChanged(s);
    this.env = { node: s.node, nodePortIPs: s.nodePortIPs, localhostNodePorts: s.localhostNodePorts };
    this.envText = envKey(this.env);
    if (envChanged) {
      // Every contribution depends on the environment: start over (a full render follows).
      // Indices stay with their chain names, so a rebuilt state keeps the marks already live.
      for (const st of this.fam.values()) st.reset();
      this.entryUse.clear();
      this.last.clear();
    }
    if (envChanged || keys === undefined) {
      for (const k of [...this.last.keys()]) if (!s.services.has(k)) this.put(k, undefined, undefined);
      for (const [k, svc] of s.services) {
        const eps = s.endpoints.get(k);
        const prev = this.last.get(k);
        if (prev && prev.svc === svc && prev.eps === eps) continue;
        this.put(k, svc, eps);
      }
      for (const name of [...this.indices.byName.keys()]) if ((this.entryUse.get(name) ?? 0) === 0) this.release(name);
      return;
    }
    for (const k of keys) {
      const svc = s.services.get(k);
      this.put(k, svc, svc ? s.endpoints.get(k) : undefined);
    }
  }

  private put(k: ServicePortKey, svc: ServicePortInfo | undefined, eps: readonly EndpointInfo[] | undefined): void {
    const prev = this.last.get(k);
    const ctx = this.ctx();
    const next = new Map<IPFamily, Contribution>();
    if (svc) {
      for (const f of this.config.families)
        next.set(
          f,
          contributionOf(svc, eps ?? [], f, ctx, (name) => this.indices.get(name)),
        );
    }
    for (const f of this.config.families)
      this.apply(f, prev?.c.get(f) ?? noContribution, next.get(f) ?? noContribution);
    if (svc) this.last.set(k, { svc, eps, c: next });
    else this.last.delete(k);
    // An entry chain the port no longer renders in any family gives its index back.
    for (const c of prev?.c.values() ?? []) {
      for (const name of c.chains.keys())
        if (this.isEntry(name) && (this.entryUse.get(name) ?? 0) === 0) this.release(name);
    }
  }

  private release(name: string): void {
    this.entryUse.delete(name);
    this.indices.release(name);
  }

  private apply(f: IPFamily, before: Contribution, after: Contribution): void {
    const st = this.state(f);
    for (const [name] of before.chains) {
      if (after.chains.has(name)) continue;
      st.chains.delete(name);
      st.dirtyChains.add(name);
      this.entryGone(f, name);
    }
    for (const [name, rules] of after.chains) {
      const old = before.chains.get(name);
      if (old && old.length === rules.length && old.every((r, i) => r === rules[i])) continue;
      st.chains.set(name, rules);
      st.dirtyChains.add(name);
      if (!old) this.entryCame(f, name);
    }
    for (const [key] of before.elements) {
      if (after.elements.has(key)) continue;
      const e = st.elements.get(key);
      if (!e) continue;
      if (--e.n === 0) st.elements.delete(key);
      st.dirtyElements.add(key);
    }
    for (const [key, ext] of after.elements) {
      const had = before.elements.get(key);
      if (had === ext) continue;
      const e = st.elements.get(key);
      if (had === undefined) {
        if (e) {
          e.n++;
          e.ext = ext;
        } else st.elements.set(key, { ext, n: 1 });
      } else if (e) e.ext = ext;
      st.dirtyElements.add(key);
    }
  }

  private isEntry(name: string): boolean {
    return name.startsWith('SVCNET-SVC-') || name.startsWith('SVCNET-EXT-');
  }

  private entryCame(f: IPFamily, name: string): void {
    if (!this.isEntry(name)) return;
    const st = this.state(f);
    const i = this.indices.get(name);
    st.entries.set(i, name);
    this.entryUse.set(name, (this.entryUse.get(name) ?? 0) + 1);
    const n = nibbles(i);
    for (let d = 1; d <= 3; d++) st.prefixes.set(n.slice(0, d), (st.prefixes.get(n.slice(0, d)) ?? 0) + 1);
    for (let d = 0; d <= 3; d++) st.dirtyTree.add(n.slice(0, d));
  }

  private entryGone(f: IPFamily, name: string): void {
    if (!this.isEntry(name)) return;
    const st = this.state(f);
    const i = this.indices.byName.get(name);
    if (i === undefined) return;
    st.entries.delete(i);
    this.entryUse.set(name, (this.entryUse.get(name) ?? 1) - 1);
    const n = nibbles(i);
    for (let d = 1; d <= 3; d++) {
      const p = n.slice(0, d);
      const c = (st.prefixes.get(p) ?? 1) - 1;
      if (c === 0) st.prefixes.delete(p);
      else st.prefixes.set(p, c);
    }
    for (let d = 0; d <= 3; d++) st.dirtyTree.add(n.slice(0, d));
  }

  /** Rules of a dispatch tree chain: a nibble of the mark per level, then a goto. */
  private treeRules(f: IPFamily, prefix: string): string[] | undefined {
    const st = this.state(f);
    if (prefix !== '' && !st.prefixes.has(prefix)) return undefined;
    const level = prefix.length;
    const shift = indexShift + 4 * (3 - level);
    const mask = `${hex(0xf << shift)}`;
    const rules: string[] = [];
    for (let d = 0; d < 16; d++) {
      const digit = d.toString(16);
      const value = hex(d << shift);
      if (level === 3) {
        const name = st.entries.get(Number.parseInt(prefix + digit, 16));
        if (name) rules.push(`-m mark --mark ${value}/${mask} -g ${name}`);
      } else if (st.prefixes.has(prefix + digit)) {
        rules.push(`-m mark --mark ${value}/${mask} -g ${treeChain(prefix + digit)}`);
      }
    }
    return rules;
  }

  private allTreeChains(f: IPFamily): string[] {
    const st = this.state(f);
    return ['', ...st.prefixes.keys()].sort();
  }

  /** Rules of svcnet's fixed chains (config and node facts only). */
  fixedRules(f: IPFamily, chain: string): string[] {
    const set = (k: SetKey) => setName(f, k);
    const w = familyWords[f];
    const isNew = '-m conntrack --ctstate NEW';
    const refuse = [
      `-m mark --mark ${hex(dropMark)}/${hex(dropMark)} -j DROP`,
      `${isNew} -m set --match-set ${set('noep')} dst,dst -j REJECT --reject-with ${w.reject}`,
    ];
    // 5.14: a live ClusterIP on a port it does not serve refuses; an unallocated address is silent.
    const serviceCIDR = [
      `${isNew} -m set --match-set ${set('cluster-ips')} dst -j REJECT --reject-with ${w.reject}`,
      ...cidrsOf(this.config.serviceCIDRs, f).map((c) => `-d ${c} ${isNew} -j DROP`),
    ];
    switch (chain) {
      case 'SVCNET-RAW-PREROUTING':
        // CVE-2020-8558: with route_localnet on, 127/8 from the wire would reach local services.
        return ['-d 127.0.0.0/8 ! -i lo -j DROP'];
      case 'SVCNET-MANGLE':
        return [
          `${isNew} -m set --match-set ${set('fw-vips')} dst,dst -m set ! --match-set ${set('fw-allow')} dst,dst,src -j DROP`,
          `${isNew} -m set --match-set ${set('vips')} dst,dst -j SET --map-set ${set('vips')} dst,dst --map-mark`,
        ];
      case 'SVCNET-SERVICES':
        return [`-m set --match-set ${set('vips')} dst,dst -j ${treeRoot}`];
      case 'SVCNET-POSTROUTING':
        return [
          `-m conntrack --ctstate DNAT -m set --match-set ${set('hairpin')} src,dst,dst -j SVCNET-MARK-MASQ`,
          `-m mark ! --mark ${hex(masqMark)}/${hex(masqMark)} -j RETURN`,
          `-j MARK --set-xmark ${hex(masqMark)}/0x0`,
          '-j MASQUERADE --random-fully',
        ];
      case 'SVCNET-MARK-MASQ':
        return [`-j MARK --set-xmark ${hex(masqMark)}/${hex(masqMark)}`];
      case 'SVCNET-MARK-DROP':
        return [`-j MARK --set-xmark ${hex(dropMark)}/${hex(dropMark)}`];
      case 'SVCNET-INPUT':
        return refuse;
      case 'SVCNET-FORWARD':
      case 'SVCNET-OUTPUT':
        return [...refuse, ...serviceCIDR];
      default:
        throw new Error(`iptables renderer: ${chain} is not a fixed chain`);
    }
  }

  private tablesOf(f: IPFamily): IptTable[] {
    return (['raw', 'mangle', 'nat', 'filter'] as const).filter((t) =>
      hookJumps.some((h) => h.table === t && (h.families as readonly IPFamily[]).includes(f)),
    );
  }

  private fixedOf(f: IPFamily, t: IptTable): readonly string[] {
    return t === 'raw' && f === 'IPv6' ? [] : fixedChains[t];
  }

  /** The whole state, per family. `existing`: what the kernel holds (undefined: nothing). */
  renderFull(existing: Partial<Record<IPFamily, ExistingRules | undefined>> = {}): Map<IPFamily, RestorePlan> {
    const out = new Map<IPFamily, RestorePlan>();
    for (const f of this.config.families) {
      const st = this.state(f);
      const ex = existing[f];
      const ipt: string[] = [];
      for (const t of this.tablesOf(f)) {
        const want = new Map<string, string[]>();
        for (const c of this.fixedOf(f, t)) if (c !== treeRoot) want.set(c, this.fixedRules(f, c));
        if (t === 'nat') {
          for (const p of this.allTreeChains(f)) want.set(treeChain(p), this.treeRules(f, p) ?? []);
          for (const [name, rules] of st.chains) want.set(name, rules);
        }
        const had = ex?.tables.get(t);
        const stale = (had?.chains ?? []).filter((c) => c.startsWith(chainPrefix) && !want.has(c));
        ipt.push(`*${t}`);
        for (const c of [...want.keys(), ...stale]) ipt.push(`:${c} - [0:0]`);
        for (const h of hookJumps) {
          if (h.table !== t || !(h.families as readonly IPFamily[]).includes(f)) continue;
          const n = had?.jumps.get(`${h.builtin} ${h.chain}`) ?? 0;
          if (n === 0) ipt.push(`-I ${h.builtin} 1 -j ${h.chain}`);
          for (let k = 1; k < n; k++) ipt.push(`-D ${h.builtin} -j ${h.chain}`);
        }
        for (const [c, rules] of want) for (const r of rules) ipt.push(`-A ${c} ${r}`);
        for (const c of stale) ipt.push(`-X ${c}`);
        ipt.push('COMMIT');
      }
      const pre: string[] = [];
      const post: string[] = [];
      const bySet = new Map<SetKey, string[]>(setSpecs.map((s) => [s.key, []]));
      for (const c of this.localCIDRs(f)) bySet.get('pod-cidrs')?.push(`add ${tmpSetName(f, 'pod-cidrs')} ${c}`);
      for (const [key, e] of st.elements) {
        const sp = key.indexOf(' ');
        const k = key.slice(0, sp) as SetKey;
        bySet.get(k)?.push(`add ${tmpSetName(f, k)} ${key.slice(sp + 1)}${e.ext ? ` ${e.ext}` : ''}`);
      }
      for (const s of setSpecs) {
        pre.push(createSetLine(setName(f, s.key), f, s.key));
        post.push(createSetLine(tmpSetName(f, s.key), f, s.key), `flush ${tmpSetName(f, s.key)}`);
        post.push(...(bySet.get(s.key) ?? []));
        post.push(`swap ${tmpSetName(f, s.key)} ${setName(f, s.key)}`, `destroy ${tmpSetName(f, s.key)}`);
      }
      out.set(f, { ipsetPre: lines(pre), iptables: lines(ipt), ipsetPost: lines(post) });
      st.dirtyChains.clear();
      st.dirtyElements.clear();
      st.dirtyTree.clear();
    }
    this.indices.settle();
    return out;
  }

  /** The changes since the last render, per family (empty strings when nothing changed). */
  renderPartial(): Map<IPFamily, RestorePlan> {
    const out = new Map<IPFamily, RestorePlan>();
    for (const f of this.config.families) {
      const st = this.state(f);
      const pre: string[] = [];
      const post: string[] = [];
      for (const key of st.dirtyElements) {
        const sp = key.indexOf(' ');
        const name = setName(f, key.slice(0, sp) as SetKey);
        const e = st.elements.get(key);
        if (e) post.push(`add ${name} ${key.slice(sp + 1)}${e.ext ? ` ${e.ext}` : ''}`);
        else pre.push(`del ${name} ${key.slice(sp + 1)}`);
      }
      const declare: string[] = [];
      const rules: string[] = [];
      const del: string[] = [];
      for (const name of st.dirtyChains) {
        declare.push(`:${name} - [0:0]`);
        const r = st.chains.get(name);
        if (r) for (const x of r) rules.push(`-A ${name} ${x}`);
        else del.push(`-X ${name}`);
      }
      for (const p of st.dirtyTree) {
        const name = treeChain(p);
        declare.push(`:${name} - [0:0]`);
        const r = this.treeRules(f, p);
        if (r) for (const x of r) rules.push(`-A ${name} ${x}`);
        else del.push(`-X ${name}`);
      }
      const ipt = declare.length > 0 ? lines(['*nat', ...declare, ...rules, ...del, 'COMMIT']) : '';
      out.set(f, { ipsetPre: lines(pre), iptables: ipt, ipsetPost: lines(post) });
      st.dirtyChains.clear();
      st.dirtyElements.clear();
      st.dirtyTree.clear();
    }
    this.indices.settle();
    return out;
  }

  /** Chains svcnet owns per family (fixed, tree and per-service), for metrics. */
  chainCount(f: IPFamily): number {
    const st = this.state(f);
    return st.chains.size + st.prefixes.size + this.tablesOf(f).reduce((n, t) => n + this.fixedOf(f, t).length, 0);
  }

  elementCount(f: IPFamily): number {
    return this.state(f).elements.size;
  }
}

function lines(l: readonly string[]): string {
  return l.length > 0 ? `${l.join('\n')}\n` : '';
}

/** Reads what svcnet owns out of iptables-save text (parseSave), for renderFull. */
export function existingRules(
  saved: ReadonlyMap<IptTable, ReadonlyMap<string, { rules: readonly string[] }>>,
): ExistingRules {
  const tables = new Map<IptTable, { chains: string[]; jumps: Map<string, number> }>();
  const indices = new Map<string, number>();
  for (const [t, chains] of saved) {
    const mine: string[] = [];
    const jumps = new Map<string, number>();
    for (const [name, c] of chains) {
      if (name.startsWith(chainPrefix)) mine.push(name);
      for (const r of c.rules) {
        const m = /^-j (SVCNET-[A-Z-]+)$/.exec(r);
        if (m && !name.startsWith(chainPrefix)) jumps.set(`${name} ${m[1]}`, (jumps.get(`${name} ${m[1]}`) ?? 0) + 1);
      }
      // Leaves of the dispatch tree: SVCNET-D-xyz holds "--mark 0xN0000/0xf0000 -g <entry>".
      const leaf = /^SVCNET-D-([0-9a-f]{3})$/.exec(name);
      if (t === 'nat' && leaf) {
        for (const r of c.rules) {
          const m = /^-m mark --mark 0x([0-9a-f]+)\/0xf0000 -g (SVCNET-\S+)$/.exec(r);
          if (m?.[1] && m[2])
            indices.set(m[2], Number.parseInt(leaf[1] ?? '', 16) * 16 + (Number.parseInt(m[1], 16) >>> 16));
        }
      }
    }
    tables.set(t, { chains: mine, jumps });
  }
  return { tables, indices };
}
