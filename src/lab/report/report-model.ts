// The report as data: what the text, JSON and HTML renderers all print. Built from the lab's result only; the seed
// comparison lists every cell where the seed and the lab differ, with the rule and the evidence that decided the lab's
// cell.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ALL_COLUMNS, COLUMN_DESCRIPTIONS, COLUMN_TITLES, SEED_COLUMNS, type Column } from '../capability.js';
import type { Finding } from '../finding.js';
import type { LabResult, VariantResult } from '../lab-runner.js';
import { SEED_LEGEND, SEED_NOTES, SEED_TABLE } from '../seed-table.js';
import { computeCell, VERDICT_RULES, type Cell, type Mark } from '../verdict.js';

export interface ReportRow {
  id: string;
  title: string;
  variants: { id: string; label: string; default: boolean; status: string; notes: string[]; canaryFingerprints: string[] }[];
  cells: Partial<Record<Column, Cell>>;
  /** Each variant judged on its own findings, as if it were the only deployment of the row. */
  variantCells: { id: string; cells: Partial<Record<Column, Cell>> }[];
  /** For each ✗ cell: what reaches ✓/✓✓ in this run (another variant of the row, or another row), in plain words. */
  remediation: Partial<Record<Column, string>>;
}

export interface SeedDifference {
  row: string;
  column: Column;
  seed: string;
  lab: string;
  why: string;
}

export interface ReportModel {
  title: string;
  command: string;
  generatedAt: string;
  durationMs: number;
  machine: string;
  /** Coffer's version and the commit it was built from (with "+ local changes" when the checkout differs). */
  version: string;
  /** A run of some columns only: what it did not try, in words; undefined for a full run. */
  subset?: string;
  legend: readonly string[];
  rules: readonly string[];
  columns: { id: Column; title: string; description: string }[];
  rows: ReportRow[];
  seed: {
    check: string;
    notes: Record<string, string>;
    rows: { row: string; name: string; cells: Record<string, string>; lab: Record<string, string> }[];
    differences: SeedDifference[];
  };
  notes: string[];
  findings: Finding[];
}

export function markText(c: Pick<Cell, 'mark' | 'caveat'> | undefined): string {
  if (!c) return '';
  return c.caveat ? `${c.mark} (${c.caveat})` : c.mark;
}

