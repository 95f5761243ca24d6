// The seed's strongest row as `coffer up`'s default: the API server encrypts with KMS v2 through `coffer kms-plugin`
// (its own process, a unix socket), whose KEK is a Transit key in `coffer keyserver` (its own process). Both are
// started and supervised here. State lives under the data directory; the key server's root key and root token live in
// the key directory beside it, because they belong to the KMS server, not to the node that copies its disk around.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parse, stringify } from 'yaml';
import { writePrivateFile } from '../apiserver/tls/server-credentials.js';
import { superviseProcess, type SupervisedProcess } from '../lib/process-supervisor.js';

/** The Transit key that wraps every DEK seed, and the least the plugin needs to use it. */
export const KEK_NAME = 'coffer-kek';
const PLUGIN_POLICY = 'coffer-kms-plugin';
const PLUGIN_POLICY_HCL = `path "transit/encrypt/${KEK_NAME}" { capabilities = ["update"] }
path "transit/decrypt/${KEK_NAME}" { capabilities = ["update"] }
path "transit/keys/${KEK_NAME}" { capabilities = ["read"] }
path "sys/health" { capabilities = ["read"] }
`;
/** The name the EncryptionConfiguration gives the provider; part of every stored prefix (`k8s:enc:kms:v2:coffer:`). */
export const KMS_PROVIDER_NAME = 'coffer';

const COFFER_BIN = new URL('../../bin/coffer.js', import.meta.url).pathname;

export interface KmsStackOptions {
  dataDir: string;
  keyDir: string;
  logger: Logger;
  logLevel: string;
  /** The API server's KMS v2 Status period: the plugin caches its backend probe for at most half of it. */
  statusIntervalMs: number;
}

export interface RunningKmsStack {
  encryptionConfigFile: string;
  keyserverUrl: string;
  pluginEndpoint: string;
  pluginHealthUrl: string;
  keyserver: SupervisedProcess;
  plugin: SupervisedProcess;
  close(): Promise<void>;
}

interface StackState {
  keyserverPort: number;
}

/** A free loopback port, kept across restarts so the plugin's configuration stays valid. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function loadState(file: string): Promise<StackState> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text) return JSON.parse(text) as StackState;
  const state = { keyserverPort: await freePort() };
  await writeFile(file, `${JSON.stringify(state)}\n`, { mode: 0o600 });
  return state;
}

async function vault(url: string, token: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown> | undefined> {
  const res = await fetch(`${url}/v1/${path}`, {
    method,
    headers: { 'X-Vault-Token': token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`key server: ${method} /v1/${path} answered ${res.status}: ${text.slice(0, 200)}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
}

/** Creates the KEK and the plugin's policy and periodic token, once; later starts find them in place. */
export async function provisionKeyserver(url: string, rootTokenFile: string, pluginTokenFile: string, log: Logger): Promise<void> {
  const rootToken = (await readFile(rootTokenFile, 'utf8')).trim();
  const exists = await fetch(`${url}/v1/transit/keys/${KEK_NAME}`, { headers: { 'X-Vault-Token': rootToken } });
  await exists.arrayBuffer();
  if (exists.status === 404) {
    await vault(url, rootToken, 'POST', `transit/keys/${KEK_NAME}`, { type: 'aes256-gcm96' });
    log.info({ key: KEK_NAME }, 'created the transit key that wraps DEK seeds');
  }
  await vault(url, rootToken, 'PUT', `sys/policies/acl/${PLUGIN_POLICY}`, { policy: PLUGIN_POLICY_HCL });
  const have = await readFile(pluginTokenFile, 'utf8').catch(() => '');
  if (have.trim()) {
    const check = await fetch(`${url}/v1/auth/token/lookup-self`, { headers: { 'X-Vault-Token': have.trim() } });
    await check.arrayBuffer();
    if (check.ok) return;
  }
  // A periodic token never expires while the plugin renews it, and dies within a period once it stops.
  const made = await vault(url, rootToken, 'POST', 'auth/token/create', { policies: [PLUGIN_POLICY], period: '24h', no_default_policy: true, display_name: 'kms-plugin' });
  const token = (made?.auth as { client_token?: string } | undefined)?.client_token;
  if (!token) throw new Error('key server: auth/token/create returned no client_token');
  await writePrivateFile(pluginTokenFile, `${token}\n`);
  log.info({ policy: PLUGIN_POLICY, tokenFile: pluginTokenFile }, 'issued the kms-plugin its key server token');
}

