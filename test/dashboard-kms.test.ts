// The dashboard's KMS view on `coffer up`'s default stack (KMS v2 through coffer kms-plugin and coffer keyserver):
// the plugin's health, its current key_id hash and Encrypt/Decrypt counts come from the plugin's own /healthz and
// /metrics, and the page charts them. A screenshot goes with the others ($DASHBOARD_SCREENSHOTS_DIR).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { freePort, run, startCoffer, type CofferChild } from './support/processes.js';

interface MetricsDoc {
  kmsKnown: boolean;
  points: { kms: { encrypt: number; decrypt: number } | null; kmsHealth: { healthy: boolean; keyId: string | null } | null }[];
}

void describe('dashboard KMS view on coffer up with KMS v2', () => {
  let dir: string;
  let up: CofferChild;
  let link: string;
  let browser: Browser;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-dashboard-kms-'));
    const port = await freePort();
    const started = await startCoffer(['up', '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--no-controller'], /Dashboard: open (https:\/\/\S+)/, 'coffer up');
    up = started.child;
    link = started.match[1]!;
    await run('kubectl', ['--kubeconfig', join(dir, 'data', 'kubeconfig'), 'create', 'secret', 'generic', 'k1', '--from-literal=v=kms-dashboard-canary']);
    await run('kubectl', ['--kubeconfig', join(dir, 'data', 'kubeconfig'), 'get', 'secret', 'k1']);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  });
  after(async () => {
    await browser?.close();
    await up?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  void it("shows the plugin healthy with its key_id hash and Encrypt calls, from the plugin's own endpoints", async () => {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    await page.goto(link);
    const doc = JSON.parse(await page.evaluate(async () => (await fetch('/dashboard/api/metrics')).text())) as MetricsDoc;
    assert.equal(doc.kmsKnown, true);
    const last = doc.points.at(-1)!;
    assert.equal(last.kmsHealth?.healthy, true);
    assert.match(last.kmsHealth?.keyId ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.ok((last.kms?.encrypt ?? 0) >= 1, `encrypt calls ${last.kms?.encrypt}`);
    await page.click('nav a[href="#/kms"]');
    await page.waitForFunction(() => /✓ healthy/.test(document.querySelector('[data-test="kms-health"]')?.textContent ?? ''), undefined, { timeout: 30_000 });
    // Two samples make the first point of the latency chart (the sampler runs every 5 s while the page is open).
    await page.waitForSelector('[data-test="kms-latency"] canvas', { timeout: 30_000 });
    assert.ok(!(await page.content()).includes('kms-dashboard-canary'));
    const shots = process.env.DASHBOARD_SCREENSHOTS_DIR ?? join(dir, 'screenshots');
    await mkdir(shots, { recursive: true });
    await page.waitForTimeout(11_000); // a few samples, so the screenshot's charts have lines
    await page.screenshot({ path: join(shots, 'kms-plugin-1280.png'), fullPage: true });
    await ctx.close();
  });
});
