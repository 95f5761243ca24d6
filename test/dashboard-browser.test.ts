// Issue 17's "Must show", in Debian's chromium driven by playwright-core against real processes: `coffer up` (aesgcm
// from a given EncryptionConfiguration reloaded every second, a token file and an authorization policy, its
// in-process External Secrets controller) and `coffer keyserver` (the Vault-compatible KV the ExternalSecret reads).
// Sign in with the one-time link; the counts change when Secrets are written under a new key; a `coffer rotate` run's
// stage and stale count follow it live, the count falling to 0 as Secrets are rewritten through the API; the lab runs
// from the page with live progress, beside the seed's table; an ExternalSecret turns failed when its key is removed;
// a user without list rights on Secrets gets a "not allowed" panel; every dashboard path is 401 without a session;
// no Secret value reaches the DOM or the network. Screenshots of each view, at 1280x800 and phone width, go to
// $DASHBOARD_SCREENSHOTS_DIR (scripts/dashboard-screenshots.mjs points it at docs/screenshots/) or a temp dir.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { COFFER_BIN, freePort, run, runWithInput, startCoffer, until, type CofferChild } from './support/processes.js';

const KEY1 = Buffer.alloc(32, 1).toString('base64');
const config = (keys: [string, string][]) => `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aesgcm:
          keys:
${keys.map(([name, secret]) => `            - name: ${name}\n              secret: ${secret}`).join('\n')}
      - identity: {}
`;
/** Values planted in Secrets and in the key server; none may ever reach the browser. */
const CANARIES = ['canary-dashboard-4f1d9c', 'canary-dashboard-77ab02', 'canary-remote-e3c5a1'];
const VIEWER_TOKEN = 'viewer-token-0123456789abcdef';

