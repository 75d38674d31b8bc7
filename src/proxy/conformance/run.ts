// Runs the conformance cases against a data plane's tracer. A plane that differs from kube-proxy
// on purpose lists the case with a reason; a skip without a reason is not possible.
import { cases as allCases } from './cases.ts';
import { fixtureSnapshot } from './fixture.ts';
import type { ConformanceCase, ConformancePlane, TraceVerdict } from './types.ts';

export type CaseResult =
  | { readonly case: ConformanceCase; readonly status: 'pass'; readonly got: TraceVerdict; readonly note?: string }
  | { readonly case: ConformanceCase; readonly status: 'fail'; readonly got: TraceVerdict; readonly why: string }
  | { readonly case: ConformanceCase; readonly status: 'skip'; readonly reason: string };

export interface ConformanceReport {
  readonly plane: string;
  readonly results: readonly CaseResult[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

export function describeVerdict(v: TraceVerdict): string {
  return v.kind === 'endpoints' ? `[${v.endpoints.join(', ')}] masq=${v.masq}` : v.kind;
}

export function check(c: ConformanceCase, got: TraceVerdict, ignoreMasq: string | undefined): string | undefined {
  if (typeof c.expect === 'string') {
    return got.kind === c.expect ? undefined : `expected ${c.expect}, got ${describeVerdict(got)}`;
  }
  if (got.kind !== 'endpoints') return `expected [${c.expect.join(', ')}], got ${got.kind}`;
  const want = [...c.expect].sort();
  const have = [...got.endpoints].sort();
  if (want.join() !== have.join()) return `expected [${want.join(', ')}], got [${have.join(', ')}]`;
  if (c.masq !== undefined && ignoreMasq === undefined && got.masq !== c.masq) {
    return `expected masq=${c.masq}, got masq=${got.masq}`;
  }
  return undefined;
}

export async function runConformance(
  plane: ConformancePlane,
  opts: { cases?: readonly ConformanceCase[] } = {},
): Promise<ConformanceReport> {
  const cases = opts.cases ?? allCases;
  const unknown = Object.keys(plane.skips ?? {}).filter((n) => !cases.some((c) => c.name === n));
  if (unknown.length > 0) throw new Error(`${plane.name}: skips name unknown cases: ${unknown.join('; ')}`);
  const results: CaseResult[] = [];
  try {
    await plane.load(fixtureSnapshot());
    for (const c of cases) {
      const reason = plane.skips?.[c.name];
      if (reason !== undefined) {
        if (reason.trim() === '') throw new Error(`${plane.name}: skip of "${c.name}" needs a reason`);
        results.push({ case: c, status: 'skip', reason });
        continue;
      }
      const got = await plane.trace({ src: c.src, proto: c.proto, dst: c.dst, dport: c.dport });
      const why = check(c, got, plane.ignoreMasq);
      if (why) results.push({ case: c, status: 'fail', got, why });
      else {
        const note = c.masq !== undefined && plane.ignoreMasq ? `masq not compared: ${plane.ignoreMasq}` : undefined;
        results.push(note ? { case: c, status: 'pass', got, note } : { case: c, status: 'pass', got });
      }
    }
  } finally {
    await plane.close?.();
  }
  return {
    plane: plane.name,
    results,
    passed: results.filter((r) => r.status === 'pass').length,
    failed: results.filter((r) => r.status === 'fail').length,
    skipped: results.filter((r) => r.status === 'skip').length,
  };
}
