// The report as data: what the text, JSON and HTML renderers all print. Built from the lab's result only; the seed
// comparison lists every cell where the seed and the lab differ, with the rule and the evidence that decided the lab's
// cell.
import { cpus } from 'node:os';
import { COLUMN_DESCRIPTIONS, COLUMN_TITLES, SEED_COLUMNS, type Column } from '../capability.js';
import type { Finding } from '../finding.js';
import type { LabResult, VariantResult } from '../lab-runner.js';
import { SEED_LEGEND, SEED_NOTES, SEED_TABLE } from '../seed-table.js';
import { VERDICT_RULES, type Cell, type Mark } from '../verdict.js';

export interface ReportRow {
  id: string;
  title: string;
  variants: { id: string; label: string; default: boolean; status: string; notes: string[]; canaryFingerprints: string[] }[];
  cells: Partial<Record<Column, Cell>>;
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
  }));
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
    machine: `${process.platform} ${process.arch}, ${cpus().length} CPU(s), Node.js ${process.version}`,
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