function variantStatus(v: VariantResult): string {
  if (v.unavailable) return `not run: ${v.unavailable}`;
  if (v.error) return `failed: ${v.error}`;
  return `measured in ${(v.durationMs / 1000).toFixed(1)} s`;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** `coffer 0.1.0, commit abc1234 (+ local changes)`; the commit is unknown outside a git checkout. */
export function cofferVersion(): string {
  let version = '?';
  try {
    version = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    // an unusual install without package.json: say so in the version
  }
  let commit = 'commit unknown (not a git checkout)';
  try {
    const git = (args: string[]) => execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    commit = `commit ${git(['rev-parse', 'HEAD'])}${git(['status', '--porcelain', '--untracked-files=no']) ? ' (+ local changes)' : ''}`;
  } catch {
    // git missing or not a checkout
  }
  return `coffer ${version}, ${commit}`;
}

function machineDescription(): string {
  const cpu = cpus();
  return `${hostname()}: ${process.platform} ${process.arch}, ${cpu.length} CPU(s) (${cpu[0]?.model.trim() ?? 'unknown model'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node.js ${process.version}`;
}

const GOOD = (m: Mark | undefined) => m === '✓' || m === '✓✓';

/** Where this run measured a deployment that resists what a ✗ cell does not. */
function remedy(row: ReportRow, rows: readonly ReportRow[], column: Column): string {
  const variants = row.variantCells.filter((v) => GOOD(v.cells[column]?.mark)).map((v) => `${v.id} (${markText(v.cells[column])})`);
  const others = rows.filter((r) => r !== row && GOOD(r.cells[column]?.mark)).map((r) => `${r.title} (${markText(r.cells[column])})`);
  const parts = [
    variants.length ? `deploy this row as variant ${variants.join(' or ')}` : '',
    others.length ? `use ${others.join(' or ')}` : '',
  ].filter(Boolean);
  return parts.length
    ? `Measured in this run: ${parts.join('; or ')}.`
    : 'No deployment measured in this run resists this; see docs/lab.md for what the column means and what limits it.';
}

export function buildReport(result: LabResult, opts: { command: string; seedCheck: string }): ReportModel {
  const rows: ReportRow[] = result.rows.map((r) => ({
    id: r.id,
    title: r.title,
    variants: r.variants.map((v, i) => ({
      id: v.spec.id,
      label: v.spec.label + (v.placeholder ? ` - ${v.placeholder}` : ''),
      default: i === 0,
      status: variantStatus(v),
      notes: v.notes,
      canaryFingerprints: v.canaryFingerprints,
    })),
    cells: Object.fromEntries(result.cells.filter((c) => c.row === r.id).map((c) => [c.column, c])),
    variantCells: r.variants.map((v) => {
      const findings = result.findings.filter((f) => f.row === r.id && f.variant === v.spec.id);
      return { id: v.spec.id, cells: Object.fromEntries(result.columns.map((c) => [c, computeCell({ row: r.id, variants: [v.spec.id], findings }, c)])) };
    }),
    remediation: {},
  }));
  for (const row of rows) {
    for (const c of result.columns) if (row.cells[c]?.mark === '✗') row.remediation[c] = remedy(row, rows, c);
  }
  const missing = ALL_COLUMNS.filter((c) => !result.columns.includes(c));
  const seedColumns = SEED_COLUMNS.filter((c) => result.columns.includes(c));
  const differences: SeedDifference[] = [];
  const seedRows = SEED_TABLE.filter((s) => rows.some((r) => r.id === s.row)).map((s) => {
    const row = rows.find((r) => r.id === s.row)!;
    const cells: Record<string, string> = {};
    const lab: Record<string, string> = {};
    for (const c of seedColumns) {
      const seedCell = s.cells[c as keyof SeedRow['cells']];
      cells[c] = seedCell.mark + (seedCell.note ? ` ${seedCell.note}` : '');
      const cell = row.cells[c];
      lab[c] = markText(cell);
      if (cell && cell.mark !== seedCell.mark && cell.mark !== '?') {
        differences.push({
          row: row.title,
          column: c,
          seed: cells[c],
          lab: lab[c],
          why: `${cell.rule}${cell.caveat ? ` (${cell.caveat})` : ''}. Evidence: ${cell.evidence}${cell.notes.length ? `. Also: ${cell.notes.join('; ')}` : ''}${seedCell.note ? `. Seed note ${seedCell.note}: ${SEED_NOTES[seedCell.note]}` : ''}`,
        });
      }
    }
    return { row: row.title, name: s.name, cells, lab };
  });
  const notes: string[] = [];
  for (const r of rows) for (const v of r.variants) for (const n of v.notes) notes.push(`${v.id}: ${n}`);
  for (const r of result.rows) for (const v of r.variants) if (v.placeholder) notes.push(`${v.spec.id}: ${v.placeholder}`);
  return {
    title: 'Coffer lab: Kubernetes Secrets at rest, measured',
    command: opts.command,
    generatedAt: result.startedAt,
    durationMs: result.durationMs,
    machine: machineDescription(),
    version: cofferVersion(),
    ...(missing.length
      ? {
          subset: `This run tried only ${result.columns.map((c) => COLUMN_TITLES[c]).join(', ')}. It did not try ${missing.map((c) => COLUMN_TITLES[c]).join(', ')}, nor any combination with them, so no cell is ✓✓ unless every combination it needs was tried; run without --columns for the full table.`,
        }
      : {}),
    legend: SEED_LEGEND,
    rules: VERDICT_RULES,
    columns: result.columns.map((c) => ({ id: c, title: COLUMN_TITLES[c], description: COLUMN_DESCRIPTIONS[c] })),
    rows,
    seed: { check: opts.seedCheck, notes: SEED_NOTES, rows: seedRows, differences },
    notes,
    findings: result.findings,
  };
}

type SeedRow = (typeof SEED_TABLE)[number];
export type { Mark };
