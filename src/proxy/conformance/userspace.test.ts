// The packet-flow conformance suite on the userspace plane, through its real listener table and
// routing code (no sockets are opened: load() maps VIPs and renders, trace() routes).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserspacePlane } from '../userspace/plane.ts';
import { cases } from './cases.ts';
import { runConformance } from './run.ts';

describe('conformance: userspace plane', async () => {
  const report = await runConformance(new UserspacePlane());
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
    assert.ok(report.skipped <= 4, `${report.skipped} skips`);
  });
});
