// Snapshot → nft transaction text. Pure: no process, no socket. The renderer keeps what it has
// rendered (ItemStore) so a partial sync is the element adds/deletes of the service ports that
// changed, and a full sync rewrites every object svcnet owns in one atomic transaction without
// ever deleting the table first (affinity sets keep their learned entries; traffic never sees
// an empty ruleset).
import { canonicalCIDR, cidrFamilyOf } from '../../api/ip.ts';
import type { ProxySnapshot } from '../snapshot.ts';
import { classSteps, type SourceMatch, type TrafficClass } from '../traffic-class.ts';
import type { EndpointInfo, NodeInfo, ServicePortInfo, ServicePortKey } from '../types.ts';
import { type ContributionContext, contributionOf, slotText } from './contribution.ts';
import { type Item, type ItemChange, ItemStore } from './store.ts';
import {
  baseChains,
  dispatchMaps,
  dynamicKind,
  familyWords,
  isMapContainer,
  masqueradeMark,
  type NftFamily,
  type SharedChain,
  setBody,
  setSpecs,
  sharedChains,
  slotPattern,
  tableName,
} from './structure.ts';

export interface RenderConfig {
  readonly families: readonly NftFamily[];
  /** Service CIDRs: unallocated addresses inside are dropped (5.14). */
  readonly serviceCIDRs: readonly string[];
  /** kube-proxy --masquerade-all. */
  readonly masqueradeAll: boolean;
}

/** Objects found in the kernel's table (names only), used by a full sync to delete leftovers. */
export interface ExistingObjects {
  readonly chains: readonly string[];
  readonly sets: readonly string[];
  /** Which of `sets` are maps (`delete set` refuses a map). */
  readonly maps?: readonly string[];
}

/** Elements per `add element` statement: keeps single netlink batches and lines reasonable. */
const elementsPerStatement = 2000;

const configOwner = '#config';

/** Node/config facts every shared chain depends on; a change forces a full re-render. */
interface Environment {
  readonly node: NodeInfo;
  readonly nodePortIPs: readonly string[];
  readonly localhostNodePorts: boolean;
}

function envKey(e: Environment): string {
  return JSON.stringify([e.node.name, e.node.zone, e.node.ips, e.node.podCIDRs, e.nodePortIPs, e.localhostNodePorts]);
}

function cidrsOf(cidrs: readonly string[], family: NftFamily): string[] {
  const want = family === 'ip' ? 'IPv4' : 'IPv6';
  return cidrs.filter((c) => cidrFamilyOf(c) === want).map((c) => canonicalCIDR(c) ?? c);
}

export class NftablesRenderer {
  store = new ItemStore();
  private configOwned: readonly Item[] = [];
  private env: Environment | undefined;
  private envText = '';
  /** Last rendered inputs per service port: identity comparison finds what changed. */
  private readonly lastSvc = new Map<ServicePortKey, ServicePortInfo>();
  private readonly lastEps = new Map<ServicePortKey, readonly EndpointInfo[] | undefined>();

  constructor(readonly config: RenderConfig) {}

  private ctx(): ContributionContext {
    const env = this.env;
    if (!env) throw new Error('nftables renderer: no snapshot loaded');
    return {
      node: env.node,
      nodePortIPs: env.nodePortIPs,
      localhostNodePorts: env.localhostNodePorts,
      families: this.config.families,
    };
  }

  /** Whether the environment (node IPs, pod CIDRs, NodePort addresses…) differs from the last one. */
  environmentChanged(s: ProxySnapshot): boolean {
    return this.env === undefined || envKey(s) !== this.envText;
  }

  /**
   * Brings the store to `s`. With `keys` only those service ports are recomputed (a partial
   * sync, O(their endpoints)); without, every port is and ports no longer present are dropped.
   */
  update(s: ProxySnapshot, keys?: Iterable<ServicePortKey>): void {
    const envChanged = this.environmentChanged(s);
    const prevCtx = this.env ? this.ctx() : undefined;
    this.env = { node: s.node, nodePortIPs: s.nodePortIPs, localhostNodePorts: s.localhostNodePorts };
    this.envText = envKey(this.env);
    const ctx = this.ctx();
    if (envChanged || keys === undefined) {
      // A full update is followed by a full render: no change tracking needed.
      this.store.tracking = false;
      if (envChanged) {
        // Every contribution depends on the environment: start over rather than diff.
        this.store = new ItemStore();
        this.store.tracking = false;
        this.lastSvc.clear();
        this.lastEps.clear();
        this.configOwned = [];
      }
      const cfg = this.configItems();
      this.store.replace(configOwner, this.configOwned, cfg);
      this.configOwned = cfg;
      for (const k of [...this.lastSvc.keys()]) if (!s.services.has(k)) this.drop(k, ctx);
      for (const [k, svc] of s.services) {
        const eps = s.endpoints.get(k);
        if (this.lastSvc.get(k) === svc && this.lastEps.get(k) === eps) continue;
        this.put(k, svc, eps, prevCtx ?? ctx, ctx);
      }
      this.store.tracking = true;
      return;
    }
    for (const k of keys) {
      const svc = s.services.get(k);
      if (!svc) this.drop(k, ctx);
      else this.put(k, svc, s.endpoints.get(k), ctx, ctx);
    }
  }

