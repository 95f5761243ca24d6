// Issue 14's template items end to end: a real `coffer up` (API server and the in-process External Secrets
// controller) and kubectl. ExternalSecrets using ESO's documented template functions sync the values ESO gives
// (filterPEM re-encoding, b64dec's Go error text, sprig's append/ext/htpasswd/now/date); a filterPEM that meets junk
// fails the ExternalSecret with ESO's message and leaves the Secret it synced before.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kubeReader, type KubeReader } from './support/kube-api.js';
import { freePort, runWithInput, startCoffer, until, type CofferChild } from './support/processes.js';

const NS = 'templates';

void describe('External Secrets templates end to end: coffer up and kubectl', () => {
  let dir: string;
  let server: CofferChild;
  const kubeArgs = () => ['--kubeconfig', join(dir, 'data', 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache')];
  const apply = (manifest: object) => runWithInput('kubectl', [...kubeArgs(), 'apply', '-f', '-'], JSON.stringify(manifest));
  // Reads (most of them polls) go to the API server directly (test/support/kube-api.ts): a kubectl process per poll
  // cost more than the scenarios. Writes stay with kubectl.
  let kube: KubeReader;
  const getJson = <T>(kind: string, name: string) => kube.get<T>(kind, NS, name);
  const ready = async (name: string) =>
    (await getJson<{ status?: { conditions?: { type: string; status: string; message?: string }[] } }>('externalsecret', name))?.status?.conditions?.find((c) => c.type === 'Ready');
  const secretData = async (name: string) => {
    const s = await getJson<{ data?: Record<string, string> }>('secret', name);
    return s && Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
  };
  const store = (data: { key: string; value: string }[]) =>
    apply({ apiVersion: 'external-secrets.io/v1', kind: 'SecretStore', metadata: { name: 'fake', namespace: NS }, spec: { provider: { fake: { data } } } });
  const externalSecret = (name: string, keys: string[], template: Record<string, string>) =>
    apply({
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name, namespace: NS },
      spec: {
        refreshInterval: '1s',
        secretStoreRef: { name: 'fake', kind: 'SecretStore' },
        target: { template: { data: template } },
        data: keys.map((k) => ({ secretKey: k, remoteRef: { key: `/${k}` } })),
      },
    });

  const certBytes = randomBytes(700);
  const keyBytes = randomBytes(100);
  const wide = (type: string, bytes: Buffer) => `-----BEGIN ${type}-----\r\n${bytes.toString('base64').match(/.{1,76}/g)!.join('\r\n')}\r\n-----END ${type}-----\r\n`;
  const canonical = (type: string, bytes: Buffer) => `-----BEGIN ${type}-----\n${bytes.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${type}-----\n`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-e2e-templates-'));
    const port = await freePort();
    ({ child: server } = await startCoffer(['up', '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--encryption', 'aesgcm'], /export KUBECONFIG=/, 'coffer up'));
    kube = kubeReader(join(dir, 'data', 'kubeconfig'));
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  });
  after(async () => {
    kube?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  void it("syncs ESO's template functions with ESO's results, and keeps the Secret when filterPEM finds junk", async () => {
    await store([
      { key: '/bundle', value: wide('PRIVATE KEY', keyBytes) + wide('CERTIFICATE', certBytes) },
      { key: '/encoded', value: 'MTIzNA' },
      { key: '/user', value: 'admin' },
    ]);
    await externalSecret('pem', ['bundle'], { 'tls.crt': '{{ .bundle | filterPEM "CERTIFICATE" }}', 'tls.key': '{{ .bundle | filterPEM "PRIVATE KEY" }}' });
    await externalSecret('sprig', ['encoded', 'user'], {
      decoded: '{{ .encoded | b64dec }}',
      auth: '{{ $c := list }}{{ $c = append $c (htpasswd .user "pw" "sha") }}{{ join "," $c }}',
      ext: '{{ ext "bundle.tar.gz" }}',
      year: '{{ now | date "2006" }}',
    });

    await until(async () => (await ready('pem'))?.status === 'True', 'ExternalSecret pem Ready', 30_000);
    assert.deepEqual(await secretData('pem'), { 'tls.crt': canonical('CERTIFICATE', certBytes), 'tls.key': canonical('PRIVATE KEY', keyBytes) });
    await until(async () => (await ready('sprig'))?.status === 'True', 'ExternalSecret sprig Ready', 30_000);
    assert.deepEqual(await secretData('sprig'), {
      decoded: 'illegal base64 data at input byte 4',
      auth: 'admin:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=',
      ext: '.gz',
      year: String(new Date().getUTCFullYear()),
    });

    // The remote value turns to junk: ESO fails with its message and does not touch the Secret.
    await store([{ key: '/bundle', value: 'this is not PEM at all' }]);
    await until(async () => (await ready('pem'))?.status === 'False', 'ExternalSecret pem Ready=False', 30_000);
    assert.match((await ready('pem'))!.message ?? '', /unable to execute template at key tls\.(crt|key): template: tls\.(crt|key):1: error calling filterPEM: error filtering pem: found junk/);
    assert.deepEqual(await secretData('pem'), { 'tls.crt': canonical('CERTIFICATE', certBytes), 'tls.key': canonical('PRIVATE KEY', keyBytes) });
  });

  void it('runs the Password and UUID generators from dataFrom.sourceRef, and the fake store reports ReadWrite as ESO', async () => {
    await apply({ apiVersion: 'generators.external-secrets.io/v1alpha1', kind: 'Password', metadata: { name: 'pw', namespace: NS }, spec: { length: 32, digits: 5, symbols: 4, noUpper: false, allowRepeat: true } });
    await apply({ apiVersion: 'generators.external-secrets.io/v1alpha1', kind: 'UUID', metadata: { name: 'id', namespace: NS }, spec: {} });
    await apply({
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'generated', namespace: NS },
      spec: {
        refreshInterval: '1h',
        target: { name: 'generated' },
        dataFrom: [
          { sourceRef: { generatorRef: { apiVersion: 'generators.external-secrets.io/v1alpha1', kind: 'Password', name: 'pw' } } },
          { sourceRef: { generatorRef: { apiVersion: 'generators.external-secrets.io/v1alpha1', kind: 'UUID', name: 'id' } } },
        ],
      },
    });
    await until(async () => (await ready('generated'))?.status === 'True', 'ExternalSecret generated Ready', 30_000);
    const data = (await secretData('generated'))!;
    assert.deepEqual(Object.keys(data).sort(), ['password', 'uuid']);
    assert.equal(data.password!.length, 32);
    assert.equal([...data.password!].filter((c) => /[0-9]/.test(c)).length, 5);
    assert.match(data.uuid!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    await apply({
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'no-generator', namespace: NS },
      spec: { dataFrom: [{ sourceRef: { generatorRef: { apiVersion: 'generators.external-secrets.io/v1alpha1', kind: 'Password', name: 'missing' } } }] },
    });
    await until(async () => (await ready('no-generator'))?.status === 'False', 'ExternalSecret no-generator Ready=False', 30_000);
    assert.match((await ready('no-generator'))!.message ?? '', /passwords\.generators\.external-secrets\.io "missing" not found/);

    const fakeStore = await getJson<{ status?: { capabilities?: string } }>('secretstore', 'fake');
    assert.equal(fakeStore?.status?.capabilities, 'ReadWrite');
  });
});
