import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { TRANSFORMATION_OPERATIONS_TOTAL, TransformationMetrics, transformerPrefixOf } from './transformation-metrics.js';

void describe('transformation metrics', () => {
  void it("labels values by their outermost provider prefix, as upstream's transformer_prefix", () => {
    const of = (s: string) => transformerPrefixOf(Buffer.from(s, 'latin1'));
    assert.equal(of('k8s:enc:aescbc:v1:key1:xxxx'), 'k8s:enc:aescbc:v1:');
    assert.equal(of('k8s:enc:aesgcm:v1:k:'), 'k8s:enc:aesgcm:v1:');
    assert.equal(of('k8s:enc:secretbox:v1:k:'), 'k8s:enc:secretbox:v1:');
    assert.equal(of('k8s:enc:kms:v2:my-plugin:\n\x01'), 'k8s:enc:kms:v2:my-plugin:');
    assert.equal(of('k8s:enc:kms:v1:p:\x00'), 'k8s:enc:kms:v1:p:');
    assert.equal(of('k8s\x00\x0a'), 'identity');
    for (const plain of ['', 'k8s', 'k8s:enc', 'k8s:enc:', 'k8s:enc:rot13:v1:k:', '{"kind":"Secret"}']) assert.equal(of(plain), 'identity', plain);
  });

  void it('labels a value that starts like one labelled before as the expression does', () => {
    const of = (s: string) => transformerPrefixOf(Buffer.from(s, 'latin1'));
    assert.equal(of('k8s:enc:kms:v2:a:\n'), 'k8s:enc:kms:v2:a:');
    // Remembered prefixes are compared byte by byte; each case below differs from one just after it, or is shorter.
    assert.equal(of('k8s:enc:kms:v2:a:b:\n'), 'k8s:enc:kms:v2:a:');
    assert.equal(of('k8s:enc:kms:v2:ab:\n'), 'k8s:enc:kms:v2:ab:');
    assert.equal(of('k8s:enc:kms:v2:a'), 'identity');
    assert.equal(of('k8s:enc:kms:v2:'), 'identity');
    assert.equal(of('k8s:enc:kms:v1:a:'), 'k8s:enc:kms:v1:a:');
    // More distinct prefixes than are remembered: the rest still go through the expression.
    for (let i = 0; i < 40; i++) assert.equal(of(`k8s:enc:kms:v2:p${i}:x`), `k8s:enc:kms:v2:p${i}:`);
    assert.equal(of('k8s:enc:kms:v2:p39:x'), 'k8s:enc:kms:v2:p39:');
  });

  void it('renders through a prom-client registry with the upstream name and labels', async () => {
    const registry = new Registry();
    const m = new TransformationMetrics({ registry });
    m.record('secrets', 'to_storage', 'k8s:enc:aesgcm:v1:');
    m.record('secrets', 'from_storage', 'k8s:enc:kms:v2:p:', Object.assign(new Error('x'), { code: 14 }));
    const text = await registry.metrics();
    assert.match(text, new RegExp(`${TRANSFORMATION_OPERATIONS_TOTAL}\\{resource="secrets",transformation_type="to_storage",transformer_prefix="k8s:enc:aesgcm:v1:",status="OK"\\} 1`));
    assert.match(text, /transformation_type="from_storage",transformer_prefix="k8s:enc:kms:v2:p:",status="Unavailable"\} 1/);
    // Standalone (no registry): counts are still readable.
    const solo = new TransformationMetrics();
    solo.record('configmaps', 'from_storage', 'identity', new Error('no'));
    assert.deepEqual(await solo.snapshot(), [
      { labels: { resource: 'configmaps', transformation_type: 'from_storage', transformer_prefix: 'identity', status: 'Unknown' }, value: 1 },
    ]);
  });

  void it("exports what prom-client's own Counter exports for the same counts, across reads and a reset", async () => {
    const registry = new Registry();
    const m = new TransformationMetrics({ registry });
    const reference = new Registry();
    const counter = new Counter({
      name: TRANSFORMATION_OPERATIONS_TOTAL,
      help: "Total number of transformations. Successful transformation will have a status 'OK' and a varied status string when the transformation fails.",
      labelNames: ['resource', 'transformation_type', 'transformer_prefix', 'status'] as const,
      registers: [reference],
    });
    const unavailable = Object.assign(new Error('x'), { code: 14 });
    const both = (resource: string, type: 'to_storage' | 'from_storage', prefix: string, err?: unknown) => {
      m.record(resource, type, prefix, err);
      counter.inc({ resource, transformation_type: type, transformer_prefix: prefix, status: err === undefined ? 'OK' : 'Unavailable' });
    };
    const same = async () => {
      assert.equal(await registry.metrics(), await reference.metrics());
      assert.deepEqual(await registry.getMetricsAsJSON(), await reference.getMetricsAsJSON());
    };
    both('secrets', 'to_storage', 'identity');
    both('secrets', 'from_storage', 'identity');
    both('secrets', 'to_storage', 'identity');
    both('configmaps', 'from_storage', 'k8s:enc:kms:v2:a\nb:', unavailable);
    await same();
    both('events', 'to_storage', 'k8s:enc:aesgcm:v1:'); // a new series after a read follows the others
    both('secrets', 'from_storage', 'identity');
    await same();
    both('secrets', 'to_storage', 'identity'); // counted, then dropped by the reset before any read
    registry.resetMetrics();
    reference.resetMetrics();
    await same();
    both('secrets', 'from_storage', 'identity');
    await same();
  });
});
