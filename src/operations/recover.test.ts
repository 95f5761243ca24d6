// What recover writes for each object: server-owned fields gone, and YAML that kubectl's YAML 1.1 parser reads back as
// the same strings (the end-to-end test applies it with kubectl).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { stripServerFields, toRecoveredYaml } from './recover.js';

void describe('recovered objects', () => {
  void it('drop what the API server sets, keep what the user wrote', () => {
    const obj = stripServerFields({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'a', namespace: 'n', uid: 'u', resourceVersion: '5', creationTimestamp: 't', managedFields: [], generation: 1,
        ownerReferences: [{ uid: 'gone' }], labels: { app: 'x' }, annotations: { k: 'v' },
      },
      data: { k: 'dg==' },
    } as never);
    assert.deepEqual(obj, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a', namespace: 'n', labels: { app: 'x' }, annotations: { k: 'v' } }, data: { k: 'dg==' } });
    const ns = stripServerFields({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' }, status: { phase: 'Active' } });
    assert.deepEqual(ns, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } });
  });

  void it('quotes every string YAML 1.1 would read as something else', () => {
    const data = { a: 'on', b: 'yes', c: 'y', d: 'NO', e: '0777', f: '1e3', g: '~', h: '2001-12-14', i: '0x1F', j: '1_000', k: 'plain' };
    const text = toRecoveredYaml({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data });
    assert.deepEqual((parse(text, { version: '1.1' }) as { data: unknown }).data, data);
    assert.match(text, /a: "on"/);
  });
});
