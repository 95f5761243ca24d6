// The terminal report: the table with the seed's legend, one evidence line per cell, the seed's table beside the lab's
// and the reason for every difference.
import { markText, type ReportModel } from './report-model.js';

function pad(s: string, n: number): string {
  // Marks are single code points but ✓✓ is two; count code points, not UTF-16 units.
  const len = [...s].length;
  return len >= n ? s : s + ' '.repeat(n - len);
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i]!)).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)];
}

export function renderText(m: ReportModel): string {
  const out: string[] = [];
  out.push(m.title, `command: ${m.command}`, `version: ${m.version}`, `date: ${m.generatedAt} (took ${(m.durationMs / 1000).toFixed(0)} s)`, `machine: ${m.machine}`, '');
  if (m.subset) out.push(`NOTE: ${m.subset}`, '');
  out.push('Legend (the seed\'s):', ...m.legend.map((l) => `  ${l}`), '');
  out.push(
    ...table(
      ['Implementation', ...m.columns.map((c) => c.title)],
      m.rows.map((r) => [r.title, ...m.columns.map((c) => markText(r.cells[c.id]))]),
    ),
  );
  out.push('', 'Verdict rules (computed from the findings only):', ...m.rules.map((r) => `  ${r}`), '');
  out.push('Columns (what the attacker gets, exactly):', ...m.columns.map((c) => `  ${c.title}: ${c.description}`), '');
  out.push('Evidence (one line per cell; canaries by index and fingerprint, never their values):');
  for (const r of m.rows) {
    out.push(`  ${r.title}`);
    for (const v of r.variants) out.push(`    variant ${v.id}${v.default ? ' (default)' : ''}: ${v.label}; ${v.status}`);
    for (const c of m.columns) {
      const cell = r.cells[c.id];
      if (!cell) continue;
      out.push(`    ${pad(c.title, 11)} ${pad(markText(cell), 4)} ${cell.evidence}`);
      for (const n of cell.notes) out.push(`    ${pad('', 11)}      note: ${n}`);
      if (r.remediation[c.id]) out.push(`    ${pad('', 11)}      to reach ✓: ${r.remediation[c.id]}`);
    }
    if (r.variants.length > 1) {
      out.push('    each variant on its own:');
      for (const v of r.variantCells) {
        out.push(`      ${v.id}: ${m.columns.map((c) => `${c.title} ${markText(v.cells[c.id]) || '-'}`).join(', ')}`);
        for (const c of m.columns) {
          const cell = v.cells[c.id];
          if (cell && cell.evidence !== r.cells[c.id]?.evidence) out.push(`        ${pad(c.title, 11)} ${cell.evidence}`);
        }
      }
    }
  }
  if (m.seed.rows.length) {
    out.push('', `The seed's table beside the lab's (seed -> lab); ${m.seed.check}:`);
    const cols = Object.keys(m.seed.rows[0]!.cells);
    out.push(
      ...table(
        ['Implementation', ...cols.map((c) => m.columns.find((x) => x.id === c)?.title ?? c)],
        m.seed.rows.map((r) => [r.name, ...cols.map((c) => `${r.cells[c]} -> ${r.lab[c]}`)]),
      ),
    );
    out.push('', 'Seed notes:', ...Object.entries(m.seed.notes).map(([k, v]) => `  ${k} ${v}`));
    out.push('', `Where the lab differs from the seed (${m.seed.differences.length}):`);
    for (const d of m.seed.differences) out.push(`  ${d.row} / ${d.column}: seed ${d.seed}, lab ${d.lab}: ${d.why}`);
  }
  if (m.notes.length) out.push('', 'Notes:', ...m.notes.map((n) => `  ${n}`));
  return `${out.join('\n')}\n`;
}
