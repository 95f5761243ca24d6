// `npm run bench -- controller` (AWS part): the External Secrets controller with the `aws` provider (Secrets Manager,
// an access key pair in a Secret, `role` assumed through STS) against the AWS test double, with Coffer's API server
// in this process. 1,000 ExternalSecrets (refreshInterval 1h) read 50 remote secrets; counted are the AWS calls (the
// test server's call log) until all are Ready. That is one refresh window of the provider pool's shared reads (a read
// is shared for a tenth of refreshInterval, at most 5 minutes), so it must stay near one call per remote secret
// (target: ≤ 55), as the vault case of controller.bench.ts measures it. The baseline is one ExternalSecret of its own
// remote secret, created alone, measured in this run.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { startApiServer } from '../src/apiserver/api-server.js';
import type { GenericStore } from '../src/apiserver/registry/generic-store.js';
import { startExternalSecretsController } from '../src/controller/external-secrets-controller.js';
import { loadEncryptionConfiguration } from '../src/encryption/encryption-config.js';
import { EncryptionEngine } from '../src/encryption/encryption-engine.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { startAwsTestServer } from '../src/lab/aws-test-server/aws-test-server.js';

const NS = 'bench-aws';
const EXTERNAL_SECRETS = 1000;
const REMOTE_SECRETS = 50;
const REFRESH_INTERVAL = '1h';
const CONCURRENCY = 16;
const TIMEOUT_MS = 600_000;
const ROLE = 'arn:aws:iam::123456789012:role/external-secrets';

async function until(what: string, check: () => Promise<boolean>, detail: () => string = () => ''): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > TIMEOUT_MS) throw new Error(`timed out waiting for ${what} ${detail()}`);
    await sleep(250);
  }
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-bench-controller-aws-'));
  const store = await SqliteStore.open({ dataDir: join(dir, 'store') });
  const engine = await EncryptionEngine.create(
    loadEncryptionConfiguration(`apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n      - aesgcm:\n          keys:\n            - name: k\n              secret: ${randomBytes(32).toString('base64')}\n`),
  );
  const server = await startApiServer({ dataDir: dir, host: '127.0.0.1', port: 0, store, engine });
  const aws = await startAwsTestServer();
  const abort = new AbortController();
  try {
    const user = aws.addUser('external-secrets');
    aws.roles.set(ROLE, { principals: [user.arn] });
    for (let k = 0; k < REMOTE_SECRETS; k++) aws.secretsManager.handle('CreateSecret', { Name: `bench/k${k}`, SecretString: JSON.stringify({ password: randomBytes(12).toString('hex') }) });
    aws.secretsManager.handle('CreateSecret', { Name: 'single/s0', SecretString: '{"password":"x"}' });
    const res = (plural: string): GenericStore => {
      const all = [server.stores.namespaces, server.stores.secrets, ...server.stores.customResources];
      return all.find((r) => r.info.plural === plural && r.info.version === 'v1')!;
    };
    await res('namespaces').create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    await res('secrets').create(NS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'aws', namespace: NS }, data: { id: b64(user.accessKeyId), secret: b64(user.secretAccessKey) } });
    await res('secretstores').create(NS, {
      apiVersion: 'external-secrets.io/v1', kind: 'SecretStore', metadata: { name: 'aws', namespace: NS },
      spec: { provider: { aws: { service: 'SecretsManager', region: aws.region, role: ROLE, auth: { secretRef: { accessKeyIDSecretRef: { name: 'aws', key: 'id' }, secretAccessKeySecretRef: { name: 'aws', key: 'secret' } } } } } },
    });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(server.kubeconfigPath);
    const running = await startExternalSecretsController({
      kubeConfig, logger: pino({ level: 'silent' }), signal: abort.signal, awsEndpoints: { secretsmanager: aws.endpoint, sts: aws.endpoint },
    });
    const es = res('externalsecrets');
    const externalSecret = (name: string, key: string) => ({
      apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name, namespace: NS },
      spec: { refreshInterval: REFRESH_INTERVAL, secretStoreRef: { name: 'aws', kind: 'SecretStore' }, target: { name }, data: [{ secretKey: 'password', remoteRef: { key, property: 'password' } }] },
    });
    let lastNotReady = '';
    const readyCount = async () => {
      const list = (await es.list(NS)) as unknown as { items: { status?: { conditions?: { type: string; status: string; message?: string }[] } }[] };
      const bad = list.items.flatMap((o) => o.status?.conditions?.filter((c) => c.type === 'Ready' && c.status !== 'True') ?? []);
      lastNotReady = `${bad.length} not Ready${bad[0] ? `, e.g. ${bad[0].message}` : ''}`;
      return list.items.filter((o) => o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
    };
    const awsCalls = () => aws.calls.filter((c) => !c.action.startsWith('sts:')).length;
    const stsCalls = () => aws.calls.filter((c) => c.action.startsWith('sts:')).length;

    // Baseline: one ExternalSecret of its own remote secret (after the store is Ready and credentials are warm).
    await until('SecretStore Ready', async () => {
      const s = (await res('secretstores').get(NS, 'aws')) as { status?: { conditions?: { type: string; status: string }[] } };
      return s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    });
    let c0 = awsCalls();
    let t0 = performance.now();
    await es.create(NS, externalSecret('single', 'single/s0'));
    await until('single Ready', async () => (await readyCount()) === 1);
    const single = { calls: awsCalls() - c0, ms: performance.now() - t0 };

    c0 = awsCalls();
    const s0 = stsCalls();
    t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < EXTERNAL_SECRETS) {
        const i = next++;
        await es.create(NS, externalSecret(`es-${String(i).padStart(4, '0')}`, `bench/k${i % REMOTE_SECRETS}`));
      }
    }));
    await until('1,000 ExternalSecrets Ready', async () => (await readyCount()) === EXTERNAL_SECRETS + 1, () => lastNotReady);
    const creation = { calls: awsCalls() - c0, ms: performance.now() - t0 };

    const sts = stsCalls() - s0;
    abort.abort();
    await running.done;

    console.log(`\n## External Secrets controller, aws provider (Secrets Manager → AWS test server): ${EXTERNAL_SECRETS} ExternalSecrets over ${REMOTE_SECRETS} remote secrets, refreshInterval ${REFRESH_INTERVAL}\n`);
    console.log('| case | value | baseline | baseline value | ratio | target |');
    console.log('|---|---:|---|---:|---:|---:|');
    const perEs = creation.calls / EXTERNAL_SECRETS;
    console.log(`| creation: AWS calls for ${EXTERNAL_SECRETS} ExternalSecrets | ${creation.calls} | one call per remote secret | ${REMOTE_SECRETS} | ${(creation.calls / REMOTE_SECRETS).toFixed(3)} | ≤ 55 calls ${creation.calls <= 55 ? 'met' : 'MISSED'} |`);
    console.log(`| creation: AWS calls per ExternalSecret | ${perEs.toFixed(3)} | AWS calls of one alone | ${single.calls} | ${(perEs / single.calls).toFixed(3)} | |`);
    console.log(`| creation: time per ExternalSecret | ${(creation.ms / EXTERNAL_SECRETS).toFixed(2)} ms | one created → Ready | ${single.ms.toFixed(0)} ms | ${(creation.ms / EXTERNAL_SECRETS / single.ms).toFixed(3)} | |`);
    console.log(`\nSTS AssumeRole calls during creation: ${sts} (assumed-role credentials are cached until 5 minutes before they expire).`);
  } finally {
    abort.abort();
    await aws.close();
    await server.close();
    await store.close();
    engine.close();
    await rm(dir, { recursive: true, force: true });
  }
}
