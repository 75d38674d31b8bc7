// The dashboard with 1,000 Services (the size it must stay usable at), in chromium against
// `svcnet up`: how long the first full render takes, how long a Service created with kubectl
// takes to appear among them (the same 1 s bound as with a handful), and how long the filter takes
// to narrow the list. The figures are printed for the notes; the bounds are the test.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { hasNetAdmin } from '../src/kernel/exec.ts';
import { chromiumIn, chromiumMissing } from './helpers/chromium.ts';
import { startUp, type UpLab } from './helpers/svcnet-up.ts';

const count = 1000;
const skip = !hasNetAdmin() ? 'needs root (CAP_NET_ADMIN) for lab namespaces' : chromiumMissing;

describe(`dashboard at ${count} Services`, { skip }, () => {
  let lab: UpLab;
  let browser: Awaited<ReturnType<typeof chromiumIn>>;
  let page: Page;
  let url: string;
  before(async () => {
    lab = await startUp({ name: 'uiscale', mode: 'nftables' });
    url = /svcnet: dashboard: (\S+)/.exec(lab.log())?.[1] ?? '';
    const items = Array.from({ length: count }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `svc-${String(i).padStart(4, '0')}` },
      spec: { ports: [{ port: 80, targetPort: 8080 }] },
    }));
    const file = join(lab.dir, 'many.json');
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    const t0 = Date.now();
    // A List file: kubectl's client-side validation has no schema for List here.
    await lab.kubectl(['create', '--validate=false', '-f', file]);
    console.log(`# created ${count} Services with kubectl in ${Date.now() - t0} ms`);
    browser = await chromiumIn(lab.ns);
    page = browser.page;
  });
  after(async () => {
    await browser?.close();
    await lab?.stop();
  });

  it('renders them all, shows a new one within a second, and filters fast', async () => {
    const t0 = Date.now();
    await page.goto(url);
    // Ours plus the cluster's own (default/kubernetes, kube-system/kube-dns).
    await page.getByText(new RegExp(`^${count + 2} Services,`)).waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'default/svc-0000' }).waitFor();
    const firstRender = Date.now() - t0;
    await lab.kubectl(['create', 'service', 'clusterip', 'aaa-fresh', '--tcp=80:8080']);
    const t1 = Date.now();
    await page.getByRole('button', { name: 'default/aaa-fresh' }).waitFor({ timeout: 1000 });
    const appear = Date.now() - t1;
    const t2 = Date.now();
    await page.getByLabel('Filter Services').fill('svc-0999');
    await page.getByTestId('services').locator('tbody tr').first().getByText('default/svc-0999').waitFor();
    assert.equal(await page.getByTestId('services').locator('tbody tr').count(), 1);
    const filter = Date.now() - t2;
    await page.getByRole('button', { name: 'default/svc-0999' }).click();
    await page.getByRole('heading', { name: 'Service default/svc-0999' }).waitFor({ timeout: 2000 });
    console.log(
      `# ${count} Services: first render ${firstRender} ms, new Service shown ${appear} ms, filter ${filter} ms`,
    );
    assert.ok(appear <= 1000, `${appear} ms`);
    assert.ok(filter <= 1000, `${filter} ms`);
  });
});
