// The lab's scheduler substitute: pods are bound at creation, round-robin over schedulable
// Ready nodes (sorted by name so the order does not depend on informer order).
import type { Node } from '../../api/types.ts';

export function isSchedulable(n: Node): boolean {
  if (n.spec?.unschedulable) return false;
  return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export class RoundRobin {
  private next = 0;

  /** The next node name, or undefined when no node can take pods. */
  pick(nodes: readonly Node[]): string | undefined {
    const names = nodes
      .filter(isSchedulable)
      .map((n) => n.metadata?.name ?? '')
      .sort();
    if (names.length === 0) return undefined;
    const name = names[this.next % names.length];
    this.next = (this.next + 1) % Number.MAX_SAFE_INTEGER;
    return name;
  }
}
