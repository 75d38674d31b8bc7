// The node:test face of the conformance suite: one test per case (skips keep their reason), and
// a last test that every case ran and the skips are the ones the plane declares.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cases } from './cases.ts';
import { type KubeProxyScenario, kubeProxyScenarios } from './kube-proxy.ts';
import { check, runConformance } from './run.ts';
import type { ConformancePlane, Packet, TraceVerdict } from './types.ts';

export function describeConformance(
  title: string,
  plane: () => ConformancePlane,
  skips: { atMost?: number; exactly?: number },
  opts: { skip?: string | false } = {},
): void {
  if (opts.skip) {
    describe(title, { skip: opts.skip }, () => {});
    return;
  }
  describe(title, async () => {
    const report = await runConformance(plane());
    for (const r of report.results) {
      if (r.status === 'skip') {
        it(r.case.name, { skip: r.reason }, () => {});
        continue;
      }
      it(`${r.case.name} (${r.case.spec})`, () => {
        assert.equal(r.status, 'pass', r.status === 'fail' ? r.why : '');
      });
    }
    it('runs every case and skips only with reasons', () => {
      assert.equal(report.results.length, cases.length);
      if (skips.exactly !== undefined) assert.equal(report.skipped, skips.exactly);
      if (skips.atMost !== undefined) assert.ok(report.skipped <= skips.atMost, `${report.skipped} skips`);
    });
  });
}

/** kube-proxy's own scenarios (kube-proxy.ts) against a plane: `tracerFor` loads one scenario. */
export function describeKubeProxyScenarios(
  title: string,
  tracerFor: (s: KubeProxyScenario) => (p: Packet) => TraceVerdict,
): void {
  describe(title, () => {
    for (const s of kubeProxyScenarios()) {
      describe(s.name, () => {
        const trace = tracerFor(s);
        for (const c of s.cases) {
          it(c.name, () => {
            const why = check(c, trace(c), undefined);
            assert.equal(why, undefined, why);
          });
        }
      });
    }
  });
}
