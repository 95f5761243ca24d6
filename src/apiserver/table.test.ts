import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONFIG_MAPS, NAMESPACES, SECRETS } from './resource-info.js';
import { humanAge, toTable } from './table.js';

void describe('Table responses', () => {
  void it('prints ages as kube HumanDuration does', () => {
    const now = new Date('2025-01-31T10:00:00Z');
    const ago = (s: number) => new Date(now.getTime() - s * 1000).toISOString();
    const cases: [number, string][] = [[59, '59s'], [119, '119s'], [150, '2m30s'], [600, '10m'], [3 * 3600 + 20 * 60, '3h20m'], [30 * 3600, '30h'], [50 * 3600, '2d2h'], [400 * 86400, '400d'], [3 * 365 * 86400, '3y']];
    for (const [s, text] of cases) assert.equal(humanAge(ago(s), now), text, `${s}s`);
    assert.equal(humanAge(new Date(now.getTime() + 5000).toISOString(), now), '<invalid>');
    assert.equal(humanAge(undefined, now), '<unknown>');
  });

  void it('has kube\'s columns per kind and the row metadata kubectl builds NAMESPACE and labels from', () => {
    const now = new Date('2025-01-31T10:00:00Z');
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ns', creationTimestamp: '2025-01-31T09:59:00Z', labels: { a: 'b' } }, type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } };
    const t = toTable(SECRETS, [secret], { resourceVersion: '7' }, { now }) as { columnDefinitions: { name: string; format: string }[]; rows: { cells: unknown[]; object: { metadata: unknown } }[] };
    assert.deepEqual(t.columnDefinitions.map((c) => c.name), ['Name', 'Type', 'Data', 'Age']);
    assert.equal(t.columnDefinitions[0]!.format, 'name');
    assert.deepEqual(t.rows[0]!.cells, ['s', 'kubernetes.io/tls', 2, '60s']);
    assert.deepEqual(t.rows[0]!.object.metadata, secret.metadata);
    const cm = toTable(CONFIG_MAPS, [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '' }, binaryData: { b: '' } }], {}, { now }) as { rows: { cells: unknown[] }[] };
    assert.deepEqual(cm.rows[0]!.cells.slice(0, 2), ['c', 2]);
    const ns = toTable(NAMESPACES, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' }, status: { phase: 'Terminating' } }], {}, { now, includeObject: 'None' }) as { rows: { cells: unknown[]; object?: unknown }[] };
    assert.deepEqual(ns.rows[0]!.cells.slice(0, 2), ['n', 'Terminating']);
    assert.equal(ns.rows[0]!.object, undefined);
  });
});
