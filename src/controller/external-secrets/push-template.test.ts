// PushSecret spec.template as ESO's pushsecret controller applies it (applyTemplate and setMetadata in
// pkg/controllers/pushsecret/pushsecret_controller_template.go): rendered onto a copy of the source Secret.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPushTemplate } from './push-template.js';

const source = { data: { username: Buffer.from('app'), password: Buffer.from('pw') }, type: 'kubernetes.io/basic-auth', labels: { a: '1' } };
const noReads = () => Promise.reject(new Error('no templateFrom source in this test'));
const text = (data: Record<string, Buffer>) => Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString()]));

void describe('applyPushTemplate', () => {
  void it('adds the rendered keys to the source keys whatever mergePolicy says (ESO never reads it for a PushSecret)', async () => {
    for (const mergePolicy of [undefined, 'Replace', 'Merge']) {
      const out = await applyPushTemplate({ ...(mergePolicy ? { mergePolicy } : {}), data: { dsn: '{{ .username }}:{{ .password }}', password: 'new' } }, source, noReads);
      assert.deepEqual(text(out.data), { username: 'app', password: 'new', dsn: 'app:pw' }, `mergePolicy ${mergePolicy}`);
    }
  });

  void it('takes the type from the template, Opaque when it gives none, not the source type', async () => {
    assert.equal((await applyPushTemplate({ data: { x: 'y' } }, source, noReads)).type, 'Opaque');
    assert.equal((await applyPushTemplate({ type: 'kubernetes.io/tls', data: {} }, source, noReads)).type, 'kubernetes.io/tls');
  });

  void it('joins the template labels to the source labels', async () => {
    assert.deepEqual((await applyPushTemplate({ metadata: { labels: { b: '{{ .username }}' } } }, source, noReads)).labels, { a: '1', b: 'app' });
  });
});
