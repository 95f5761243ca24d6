// `coffer lab` end to end, on real deployments (API servers, key server and KMS plugin as processes, a real etcd where
// named): verdicts follow the evidence, integrity attacks tell authenticated ciphers from the others, the DEK cache
// changes what the ram column finds, no planted value reaches any output, and nothing is left behind - also when an
// attack fails or the lab is interrupted. Each case runs only the rows and columns it needs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Column } from '../src/lab/capability.js';
import { CleanupStack } from '../src/lab/cleanup.js';
import { runLabCommand } from '../src/lab/lab-command-run.js';
import { runLab, type LabResult } from '../src/lab/lab-runner.js';
import { parseRows } from '../src/lab/rows.js';
import { chromium } from 'playwright-core';
import { COFFER_BIN } from './support/processes.js';


async function lab(rows: string, columns: Column[]): Promise<LabResult> {
  const cleanup = new CleanupStack();
  try {
    return await runLab({ rows: parseRows(rows), columns, cleanup });
  } finally {
    assert.deepEqual(await cleanup.runAll(), []);
  }
}

function cell(r: LabResult, row: string, column: Column) {
  const c = r.cells.find((x) => x.row === row && x.column === column);
  assert.ok(c, `cell ${row}/${column}`);
  return c;
}

/** PIDs of live processes whose command line mentions `text` (a deployment's temp dir). */
async function processesMentioning(text: string): Promise<number[]> {
  const out: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    const cmd = await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(text)) out.push(Number(e));
  }
  return out;
}

const exists = (p: string) => access(p).then(() => true, () => false);

