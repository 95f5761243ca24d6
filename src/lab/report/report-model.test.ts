// The report as an audit file would need it, from a synthetic lab result: version and commit, machine and date; each
// variant's cells; a remediation for every ✗ pointing at what this run measured; and a subset run that says what it
// did not try and shows no ✓✓.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Capability, Column } from '../capability.js';
import { emptyFinding, type Finding } from '../finding.js';
import type { LabResult } from '../lab-runner.js';
import type { VariantSpec } from '../rows.js';
import { computeCell } from '../verdict.js';
import { buildReport } from './report-model.js';
import { renderHtml } from './report-html.js';
import { renderText } from './report-text.js';

function f(row: string, variant: string, attack: string, status: Finding['status'], recovered = 0): Finding {
  const x = emptyFinding({ row, variant, attack, capabilities: attack.split('+') as Capability[], total: 3 });
  x.status = status;
  x.recovered = recovered;
  x.evidence = [`${attack} in ${variant}: ${recovered}/3`];
  return x;
}

function result(columns: Column[], findings: Finding[]): LabResult {
  const variant = (id: string, row: string) => ({ spec: { id, row, label: `label of ${id}` } as unknown as VariantSpec, notes: [], canaryFingerprints: [], durationMs: 1000 });
  const rows = [
    { id: 'native', title: 'Native Kubernetes Secrets', variants: [variant('identity/sqlite', 'native')] },
    { id: 'fs', title: 'File System Encryption', variants: [variant('plain/etcd', 'fs'), variant('sqlcipher/sqlite', 'fs')] },
  ];
  const cells = rows.flatMap((r) => columns.map((c) => computeCell({ row: r.id, variants: r.variants.map((v) => v.spec.id), findings: findings.filter((x) => x.row === r.id) }, c)));
  return { startedAt: '2026-12-06T20:00:00.000Z', durationMs: 5000, columns, rows, findings, cells, plantedValues: [] };
}

void describe('lab report model', () => {
  // disk only, as `coffer lab --columns disk` would: native recovers; fs's default variant recovers, sqlcipher does not.
  const findings = [
    f('native', 'identity/sqlite', 'disk', 'recovered', 3),
    f('fs', 'plain/etcd', 'disk', 'recovered', 3),
    f('fs', 'sqlcipher/sqlite', 'disk', 'nothing'),
  ];
  const model = buildReport(result(['disk'], findings), { command: 'coffer lab --columns disk', seedCheck: 'test' });

  void it('records the version, commit, machine and date', () => {
    assert.match(model.version, /^coffer \d+\.\d+\.\d+, commit ([0-9a-f]{40}( \(\+ local changes\))?|unknown \(not a git checkout\))$/);
    assert.match(model.machine, /CPU\(s\).*GiB RAM, Node\.js v\d+/);
    const text = renderText(model);
    assert.match(text, /^version: coffer /m);
    assert.match(text, /^date: 2026-12-06T20:00:00.000Z/m);
  });

  void it("shows each variant's own cells and evidence", () => {
    const fs = model.rows.find((r) => r.id === 'fs')!;
    assert.deepEqual(fs.variantCells.map((v) => [v.id, v.cells.disk?.mark]), [['plain/etcd', '✗'], ['sqlcipher/sqlite', '✓']]);
    assert.match(renderText(model), /sqlcipher\/sqlite: Disk ✓ \(not tried: /);
    assert.match(renderHtml(model), /data-variant="sqlcipher\/sqlite" data-column="disk"/);
  });

  void it('gives every ✗ a remediation measured in this run, or says none was', () => {
    assert.match(model.rows.find((r) => r.id === 'fs')!.remediation.disk!, /deploy this row as variant sqlcipher\/sqlite/);
    const native = model.rows.find((r) => r.id === 'native')!.remediation.disk!;
    assert.match(native, /No deployment measured in this run resists this/);
    assert.match(renderText(model), /to reach ✓: Measured in this run: deploy this row as variant sqlcipher/);
  });

  void it('a subset names what it did not try and shows no ✓✓', () => {
    assert.match(model.subset ?? '', /did not try RAM.*etcd.*nor any combination with them/i);
    const text = renderText(model);
    assert.match(text, /^NOTE: This run tried only /m);
    const marks = model.rows.flatMap((r) => [r.cells.disk?.mark, ...r.variantCells.map((v) => v.cells.disk?.mark)]);
    assert.ok(marks.includes('✓') && !marks.includes('✓✓'), `marks ${marks.join(' ')}`);
    assert.match(renderHtml(model), /id="subset"/);
    const full = buildReport(result(['disk', 'ram', 'etcd', 'kms-server', 'config-file', 'kms-socket', 'relocate', 'replay', 'bit-flip'], findings), { command: 'coffer lab', seedCheck: 'test' });
    assert.equal(full.subset, undefined);
  });
});
