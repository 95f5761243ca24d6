// The KMS plugin's other backends end to end, each a separate process: `coffer up` (on a real etcd) -> `coffer
// kms-plugin` -> a SoftHSM token (pkcs11), and `multi` over `coffer keyserver` + SoftHSM, where the key server is
// stopped mid-test and reads (also after an API server restart, with no cache) and writes go on.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { provisionKeyserver, writePluginTokenFileUnsafe } from '../src/stack/kms-stack.js';
import { decodeEncryptedObject } from '../src/kms/kms-v2-encrypted-object.js';
import { createSoftHsm, type SoftHsm } from '../src/kms-plugin/backends/pkcs11/softhsm-token.js';
import { openEtcdStore } from '../src/storage/etcd/etcd-store.js';
import { startEtcd, type EtcdProcess } from '../src/storage/etcd/testing/etcd-process.js';
import { COFFER_BIN, freePort, run, until } from './support/processes.js';

const PREFIX = 'k8s:enc:kms:v2:backends:';
const CANARY = 'kms-backends-canary-51d0';
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Starts `command` and resolves once a stdout line matches `ready`. */
async function startProcess(args: string[], ready: RegExp, env: NodeJS.ProcessEnv, logs: { text: string }): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  child.stderr.on('data', (c: Buffer) => (logs.text += c.toString()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (ready.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${args[1]} exited with ${code}: ${logs.text.slice(-2000)}`)));
  });
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  await exited;
}

function backendSuite(kind: 'pkcs11' | 'multi'): void {
  let dir: string;
  let hsm: SoftHsm;
  let etcd: EtcdProcess;
  let keyserver: ChildProcess | undefined;
  let plugin: ChildProcess;
  let server: ChildProcess | undefined;
  const logs = { text: '' };
  let port: number;
  const kubectl = async (...args: string[]) =>
    (await run('kubectl', ['--kubeconfig', join(dir, 'data', 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache'), ...args])).stdout;
  const valueOf = async (name: string) => (JSON.parse(await kubectl('get', 'secret', name, '-o', 'json')) as { data: { value: string } }).data.value;

  async function keyIds(): Promise<Map<string, string>> {
    const store = await openEtcdStore({ endpoints: etcd.endpoints });
    try {
      const { kvs } = await store.list('/registry/secrets/');
      return new Map(
        kvs.map((kv) => {
          const value = Buffer.from(kv.value);
          assert.equal(value.subarray(0, PREFIX.length).toString('latin1'), PREFIX);
          assert.ok(!value.includes(CANARY) && !value.includes(b64(CANARY)));
          return [kv.key, decodeEncryptedObject(value.subarray(PREFIX.length)).keyId];
        }),
      );
    } finally {
      await store.close();
    }
  }

  async function startServer(): Promise<void> {
    server = await startProcess(
      [COFFER_BIN, 'up', '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--store', 'etcd', '--etcd-endpoints', etcd.endpoints.join(','),
        '--encryption-config', join(dir, 'enc.yaml'), '--kms-v2-status-interval', '1', '--kms-v2-write-ttl', '30'],
      /export KUBECONFIG=/,
      process.env,
      logs,
    );
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `coffer-e2e-${kind}-`));
    hsm = await createSoftHsm(['coffer-kek']);
    etcd = await startEtcd();
    port = await freePort();
    const pkcs11 = { type: 'pkcs11', module: hsm.modulePath, tokenLabel: 'coffer-kek', pinFile: hsm.tokens[0]!.pinFile, keyLabel: 'kek', generateKey: true };
    let backend: unknown = pkcs11;
    if (kind === 'multi') {
      await writeFile(join(dir, 'root.key'), Buffer.alloc(32, 7), { mode: 0o600 });
      keyserver = await startProcess(
        [COFFER_BIN, 'keyserver', '--data-dir', join(dir, 'keyserver'), '--root-key-file', join(dir, 'root.key'), '--root-token-file', join(dir, 'root.token'), '--listen', '127.0.0.1:0'],
        /keyserver listening on \S+/,
        process.env,
        logs,
      );
      const url = /keyserver listening on (\S+)/.exec(logs.text) ?? /"url":"(http[^"]+)"/.exec(logs.text);
      await provisionKeyserver(url![1]!, join(dir, 'root.token'), pino({ level: 'silent' }));
      await writePluginTokenFileUnsafe(url![1]!, join(dir, 'root.token'), join(dir, 'plugin.token'));
      backend = {
        type: 'multi',
        writePolicy: 'quorum',
        quorum: 1,
        members: [
          { name: 'keyserver', backend: { type: 'vault-transit', address: url![1], key: 'coffer-kek', auth: { type: 'token', tokenFile: join(dir, 'plugin.token') } } },
          { name: 'hsm', backend: pkcs11 },
        ],
      };
    }
    const endpoint = `unix://${join(dir, 'kms.sock')}`;
    await writeFile(join(dir, 'plugin.json'), JSON.stringify({ endpoint, healthListen: '127.0.0.1:0', statusCacheTtl: '500ms', statusErrorCacheTtl: '500ms', timeout: '1s', backend }));
    // The plugin is the only process that loads SoftHSM: it gets the token directory through SOFTHSM2_CONF.
    plugin = await startProcess([COFFER_BIN, 'kms-plugin', '--config', join(dir, 'plugin.json')], /coffer kms-plugin ready/, { ...process.env, ...hsm.env }, logs);
    await writeFile(
      join(dir, 'enc.yaml'),
      `apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n      - kms: {apiVersion: v2, name: backends, endpoint: "${endpoint}", timeout: 3s}\n`,
    );
    await startServer();
  });
  after(async () => {
    await stop(server);
    await stop(plugin);
    await stop(keyserver);
    await etcd?.stop();
    await hsm?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  void it('stores Secrets created with kubectl as KMS v2 envelopes whose key_id names the backend', async () => {
    await kubectl('create', 'secret', 'generic', 'first', `--from-literal=value=${CANARY}`);
    const ids = await keyIds();
    assert.match(ids.get('/registry/secrets/default/first')!, kind === 'pkcs11' ? /^pkcs11:kek:v1:gcm:[0-9a-f]{16}$/ : /^multi:sha256:[0-9a-f]+$/);
    assert.equal(await valueOf('first'), b64(CANARY));
  });

  if (kind === 'multi') {
    void it('goes on reading and writing with the key server stopped, also after an API server restart', async () => {
      process.kill(keyserver!.pid!, 'SIGSTOP');
      try {
        const before = (await keyIds()).get('/registry/secrets/default/first');
        await until(async () => {
          try {
            await kubectl('create', 'secret', 'generic', `during-outage-${Date.now()}`, `--from-literal=value=${CANARY}`);
          } catch {
            return false;
          }
          return [...(await keyIds()).values()].some((id) => id !== before);
        }, 'a write wrapped by the remaining member alone (a new key_id)', 30_000);
        await stop(server); // no decrypt cache left: every read below goes to the plugin, which has only the HSM now
        await startServer();
        for (const name of (await kubectl('get', 'secrets', '-o', 'name')).trim().split('\n')) {
          assert.equal(await valueOf(name.replace('secret/', '')), b64(CANARY), `${name} reads with the key server down`);
        }
      } finally {
        process.kill(keyserver!.pid!, 'SIGCONT');
      }
    });
  }

  void it('logs no canary', () => {
    assert.ok(!logs.text.includes(CANARY) && !logs.text.includes(b64(CANARY)));
  });
}

void describe('KMS plugin end to end: pkcs11 backend on a SoftHSM token', () => backendSuite('pkcs11'));
void describe('KMS plugin end to end: multi over keyserver + SoftHSM, one stopped', () => backendSuite('multi'));
