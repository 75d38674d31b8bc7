// Cache indexes the endpoint controllers need on every event, so that one pod's change costs
// work proportional to the Services of its namespace, and one Service's sync work proportional
// to the pods its selector matches (not to every pod in the cluster).
import type { Pod, Service } from '../../api/types.ts';
import { serviceSelectsPod } from './pod.ts';

const metaKey = (o: { metadata?: { namespace?: string; name?: string } }) =>
  `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** Pods by namespace and by each `label=value` they carry. */
export class PodIndex<P extends Pod = Pod> {
  private readonly pods = new Map<string, P>();
  private readonly byLabel = new Map<string, Set<string>>();
  private readonly byNamespace = new Map<string, Set<string>>();

  /** Feed with informer (old, new) pairs. */
  apply(old: P | undefined, cur: P | undefined): void {
    if (old) this.remove(old);
    if (cur) this.add(cur);
  }

  /** The pods a Service selects (§4.1); none for a nil selector (§4.2). */
  select(svc: Service): P[] {
    const sel = svc.spec?.selector;
    if (!sel) return [];
    const ns = svc.metadata?.namespace ?? '';
    let smallest = this.byNamespace.get(ns);
    for (const [k, v] of Object.entries(sel)) {
      const s = this.byLabel.get(labelKey(ns, k, v));
      if (!s) return [];
      if (!smallest || s.size < smallest.size) smallest = s;
    }
    const out: P[] = [];
    for (const key of smallest ?? []) {
      const p = this.pods.get(key);
      if (p && serviceSelectsPod(svc, p)) out.push(p);
    }
    return out;
  }

  onNode(nodeName: string): P[] {
    return [...this.pods.values()].filter((p) => p.spec?.nodeName === nodeName);
  }

  private add(p: P): void {
    const key = metaKey(p);
    const ns = p.metadata?.namespace ?? '';
    this.pods.set(key, p);
    setAdd(this.byNamespace, ns, key);
    for (const [k, v] of Object.entries(p.metadata?.labels ?? {})) setAdd(this.byLabel, labelKey(ns, k, v), key);
  }

  private remove(p: P): void {
    const key = metaKey(p);
    const ns = p.metadata?.namespace ?? '';
    this.pods.delete(key);
    setDelete(this.byNamespace, ns, key);
    for (const [k, v] of Object.entries(p.metadata?.labels ?? {})) setDelete(this.byLabel, labelKey(ns, k, v), key);
  }
}

/** Services by namespace, to find those whose selector matches a pod. */
export class ServiceIndex<S extends Service = Service> {
  private readonly byNamespace = new Map<string, Map<string, S>>();

  apply(old: S | undefined, cur: S | undefined): void {
    if (old) this.byNamespace.get(old.metadata?.namespace ?? '')?.delete(old.metadata?.name ?? '');
    if (cur) {
      const ns = cur.metadata?.namespace ?? '';
      let m = this.byNamespace.get(ns);
      if (!m) {
        m = new Map();
        this.byNamespace.set(ns, m);
      }
      m.set(cur.metadata?.name ?? '', cur);
    }
  }

  /** Keys (`ns/name`) of the Services selecting this pod. */
  forPod(pod: Pod): string[] {
    const m = this.byNamespace.get(pod.metadata?.namespace ?? '');
    if (!m) return [];
    const out: string[] = [];
    for (const s of m.values()) if (serviceSelectsPod(s, pod)) out.push(metaKey(s));
    return out;
  }
}

/** Objects grouped by an owner key derived from each (e.g. a slice's service-name label). */
export class GroupIndex<T extends { metadata?: { namespace?: string; name?: string } }> {
  private readonly groups = new Map<string, Map<string, T>>();
  constructor(private readonly groupOf: (o: T) => string | undefined) {}

  apply(old: T | undefined, cur: T | undefined): void {
    if (old) {
      const g = this.groupOf(old);
      if (g !== undefined) {
        const m = this.groups.get(g);
        m?.delete(metaKey(old));
        if (m?.size === 0) this.groups.delete(g);
      }
    }
    if (cur) {
      const g = this.groupOf(cur);
      if (g === undefined) return;
      let m = this.groups.get(g);
      if (!m) {
        m = new Map();
        this.groups.set(g, m);
      }
      m.set(metaKey(cur), cur);
    }
  }

  get(group: string): T[] {
    return [...(this.groups.get(group)?.values() ?? [])];
  }
}

function labelKey(ns: string, k: string, v: string): string {
  return `${ns}\u0000${k}\u0000${v}`;
}

function setAdd(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) {
    s = new Set();
    m.set(k, s);
  }
  s.add(v);
}

function setDelete(m: Map<string, Set<string>>, k: string, v: string): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}
