import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeKubeApi } from '../testing/fake-kube-api.js';
import { storeCa } from './credential-secrets.js';

void describe('storeCa (ESO FetchCACertFromSource)', () => {
  const kube = new FakeKubeApi();
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  kube.put('secrets', { metadata: { name: 'ca', namespace: 'team' }, data: { 'ca.crt': Buffer.from(pem).toString('base64') } });
  kube.put('configmaps', { metadata: { name: 'kube-root-ca.crt', namespace: 'team' }, data: { 'ca.crt': pem } });
  const signal = new AbortController().signal;
  const ns = { kind: 'SecretStore' as const, storeNamespace: 'team' };

  void it('takes caBundle first, then the Secret or ConfigMap caProvider names, else nothing', async () => {
    assert.equal((await storeCa(kube, { caBundle: Buffer.from(pem).toString('base64'), caProvider: { type: 'Secret', name: 'nope' } }, ns, signal))?.toString(), pem);
    assert.equal((await storeCa(kube, { caProvider: { type: 'Secret', name: 'ca', key: 'ca.crt' } }, ns, signal))?.toString(), pem);
    assert.equal((await storeCa(kube, { caProvider: { type: 'ConfigMap', name: 'kube-root-ca.crt', key: 'ca.crt' } }, ns, signal))?.toString(), pem);
    assert.equal(await storeCa(kube, {}, ns, signal), undefined);
  });

  void it('reads a ClusterSecretStore caProvider in the namespace it names, and refuses one without', async () => {
    const cluster = { kind: 'ClusterSecretStore' as const };
    assert.equal((await storeCa(kube, { caProvider: { type: 'Secret', name: 'ca', key: 'ca.crt', namespace: 'team' } }, cluster, signal))?.toString(), pem);
    await assert.rejects(storeCa(kube, { caProvider: { type: 'Secret', name: 'ca', key: 'ca.crt' } }, cluster, signal), /CAProvider\.namespace must not be empty with ClusterSecretStore/);
    await assert.rejects(storeCa(kube, { caProvider: { type: 'ConfigMap', name: 'kube-root-ca.crt', key: 'other' } }, ns, signal), /cannot find CA in ConfigMap team\/kube-root-ca\.crt key other/);
  });
});