void describe('coffer lab', { timeout: 300_000 }, () => {
  void it('keeping the aescbc key off the node disk turns the disk cell from ✗ to ✓ (with config-file)', async () => {
    const on = await lab('aescbc/sqlite', ['disk', 'config-file']);
    assert.equal(cell(on, 'encryption-at-rest', 'disk').mark, '✗');
    assert.match(cell(on, 'encryption-at-rest', 'disk').evidence, /found as base64 text at etc\/encryption-config\.yaml/);
    const off = await lab('aescbc-key-off-disk/sqlite', ['disk', 'config-file']);
    const c = cell(off, 'encryption-at-rest', 'disk');
    assert.equal(c.mark, '✓');
    assert.equal(c.caveat, 'with config-file');
  });

  void it('a relocated value is refused by aesgcm and KMS v2 and served by aescbc and secretbox', async () => {
    const r = await lab('aescbc/sqlite,aesgcm/sqlite,secretbox/sqlite,kms-v2/sqlite', ['relocate', 'bit-flip']);
    const relocate = (variant: string) => r.findings.find((f) => f.variant === variant && f.attack === 'relocate')!;
    assert.equal(relocate('aescbc/sqlite').status, 'recovered');
    assert.equal(relocate('secretbox/sqlite').status, 'recovered');
    assert.equal(relocate('aesgcm/sqlite').status, 'nothing');
    assert.match(relocate('aesgcm/sqlite').evidence[0]!, /refused \(HTTP 500/);
    assert.equal(relocate('kms-v2/sqlite').status, 'nothing');
    const flip = (variant: string) => r.findings.find((f) => f.variant === variant && f.attack === 'bit-flip')!;
    assert.equal(flip('aescbc/sqlite').status, 'recovered', 'CBC has no MAC: the flipped value is served');
    for (const v of ['aesgcm/sqlite', 'secretbox/sqlite', 'kms-v2/sqlite']) assert.equal(flip(v).status, 'nothing', v);
    assert.equal(cell(r, 'encryption-at-rest', 'relocate').mark, '✗');
    assert.equal(cell(r, 'kms', 'relocate').mark, '✓✓');
  });

  void it('switching the KMS DEK cache changes what the ram column finds', async () => {
    const r = await lab('kms-v2/sqlite,kms-v2-no-dek-cache/sqlite', ['ram']);
    const ram = (variant: string) => r.findings.find((f) => f.variant === variant && f.attack === 'ram')!;
    const cached = ram('kms-v2/sqlite');
    const uncached = ram('kms-v2-no-dek-cache/sqlite');
    // Reported apart: plaintext (the list response) and key material.
    assert.equal(cached.plaintextCanaries, cached.total);
    // With the cache, one seed in memory opens every value written since the start.
    assert.equal(cached.keyMaterialCanaries, cached.total);
    assert.equal(cached.keysFound.length, 1);
    // Without it, no single seed opens more than one value: whatever key material remains is per value.
    assert.ok(uncached.keysFound.length !== 1, `no-DEK-cache keys: ${uncached.keysFound.join('; ')}`);
    for (const k of uncached.keysFound) assert.equal(uncached.keysFound.filter((x) => x.split(' opens ')[0] === k.split(' opens ')[0]).length, 1);
  });

  void it('External Secrets: coffer controller syncs the canaries from the key server, whose take-over recovers them', async () => {
    const planted: Buffer[] = [];
    let json = '';
    let stderr = '';
    const io = { stdout: (s: string) => (json += s), stderr: (s: string) => (stderr += s), afterDeploy: (d: { plantedValues: Buffer[] }) => void planted.push(...d.plantedValues) };
    assert.equal(await runLabCommand({ rows: 'eso', columns: 'disk,etcd,kms-server,kms-socket', format: 'json' }, io), 0);
    // The canaries and the SecretStore's token: none in any output.
    assert.equal(planted.length, 3 + 5 + 1);
    for (const v of planted) for (const form of [v.toString('latin1'), v.toString('base64')]) assert.ok(!json.includes(form) && !stderr.includes(form), 'a planted value is in the output');
    assert.match(stderr, /coffer controller pid \d+ syncing 3 ExternalSecrets/);
    // The key server, the controller (twice) and the attacker's key server are gone with the deployment.
    const base = /deployment in (\S+)/.exec(stderr)![1]!;
    assert.equal(await exists(base), false, 'temp dir removed');
    assert.deepEqual(await processesMentioning(base), [], 'no process left');
    const model = JSON.parse(json) as {
      rows: { variants: { notes: string[] }[]; cells: Record<string, { mark: string; evidence: string }> }[];
      findings: { attack: string; recovered: number; total: number; evidence: string[]; notes: string[] }[];
    };
    const row = model.rows[0]!;
    // The lab wrote no canary Secret: each is the controller's (owner, managed label, KV value), checked at deploy.
    assert.match(row.variants[0]!.notes.join('\n'), /3 ExternalSecret\(s\) synced by coffer controller \(pid \d+\).*owned by its ExternalSecret/);
    assert.ok(!/EMULATED/i.test(json));
    // The seed's point: full control of the key server (data dir + root key) reads the KV v2 values.
    assert.equal(row.cells['kms-server']!.mark, '✗');
    assert.match(row.cells['kms-server']!.evidence, /GET \/v1\/secret\/data\/lab\/canary-\d on the attacker's copy of the key server/);
    assert.equal(row.cells['kms-socket']!.mark, 'n/a');
    assert.equal(row.cells.disk!.mark, '✗');
    assert.equal(row.cells.etcd!.mark, '✗');
    // The SecretStore's token sits in a Secret in the datastore, in the clear: a disk copy or an etcd reader replays it.
    for (const attack of ['disk', 'etcd']) {
      const f = model.findings.find((x) => x.attack === attack)!;
      assert.equal(f.recovered, f.total);
      assert.ok(f.evidence.some((e) => /SecretStore lab-canaries\/keyserver's token \(Secret lab-canaries\/keyserver-token, stored in the clear\) replayed against http/.test(e)), attack);
      assert.match(f.notes.join('\n'), /replayed for the 3 key\(s\) its ExternalSecrets name: 3 read, 0 refused/);
    }
  });

  void it('no planted value appears in stdout, stderr, the JSON or the HTML, and the HTML renders in Chromium', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'coffer-lab-test-'));
    after(() => rm(dir, { recursive: true, force: true }));
    const planted: Buffer[] = [];
    let stdout = '';
    let stderr = '';
    const html = join(dir, 'report.html');
    const io = { stdout: (s: string) => (stdout += s), stderr: (s: string) => (stderr += s), afterDeploy: (d: { plantedValues: Buffer[] }) => void planted.push(...d.plantedValues) };
    assert.equal(await runLabCommand({ rows: 'identity/sqlite,aesgcm/sqlite', columns: 'disk,ram,etcd,config-file,relocate', html }, io), 0);
    let json = '';
    await runLabCommand({ rows: 'identity/sqlite', columns: 'disk,etcd', format: 'json' }, { ...io, stdout: (s) => (json += s) });
    const page = await readFile(html, 'utf8');
    assert.ok(planted.length >= 14);
    for (const v of planted) {
      for (const form of [v.toString('latin1'), v.toString('base64'), v.toString('hex')]) {
        for (const [name, text] of [['stdout', stdout], ['stderr', stderr], ['json', json], ['html', page]] as const) {
          assert.ok(!text.includes(form), `a planted value is in ${name}`);
        }
      }
    }
    assert.match(stdout, /Native Kubernetes Secrets/);
    const model = JSON.parse(json) as { findings: unknown[]; rows: { cells: Record<string, { mark: string }> }[] };
    assert.equal(model.rows[0]!.cells.disk!.mark, '✗');

    // Read the cells back from the page as a browser renders it (Debian chromium + playwright-core).
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const tab = await browser.newPage();
      await tab.goto(`file://${html}`);
      const cells = await tab.$$eval('#lab-table td[data-row]', (tds) =>
        tds.map((td) => ({ row: td.getAttribute('data-row'), column: td.getAttribute('data-column'), text: td.textContent?.trim() })),
      );
      assert.deepEqual(cells.find((c) => c.row === 'native' && c.column === 'disk')?.text, '✗');
      assert.deepEqual(cells.find((c) => c.row === 'encryption-at-rest' && c.column === 'etcd')?.text, '✓ (with config-file)');
      assert.ok(((await tab.textContent('#differences')) ?? '').length > 0, 'the seed comparison is on the page');
    } finally {
      await browser.close();
    }
  });

  void it('cleans up every process and temp dir when an attack fails', async () => {
    const cleanup = new CleanupStack();
    let base = '';
    const r = await runLab({
      rows: parseRows('identity/etcd'),
      columns: ['disk', 'etcd'],
      cleanup,
      afterDeploy: (d) => {
        base = join(d.target.scratch, '..');
        throw new Error('injected attack failure');
      },
    });
    assert.deepEqual(await cleanup.runAll(), []);
    assert.ok(base);
    assert.ok(r.findings.every((f) => f.status === 'error'));
    assert.match(r.rows[0]!.variants[0]!.error!, /injected attack failure/);
    assert.equal(await exists(base), false, 'temp dir removed');
    assert.deepEqual(await processesMentioning(base), [], 'no process left');
  });

  void it('cleans up every process and temp dir on SIGINT', async () => {
    const child = spawn(process.execPath, [COFFER_BIN, 'lab', '--rows', 'kms-v2/etcd', '--columns', 'disk'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let base = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        const m = /deployment in (\S+)/.exec(stderr);
        if (m) base = m[1]!;
        if (base && stderr.includes('planting')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`lab exited early (${code}): ${stderr}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    assert.equal(await exists(base), false, 'temp dir removed');
    assert.deepEqual(await processesMentioning(base), [], 'no process left');
  });
});
