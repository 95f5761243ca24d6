// Helpers of the operations end-to-end tests: `coffer up` on a given EncryptionConfiguration that it reloads every
// 0.2 s, configuration writes that wait for the reload (so a 1 s interval cost up to a second per write), Secrets
// created through the API, and CLI runs.
import { execFile } from 'node:child_process';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { computeEncryptionConfigHash } from '../../src/encryption/encryption-config.js';
import { KubeClient } from '../../src/operations/kube-client.js';
import { COFFER_BIN, freePort, startCoffer, until, type CofferChild } from './processes.js';

export interface RunningUp {
  child: CofferChild;
  kubeconfig: string;
  dataDir: string;
  client: KubeClient;
  stop(): Promise<void>;
}

export async function startUpWithConfig(dataDir: string, configFile: string, extra: string[] = []): Promise<RunningUp> {
  const port = await freePort();
  const { child } = await startCoffer(
    ['up', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--encryption-config', configFile, '--encryption-config-reload-interval', '0.2', '--no-controller', '--log-level', 'info', ...extra],
    /export KUBECONFIG=/,
    'coffer up',
  );
  const kubeconfig = join(dataDir, 'kubeconfig');
  const client = await KubeClient.fromFile(kubeconfig);
  return {
    child,
    kubeconfig,
    dataDir,
    client,
    async stop() {
      client.close();
      await child.stop();
    },
  };
}

/** Replaces the file atomically and waits until the running server logs that it loaded exactly this content. */
export async function writeConfigAndWait(up: RunningUp | undefined, file: string, text: string): Promise<string> {
  const hash = computeEncryptionConfigHash(Buffer.from(text));
  await writeFile(`${file}.tmp`, text, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  if (up) await until(() => up.child.out().includes(hash), `coffer up to load ${hash}`, 20_000);
  return hash;
}

export function configYaml(providers: string[]): string {
  return `apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n${providers.map((p) => `      - ${p}`).join('\n')}\n`;
}

export async function createSecret(client: KubeClient, namespace: string, name: string, value: string): Promise<void> {
  await client.json('POST', `/api/v1/namespaces/${namespace}/secrets`, {
    apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, data: { value: Buffer.from(value).toString('base64') },
  });
}

export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.json('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

/** Every Secret's data.value (decoded), by namespace/name, read through the API server. */
export async function readSecrets(client: KubeClient): Promise<Map<string, string>> {
  const list = await client.json<{ items: { metadata: { name: string; namespace: string }; data?: { value?: string } }[] }>('GET', '/api/v1/secrets');
  return new Map(list.items.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, Buffer.from(s.data?.value ?? '', 'base64').toString()]));
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `coffer <args>`; resolves with the exit code, never rejects on a non-zero one. */
export function coffer(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [COFFER_BIN, ...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Starts `coffer kms-plugin` with a local KEK file; resolves with its socket endpoint and health URL. */
export async function startLocalKmsPlugin(dir: string, kekFile: string): Promise<{ child: CofferChild; endpoint: string; health: string }> {
  const config = join(dir, 'kms-plugin.yaml');
  await writeFile(config, `endpoint: unix://${join(dir, 'kms.sock')}\nhealthListen: 127.0.0.1:0\nstatusCacheTtl: 500ms\nbackend:\n  type: local\n  keyFiles: [${kekFile}]\n`);
  const { child, match } = await startCoffer(['kms-plugin', '--config', config], /coffer kms-plugin ready endpoint=(\S+) health=(\S+)/, 'coffer kms-plugin');
  return { child, endpoint: match[1]!, health: match[2]! };
}

