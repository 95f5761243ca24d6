// The verdict rules on synthetic findings: each mark follows from the findings alone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Capability } from './capability.js';
import { emptyFinding, type Finding } from './finding.js';
import { computeCell, type RowFindings } from './verdict.js';

function f(variant: string, attack: string, status: Finding['status'], recovered = 0): Finding {
  const caps = attack.split('+') as Capability[];
  const x = emptyFinding({ row: 'r', variant, attack, capabilities: caps, total: 3 });
  x.status = status;
  x.recovered = recovered;
  x.evidence = [`${attack} in ${variant}: ${status} ${recovered}`];
  return x;
}

const rf = (variants: string[], findings: Finding[]): RowFindings => ({ row: 'r', variants, findings });
const IN = ['disk', 'ram', 'etcd', 'config-file', 'kms-socket'];
/** Every in-cluster combination of `column` in `variant` measured and empty, unless given among `except`. */
const pairs = (variant: string, column: string, except: string[] = []) =>
  IN.filter((c) => c !== column && !except.includes(c)).map((c) => f(variant, `${column}+${c}`, 'nothing'));

void describe('verdict rules', () => {
  void it('✗ when the capability alone recovers a canary in the default variant', () => {
    const c = computeCell(rf(['a', 'b'], [f('a', 'disk', 'recovered', 1), f('b', 'disk', 'nothing')]), 'disk');
    assert.equal(c.mark, '✗');
    assert.match(c.evidence, /disk in a/);
  });

  void it('✓ naming the variant when only another variant recovers', () => {
    const c = computeCell(rf(['a', 'b'], [f('a', 'ram', 'nothing'), f('b', 'ram', 'recovered', 2)]), 'ram');
    assert.equal(c.mark, '✓');
    assert.equal(c.caveat, 'in variant b');
  });

  void it('✓ naming the partner when a pair recovers and the partner recovers nothing alone', () => {
    const c = computeCell(
      rf(['a'], [f('a', 'etcd', 'nothing'), f('a', 'config-file', 'nothing'), f('a', 'etcd+config-file', 'recovered', 3)]),
      'etcd',
    );
    assert.equal(c.mark, '✓');
    assert.equal(c.caveat, 'with config-file');
  });

  void it('a partner that recovers alone makes no caveat (it would be its own ✗)', () => {
    const c = computeCell(rf(['a'], [f('a', 'config-file', 'nothing'), f('a', 'etcd', 'recovered', 3), f('a', 'etcd+config-file', 'recovered', 3), ...pairs('a', 'config-file', ['etcd'])]), 'config-file');
    assert.equal(c.mark, '✓✓');
  });

  void it('combinations with the kms-server are reported but do not count', () => {
    const c = computeCell(
      rf(['a'], [f('a', 'etcd', 'nothing'), f('a', 'kms-server', 'nothing'), f('a', 'etcd+kms-server', 'recovered', 3), ...pairs('a', 'etcd')]),
      'etcd',
    );
    assert.equal(c.mark, '✓✓');
    assert.ok(c.notes.some((n) => n.includes('kms-server')));
    const k = computeCell(rf(['a'], [f('a', 'etcd', 'nothing'), f('a', 'kms-server', 'nothing'), f('a', 'etcd+kms-server', 'recovered', 3)]), 'kms-server');
    assert.equal(k.mark, '✓✓');
    assert.ok(k.notes.some((n) => n.startsWith('with etcd')));
  });

  void it('✓✓ when nothing recovers anywhere', () => {
    const c = computeCell(rf(['a', 'b'], [f('a', 'disk', 'nothing'), f('b', 'disk', 'nothing'), ...pairs('a', 'disk'), ...pairs('b', 'disk')]), 'disk');
    assert.equal(c.mark, '✓✓');
  });

  void it('a subset run never gives ✓✓: the caveat names the combinations and variants not tried', () => {
    // `--columns disk,etcd`: only disk+etcd was tried; etcd with the kms-socket (which recovers in the full run) was not.
    const subset = rf(['a', 'b'], [f('a', 'etcd', 'nothing'), f('a', 'disk', 'nothing'), f('a', 'disk+etcd', 'nothing'), f('b', 'etcd', 'unavailable')]);
    const c = computeCell(subset, 'etcd');
    assert.equal(c.mark, '✓');
    assert.equal(c.caveat, 'not tried: variant b, with ram, with config-file, with kms-socket');
    assert.match(c.rule, /cannot give ✓✓/);
    // A partner with nothing to act on needs no combination.
    const na = computeCell(rf(['a'], [f('a', 'disk', 'nothing'), f('a', 'kms-socket', 'n/a'), ...pairs('a', 'disk', ['kms-socket'])]), 'disk');
    assert.equal(na.mark, '✓✓');
    // A combination that was tried in one variant only is named with the variants that lack it.
    const partial = computeCell(rf(['a', 'b'], [f('a', 'disk', 'nothing'), f('b', 'disk', 'nothing'), ...pairs('a', 'disk'), ...pairs('b', 'disk', ['ram'])]), 'disk');
    assert.equal(partial.caveat, 'not tried: with ram in b');
  });

  void it('n/a when the attack has nothing to act on; ? when not measured', () => {
    assert.equal(computeCell(rf(['a'], [f('a', 'kms-socket', 'n/a')]), 'kms-socket').mark, 'n/a');
    assert.equal(computeCell(rf(['a'], [f('a', 'kms-server', 'unavailable')]), 'kms-server').mark, '?');
    assert.equal(computeCell(rf(['a'], [f('a', 'disk', 'error')]), 'disk').mark, '?');
    assert.equal(computeCell(rf(['a'], []), 'disk').mark, '?');
  });

  void it('integrity columns: served forged data is ✗; refused everywhere is ✓✓; no combinations', () => {
    assert.equal(computeCell(rf(['a'], [f('a', 'relocate', 'recovered', 1)]), 'relocate').mark, '✗');
    assert.equal(computeCell(rf(['a', 'b'], [f('a', 'relocate', 'nothing'), f('b', 'relocate', 'nothing')]), 'relocate').mark, '✓✓');
    const c = computeCell(rf(['a', 'b'], [f('a', 'bit-flip', 'nothing'), f('b', 'bit-flip', 'recovered', 1)]), 'bit-flip');
    assert.equal(c.mark, '✓');
    assert.equal(c.caveat, 'in variant b');
  });

  void it('the same findings with the recovery removed flip the mark (the verdict reads the findings)', () => {
    const yes = [f('a', 'disk', 'recovered', 1)];
    const no = [f('a', 'disk', 'nothing'), f('a', 'config-file', 'nothing'), f('a', 'disk+config-file', 'recovered', 1)];
    assert.equal(computeCell(rf(['a'], yes), 'disk').mark, '✗');
    assert.equal(computeCell(rf(['a'], no), 'disk').mark, '✓');
  });
});
