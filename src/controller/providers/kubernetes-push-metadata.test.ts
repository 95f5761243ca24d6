// The kubernetes provider's PushSecret metadata, ported from ESO providers/v1/kubernetes/client_test.go
// (TestPushSecret's metadata cases, TestPushSecretRemoteNamespaceRouting, TestPushSecretRemoteNamespaceRejectedForSecretStore),
// over an in-memory remote cluster.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Secret } from '@kubernetes/client-node';
import { FakeKubeApi } from '../testing/fake-kube-api.js';
import { KubernetesProvider, type SecretSource } from './kubernetes-provider.js';
import type { PushSource } from './secrets-provider.js';

const META = (spec: object) => ({ apiVersion: 'kubernetes.external-secrets.io/v1alpha1', kind: 'PushSecretMetadata', spec });

/** A provider over an in-memory remote cluster holding `remote` (namespace/name → Secret). */
function setup(remote: Record<string, V1Secret>, kind: 'SecretStore' | 'ClusterSecretStore' = 'SecretStore') {
  const kube = new FakeKubeApi();
  kube.put('secrets', { metadata: { name: 'token', namespace: 'team-a' }, data: { token: Buffer.from('t').toString('base64') } });
  const store = new Map(Object.entries(remote).map(([k, v]) => [k, structuredClone(v)]));
  const source: SecretSource = {
    get: (ns, name) => Promise.resolve(structuredClone(store.get(`${ns}/${name}`))),
    list: () => Promise.resolve([...store.values()]),
    create: (ns, s) => (store.set(`${ns}/${s.metadata!.name}`, structuredClone(s)), Promise.resolve()),
    replace: (ns, s) => (store.set(`${ns}/${s.metadata!.name}`, structuredClone(s)), Promise.resolve()),
    delete: (ns, name) => (store.delete(`${ns}/${name}`), Promise.resolve()),
  };
  const provider = new KubernetesProvider(
    { server: { url: 'https://remote.invalid' }, auth: { token: { bearerToken: { name: 'token', key: 'token', ...(kind === 'ClusterSecretStore' ? { namespace: 'team-a' } : {}) } } }, remoteNamespace: 'default' },
    { kube, scope: kind === 'ClusterSecretStore' ? { kind } : { kind, storeNamespace: 'team-a' }, record: () => undefined, connect: () => source },
  );
  const push = (ref: { remoteKey: string; property?: string }, src: PushSource) =>
    provider.pushSecret(src.secretKey ? src.data[src.secretKey]! : Buffer.alloc(0), ref, { signal: new AbortController().signal }, src);
  return { store, push };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const bar = { data: { key: Buffer.from('bar') }, secretKey: 'key' };

void describe("kubernetes provider: PushSecretMetadata (ESO's client_test.go)", () => {
  void it('targetMergePolicy Ignore: the remote keeps its own labels and annotations', async () => {
    const { store, push } = setup({ 'default/mysec': { metadata: { name: 'mysec', namespace: 'default' }, data: { token: b64('foo') } } });
    await push({ remoteKey: 'mysec', property: 'token' }, { ...bar, labels: { dev: 'seb' }, annotations: { date: 'today' }, metadata: META({ targetMergePolicy: 'Ignore' }) });
    const s = store.get('default/mysec')!;
    assert.deepEqual([s.metadata?.labels, s.metadata?.annotations, s.data], [{}, {}, { token: b64('bar') }]);
  });

  void it("targetMergePolicy Replace: the source's labels and annotations replace the remote's", async () => {
    const { store, push } = setup({ 'default/mysec': { metadata: { name: 'mysec', namespace: 'default', labels: { already: 'existing' }, annotations: { already: 'existing' } }, data: { token: b64('foo') } } });
    await push({ remoteKey: 'mysec', property: 'token' }, { ...bar, labels: { dev: 'seb' }, annotations: { date: 'today' }, metadata: META({ targetMergePolicy: 'Replace' }) });
    const s = store.get('default/mysec')!;
    assert.deepEqual([s.metadata?.labels, s.metadata?.annotations, s.data], [{ dev: 'seb' }, { date: 'today' }, { token: b64('bar') }]);
  });

  void it("create new secret, merging existing metadata: the metadata's labels and annotations join the source's", async () => {
    const { store, push } = setup({ 'default/yoursec': { metadata: { name: 'yoursec', namespace: 'default' }, data: { token: b64('foo') } } });
    await push({ remoteKey: 'mysec', property: 'secret' }, { ...bar, annotations: { 'this-annotation': 'should be present on the targey secret' }, metadata: META({ annotations: { date: 'today' }, labels: { dev: 'seb' } }) });
    const s = store.get('default/mysec')!;
    assert.deepEqual(s.metadata?.annotations, { date: 'today', 'this-annotation': 'should be present on the targey secret' });
    assert.deepEqual([s.metadata?.labels, s.type, s.data], [{ dev: 'seb' }, 'Opaque', { secret: b64('bar') }]);
    assert.deepEqual(store.get('default/yoursec')!.data, { token: b64('foo') });
  });

  void it("sourceMergePolicy Replace: the metadata's labels and annotations instead of the source's", async () => {
    const { store, push } = setup({});
    const metadata = META({ sourceMergePolicy: 'Replace', annotations: { 'another-field': 'from-remote-ref' }, labels: { 'other-label': 'from-remote-ref' } });
    await push({ remoteKey: 'mysec', property: 'secret' }, { ...bar, labels: { dev: 'seb' }, annotations: { date: 'today' }, metadata });
    const s = store.get('default/mysec')!;
    assert.deepEqual([s.metadata?.labels, s.metadata?.annotations], [{ 'other-label': 'from-remote-ref' }, { 'another-field': 'from-remote-ref' }]);
  });

  void it("without metadata the source's labels and annotations are merged into the remote's (ESO's default)", async () => {
    const { store, push } = setup({ 'default/mysec': { metadata: { name: 'mysec', namespace: 'default', labels: { keep: 'me' } }, data: { a: b64('1') } } });
    await push({ remoteKey: 'mysec' }, { data: { b: Buffer.from('2') }, labels: { dev: 'seb' }, annotations: { date: 'today' } });
    const s = store.get('default/mysec')!;
    assert.deepEqual([s.metadata?.labels, s.metadata?.annotations, s.data], [{ keep: 'me', dev: 'seb' }, { date: 'today' }, { b: b64('2') }]);
  });

  void it('invalid or non-JSON metadata, an unknown field or policy: an error naming it, and nothing written', async () => {
    const { store, push } = setup({});
    const cases: [unknown, RegExp][] = [
      [{}, /unable to parse metadata parameters: unexpected apiVersion "", expected "kubernetes.external-secrets.io\/v1alpha1"/],
      ['--- not json ---', /unable to parse metadata parameters: failed to parse kubernetes.external-secrets.io\/v1alpha1 PushSecretMetadata: .*cannot unmarshal string/],
      [{ ...META({}), kind: 'Other' }, /unexpected kind "Other", expected "PushSecretMetadata"/],
      [META({ lables: { a: 'b' } }), /json: unknown field "lables"/],
      [META({ labels: { a: 1 } }), /cannot unmarshal number into Go struct field PushSecretMetadataSpec.spec.labels of type string/],
      [META({ targetMergePolicy: 'Sometimes' }), /failed to merge target metadata: unexpected target merge policy "Sometimes"/],
      [META({ sourceMergePolicy: 'Sometimes' }), /failed to merge source metadata: unexpected source merge policy "Sometimes"/],
    ];
    for (const [metadata, message] of cases) await assert.rejects(push({ remoteKey: 'mysec', property: 'secret' }, { ...bar, metadata }), message);
    assert.equal(store.size, 0);
  });

  void it('remoteNamespace: another namespace through a ClusterSecretStore, refused for a SecretStore', async () => {
    const cluster = setup({}, 'ClusterSecretStore');
    await cluster.push({ remoteKey: 'mysec', property: 'secret' }, { ...bar, metadata: META({ remoteNamespace: 'other' }) });
    assert.deepEqual([...cluster.store.keys()], ['other/mysec']);
    const namespaced = setup({});
    await assert.rejects(namespaced.push({ remoteKey: 'mysec', property: 'secret' }, { ...bar, metadata: META({ remoteNamespace: 'other' }) }), /remoteNamespace override is only supported with ClusterSecretStore/);
    assert.equal(namespaced.store.size, 0);
  });
});
