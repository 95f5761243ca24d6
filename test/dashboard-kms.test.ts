// The dashboard's KMS view on `coffer up`'s default stack (KMS v2 through coffer kms-plugin and coffer keyserver):
// the plugin's health, its current key_id hash and Encrypt/Decrypt counts come from the plugin's own /healthz and
// /metrics, and the page charts them. With the plugin stopped (SIGSTOP, a KMS outage) the page shows the API server's
// write deadline running out, then writes refused, as kube-apiserver refuses them, and recovery after SIGCONT.
// `coffer dashboard --data-dir` (the operations commands' source flags) counts what `coffer encryption status`
// counts. Screenshots go with the others ($DASHBOARD_SCREENSHOTS_DIR).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { COFFER_BIN, freePort, run, startCoffer, type CofferChild } from './support/processes.js';

interface MetricsDoc {
  kmsKnown: boolean;
  points: { t: number; kms: { encrypt: number; decrypt: number } | null; kmsHealth: { healthy: boolean; keyId: string | null } | null; kmsWriteDeadlines: { provider: string; at: number }[] }[];
}

const CANARY = 'kms-dashboard-canary';
const WRITE_TTL_S = 20;

void describe('dashboard KMS view on coffer up with KMS v2', () => {
  let dir: string;
  let up: CofferChild;
  let link: string;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let shots: string;
  const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', join(dir, 'data', 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache'), ...args]);

  async function waitText(selector: string, want: RegExp, ms = 60_000): Promise<void> {
    try {
      await page.waitForFunction(([sel, source]) => new RegExp(source).test(document.querySelector(sel)?.textContent ?? ''), [selector, want.source] as const, { timeout: ms, polling: 250 });
    } catch {
      assert.fail(`${selector}: want ${want}, page shows ${JSON.stringify(await page.evaluate((sel) => document.querySelector(sel)?.textContent ?? '(absent)', selector))}`);
    }
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-dashboard-kms-'));
    shots = process.env.DASHBOARD_SCREENSHOTS_DIR ?? join(dir, 'screenshots');
    await mkdir(shots, { recursive: true });
    const port = await freePort();
    // Status every 2 s and writes refused 20 s after the last good one (upstream: 60 s and 3 min), so an outage is short.
    const started = await startCoffer(['up', '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--no-controller',
      '--kms-v2-status-interval', '2', '--kms-v2-write-ttl', String(WRITE_TTL_S)], /Dashboard: open (https:\/\/\S+)/, 'coffer up');
    up = started.child;
    link = started.match[1]!;
    await kubectl('create', 'secret', 'generic', 'k1', `--from-literal=v=${CANARY}`);
    await kubectl('get', 'secret', 'k1');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
    ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    page = await ctx.newPage();
    await page.goto(link);
  });
  after(async () => {
    await browser?.close();
    await up?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  void it("shows the plugin healthy with its key_id hash and Encrypt calls, from the plugin's own endpoints", async () => {
    const doc = JSON.parse(await page.evaluate(async () => (await fetch('/dashboard/api/metrics')).text())) as MetricsDoc;
    assert.equal(doc.kmsKnown, true);
    const last = doc.points.at(-1)!;
    assert.equal(last.kmsHealth?.healthy, true);
    assert.match(last.kmsHealth?.keyId ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.ok((last.kms?.encrypt ?? 0) >= 1, `encrypt calls ${last.kms?.encrypt}`);
    // The API server's deadline: the last good Status plus the write TTL.
    const [deadline] = last.kmsWriteDeadlines;
    assert.ok(deadline && deadline.at > last.t && deadline.at <= last.t + WRITE_TTL_S * 1000 + 1000, `write deadline ${JSON.stringify(last.kmsWriteDeadlines)} at ${last.t}`);
    await page.click('nav a[href="#/kms"]');
    await waitText('[data-test="kms-health"]', /✓ healthy/);
    await waitText('[data-test="kms-write-deadline"]', /✓ Writes allowed for another \d+ s by provider/);
    // Two samples make the first point of the latency chart (the sampler runs every 5 s while the page is open).
    await page.waitForSelector('[data-test="kms-latency"] canvas', { timeout: 30_000 });
    assert.ok(!(await page.content()).includes(CANARY));
    // A few more samples, so that the charts in the README's screenshot have lines: only when the screenshots are kept
    // (scripts/dashboard-screenshots.mjs); nothing is asserted on them.
    if (process.env.DASHBOARD_SCREENSHOTS_DIR) await page.waitForTimeout(11_000);
    await page.screenshot({ path: join(shots, 'kms-plugin-1280.png'), fullPage: true });
  });

  void it('counts down the write deadline while the plugin is stopped, shows writes refused when it passes, and recovers', async () => {
    // The plugin's pid file (JSON: the process identity coffer up recorded for its child).
    const { pid } = JSON.parse(await readFile(join(dir, 'data', 'kms-plugin', 'kms-plugin.pid'), 'utf8')) as { pid: number };
    assert.ok(pid > 0);
    process.kill(pid, 'SIGSTOP');
    try {
      await waitText('[data-test="kms-health"]', /✗ unhealthy/);
      await waitText('[data-test="kms-write-deadline"]', /⚠ KMS not answering: writes stop in \d+ s/);
      await page.screenshot({ path: join(shots, 'kms-outage-1280.png'), fullPage: true });
      await waitText('[data-test="kms-write-deadline"]', /✗ Writes refused by provider/, 120_000);
      await page.screenshot({ path: join(shots, 'kms-writes-refused-1280.png'), fullPage: true });
      // What the page says is what the API server does: a write now fails.
      const refused = await kubectl('create', 'secret', 'generic', 'during-outage', '--from-literal=v=x').then(
        () => 'written',
        (e: { stderr?: string; message?: string }) => e.stderr ?? e.message ?? '',
      );
      assert.match(refused, /expired/);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitText('[data-test="kms-write-deadline"]', /✓ Writes allowed for another \d+ s/, 120_000);
    await waitText('[data-test="kms-health"]', /✓ healthy/);
    await kubectl('create', 'secret', 'generic', 'after-outage', '--from-literal=v=x');
  });

  void it('coffer dashboard --data-dir counts what coffer encryption status counts', async () => {
    const config = /"encryptionConfig":"([^"]+encryption-config-kms\.yaml)"/.exec(up.out())?.[1] ?? join(`${join(dir, 'data')}.keys`, 'encryption-config-kms.yaml');
    const health = /"kmsPluginHealth":"([^"]+)"/.exec(up.out())?.[1];
    assert.ok(health, 'coffer up logs the plugin health URL');
    const source = ['--data-dir', join(dir, 'data'), '--encryption-config', config];
    const status = JSON.parse((await run(process.execPath, [COFFER_BIN, 'encryption', 'status', ...source, '-o', 'json'])).stdout) as { resources: unknown[] };
    const dashPort = await freePort();
    const { child: dash, match } = await startCoffer(['dashboard', '--kubeconfig', join(dir, 'data', 'kubeconfig'), '--listen', `127.0.0.1:${dashPort}`, '--cert-dir', join(dir, 'dash'),
      ...source, '--kms-health-url', `${health}/healthz`], /Dashboard: open (https:\/\/\S+)/, 'coffer dashboard');
    const other = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const p = await other.newPage();
      await p.goto(match[1]!);
      const enc = JSON.parse(await p.evaluate(async () => (await fetch('/dashboard/api/encryption')).text())) as { source: string; resources: unknown[]; rotation: { stage: string } };
      assert.match(enc.source, /coffer store .*coffer\.db/);
      assert.deepEqual(enc.resources, status.resources);
      assert.equal(enc.rotation.stage, 'start');
      const m = JSON.parse(await p.evaluate(async () => (await fetch('/dashboard/api/metrics')).text())) as MetricsDoc;
      assert.equal(m.points.at(-1)?.kmsHealth?.healthy, true, 'the KMS view reads the plugin named by --kms-health-url');
      assert.ok(!dash.out().includes(CANARY));
    } finally {
      await other.close();
      await dash.stop();
    }
  });
});