  /** What `k` contributed at its last render (recomputed: inputs are frozen and kept). */
  private previous(k: ServicePortKey, ctx: ContributionContext): Item[] {
    const svc = this.lastSvc.get(k);
    return svc ? contributionOf(svc, this.lastEps.get(k) ?? [], ctx) : [];
  }

  private put(
    k: ServicePortKey,
    svc: ServicePortInfo,
    eps: readonly EndpointInfo[] | undefined,
    prevCtx: ContributionContext,
    ctx: ContributionContext,
  ): void {
    this.store.replace(k, this.previous(k, prevCtx), contributionOf(svc, eps ?? [], ctx));
    this.lastSvc.set(k, svc);
    this.lastEps.set(k, eps);
  }

  private drop(k: ServicePortKey, ctx: ContributionContext): void {
    this.store.replace(k, this.previous(k, ctx), []);
    this.lastSvc.delete(k);
    this.lastEps.delete(k);
  }

  private configItems(): Item[] {
    const env = this.env;
    const items: Item[] = [];
    for (const family of this.config.families) {
      for (const c of cidrsOf(this.config.serviceCIDRs, family))
        items.push({ family, kind: 'element' as const, container: 'service-cidrs', name: c, value: '' });
      for (const c of cidrsOf(env?.node.podCIDRs ?? [], family))
        items.push({ family, kind: 'element' as const, container: 'pod-cidrs', name: c, value: '' });
    }
    return items;
  }

  /** Rules of a shared chain (depends on config and node facts only). */
  sharedRules(family: NftFamily, chain: SharedChain | (typeof baseChains)[number]['name']): string[] {
    const w = familyWords[family];
    const vip = `${w.sel} daddr . meta l4proto . th dport`;
    const mark = 'jump mark-for-masquerade';
    switch (chain) {
      case 'raw-prerouting':
        // CVE-2020-8558: with route_localnet on, 127/8 from the wire would reach local services.
        return [`iifname != "lo" ${w.sel} daddr ${w.loopback} counter drop`];
      case 'filter-prerouting':
        return ['ct state new jump firewall-check'];
      case 'filter-input':
        return ['ct state new jump service-endpoints-check'];
      case 'filter-forward':
        return ['ct state new jump service-endpoints-check', 'ct state new jump cluster-ips-check'];
      case 'filter-output':
        return ['ct state new jump firewall-check', 'ct state new jump service-endpoints-check'];
      case 'filter-output-post-dnat':
        return ['ct state new jump cluster-ips-check'];
      case 'nat-prerouting':
      case 'nat-output':
        return ['jump services'];
      case 'nat-postrouting':
        return ['jump masquerading'];
      case 'services':
        return [`${vip} vmap @service-ips`];
      case 'service-endpoints-check':
        return [`${vip} vmap @no-endpoint-services`];
      case 'cluster-ips-check':
        // 5.14: a live ClusterIP on a port it does not serve refuses; a free address is silent.
        return [`${w.sel} daddr @cluster-ips reject`, `${w.sel} daddr @service-cidrs counter drop`];
      case 'firewall-check':
        return [`${vip} @firewall-ips ${vip} . ${w.sel} saddr != @firewall-allow drop`];
      case 'mark-for-masquerade':
        return [`meta mark set meta mark | ${masqueradeMark}`];
      case 'masquerading':
        return [
          `ct status dnat ${w.sel} saddr . ${w.sel} daddr @hairpin ${mark}`,
          `meta mark & ${masqueradeMark} == 0 return`,
          `meta mark set meta mark ^ ${masqueradeMark}`,
          'masquerade fully-random',
        ];
      case 'reject-chain':
        return ['reject'];
      case 'internal-cluster':
      case 'internal-local':
      case 'external-cluster':
      case 'external-local':
        return this.classRules(family, chain);
    }
  }

