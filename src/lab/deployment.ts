// Long: one deployment variant from layout to teardown; each step depends on the paths and processes of the one before.
// One variant of one row as a real deployment, in its own temp directory laid out as a control-plane node would be:
//
//   <base>/node/           the node's disk (what the disk column copies)
//          coffer/         coffer up's data directory (store, certificates, kubeconfig, admin token)
//          etc/            EncryptionConfiguration (when the variant keeps it on disk), KMS plugin configuration
//          etcd/ | etcd.cipher/   etcd's data directory, or its gocryptfs cipher directory
//   <base>/offdisk/        what real systems keep off the disk: the SQLCipher key, the gocryptfs password (TPM, passphrase)
//   <base>/run/            tmpfs-like: the KMS plugin socket, the gocryptfs mount point
//   <base>/kms-server/     the key server's machine (its data and root key)
//   <base>/dumps/, scratch/   the attacker's workspace
//
// The workload: start the API server, plant canaries and integrity fixtures through the API, restart it, list every
// Secret as a controller would, dump the process's memory; then read the datastore, and - for the integrity columns -
// tamper with it and ask a freshly started API server what it serves. In the External Secrets row the canaries are
// not written through the API: they go into the key server's KV v2 store, and `coffer controller` (its own process)
// syncs them into Secrets through a SecretStore and one ExternalSecret each (external-secrets-source.ts); the
// controller runs again beside the restarted API server when its memory is dumped.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEtcdStore } from '../storage/etcd/etcd-store.js';
import { SqliteStore } from '../storage/sqlite/sqlite-store.js';
import type { Store } from '../storage/store.js';
import { secretPath, type ApiClient } from './api-client.js';
import { INTEGRITY_ATTACKS, type DatastoreWriter, type IntegrityFixtures, type TamperPlan } from './attacks/integrity-attacks.js';
import { CANARY_NAMESPACE, makeCanaries, type Canary } from './canary.js';
import type { Column } from './capability.js';
import { stopChild, type CleanupStack } from './cleanup.js';
import { startCoffer, type CofferUpArgs, type RunningCoffer } from './coffer-process.js';
import type { StoredValue } from './decrypt-trial.js';
import { runEtcd } from './etcd-runner.js';
import { applyAwsExternalSecrets, provisionSecretsManagerSource, startLabSecretsManager, type LabSecretsManager } from './aws-secrets-source.js';
import { applyExternalSecrets, provisionKvSource, startController, waitForSync, type RunningController } from './external-secrets-source.js';
import { EXTERNAL_SECRETS_END, EXTERNAL_SECRETS_PREFIX } from './attacks/secret-store-tokens.js';
import { emptyFinding, type Finding } from './finding.js';
import { startLabKms, type LabKms } from './kms-backend.js';
import { startLabKeyserver, type LabKeyserver } from './keyserver-process.js';
import { dumpProcessMemory, type MemoryDump } from './memory-dump.js';
import type { VariantSpec } from './rows.js';
import type { Target } from './target.js';

export const INTEGRITY_NAMESPACE = 'lab-integrity';

export interface Deployed {
  spec: VariantSpec;
  target: Target;
  canaries: Canary[];
  /** Every secret value planted (canaries and integrity fixtures): none may appear in the lab's output. */
  plantedValues: Buffer[];
  integrity: Finding[];
  notes: string[];
  placeholder?: string;
}

export interface DeployOptions {
  columns: readonly Column[];
  canaryCount: number;
  signal: AbortSignal;
  /** Progress lines (stderr). */
  log?: (line: string) => void;
}

/** Why a variant cannot run on this machine (a missing package), or undefined. */
export async function variantUnavailable(spec: VariantSpec): Promise<string | undefined> {
  const has = async (cmd: string) => {
    for (const dir of (process.env.PATH ?? '').split(':')) {
      if (await access(join(dir, cmd)).then(() => true, () => false)) return true;
    }
    return false;
  };
  if (spec.store === 'etcd' && !(await has('etcd'))) return 'etcd is not installed (Debian package etcd-server)';
  if (spec.gocryptfs) {
    if (!(await has('gocryptfs'))) return 'gocryptfs is not installed (Debian packages gocryptfs fuse3)';
    if (!(await has('fusermount3')) && !(await has('fusermount'))) return 'fusermount is not installed (Debian package fuse3)';
    if (!(await access('/dev/fuse').then(() => true, () => false))) return '/dev/fuse is not available on this machine';
  }
  return undefined;
}

