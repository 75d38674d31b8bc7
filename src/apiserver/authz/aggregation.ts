// ClusterRole aggregation, as kube-controller-manager's clusterrole-aggregation controller does it:
// a ClusterRole with an aggregationRule has as rules the union of the rules of every other
// ClusterRole its selectors match (selector by selector, matched roles by name, a rule added once),
// kept current as roles come, go and change. svcnet's API server runs it itself, since a cluster
// of svcnet has no controller manager to do it; its writes carry no user, so escalation
// prevention (guard.ts) trusts them, as the real controller holds `escalate` on clusterroles.
import { labelSelectorAsSelector } from '../../api/labels/selector.ts';
import { mustResource } from '../../api/resources.ts';
import { isConflict, isNotFound } from '../../api/status.ts';
import type { ClusterRole, KubeObject, PolicyRule } from '../../api/types.ts';
import type { Store, Watch } from '../../store/store.ts';
import type { GenericRegistry } from '../registry/generic.ts';

/** Rule equality as apimachinery's semantic DeepEqual: an empty list equals an absent one. */
function sameRule(a: PolicyRule, b: PolicyRule): boolean {
  const same = (x: readonly string[] | undefined, y: readonly string[] | undefined) =>
    (x ?? []).length === (y ?? []).length && (x ?? []).every((v, i) => v === (y ?? [])[i]);
  return (
    same(a.verbs, b.verbs) &&
    same(a.apiGroups, b.apiGroups) &&
    same(a.resources, b.resources) &&
    same(a.resourceNames, b.resourceNames) &&
    same(a.nonResourceURLs, b.nonResourceURLs)
  );
}

export function sameRules(a: readonly PolicyRule[], b: readonly PolicyRule[]): boolean {
  return a.length === b.length && a.every((r, i) => sameRule(r, b[i] as PolicyRule));
}

/**
 * The rules an aggregated ClusterRole should have, or undefined when it has no aggregationRule.
 * A selector that does not parse matches nothing (validation refuses those before storage).
 */
export function aggregatedRules(role: ClusterRole, all: readonly ClusterRole[]): PolicyRule[] | undefined {
  const selectors = role.aggregationRule?.clusterRoleSelectors;
  if (!role.aggregationRule) return undefined;
  const out: PolicyRule[] = [];
  const byName = [...all].sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1));
  for (const ls of selectors ?? []) {
    let sel: ReturnType<typeof labelSelectorAsSelector>;
    try {
      sel = labelSelectorAsSelector(ls);
    } catch {
      continue;
    }
    for (const other of byName) {
      if (other.metadata?.name === role.metadata?.name) continue;
      if (!sel.matches(other.metadata?.labels ?? {})) continue;
      for (const r of other.rules ?? []) if (!out.some((x) => sameRule(x, r))) out.push(r);
    }
  }
  return out;
}

export const aggregationManager = 'clusterrole-aggregation-controller';

/** Watches ClusterRoles and rewrites the aggregated ones whenever any ClusterRole changes. */
export class ClusterRoleAggregator {
  private watch: Watch | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly registry: GenericRegistry,
    private readonly onError: (e: unknown) => void = (e) =>
      console.error('svcnet apiserver: clusterrole aggregation:', e),
  ) {}

  start(): void {
    this.stopped = false;
    this.watch = this.store.watch('clusterroles', {}, () => this.kick());
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    this.watch?.stop();
    this.watch = undefined;
  }

  /** Resolves once no pass is running or pending (tests; shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        // One pass per burst of events: they arrive while the pass lists and writes.
        await new Promise<void>((r) => setImmediate(r));
        try {
          await this.pass();
        } catch (e) {
          this.onError(e);
        }
      } while (this.again && !this.stopped);
      this.running = undefined;
    })();
  }

  private async pass(): Promise<void> {
    const { items } = await this.store.list<ClusterRole & KubeObject>('clusterroles');
    const info = mustResource('clusterroles');
    for (const role of items) {
      const want = aggregatedRules(role, items);
      if (!want || sameRules(want, role.rules ?? [])) continue;
      try {
        await this.registry.update(
          { info, namespace: '' },
          role.metadata.name ?? '',
          (cur) => ({ ...cur, rules: want }),
          {
            fieldManager: aggregationManager,
          },
        );
      } catch (e) {
        // Changed or gone meanwhile: the watch event that says so brings another pass.
        if (!isConflict(e) && !isNotFound(e)) throw e;
      }
    }
  }
}
