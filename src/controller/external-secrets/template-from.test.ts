// ExternalSecret templateFrom through renderSecret (ESO pkg/controllers/templating/parser.go): Values and KeysAndValues
// items of a ConfigMap, a literal to Labels, and ESO's texts for a missing ConfigMap or key.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FakeKubeApi } from '../testing/fake-kube-api.js';
import { renderSecret } from './render-secret.js';
void it('templateFrom renders ConfigMap items and literals into data and labels; a missing source or key fails with ESO\'s text', async () => {
  const kube = new FakeKubeApi();
  kube.put('configmaps', { metadata: { name: 'tpl', namespace: 'ns' }, data: { a: 'x={{ .k }}', kv: 'p: "{{ .k }}1"\nq: 2' } });
  const es = { metadata: { name: 'es', namespace: 'ns', uid: 'u' }, spec: { target: { template: { templateFrom: [{ configMap: { name: 'tpl', items: [{ key: 'a' }, { key: 'kv', templateAs: 'KeysAndValues' }] } }, { literal: 'lab: "{{ .k }}"', target: 'Labels' }] } } } } as never;
  const s = await renderSecret({ es, existing: undefined, data: { k: Buffer.from('v') }, kube, signal: new AbortController().signal });
  const d = Object.fromEntries(Object.entries(s.data!).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
  assert.deepEqual(d, { a: 'x=v', p: 'v1', q: '2' });
  assert.equal(s.metadata!.labels!['lab'], 'v');
  const es2 = { ...(es as object), spec: { target: { template: { templateFrom: [{ configMap: { name: 'nope', items: [{ key: 'a' }] } }] } } } } as never;
  await assert.rejects(renderSecret({ es: es2, existing: undefined, data: {}, kube, signal: new AbortController().signal }), /error in configmap nope: not found/);
  const es3 = { ...(es as object), spec: { target: { template: { templateFrom: [{ configMap: { name: 'tpl', items: [{ key: 'zz' }] } }] } } } } as never;
  await assert.rejects(renderSecret({ es: es3, existing: undefined, data: {}, kube, signal: new AbortController().signal }), (e: Error) => e.message === 'error in configmap tpl: missing key zz');
});
