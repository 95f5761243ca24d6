// `coffer lab` without commander: parse the selection, run the lab under a cleanup stack (emptied on SIGINT), render,
// and refuse to write any output that holds a planted value (a canary or integrity fixture, in any searched form).
import { writeFile } from 'node:fs/promises';
import { containsCanary, type Canary } from './canary.js';
import { ALL_COLUMNS, parseColumns, type Column } from './capability.js';
import { withCleanup } from './cleanup.js';
import { runLab, type LabOptions } from './lab-runner.js';
import { buildReport } from './report/report-model.js';
import { renderHtml } from './report/report-html.js';
import { renderText } from './report/report-text.js';
import { parseRows, ROWS } from './rows.js';
import { checkSeedFile } from './seed-table.js';

export interface LabCommandOptions {
  rows?: string;
  columns?: string;
  format?: string;
  html?: string;
  canaries?: string;
  concurrency?: string;
}

export interface LabIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Test hook passed to the runner. */
  afterDeploy?: LabOptions['afterDeploy'];
}

function asCanaries(values: readonly Buffer[]): Canary[] {
  return values.map((value, i) => ({ index: i + 1, namespace: '', name: '', dataKey: '', value, fingerprint: '' }));
}

/** Throws (writing nothing) if `text` holds a planted value. */
function assertNoPlantedValue(text: string, planted: readonly Buffer[], what: string): void {
  if (containsCanary(text, asCanaries(planted))) throw new Error(`refusing to write the ${what}: it contains a planted secret value (a bug in the lab)`);
}

export async function runLabCommand(o: LabCommandOptions, io: LabIo): Promise<number> {
  const rows = o.rows ? parseRows(o.rows) : ROWS.map((r) => ({ ...r, variants: [...r.variants] }));
  const columns: Column[] = o.columns ? parseColumns(o.columns) : [...ALL_COLUMNS];
  const format = o.format ?? 'table';
  if (format !== 'table' && format !== 'json') throw new Error(`--format: table or json, got ${JSON.stringify(format)}`);
  const canaryCount = Number(o.canaries ?? 3);
  if (!Number.isInteger(canaryCount) || canaryCount < 1 || canaryCount > 100) throw new Error(`--canaries: 1..100, got ${JSON.stringify(o.canaries)}`);
  const concurrency = Number(o.concurrency ?? 2);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 8) throw new Error(`--concurrency: 1..8, got ${JSON.stringify(o.concurrency)}`);
  const command = ['coffer lab', o.rows ? `--rows ${o.rows}` : '', o.columns ? `--columns ${o.columns}` : '', format !== 'table' ? `--format ${format}` : '', o.html ? `--html ${o.html}` : '']
    .filter(Boolean)
    .join(' ');

  const result = await withCleanup((cleanup) =>
    runLab({ rows, columns, canaryCount, concurrency, cleanup, log: (l) => io.stderr(`lab: ${l}\n`), ...(io.afterDeploy ? { afterDeploy: io.afterDeploy } : {}) }),
  );
  const model = buildReport(result, { command, seedCheck: await checkSeedFile() });
  const out = format === 'json' ? `${JSON.stringify(model, null, 2)}\n` : renderText(model);
  assertNoPlantedValue(out, result.plantedValues, format === 'json' ? 'JSON report' : 'table');
  if (o.html) {
    const html = renderHtml(model);
    assertNoPlantedValue(html, result.plantedValues, 'HTML report');
    await writeFile(o.html, html);
  }
  io.stdout(out);
  return result.findings.some((f) => f.status === 'error') ? 2 : 0;
}
