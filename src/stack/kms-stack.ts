// The seed's strongest row as `coffer up`'s default: the API server encrypts with KMS v2 through `coffer kms-plugin`
// (its own process, a unix socket), whose KEK is a Transit key in `coffer keyserver` (its own process). Both are
// started and supervised here. State lives under the data directory; the key server's root key and root token live in
// the key directory beside it, because they belong to the KMS server, not to the node that copies its disk around.
// The plugin's own key-server token is never written anywhere: it is minted at each plugin start and handed over
// response-wrapped on the plugin's stdin (docs/security.md).
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parse, stringify } from 'yaml';
import { writePrivateFile } from '../lib/private-file.js';
import { superviseProcess, type SupervisedProcess } from '../lib/process-supervisor.js';
import { VaultHttpClient, vaultError, type VaultRequest } from '../lib/vault/vault-http-client.js';

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
  /**
   * The API server's KMS v2 Status period: the plugin caches its backend probe (a good one, and a failed one: 3 s at
   * most, the plugin's default) for at most half of it, so a shortened period also sees a recovery sooner.
   */
  statusIntervalMs: number;
  /**
   * The plugin answers Encrypt and Decrypt only to callers that send this (kms/grpc-server.ts): minted by `coffer up`
   * at its start, kept in memory, handed to each plugin start on its stdin before the wrapping token.
   */
  callerSecret?: string;
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

/** How long one call to the key server may take (it is local, and answers in milliseconds when healthy). */
const KEYSERVER_CALL_TIMEOUT_MS = 10_000;

/** One call to the key server; a non-2xx answer is an error naming the call and Vault's errors. */
async function vault(url: string, method: string, path: string, req: VaultRequest): Promise<Record<string, unknown> | undefined> {
  const res = await new VaultHttpClient({ address: url, timeoutMs: KEYSERVER_CALL_TIMEOUT_MS }).request(method, path, req);
  if (res.status < 200 || res.status > 299) throw vaultError(`key server: ${method} /v1/${path}`, res);
  return res.body;
}

/** Like vault(), but any answer is accepted (the caller only needs the call made). */
async function vaultStatus(url: string, method: string, path: string, req: VaultRequest): Promise<number> {
  return (await new VaultHttpClient({ address: url, timeoutMs: KEYSERVER_CALL_TIMEOUT_MS }).request(method, path, req)).status;
}

/** Creates the KEK and the plugin's policy, once; later starts find them in place. */
export async function provisionKeyserver(url: string, rootTokenFile: string, log: Logger): Promise<void> {
  const rootToken = (await readFile(rootTokenFile, 'utf8')).trim();
  if ((await vaultStatus(url, 'GET', `transit/keys/${KEK_NAME}`, { token: rootToken })) === 404) {
    await vault(url, 'POST', `transit/keys/${KEK_NAME}`, { token: rootToken, body: { type: 'aes256-gcm96' } });
    log.info({ key: KEK_NAME }, 'created the transit key that wraps DEK seeds');
  }
  await vault(url, 'PUT', `sys/policies/acl/${PLUGIN_POLICY}`, { token: rootToken, body: { policy: PLUGIN_POLICY_HCL } });
}

/** How long the wrapping token may wait in the pipe, and how long the plugin's token lives without a renewal. */
const WRAP_TTL = '60s';
const PLUGIN_TOKEN_PERIOD = '20m';

/**
 * A fresh key-server token for one run of the plugin, returned only response-wrapped: the wrapping token is single-use
 * and dies in a minute, the token inside is periodic (dies 20 minutes after the plugin stops renewing it), carries the
 * plugin's policy and `default` (lookup-self, renew-self), and works only from the loopback address the plugin uses.
 * The previous run's token is revoked, so at most one plugin token is alive.
 */