  /** A class chain: the shared steps (../traffic-class.ts) as nft rules, then drop. */
  private classRules(family: NftFamily, cls: TrafficClass): string[] {
    const w = familyWords[family];
    const vip = `${w.sel} daddr . meta l4proto . th dport`;
    const podsKnown = cidrsOf(this.env?.node.podCIDRs ?? [], family).length > 0;
    const when: Record<SourceMatch, string> = {
      any: '',
      'local-traffic': `${w.sel} saddr @pod-cidrs `,
      'not-local-traffic': `${w.sel} saddr != @pod-cidrs `,
      node: 'fib saddr type local ',
    };
    const rules = classSteps(cls, { masqueradeAll: this.config.masqueradeAll, localDetector: podsKnown }).map((s) =>
      s.do === 'masquerade'
        ? `${when[s.from]}jump mark-for-masquerade`
        : `${when[s.from]}${vip} vmap @${s.set === 'cluster' ? 'cluster-pick' : 'local-pick'}`,
    );
    return [...rules, 'drop'];
  }

  /**
   * The whole ruleset as transactions. `existing` lists what the kernel's table holds (names);
   * undefined means the table is absent: a cold start, chunked so no single commit is huge and
   * VIPs become live only after their endpoint elements are in.
   */
  renderFull(existing: Partial<Record<NftFamily, ExistingObjects | undefined>>, chunkElements = 0): string[] {
    const head: string[] = [];
    const elementTx: string[][] = [];
    for (const family of this.config.families) {
      const t = `${family} ${tableName}`;
      const ex = existing[family];
      const dynChains = [...this.store.list(family, 'chain', '')];
      const dynSets = [...this.store.list(family, 'set', '')];
      head.push(`add table ${t}`);
      for (const b of baseChains) {
        head.push(`add chain ${t} ${b.name} { type ${b.type} hook ${b.hook} priority ${b.priority}; policy accept; }`);
      }
      for (const c of sharedChains) head.push(`add chain ${t} ${c}`);
      for (const s of setSpecs) head.push(`add ${s.kind} ${t} ${s.name} { ${setBody(s.body, family)} }`);
      for (const [name, body] of dynSets) head.push(`add ${dynamicKind(name)} ${t} ${name} { ${body} }`);
      for (const [name] of dynChains) head.push(`add chain ${t} ${name}`);
      if (ex) {
        for (const s of setSpecs) head.push(`flush ${s.kind} ${t} ${s.name}`);
        // Slot maps are rendered state like the static maps; affinity sets keep what they learned.
        for (const [name] of dynSets) if (dynamicKind(name) === 'map') head.push(`flush map ${t} ${name}`);
        for (const b of baseChains) head.push(`flush chain ${t} ${b.name}`);
        for (const c of sharedChains) head.push(`flush chain ${t} ${c}`);
        for (const [name] of dynChains) head.push(`flush chain ${t} ${name}`);
        const wantChains = new Set<string>([
          ...baseChains.map((b) => b.name),
          ...sharedChains,
          ...dynChains.map(([n]) => n),
        ]);
        const wantSets = new Set<string>([...setSpecs.map((s) => s.name), ...dynSets.map(([n]) => n)]);
        const staleChains = ex.chains.filter((c) => !wantChains.has(c));
        for (const c of staleChains) head.push(`flush chain ${t} ${c}`);
        for (const c of staleChains) head.push(`delete chain ${t} ${c}`);
        for (const s of ex.sets.filter((n) => !wantSets.has(n)))
          head.push(`delete ${ex.maps?.includes(s) ? 'map' : 'set'} ${t} ${s}`);
      }
      for (const b of baseChains)
        for (const r of this.sharedRules(family, b.name)) head.push(`add rule ${t} ${b.name} ${r}`);
      for (const c of sharedChains) for (const r of this.sharedRules(family, c)) head.push(`add rule ${t} ${c} ${r}`);
      for (const [name, rules] of dynChains) for (const r of rules.split('\n')) head.push(`add rule ${t} ${name} ${r}`);
      // Elements: endpoint and pick maps first, dispatch maps last (a VIP goes live complete).
      const containers = this.store.elementContainers(family);
      containers.sort((a, b) => Number(dispatchMaps.includes(a as never)) - Number(dispatchMaps.includes(b as never)));
      for (const c of containers) {
        const isMap = isMapContainer(c);
        const isSlot = slotPattern.test(c);
        let batch: string[] = [];
        const flush = () => {
          if (batch.length === 0) return;
          elementTx.push([`add element ${t} ${c} { ${batch.join(', ')} }`]);
          batch = [];
        };
        for (const [k, v] of this.store.list(family, 'element', c)) {
          batch.push(isMap ? `${k} : ${isSlot ? slotText(v) : v}` : k);
          if (batch.length >= elementsPerStatement) flush();
        }
        flush();
      }
    }
    this.store.clearChanges();
    const cold = this.config.families.every((f) => existing[f] === undefined);
    if (!cold || chunkElements <= 0) return [[...head, ...elementTx.flat()].join('\n') + '\n'];
    // Cold start: the skeleton, then element statements grouped up to ~chunkElements each.
    const out = [head.join('\n') + '\n'];
    let cur: string[] = [];
    let count = 0;
    for (const [stmt] of elementTx) {
      if (!stmt) continue;
      cur.push(stmt);
      count += elementsPerStatement;
      if (count >= chunkElements) {
        out.push(cur.join('\n') + '\n');
        cur = [];
        count = 0;
      }
    }
    if (cur.length > 0) out.push(cur.join('\n') + '\n');
    return out;
  }

