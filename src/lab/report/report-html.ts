// A self-contained HTML report (no scripts, no external resources): the table with legend and rules, per-cell
// evidence, the seed comparison. Cells carry data-row/data-column/data-mark so tools (and the browser test) can read
// them back.
import { markText, type ReportModel } from './report-model.js';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

// Colour is never the only signal: each mark also has its own border shape and a word (shown by CSS, so a cell's text
// stays the mark itself for tools), and the page prints in black and white.
const STYLE = `body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #bbb;padding:.3em .6em;vertical-align:top}
th{background:#f0f0f0}td.mark{text-align:center;white-space:nowrap;font-weight:bold}
.m-x{background:#fdd;outline:3px solid #222;outline-offset:-4px}.m-c{background:#ffd;outline:2px dashed #222;outline-offset:-4px}
.m-cc{background:#dfd;outline:3px double #222;outline-offset:-5px}.m-na{color:#666}.m-q{background:#eee;outline:1px dotted #222;outline-offset:-4px}
td.mark::after{display:block;font-weight:normal;font-size:.75em}
td.m-x::after{content:"not mitigated"}td.m-c::after{content:"mitigated, with a caveat"}td.m-cc::after{content:"mitigated"}
td.m-q::after{content:"not measured"}td.m-na::after{content:"nothing to act on"}
.ev{font-family:ui-monospace,monospace;font-size:.85em}small{color:#555}.fix{font-size:.9em}
.note{border:2px solid #222;padding:.5em 1em}
@media print{body{margin:0;max-width:none;font-size:10pt}h2,h3{break-after:avoid}tr,li{break-inside:avoid}
.m-x,.m-c,.m-cc,.m-q{background:none}}`;

function markClass(mark: string): string {
  return { '✗': 'm-x', '✓': 'm-c', '✓✓': 'm-cc', 'n/a': 'm-na', '?': 'm-q' }[mark] ?? '';
}

export function renderHtml(m: ReportModel): string {
  const h: string[] = [];
  h.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(m.title)}</title><style>${STYLE}</style></head><body>`);
  h.push(`<h1>${esc(m.title)}</h1><dl id="run"><dt>Command</dt><dd><code>${esc(m.command)}</code></dd><dt>Version</dt><dd>${esc(m.version)}</dd>`);
  h.push(`<dt>Date</dt><dd>${esc(m.generatedAt)} (took ${(m.durationMs / 1000).toFixed(0)} s)</dd><dt>Machine</dt><dd>${esc(m.machine)}</dd></dl>`);
  if (m.subset) h.push(`<p class="note" id="subset"><strong>Subset.</strong> ${esc(m.subset)}</p>`);
  h.push('<h2>Legend</h2><ul>', ...m.legend.map((l) => `<li>${esc(l)}</li>`), '</ul>');
  h.push('<h2>Table</h2><table id="lab-table"><thead><tr><th>Implementation</th>');
  for (const c of m.columns) h.push(`<th title="${esc(c.description)}">${esc(c.title)}</th>`);
  h.push('</tr></thead><tbody>');
  for (const r of m.rows) {
    h.push(`<tr data-row="${esc(r.id)}"><th>${esc(r.title)}</th>`);
    for (const c of m.columns) {
      const cell = r.cells[c.id];
      h.push(
        `<td class="mark ${markClass(cell?.mark ?? '')}" data-row="${esc(r.id)}" data-column="${esc(c.id)}" data-mark="${esc(cell?.mark ?? '')}" title="${esc(cell?.evidence ?? '')}">${esc(markText(cell))}</td>`,
      );
    }
    h.push('</tr>');
  }
  h.push('</tbody></table>');
  h.push('<h2>Verdict rules</h2><ul>', ...m.rules.map((r) => `<li>${esc(r)}</li>`), '</ul>');
  h.push('<h2>Columns</h2><dl>', ...m.columns.map((c) => `<dt>${esc(c.title)}</dt><dd>${esc(c.description)}</dd>`), '</dl>');
  h.push('<h2>Evidence</h2>');
  for (const r of m.rows) {
    h.push(`<h3>${esc(r.title)}</h3><ul>`);
    for (const v of r.variants) h.push(`<li>variant <code>${esc(v.id)}</code>${v.default ? ' (default)' : ''}: ${esc(v.label)}; ${esc(v.status)}</li>`);
    h.push('</ul><table class="evidence"><tbody>');
    for (const c of m.columns) {
      const cell = r.cells[c.id];
      if (!cell) continue;
      h.push(
        `<tr data-row="${esc(r.id)}" data-column="${esc(c.id)}"><th>${esc(c.title)}</th><td class="mark ${markClass(cell.mark)}">${esc(markText(cell))}</td><td class="ev">${esc(cell.evidence)}${cell.notes.map((n) => `<br><small>note: ${esc(n)}</small>`).join('')}<br><small>rule: ${esc(cell.rule)}</small>${r.remediation[c.id] ? `<br><span class="fix">To reach ✓: ${esc(r.remediation[c.id]!)}</span>` : ''}</td></tr>`,
      );
    }
    h.push('</tbody></table>');
    if (r.variants.length > 1) {
      h.push(`<table class="variants"><caption>Each variant on its own</caption><thead><tr><th>Variant</th>`);
      for (const c of m.columns) h.push(`<th>${esc(c.title)}</th>`);
      h.push('</tr></thead><tbody>');
      for (const v of r.variantCells) {
        h.push(`<tr data-variant="${esc(v.id)}"><th><code>${esc(v.id)}</code></th>`);
        for (const c of m.columns) {
          const cell = v.cells[c.id];
          h.push(`<td class="mark ${markClass(cell?.mark ?? '')}" data-variant="${esc(v.id)}" data-column="${esc(c.id)}" title="${esc(cell?.evidence ?? '')}">${esc(markText(cell))}</td>`);
        }
        h.push('</tr>');
      }
      h.push('</tbody></table>');
    }
  }
  if (m.seed.rows.length) {
    const cols = Object.keys(m.seed.rows[0]!.cells);
    h.push(`<h2>The seed's table beside the lab's</h2><p><small>${esc(m.seed.check)}</small></p><table id="seed-table"><thead><tr><th>Implementation</th>`);
    for (const c of cols) h.push(`<th>${esc(c)} (seed)</th><th>${esc(c)} (lab)</th>`);
    h.push('</tr></thead><tbody>');
    for (const r of m.seed.rows) {
      h.push(`<tr><th>${esc(r.name)}</th>`);
      for (const c of cols) h.push(`<td class="mark">${esc(r.cells[c] ?? '')}</td><td class="mark">${esc(r.lab[c] ?? '')}</td>`);
      h.push('</tr>');
    }
    h.push('</tbody></table><ul>', ...Object.entries(m.seed.notes).map(([k, v]) => `<li>${esc(k)} ${esc(v)}</li>`), '</ul>');
    h.push(`<h3>Differences (${m.seed.differences.length})</h3><ul id="differences">`);
    for (const d of m.seed.differences) h.push(`<li><b>${esc(d.row)} / ${esc(d.column)}</b>: seed ${esc(d.seed)}, lab ${esc(d.lab)}. <span class="ev">${esc(d.why)}</span></li>`);
    h.push('</ul>');
  }
  if (m.notes.length) h.push('<h2>Notes</h2><ul>', ...m.notes.map((n) => `<li>${esc(n)}</li>`), '</ul>');
  h.push('</body></html>\n');
  return h.join('\n');
}