export async function issuePluginCredential(
  url: string,
  rootTokenFile: string,
  o: { previousAccessor?: string | undefined; boundCidrs?: string[] } = {},
): Promise<{ wrappingToken: string; accessor: string }> {
  const rootToken = (await readFile(rootTokenFile, 'utf8')).trim();
  if (o.previousAccessor) {
    // Already gone (expired, revoked) is fine: 400 "invalid accessor".
    await vaultStatus(url, 'POST', 'auth/token/revoke-accessor', { token: rootToken, body: { accessor: o.previousAccessor } });
  }
  const body = await vault(url, 'POST', 'auth/token/create', {
    token: rootToken,
    headers: { 'X-Vault-Wrap-TTL': WRAP_TTL },
    body: { policies: [PLUGIN_POLICY], period: PLUGIN_TOKEN_PERIOD, display_name: 'kms-plugin', bound_cidrs: o.boundCidrs ?? ['127.0.0.1/32'] },
  });
  const info = body?.wrap_info as { token?: string; wrapped_accessor?: string } | undefined;
  if (!info?.token || !info.wrapped_accessor) throw new Error('key server: wrapped auth/token/create answered without a wrap_info token and accessor');
  return { wrappingToken: info.token, accessor: info.wrapped_accessor };
}

/**
 * The plugin token unwrapped into a file, as earlier versions kept it: for tests and benchmarks that run a plugin with
 * `auth.type: token`, and the lab variant that measures what a token on the node's disk costs. Not `coffer up`'s way.
 */
export async function writePluginTokenFileUnsafe(url: string, rootTokenFile: string, file: string): Promise<void> {
  const { wrappingToken } = await issuePluginCredential(url, rootTokenFile);
  const body = await vault(url, 'PUT', 'sys/wrapping/unwrap', { token: wrappingToken });
  const token = (body?.auth as { client_token?: string } | undefined)?.client_token;
  if (!token) throw new Error('key server: sys/wrapping/unwrap answered without auth.client_token');
  await writePrivateFile(file, `${token}\n`);
}

/**
 * Earlier versions kept the plugin's token in `kms-plugin/vault-token` inside the data directory, where any copy of the
 * disk carried it: revoke it and remove the file.
 */
async function retireTokenFile(url: string, rootTokenFile: string, file: string, log: Logger): Promise<void> {
  const old = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (!old) return;
  const rootToken = (await readFile(rootTokenFile, 'utf8')).trim();
  const status = await vaultStatus(url, 'POST', 'auth/token/revoke', { token: rootToken, body: { token: old } });
  await writeFile(file, Buffer.alloc(old.length)); // overwrite before unlinking: the name may survive in a snapshot
  await rm(file, { force: true });
  log.info({ file, revoked: status >= 200 && status < 300 }, 'revoked and removed the kms-plugin token an earlier version kept on disk');
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
  let previousAccessor: string | undefined;
  try {
    const url = (await keyserver.ready)[1]!;
    await provisionKeyserver(url, rootTokenFile, log);
    await retireTokenFile(url, rootTokenFile, join(pluginDir, 'vault-token'), log);
    const endpoint = `unix://${join(pluginDir, 'kms.sock')}`;
    const pluginConfig = join(pluginDir, 'config.yaml');
    await writeFile(
      pluginConfig,
      `endpoint: ${endpoint}
healthListen: 127.0.0.1:0
statusCacheTtl: ${Math.max(1, Math.min(20_000, Math.floor(o.statusIntervalMs / 2)))}ms
statusErrorCacheTtl: ${Math.max(1, Math.min(3_000, Math.floor(o.statusIntervalMs / 2)))}ms
${o.callerSecret ? 'callerSecret: stdin\n' : ''}backend:
  type: vault-transit
  address: ${url}
  key: ${KEK_NAME}
  auth:
    type: wrapped-token
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
      // At each (re)start a fresh credential (after the caller secret, if any) over the stdin pipe; nothing reusable is
      // written to the node's disk.
      stdin: async () => {
        const issued = await issuePluginCredential(url, rootTokenFile, { previousAccessor });
        previousAccessor = issued.accessor;
        return Buffer.from(`${o.callerSecret ? `${o.callerSecret}\n` : ''}${issued.wrappingToken}\n`);
      },
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