  /** The changes since the last render as one transaction ("" when nothing changed). */
  renderPartial(): string {
    return renderChanges(this.store.drain());
  }
}

/** Item changes → transaction text, ordered so every reference is valid at each step. */
export function renderChanges(changes: readonly ItemChange[]): string {
  if (changes.length === 0) return '';
  const out: string[] = [];
  const t = (f: NftFamily) => `${f} ${tableName}`;
  const sets = changes.filter((c) => c.kind === 'set');
  const chains = changes.filter((c) => c.kind === 'chain');
  const elements = changes.filter((c) => c.kind === 'element');
  for (const c of sets)
    if (c.after !== undefined && c.before === undefined) out.push(`add set ${t(c.family)} ${c.name} { ${c.after} }`);
  for (const c of chains)
    if (c.after !== undefined && c.before === undefined) out.push(`add chain ${t(c.family)} ${c.name}`);
  for (const c of chains) {
    if (c.after === undefined) continue;
    if (c.before !== undefined) out.push(`flush chain ${t(c.family)} ${c.name}`);
    for (const r of c.after.split('\n')) out.push(`add rule ${t(c.family)} ${c.name} ${r}`);
  }
  const group = (pick: (c: ItemChange) => string | undefined, verb: 'add' | 'delete') => {
    const by = new Map<string, string[]>();
    for (const c of elements) {
      const v = pick(c);
      if (v === undefined) continue;
      const k = `${c.family} ${c.container}`;
      let list = by.get(k);
      if (!list) by.set(k, (list = []));
      if (verb === 'delete' || !isMapContainer(c.container)) list.push(c.name);
      else list.push(`${c.name} : ${slotPattern.test(c.container) ? slotText(v) : v}`);
    }
    for (const [k, list] of by) {
      const [f, container] = k.split(' ');
      for (let i = 0; i < list.length; i += elementsPerStatement) {
        out.push(
          `${verb} element ${f} ${tableName} ${container} { ${list.slice(i, i + elementsPerStatement).join(', ')} }`,
        );
      }
    }
  };
  // Delete before add: a map key whose value changed is deleted and re-added in the same commit.
  group((c) => c.before, 'delete');
  group((c) => c.after, 'add');
  const goneChains = chains.filter((c) => c.after === undefined);
  for (const c of goneChains) out.push(`flush chain ${t(c.family)} ${c.name}`);
  for (const c of goneChains) out.push(`delete chain ${t(c.family)} ${c.name}`);
  for (const c of sets) if (c.after === undefined) out.push(`delete ${dynamicKind(c.name)} ${t(c.family)} ${c.name}`);
  // Set bodies never change in place: the affinity timeout is part of the set's name.
  return out.join('\n') + '\n';
}

/** `svcnet cleanup`: remove everything svcnet programmed, whatever state it is in. */
export function renderCleanup(families: readonly NftFamily[]): string {
  // `add` first makes `delete` succeed even when the table is already gone.
  return families.map((f) => `add table ${f} ${tableName}\ndelete table ${f} ${tableName}`).join('\n') + '\n';
}