void describe('dashboard in a browser (coffer up + keyserver, Debian chromium)', () => {
  let dir: string;
  let shots: string;
  let up: CofferChild;
  let keyserver: CofferChild;
  let base: string;
  let loginLink: string;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  let vaultUrl: string;
  let rootToken: string;
  const bodies: string[] = [];
  /** `coffer rotate <step>` against the test's server and configuration file. */
  const rotate = (step: string, ...more: string[]) =>
    run(process.execPath, [COFFER_BIN, 'rotate', step, '--encryption-config', join(dir, 'encryption-config.yaml'), '--kubeconfig', join(dir, 'data', 'kubeconfig'), ...more]);
  const kubectl = async (...args: string[]) => (await run('kubectl', ['--kubeconfig', join(dir, 'data', 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache'), ...args])).stdout;
  const apply = (manifest: string) => runWithInput('kubectl', ['--kubeconfig', join(dir, 'data', 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache'), 'apply', '-f', '-'], manifest);
  async function vault(method: string, path: string, body?: unknown): Promise<Record<string, unknown> | undefined> {
    const res = await fetch(`${vaultUrl}/v1/${path}`, { method, headers: { 'X-Vault-Token': rootToken }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path}: ${res.status}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  }
  /** A GET to the server with no cookie, trusting its CA: the status and content type. */
  async function anonymous(path: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string }> {
    const ca = await readFile(join(dir, 'data', 'ca.crt'));
    return new Promise((resolve, reject) => {
      const req = request(`${base}${path}`, { ca, headers }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? '') });
      });
      req.on('error', reject);
      req.end();
    });
  }
  /** Waits until the text of `selector` satisfies the regexp, in the page as rendered; fails naming what it saw. */
  async function waitText(p: Page, selector: string, want: RegExp, ms = 60_000): Promise<void> {
    try {
      await p.waitForFunction(
        ([sel, source]) => new RegExp(source).test(document.querySelector(sel)?.textContent ?? ''),
        [selector, want.source] as const,
        { timeout: ms, polling: 200 },
      );
    } catch {
      const seen = await p.evaluate((sel) => document.querySelector(sel)?.textContent ?? '(absent)', selector);
      assert.fail(`${selector}: want ${want}, page shows ${JSON.stringify(seen)}`);
    }
  }
  async function view(p: Page, name: string): Promise<void> {
    await p.click(`nav a[href="#/${name}"]`);
    await p.waitForSelector(`main[data-view="${name}"] .panel`, { timeout: 30_000 });
  }
  async function shot(p: Page, name: string): Promise<void> {
    await p.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  }
  function record(ctx: BrowserContext): void {
    ctx.on('response', (r) => {
      if ((r.headers()['content-type'] ?? '').includes('event-stream')) return; // never ends; carries view names only
      void r.text().then((t) => bodies.push(`${r.url()}\n${t}`), () => undefined);
    });
    ctx.on('request', (r) => bodies.push(r.url() + (r.postData() ?? '')));
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-dashboard-'));
    shots = process.env.DASHBOARD_SCREENSHOTS_DIR ?? join(dir, 'screenshots');
    await mkdir(shots, { recursive: true });
    await writeFile(join(dir, 'encryption-config.yaml'), config([['key1', KEY1]]), { mode: 0o600 });
    await writeFile(join(dir, 'tokens.csv'), `${VIEWER_TOKEN},viewer,viewer-uid\n`, { mode: 0o600 });
    // The viewer may watch External Secrets and Events but not list Secrets.
    await writeFile(
      join(dir, 'policy.yaml'),
      'rules:\n  - users: [viewer]\n    verbs: [get, list, watch]\n    resources: [externalsecrets, secretstores, clustersecretstores, events]\n',
    );
    const port = await freePort();
    const [ks, server] = await Promise.all([
      startCoffer(['keyserver', '--data-dir', join(dir, 'ks'), '--root-key-file', join(dir, 'ks-root.key'), '--init', '--root-token-file', join(dir, 'ks-root.token'), '--listen', '127.0.0.1:0'],
        /keyserver listening on (http:\/\/\S+)/, 'coffer keyserver'),
      startCoffer(['up', '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--encryption-config', join(dir, 'encryption-config.yaml'),
        '--encryption-config-reload-interval', '1', '--token-auth-file', join(dir, 'tokens.csv'), '--authorization-policy-file', join(dir, 'policy.yaml')],
        /Dashboard: open (https:\/\/\S+)/, 'coffer up'),
    ]);
    keyserver = ks.child;
    up = server.child;
    vaultUrl = ks.match[1]!;
    loginLink = server.match[1]!;
    base = `https://127.0.0.1:${port}`;
    await until(() => up.out().includes('export KUBECONFIG='), 'coffer up ready', 60_000);
    rootToken = (await readFile(join(dir, 'ks-root.token'), 'utf8')).trim();
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-default-apps', '--no-first-run'],
    });
    // The server's CA is the test's own; the browser is told to accept it as a user would after trusting ca.crt.
    admin = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    record(admin);
    page = await admin.newPage();
  });
  after(async () => {
    await browser?.close();
    await Promise.all([up?.stop(), keyserver?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  void it('answers 401 on every dashboard path without a session, with the sign-in page for a browser', async () => {
    for (const path of ['/dashboard', '/dashboard/', '/dashboard/api/encryption', '/dashboard/api/encryption/keys?resource=secrets&filter=stale',
      '/dashboard/api/external-secrets', '/dashboard/api/metrics', '/dashboard/api/stream', '/dashboard/api/session', '/dashboard/assets/app.js', '/dashboard/no-such-page']) {
      assert.equal((await anonymous(path)).status, 401, path);
    }
    assert.equal((await anonymous('/dashboard/login?once=wrong')).status, 401);
    assert.equal((await anonymous('/dashboard/api/encryption', { Cookie: '__Host-coffer-dashboard=forged' })).status, 401);
    assert.match((await anonymous('/dashboard/', { Accept: 'text/html' })).type, /text\/html/);
  });

  void it('signs in with the one-time link: HttpOnly, Secure, SameSite=Strict cookie, strict CSP; the link then no longer works', async () => {
    const res = await page.goto(loginLink);
    assert.equal(new URL(page.url()).pathname, '/dashboard/');
    assert.equal(res?.status(), 200);
    const csp = res?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    const [cookie] = await admin.cookies();
    assert.equal(cookie?.name, '__Host-coffer-dashboard');
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.secure, true);
    assert.equal(cookie?.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '', 'the session cookie is not readable by scripts');
    await waitText(page, '[data-test="live"]', /live/);

    const other = await browser.newContext({ ignoreHTTPSErrors: true });
    const again = await (await other.newPage()).goto(loginLink);
    assert.equal(again?.status(), 401, 'a used link signs nobody in');
    await other.close();
  });

  void it('refuses a cross-site POST (no CSRF token or a foreign Origin)', async () => {
    const status = await page.evaluate(async () => (await fetch('/dashboard/logout', { method: 'POST' })).status);
    assert.equal(status, 403);
    assert.equal(await page.evaluate(async () => (await fetch('/dashboard/api/session')).status), 200, 'still signed in');
  });

  void it('shows the counts change when Secrets are created under another key', async () => {
    for (const [i, v] of [CANARIES[0], CANARIES[0], CANARIES[1]].entries()) await kubectl('create', 'secret', 'generic', `old-${i}`, `--from-literal=v=${v}`);
    await waitText(page, '[data-test="row-secrets"] [data-test="writer-aesgcm/key1"]', /: 3$/);
    await waitText(page, '[data-test="row-secrets"] [data-test="stale"]', /^0$/);
    await shot(page, 'encryption-1280');

    // A rotation with `coffer rotate`: prepare (key2 second, read only), then promote (key2 writes, key1 still read).
    await rotate('prepare', '--provider', 'aesgcm', '--key-name', 'key2');
    await waitText(page, '[data-test="encryption-config"]', /aesgcm keys: key1, key2\s*writes \(aesgcm\/key1\)/);
    await rotate('promote');
    await waitText(page, '[data-test="row-secrets"] [data-test="stale"]', /^3$/);
    for (const i of [0, 1]) await kubectl('create', 'secret', 'generic', `new-${i}`, `--from-literal=v=${CANARIES[1]}`);
    await waitText(page, '[data-test="row-secrets"] [data-test="writer-aesgcm/key2"]', /: 2$/);
    await waitText(page, '[data-test="row-secrets"] [data-test="total"]', /^5$/);
    await waitText(page, '[data-test="encryption-config"]', /aesgcm keys: key2, key1\s*writes \(aesgcm\/key2\)/);

    // Drill down to the storage keys of the stale ones: names only.
    await page.click('[data-test="row-secrets"] [data-test="stale"] button');
    await waitText(page, '[data-test="storage-keys"]', /\/registry\/secrets\/default\/old-0.*old-1.*old-2/);
    assert.doesNotMatch((await page.textContent('[data-test="storage-keys"]')) ?? '', /new-/);
    await shot(page, 'encryption-drilldown-1280');
  });

  void it("follows `coffer rotate`'s stage and the re-encryption live until the stale count reaches 0", async () => {
    await view(page, 'rotation');
    await waitText(page, '[data-test="rotation-stale"]', /^3$/);
    await waitText(page, '[data-test="rotation-stage"]', /^promoted$/);
    await waitText(page, '[data-test="rotation-next"]', /coffer rotate reencrypt/);
    await shot(page, 'rotation-in-progress-1280');
    // `coffer reencrypt`'s method: GET + PUT of each object unchanged, so the API server rewrites it with the write key.
    for (const i of [0, 1, 2]) {
      const json = await kubectl('get', 'secret', `old-${i}`, '-o', 'json');
      await runWithInput('kubectl', ['--kubeconfig', join(dir, 'data', 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache'), 'replace', '-f', '-'], json);
      await waitText(page, '[data-test="rotation-stale"]', new RegExp(`^${2 - i}$`));
    }
    // The stage moves only when `coffer rotate` says so: reencrypt (nothing stale is left to rewrite), then prune.
    assert.equal(await page.textContent('[data-test="rotation-stage"]'), 'promoted');
    await rotate('reencrypt', '--data-dir', join(dir, 'data'));
    await waitText(page, '[data-test="rotation-stage"]', /^reencrypted$/);
    await shot(page, 'rotation-done-1280');
    await rotate('prune', '--data-dir', join(dir, 'data'));
    await waitText(page, '[data-test="rotation-stage"]', /^pruned$/);
    await waitText(page, '[data-test="rotation-next"]', /rotation finished/);
    // A `coffer rotate kms-v2` KEK rotation keeps its own state file beside the configuration; its stage shows too.
    await writeFile(join(dir, 'encryption-config.yaml.kms-rotation.json'), JSON.stringify({ coffer: 'kms-rotation', version: 1, stage: 'reencrypted', before: 'sha256:x', latestVersion: 3 }), { mode: 0o600 });
    await waitText(page, '[data-test="kms-rotation-stage"]', /^reencrypted$/);
    await waitText(page, '[data-test="kms-rotation-next"]', /coffer rotate kms-v2 \(continues: raises the Transit key min_decryption_version\)/);
  });

  void it('shows an ExternalSecret turn failed when its key is removed from the key server', async () => {
    await vault('PUT', 'sys/policies/acl/eso', { policy: 'path "secret/data/*" { capabilities = ["read"] }' });
    const storeToken = ((await vault('POST', 'auth/token/create', { policies: ['eso'], ttl: '1h' }))!.auth as { client_token: string }).client_token;
    await vault('POST', 'secret/data/app/db', { data: { password: CANARIES[2] } });
    await apply(`apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: Secret
metadata: {name: vault-token, namespace: team-a}
stringData: {token: ${storeToken}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: vault, namespace: team-a}
spec:
  provider:
    vault: {server: "${vaultUrl}", path: secret, version: v2, auth: {tokenSecretRef: {name: vault-token, key: token}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: team-a}
spec:
  refreshInterval: 2s
  secretStoreRef: {name: vault, kind: SecretStore}
  dataFrom: [{extract: {key: app/db}}]
`);
    await view(page, 'external-secrets');
    await waitText(page, '[data-test="es-team-a-db"] [data-test="es-state"]', /Ready/);
    await shot(page, 'external-secrets-ready-1280');
    await vault('DELETE', 'secret/metadata/app/db');
    await waitText(page, '[data-test="es-team-a-db"] [data-test="es-state"]', /✗ SecretSyncedError/);
    await waitText(page, '[data-test="es-events"]', /Warning/);
    await shot(page, 'external-secrets-failed-1280');
  });

  void it('charts the KMS and API server views from /metrics', async () => {
    await view(page, 'apiserver');
    await page.waitForSelector('[data-test="request-rate"] canvas', { timeout: 60_000 });
    await shot(page, 'apiserver-1280');
    await view(page, 'kms');
    await waitText(page, '[data-test="kms"]', /KMS plugin|does not run Coffer's KMS plugin/);
    await shot(page, 'kms-1280');
  });

  void it('runs the lab from the page with live progress, and shows its report beside the seed, honest about the subset', async () => {
    await view(page, 'lab');
    // One variant and one column: a run of seconds (the whole lab takes many minutes), which the page says.
    await waitText(page, '[data-test="lab-run"]', /one variant and one column .* take seconds/);
    await page.fill('input[name="rows"]', 'identity/sqlite');
    await page.fill('input[name="columns"]', 'disk');
    await page.click('[data-test="lab-run"] button[type="submit"]');
    await waitText(page, '[data-test="lab-status"]', /running|finished/);
    // Progress lines arrive while it runs (the live stream); the last ones stay after it ends.
    await waitText(page, '[data-test="lab-progress"]', /identity\/sqlite: .*(deployment|API server|planting)/, 120_000);
    // Exit 2: an attack could not run (its cell is ?); the report is still written, as `coffer lab` does.
    await waitText(page, '[data-test="lab-status"]', /finished \(exit [02]\)/, 300_000);
    await waitText(page, '[data-test="lab-subset"]', /did not try RAM/);
    const marks = await page.$$eval('[data-test="lab-table"] td[data-mark]', (tds) => tds.map((td) => td.getAttribute('data-mark')));
    assert.equal(marks.length, 1);
    assert.ok(!marks.includes('✓✓'), `a subset shows no ✓✓: ${marks.join(' ')}`);
    // The seed's marks (src/lab/seed-table.ts: native Secrets are ✗ on disk) beside the lab's measured one.
    const seed = await page.$$eval('[data-test="lab-seed-table"] tbody tr', (trs) =>
      trs.map((tr) => [tr.querySelector('th')?.textContent, tr.querySelector('td[data-seed="disk"]')?.textContent, tr.querySelector('td[data-lab="disk"]')?.textContent?.trim()]));
    assert.deepEqual(seed, [['Native Kubernetes Secrets', '✗', marks[0]]]);
    // A cell the lab could not measure (?, e.g. an attack timed out on a loaded machine) is no difference.
    await waitText(page, '[data-test="lab-differences"]', marks[0] === '✗' || marks[0] === '?' ? /agrees with the seed/ : /native \/ disk/);
    await shot(page, 'lab-1280');
  });

  void it('works at phone width: no sideways scrolling of the page', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const name of ['encryption', 'rotation', 'external-secrets', 'apiserver']) {
      await view(page, name);
      await page.waitForTimeout(300); // layout after the view's data arrived
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `${name} scrolls sideways by ${overflow}px at 390px`);
      await shot(page, `${name}-phone`);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  void it('gives a user without list rights on Secrets a "not allowed" panel, signed in with a token', async () => {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    record(ctx);
    const p = await ctx.newPage();
    const signIn = await p.goto(`${base}/dashboard/`);
    assert.equal(signIn?.status(), 401);
    await p.fill('input[name="token"]', 'not-a-token');
    await p.click('button[type="submit"]');
    await p.waitForSelector('[role="alert"]');
    assert.match((await p.textContent('[role="alert"]')) ?? '', /did not accept this token/);
    await p.fill('input[name="token"]', VIEWER_TOKEN);
    await p.click('button[type="submit"]');
    await waitText(p, '[data-test="not-allowed"]', /cannot list resource "secrets"/);
    assert.equal(await p.locator('[data-test="encryption-counts"]').count(), 0);
    await shot(p, 'not-allowed-1280');
    await view(p, 'lab');
    await waitText(p, '[data-test="lab-run"] [data-test="not-allowed"]', /only a session opened with the one-time sign-in link/);
    const refused = await p.evaluate(async () => {
      const { csrf } = (await (await fetch('/dashboard/api/session')).json()) as { csrf: string };
      const r = await fetch('/dashboard/api/lab/run', { method: 'POST', headers: { 'X-Coffer-CSRF': csrf }, body: '{}' });
      return `${r.status} ${await r.text()}`;
    });
    assert.match(refused, /^403 .*Not allowed: running the lab/);
    // What the policy lets the viewer list is shown.
    await view(p, 'external-secrets');
    await waitText(p, '[data-test="es-team-a-db"] [data-test="es-state"]', /SecretSyncedError/);
    await ctx.close();
  });

  void it('never puts a Secret value in the DOM or the network traffic', async () => {
    for (const name of ['encryption', 'rotation', 'kms', 'external-secrets', 'apiserver', 'lab']) {
      await view(page, name);
      const dom = await page.content();
      for (const c of CANARIES) assert.ok(!dom.includes(c) && !dom.includes(Buffer.from(c).toString('base64')), `a Secret value in the DOM of ${name}`);
    }
    assert.ok(bodies.length > 20, `recorded ${bodies.length} requests and responses`);
    for (const c of CANARIES) {
      for (const form of [c, Buffer.from(c).toString('base64')]) assert.ok(!bodies.some((b) => b.includes(form)), 'a Secret value on the wire');
    }
    assert.ok((await readdir(shots)).length >= 13, 'a screenshot of each view');
  });
});