/**
 * KMS v2 first; the providers of an aesgcm configuration generated by an earlier `coffer up` follow, so what they wrote
 * still reads (and is rewritten under KMS on its next update); identity last for data written before encryption.
 */
async function writeEncryptionConfig(file: string, endpoint: string, previousFile: string): Promise<void> {
  const previous = await readFile(previousFile, 'utf8').then((t) => parse(t) as { resources?: { providers?: Record<string, unknown>[] }[] }, () => undefined);
  const older = (previous?.resources?.[0]?.providers ?? []).filter((p) => !('identity' in p) && !('kms' in p));
  const config = {
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'EncryptionConfiguration',
    resources: [
      {
        resources: ['secrets'],
        providers: [{ kms: { apiVersion: 'v2', name: KMS_PROVIDER_NAME, endpoint, timeout: '3s' } }, ...older, { identity: {} }],
      },
    ],
  };
  await writePrivateFile(file, stringify(config));
}

export async function startKmsStack(o: KmsStackOptions): Promise<RunningKmsStack> {
  const log = o.logger;
  const keyserverDir = join(o.dataDir, 'keyserver');
  const pluginDir = join(o.dataDir, 'kms-plugin');
  await mkdir(keyserverDir, { recursive: true, mode: 0o700 });
  await mkdir(pluginDir, { recursive: true, mode: 0o700 });
  const state = await loadState(join(o.dataDir, 'kms-stack.json'));
  const rootTokenFile = join(o.keyDir, 'keyserver-root.token');
  const keyserver = superviseProcess({
    name: 'keyserver',
    command: process.execPath,
    args: [
      COFFER_BIN, 'keyserver',
      '--data-dir', keyserverDir,
      '--root-key-file', join(o.keyDir, 'keyserver-root.key'),
      '--init',
      '--root-token-file', rootTokenFile,
      '--listen', `127.0.0.1:${state.keyserverPort}`,
      '--log-level', o.logLevel,
    ],
    ready: /^keyserver listening on (\S+)/,
    logger: log,
    pidFile: join(keyserverDir, 'keyserver.pid'),
  });
  let plugin: SupervisedProcess | undefined;
  try {
    const url = (await keyserver.ready)[1]!;
    const pluginTokenFile = join(pluginDir, 'vault-token');
    await provisionKeyserver(url, rootTokenFile, pluginTokenFile, log);
    const endpoint = `unix://${join(pluginDir, 'kms.sock')}`;
    const pluginConfig = join(pluginDir, 'config.yaml');
    await writeFile(
      pluginConfig,
      `endpoint: ${endpoint}
healthListen: 127.0.0.1:0
statusCacheTtl: ${Math.max(1, Math.min(20_000, Math.floor(o.statusIntervalMs / 2)))}ms
backend:
  type: vault-transit
  address: ${url}
  key: ${KEK_NAME}
  auth:
    type: token
    tokenFile: ${pluginTokenFile}
`,
      { mode: 0o600 },
    );
    plugin = superviseProcess({
      name: 'kms-plugin',
      command: process.execPath,
      args: [COFFER_BIN, 'kms-plugin', '--config', pluginConfig, '--log-level', o.logLevel],
      ready: /^coffer kms-plugin ready endpoint=(\S+) health=(\S+)/,
      logger: log,
      pidFile: join(pluginDir, 'kms-plugin.pid'),
    });
    const ready = await plugin.ready;
    // Beside the data directory like the aesgcm one: an older key it carries must not land in the data directory.
    const encryptionConfigFile = join(o.keyDir, 'encryption-config-kms.yaml');
    await writeEncryptionConfig(encryptionConfigFile, endpoint, join(o.keyDir, 'encryption-config.yaml'));
    const p = plugin;
    return {
      encryptionConfigFile,
      keyserverUrl: url,
      pluginEndpoint: ready[1]!,
      pluginHealthUrl: ready[2]!,
      keyserver,
      plugin: p,
      async close() {
        await p.stop();
        await keyserver.stop();
      },
    };
  } catch (e) {
    await plugin?.stop();
    await keyserver.stop();
    throw e;
  }
}