function run(cmd: string, args: string[], signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], signal });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args[0] ?? ''} exited with ${code}: ${err.trim()}`))));
  });
}

function encryptionConfigYaml(spec: VariantSpec, kmsEndpoint: string | undefined): string {
  const head = 'apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n';
  switch (spec.provider) {
    case 'identity':
      return `${head}      - identity: {}\n`;
    case 'kms':
      return `${head}      - kms:\n          apiVersion: v2\n          name: lab-kms\n          endpoint: ${kmsEndpoint}\n          timeout: 5s\n      - identity: {}\n`;
    default: {
      const key = randomBytes(32);
      const secret = key.toString('base64');
      key.fill(0);
      return `${head}      - ${spec.provider}:\n          keys:\n            - name: key1\n              secret: ${secret}\n      - identity: {}\n`;
    }
  }
}

function secretBody(namespace: string, name: string, value: Buffer, resourceVersion?: string): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}) },
    type: 'Opaque',
    data: { value: value.toString('base64') },
  };
}

function printable(n: number): Buffer {
  return Buffer.from(randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n), 'latin1');
}

async function createNamespace(client: ApiClient, name: string, signal: AbortSignal): Promise<void> {
  await client.must('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, signal });
}

/** Writes through the Store interface: what `etcdctl put` (or writing the SQLite file) gives an attacker. */
function writerFor(store: Store): DatastoreWriter {
  return {
    async get(key, opts) {
      const { kv } = await store.get(key, opts?.revision ? { revision: opts.revision } : {});
      return kv ? { value: Buffer.from(kv.value), revision: kv.modRevision } : undefined;
    },
    async put(key, value) {
      const { kv } = await store.get(key);
      if (!kv) throw new Error(`${key} is not in the datastore`);
      await store.update(key, value, { ifRevision: kv.modRevision });
    },
  };
}

async function listValues(store: Store, prefix: string, end: string): Promise<StoredValue[]> {
  const out: StoredValue[] = [];
  let startKey: string | undefined;
  for (;;) {
    const page = await store.list(prefix, { limit: 500, ...(startKey ? { startKey } : {}) });
    for (const kv of page.kvs) if (kv.key < end) out.push({ key: kv.key, value: Buffer.from(kv.value), source: '' });
    if (!page.more || page.kvs.length === 0) return out;
    startKey = `${page.kvs[page.kvs.length - 1]!.key}\0`;
  }
}

export async function deployVariant(spec: VariantSpec, stack: CleanupStack, opts: DeployOptions): Promise<Deployed> {
  const { signal } = opts;
  const log = opts.log ?? (() => undefined);
  const base = await mkdtemp(join(tmpdir(), 'coffer-lab-'));
  stack.tempDir(base);
  log(`${spec.id}: deployment in ${base}`);
  const node = join(base, 'node');
  const dirs = {
    data: join(node, 'coffer'),
    etc: join(node, 'etc'),
    offdisk: join(base, 'offdisk'),
    run: join(base, 'run'),
    kmsServer: join(base, 'kms-server'),
    dumps: join(base, 'dumps'),
    scratch: join(base, 'scratch'),
  };
  for (const d of Object.values(dirs)) await mkdir(d, { recursive: true, mode: 0o700 });
  const notes: string[] = [];

  // --- the datastore
  let etcdEndpoint: string | undefined;
  if (spec.store === 'etcd') {
    let dataDir = join(node, 'etcd');
    if (spec.gocryptfs) {
      const cipher = join(node, 'etcd.cipher');
      const mnt = join(dirs.run, 'etcd-mnt');
      const pass = join(dirs.offdisk, 'gocryptfs.pass');
      await mkdir(cipher, { mode: 0o700 });
      await mkdir(mnt, { mode: 0o700 });
      await writeFile(pass, `${randomBytes(24).toString('base64')}\n`, { mode: 0o600 });
      // A low scrypt cost: the password is 192 random bits, so the KDF's work factor adds nothing here but seconds.
      await run('gocryptfs', ['-init', '-q', '-scryptn', '10', '-passfile', pass, cipher], signal);
      await run('gocryptfs', ['-q', '-passfile', pass, cipher, mnt], signal);
      stack.defer(`unmount ${mnt}`, () => run('fusermount3', ['-u', mnt], AbortSignal.timeout(10_000)).catch(() => run('fusermount', ['-u', mnt], AbortSignal.timeout(10_000))));
      dataDir = join(mnt, 'etcd');
      notes.push("etcd's data directory is on a gocryptfs mount; the disk holds only its cipher directory");
    }
    const etcd = await runEtcd(dataDir, { onChild: (c) => stack.defer(`stop etcd pid ${c.pid}`, () => stopChild(c)) });
    etcdEndpoint = etcd.endpoint;
  }

  // --- the KMS plugin and key server
  let kms: LabKms | undefined;
  if (spec.provider === 'kms') {
    kms = await startLabKms(
      { runDir: dirs.run, nodeEtc: dirs.etc, serverDir: dirs.kmsServer },
      {
        onChild: (c) => stack.defer(`stop KMS plugin pid ${c.pid}`, () => stopChild(c)),
        tokenOnDisk: spec.kmsTokenOnDisk ?? false,
        callerAuth: spec.kmsCallerAuth ?? false,
        ...(spec.awsKms ? { awsKms: spec.awsKms } : {}),
      },
    );
    stack.defer('stop the KMS plugin', () => kms!.stop());
  }

  // --- the External Secrets source: the key server (its own process, its own machine directory)
  let keyserver: LabKeyserver | undefined;
  let secretsManager: LabSecretsManager | undefined;
  if (spec.externalSecrets === 'aws-secrets-manager') {
    secretsManager = await startLabSecretsManager(join(dirs.kmsServer, 'aws'), (c) => stack.defer(`stop the AWS test server pid ${c.pid}`, () => stopChild(c)));
    log(`${spec.id}: AWS test server pid ${secretsManager.aws.child.pid} at ${secretsManager.aws.endpoint}`);
  } else if (spec.externalSecrets) {
    keyserver = await startLabKeyserver(dirs.kmsServer, { onChild: (c) => stack.defer(`stop coffer keyserver pid ${c.pid}`, () => stopChild(c)) });
    log(`${spec.id}: key server pid ${keyserver.pid} at ${keyserver.url}`);
  }

  // --- configuration
  const configFile = join(spec.configOnDisk ? dirs.etc : dirs.offdisk, 'encryption-config.yaml');
  await writeFile(configFile, encryptionConfigYaml(spec, kms?.endpoint), { mode: 0o600 });
  let storeKeyFile: string | undefined;
  if (spec.sqlcipher) {
    storeKeyFile = join(dirs.offdisk, 'store.key');
    await writeFile(storeKeyFile, randomBytes(32), { mode: 0o600 });
  }
  const upArgs: CofferUpArgs = {
    dataDir: dirs.data,
    encryptionConfig: configFile,
    store: spec.store,
    ...(etcdEndpoint ? { etcdEndpoints: [etcdEndpoint] } : {}),
    ...(storeKeyFile ? { storeEncryptionKeyFile: storeKeyFile } : {}),
    ...(spec.kmsNoDekCache ? { kmsNoDekCache: true } : {}),
    ...(kms?.callerSecret ? { kmsCallerSecret: kms.callerSecret } : {}),
  };
  const up = async (): Promise<RunningCoffer> => {
    const c = await startCoffer(upArgs, { onChild: (child) => stack.defer(`stop coffer up pid ${child.pid}`, () => stopChild(child)) });
    return c;
  };

  // --- plant
  const canaries = makeCanaries(opts.canaryCount);
  const fx = {
    from: printable(40),
    to: printable(40),
    replayOld: printable(40),
    replayNew: printable(40),
    flip: printable(96), // long, so a CBC bit-flip lands inside it (see integrity-attacks.ts)
  };
  let s = await up();
  log(`${spec.id}: API server pid ${s.pid} up; planting ${canaries.length} canaries`);
  await createNamespace(s.client, CANARY_NAMESPACE, signal);
  await createNamespace(s.client, INTEGRITY_NAMESPACE, signal);
  const controllerChild = (c: ChildProcess) => stack.defer(`stop coffer controller pid ${c.pid}`, () => stopChild(c));
  const esoCredentials: Buffer[] = [];
  const controllerEnv = secretsManager?.controllerEnv;
  if (keyserver || secretsManager) {
    // The canaries exist only in the source; the controller writes the Secrets.
    if (keyserver) {
      const token = await provisionKvSource(keyserver, canaries, signal);
      esoCredentials.push(token);
      await applyExternalSecrets(s.client, keyserver.url, token, canaries, CANARY_NAMESPACE, signal);
    } else {
      await provisionSecretsManagerSource(secretsManager!, canaries, signal);
      esoCredentials.push(...(await applyAwsExternalSecrets(s.client, secretsManager!, canaries, CANARY_NAMESPACE, signal)));
    }
    const controller = await startController(s.kubeconfig, controllerChild, controllerEnv);
    log(`${spec.id}: coffer controller pid ${controller.pid} syncing ${canaries.length} ExternalSecrets`);
    try {
      notes.push(await waitForSync(s.client, canaries, controller, signal));
    } finally {
      await controller.stop();
    }
  } else {
    for (const c of canaries) {
      await s.client.must('POST', secretPath(c.namespace), { body: secretBody(c.namespace, c.name, c.value), signal });
    }
  }
  const ns = INTEGRITY_NAMESPACE;
  await s.client.must('POST', secretPath(ns), { body: secretBody(ns, 'relocate-from', fx.from), signal });
  await s.client.must('POST', secretPath(ns), { body: secretBody(ns, 'relocate-to', fx.to), signal });
  const created = await s.client.must('POST', secretPath(ns), { body: secretBody(ns, 'replay', fx.replayOld), signal });
  const rv1 = (JSON.parse(created.body.toString('utf8')) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  created.body.fill(0);
  await s.client.must('PUT', secretPath(ns, 'replay'), { body: secretBody(ns, 'replay', fx.replayNew, rv1), signal });
  await s.client.must('POST', secretPath(ns), { body: secretBody(ns, 'bit-flip', fx.flip), signal });
  await s.stop();

  // --- the workload: a restarted server (and the controller beside it, as deployed), a client listing every Secret;
  // then the memory dump of the API server
  s = await up();
  let controller: RunningController | undefined;
  if (keyserver || secretsManager) controller = await startController(s.kubeconfig, controllerChild, controllerEnv);
  const list = await s.client.must('GET', '/api/v1/secrets', { signal });
  const listed = (JSON.parse(list.body.toString('utf8')) as { items: unknown[] }).items.length;
  list.body.fill(0);
  if (listed < canaries.length + 4) throw new Error(`${spec.id}: the API server listed ${listed} Secrets, expected at least ${canaries.length + 4}`);
  let dump: MemoryDump | undefined;
  if (opts.columns.includes('ram')) {
    dump = await dumpProcessMemory(s.pid, join(dirs.dumps, `coffer-up-${s.pid}.mem`));
    log(`${spec.id}: dumped ${(dump.bytes / (1 << 20)).toFixed(0)} MiB of pid ${s.pid}`);
  }
  await controller?.stop();
  await s.stop();

  // --- the datastore, as its readers and writers see it
  const openStore = async (): Promise<Store> =>
    etcdEndpoint
      ? openEtcdStore({ endpoints: [etcdEndpoint] })
      : SqliteStore.open({ dataDir: join(dirs.data, 'store'), ...(storeKeyFile ? { encryptionKeyFile: storeKeyFile } : {}) });
  const how = etcdEndpoint
    ? `etcd get --prefix /registry/secrets/ (${etcdEndpoint})`
    : `SQLite coffer/store/coffer.db read directly${spec.sqlcipher ? ' (through the store, unlocked as the running datastore is)' : ''}`;
  let store = await openStore();
  let values: StoredValue[];
  let objects: StoredValue[];
  try {
    values = (await listValues(store, '/registry/secrets/', '/registry/secrets0')).map((v) => ({ ...v, source: how }));
    objects = (await listValues(store, EXTERNAL_SECRETS_PREFIX, EXTERNAL_SECRETS_END)).map((v) => ({ ...v, source: how }));
  } finally {
    await store.close();
  }

  // --- integrity: tamper, restart, ask
  const integrity: Finding[] = [];
  const wanted = INTEGRITY_ATTACKS.filter((a) => opts.columns.includes(a.id));
  if (wanted.length > 0) {
    const fixtures: IntegrityFixtures = {
      namespace: ns,
      relocateFrom: { name: 'relocate-from', key: `/registry/secrets/${ns}/relocate-from`, value: fx.from },
      relocateTo: { name: 'relocate-to', key: `/registry/secrets/${ns}/relocate-to`, value: fx.to },
      replay: { name: 'replay', key: `/registry/secrets/${ns}/replay`, value: fx.replayNew, oldValue: fx.replayOld, oldRevision: Number(rv1) },
      bitFlip: { name: 'bit-flip', key: `/registry/secrets/${ns}/bit-flip`, value: fx.flip },
    };
    const plans: { id: (typeof wanted)[number]['id']; plan?: TamperPlan; error?: string; started: number }[] = [];
    store = await openStore();
    try {
      const w = writerFor(store);
      for (const a of wanted) {
        const started = Date.now();
        try {
          plans.push({ id: a.id, plan: await a.tamper(w, fixtures), started });
        } catch (e) {
          plans.push({ id: a.id, error: e instanceof Error ? e.message : String(e), started });
        }
      }
    } finally {
      await store.close();
    }
    s = await up();
    for (const p of plans) {
      const f = emptyFinding({ row: spec.row, variant: spec.id, attack: p.id, capabilities: ['datastore-write'], total: 1 });
      if (!p.plan) {
        f.status = 'error';
        f.error = p.error;
        f.evidence = [`attack failed: ${p.error}`];
      } else {
        const res = await s.client.request('GET', secretPath(ns, p.plan.name), { signal });
        if (res.status === 200) {
          const obj = JSON.parse(res.body.toString('utf8')) as { data?: Record<string, string> };
          const served = Buffer.from(obj.data?.value ?? '', 'base64');
          res.body.fill(0);
          const forged = p.plan.forged(served);
          served.fill(0);
          f.status = forged ? 'recovered' : 'nothing';
          f.recovered = forged ? 1 : 0;
          f.evidence = [forged ? `served forged data (HTTP 200) after: ${p.plan.describe}` : `served the legitimate value (HTTP 200) after: ${p.plan.describe}`];
        } else {
          let message = '';
          try {
            const m = (JSON.parse(res.body.toString('utf8')) as { message?: unknown }).message;
            message = typeof m === 'string' ? m : '';
          } catch {
            // not a Status
          }
          f.evidence = [`refused (HTTP ${res.status}${message ? `: ${message.slice(0, 160)}` : ''}) after: ${p.plan.describe}`];
        }
      }
      f.durationMs = Date.now() - p.started;
      integrity.push(f);
    }
    await s.stop();
  }

  // --- the full target; attacks get restricted views of it
  const target: Target = {
    row: spec.row,
    variant: spec.id,
    scratch: dirs.scratch,
    disk: { root: node },
    etcd: { values, objects, how },
    'config-file': { path: configFile },
  };
  if (dump) target.ram = { dump, values: values.map((v) => ({ ...v, source: 'ram: stored bytes readable by the API server' })) };
  if (kms) {
    target['kms-socket'] = { endpoint: kms.endpoint };
    target['kms-server'] = { describe: kms.describe, takeOver: (sig) => kms.takeOver(sig) };
  } else if (keyserver) {
    target['kms-server'] = { describe: "coffer keyserver (KV v2 at secret/, the ExternalSecrets' source)", takeOver: (sig) => keyserver.takeOver(sig) };
  } else if (secretsManager) {
    target['kms-server'] = { describe: secretsManager.describe, takeOver: (sig) => secretsManager.takeOver(sig) };
    target.awsEndpoint = secretsManager.aws.endpoint;
  }
  const plantedValues = [...canaries.map((c) => c.value), ...Object.values(fx), ...esoCredentials];
  return { spec, target, canaries, plantedValues, integrity, notes, ...(kms?.placeholder ? { placeholder: kms.describe } : {}) };
}
