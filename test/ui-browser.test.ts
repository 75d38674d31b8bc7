// The dashboard in a real browser: Debian's chromium driven by playwright-core, inside the
// network namespace where `svcnet up` runs (a wrapper enters it), against real kubectl changes.
// Screenshots go to test-results/ui/ (or $SVCNET_SCREENSHOTS).
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { hasNetAdmin } from '../src/kernel/exec.ts';
import { eventually } from './helpers/eventually.ts';
import { startUp, type UpLab } from './helpers/svcnet-up.ts';

const repo = join(import.meta.dirname, '..');
const shots = process.env.SVCNET_SCREENSHOTS ?? join(repo, 'test-results', 'ui');
const skip = !hasNetAdmin()
  ? 'needs root (CAP_NET_ADMIN) for lab namespaces'
  : existsSync('/usr/bin/chromium')
    ? false
    : 'chromium is not installed (scripts/setup.sh --test installs it)';

const web = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: echo
        image: svcnet/echo
        args: ["--http-port", "8080"]
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  restartPolicy: Never
  containers: [{name: echo, image: svcnet/echo}]
`;

describe('dashboard in chromium against svcnet up', { skip }, () => {
  let lab: UpLab;
  let tmp: string;
  let ctx: BrowserContext;
  let page: Page;
  let url: string;
  before(async () => {
    mkdirSync(shots, { recursive: true });
    lab = await startUp({ name: 'ui', mode: 'nftables' });
    url = /svcnet: dashboard: (\S+)/.exec(lab.log())?.[1] ?? '';
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+\/ui\/\?token=/);
    tmp = mkdtempSync(join(tmpdir(), 'svcnet-chromium-'));
    const wrapper = join(tmp, 'chromium-in-netns');
    writeFileSync(wrapper, `#!/bin/sh\nexec nsenter --net=/run/netns/${lab.ns} /usr/bin/chromium "$@"\n`);
    chmodSync(wrapper, 0o755);
    ctx = await chromium.launchPersistentContext(join(tmp, 'profile'), {
      executablePath: wrapper,
      headless: true,
      ignoreHTTPSErrors: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = ctx.pages()[0] ?? (await ctx.newPage());
  });
  after(async () => {
    await ctx?.close();
    await lab?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('asks for the token, keeps it in a strict cookie and drops it from the URL', async () => {
    const base = url.replace(/\?token=.*/, '');
    await page.goto(base);
    assert.ok(await page.getByLabel(/API token/).isVisible());
    await page.getByLabel(/API token/).fill('wrong-token-wrong-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    await page.goto(url);
    assert.equal(page.url(), base);
    const cookie = (await ctx.cookies()).find((c) => c.name === 'svcnet-token');
    assert.ok(cookie?.httpOnly && cookie.secure && cookie.sameSite === 'Strict', JSON.stringify(cookie));
    await page.getByRole('button', { name: 'default/kubernetes' }).waitFor({ timeout: 10_000 });
    // The cookie reads; it never writes.
    const status = await page.evaluate(async () => {
      const r = await fetch('/api/v1/namespaces/default/services', { method: 'POST', body: '{}' });
      return r.status;
    });
    assert.equal(status, 401);
  });

  it('a Service created with kubectl appears within a second (watch, no polling)', async () => {
    const created = lab.kubectl(['create', 'service', 'clusterip', 'fresh', '--tcp=80:8080']);
    await created;
    const t0 = Date.now();
    await page.getByRole('button', { name: 'default/fresh' }).waitFor({ timeout: 1000 });
    const ms = Date.now() - t0;
    assert.ok(ms <= 1000, `${ms} ms`);
    await page.screenshot({ path: join(shots, 'services.png'), fullPage: true });
  });

  it('scaling a Deployment changes the endpoint list; an explain query renders the path', async () => {
    const file = join(lab.dir, 'web.yaml');
    writeFileSync(file, web);
    await lab.kubectl(['apply', '-f', file]);
    await page.getByRole('button', { name: 'default/web' }).click();
    const rows = page.getByTestId('endpoints').locator('tbody tr');
    await eventually('one endpoint', async () => ((await rows.count()) === 1 ? true : undefined), 60_000, 100);
    await lab.kubectl(['scale', 'deployment', 'web', '--replicas=3']);
    await eventually('three endpoints', async () => ((await rows.count()) === 3 ? true : undefined), 60_000, 100);
    await eventually(
      'three ready',
      async () => ((await page.getByTestId('endpoints').getByText('ready, serving').count()) === 3 ? true : undefined),
      60_000,
      200,
    );
    await lab.kubectl(['wait', '--for=condition=Ready', 'pod/client', '--timeout=60s']);
    await eventually(
      'client in the source picker',
      async () =>
        (await page.locator('#explain-from option', { hasText: 'default/client' }).count()) > 0 ? true : undefined,
      20_000,
      100,
    );
    await page.getByLabel('From pod').selectOption('default/client');
    const verdict = page.getByTestId('verdict');
    await eventually(
      'explain shows three eligible endpoints',
      async () => {
        await page.getByRole('button', { name: 'Explain' }).click();
        await verdict.waitFor({ timeout: 5000 });
        const yes = await page
          .getByTestId('explain-result')
          .getByText(/^yes, 33%$/)
          .count();
        return yes === 3 ? true : undefined;
      },
      30_000,
      500,
    );
    assert.equal(await verdict.textContent(), 'endpoints');
    const path = (await page.getByTestId('path').textContent()) ?? '';
    assert.match(path, /nat dnat/);
    assert.match(path, /chain services/);
    await page.screenshot({ path: join(shots, 'explain.png'), fullPage: true });
  });

  it('draws the graph, counts the flows per endpoint from conntrack and the DNS query rate', async () => {
    const graph = page.getByTestId('graph');
    await eventually(
      'three endpoints drawn with their pods',
      async () =>
        (await graph
          .getByTestId('graph-endpoint')
          .filter({ hasText: /\(pod web-/ })
          .count()) === 3
          ? true
          : undefined,
      10_000,
      100,
    );
    // The names in the drawing are DOM text: a node box names the lab node.
    assert.equal(await graph.locator('text', { hasText: 'svcnet-node' }).count(), 1);
    // Requests by name from the client pod: each resolves web through cluster DNS and opens one
    // connection, whose conntrack entry (TIME_WAIT) outlives it by minutes.
    const requests = 12;
    const loop = lab.svcnet([
      'exec',
      'client',
      '--',
      'sh',
      '-c',
      `for i in $(seq ${requests}); do curl -s -o /dev/null http://web/hostname; sleep 0.3; done`,
    ]);
    const dnsRate = page.getByTestId('dns-rate');
    let sawRate = '';
    const flows = page.getByTestId('endpoint-flows');
    await eventually(
      'DNS queries per second above 0 while the client resolves',
      async () => {
        const t = (await dnsRate.textContent()) ?? '';
        const m = /([\d.]+) queries\/s/.exec(t);
        if (m && Number(m[1]) > 0) sawRate = t;
        return sawRate ? true : undefined;
      },
      // `svcnet exec` itself may take seconds to start beside chromium on two cores.
      45_000,
      200,
    );
    const r = await loop;
    assert.equal(r.code, 0, r.stderr);
    const total = async () => {
      let n = 0;
      for (const t of await flows.allTextContents()) n += Number(t) || 0;
      return n;
    };
    await eventually(
      'every request counted at an endpoint',
      async () => ((await total()) >= requests ? true : undefined),
      10_000,
      200,
    );
    const perEndpoint = (await flows.allTextContents()).map(Number);
    assert.equal(perEndpoint.length, 3);
    // The Service row sums its endpoints.
    const row = page.getByTestId('services').locator('tr', { has: page.getByRole('button', { name: 'default/web' }) });
    assert.ok(Number(await row.locator('td').last().textContent()) >= requests);
    assert.match(sawRate, /DNS: \d+\.\d queries\/s/);
    await page.screenshot({ path: join(shots, 'graph.png'), fullPage: true });
  });
});
