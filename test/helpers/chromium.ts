// Debian's chromium driven by playwright-core inside a test's network namespace (a wrapper script
// enters it), headless, with a throwaway profile removed on close.
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const chromiumMissing = existsSync('/usr/bin/chromium')
  ? false
  : 'chromium is not installed (scripts/setup.sh --test installs it)';

export async function chromiumIn(netns: string): Promise<{ ctx: BrowserContext; page: Page; close(): Promise<void> }> {
  const tmp = mkdtempSync(join(tmpdir(), 'svcnet-chromium-'));
  const wrapper = join(tmp, 'chromium-in-netns');
  writeFileSync(wrapper, `#!/bin/sh\nexec nsenter --net=/run/netns/${netns} /usr/bin/chromium "$@"\n`);
  chmodSync(wrapper, 0o755);
  const ctx = await chromium.launchPersistentContext(join(tmp, 'profile'), {
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
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  return {
    ctx,
    page,
    async close() {
      await ctx.close();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
