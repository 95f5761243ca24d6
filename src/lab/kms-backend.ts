// The KMS side of the kms row: a KMS v2 plugin on a unix socket and the key server behind it.
//
// The real row: `coffer keyserver` (its own process; data directory, root key and root token in `serverDir`, the key
// server's machine) with a Transit KEK, and `coffer kms-plugin` (its own process; configuration and key-server token in
// `nodeEtc`, on the node's disk, as the disk column defines; socket in `runDir`), provisioned as `coffer up` does
// (cli/kms-stack.ts provisionKeyserver). The kms-server take-over is what full control yields: the attacker starts
// its own key server on a copy of the data directory with the root key, mints itself a root token, and calls
// transit/decrypt on the EDEKs.
//
// PLACEHOLDER fallback (LAB_KMS=placeholder, or when the key server cannot start): src/kms/testing/base64-kms-plugin.ts,
// whose "KEK" is base64 - it exercises the API server's KMS code paths but protects nothing; the report says so.
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { stopChild } from './cleanup.js';
import { emptyLoot, type Loot } from './loot.js';

const PLUGIN_MAIN = fileURLToPath(new URL('./placeholder-kms-plugin-main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export interface LabKms {
  /** `unix:///.../kms.sock` */
  endpoint: string;
  describe: string;
  placeholder: boolean;
  /** Full control of the key server: what it yields (kms-server column). */
  takeOver(signal: AbortSignal): Promise<Loot>;
  stop(): Promise<void>;
}

export interface LabKmsDirs {
  /** Where the plugin's socket goes (not on the node disk: /run is a tmpfs). */
  runDir: string;
  /** The node's configuration directory (plugin config and credentials belong here). */
  nodeEtc: string;
  /** The key server's own machine. */
  serverDir: string;
}

/** The placeholder plugin as its own process; resolves with its endpoint once it serves. */
async function spawnPlaceholderPlugin(runDir: string, onChild?: (c: ChildProcess) => void): Promise<{ endpoint: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', TSX, PLUGIN_MAIN, runDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  onChild?.(child);
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-2000)));
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^ready (\S+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`placeholder KMS plugin exited with ${code}: ${err}`)));
    child.once('error', reject);
  });
  return { endpoint, child };
}

export async function startLabKms(dirs: LabKmsDirs, opts: { onChild?: (c: ChildProcess) => void } = {}): Promise<LabKms> {
  if (process.env.LAB_KMS !== 'placeholder') return startRealKms(dirs, opts);
  return startPlaceholderKms(dirs, opts);
}

async function startPlaceholderKms(dirs: LabKmsDirs, opts: { onChild?: (c: ChildProcess) => void } = {}): Promise<LabKms> {
  const plugin = await spawnPlaceholderPlugin(dirs.runDir, opts.onChild);
  return {
    endpoint: plugin.endpoint,
    describe: 'PLACEHOLDER base64 test plugin (src/kms/testing/base64-kms-plugin.ts), not a KMS: its KEK is base64',
    placeholder: true,
    async takeOver() {
      const loot = emptyLoot();
      // Full control of this "KMS" is knowing that it base64-encodes: that unwraps every EDEK.
      loot.oracles.push({
        name: 'the placeholder KMS server (base64 unwrap)',
        async unwrap(o) {
          const text = Buffer.from(o.encryptedDekSource).toString('latin1');
          const plain = Buffer.from(text, 'base64');
          return plain.toString('base64') === text ? plain : undefined;
        },
      });
      loot.notes.push('placeholder KMS: its key is base64 encoding itself');
      return loot;
    },
    stop: () => stopChild(plugin.child),
  };
}

const COFFER_BIN = fileURLToPath(new URL('../../bin/coffer.js', import.meta.url));

/** Spawns `coffer <args>` and resolves with the match of its ready line on stdout. */
async function spawnCoffer(args: string[], ready: RegExp, onChild?: (c: ChildProcess) => void): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, [COFFER_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  onChild?.(child);
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-2000)));
  try {
    const match = await new Promise<RegExpExecArray>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`coffer ${args[0]} did not start within 30 s: ${err}`)), 30_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = ready.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`coffer ${args[0]} exited with ${code}: ${err}`));
      });
      child.once('error', reject);
    });
    return { child, match };
  } catch (e) {
    await stopChild(child, 1000);
    throw e;
  }
}

async function vaultCall(url: string, token: string, method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<{ status: number; json: Record<string, unknown> | undefined }> {
  const res = await fetch(`${url}/v1/${path}`, {
    method,
    headers: { 'X-Vault-Token': token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
    ...(signal ? { signal } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

async function startRealKms(dirs: LabKmsDirs, opts: { onChild?: (c: ChildProcess) => void }): Promise<LabKms> {
  const { provisionKeyserver, KEK_NAME } = await import('../cli/kms-stack.js');
  const dataDir = join(dirs.serverDir, 'data');
  const rootKey = join(dirs.serverDir, 'root.key');
  const rootToken = join(dirs.serverDir, 'root.token');
  const ks = await spawnCoffer(
    ['keyserver', '--data-dir', dataDir, '--root-key-file', rootKey, '--init', '--root-token-file', rootToken, '--listen', '127.0.0.1:0', '--log-level', 'warn'],
    /keyserver listening on (\S+)/,
    opts.onChild,
  );
  const url = ks.match[1]!;
  const pluginDir = join(dirs.nodeEtc, 'kms-plugin');
  await mkdir(pluginDir, { recursive: true, mode: 0o700 });
  const tokenFile = join(pluginDir, 'vault-token');
  await provisionKeyserver(url, rootToken, tokenFile, pino({ level: 'silent' }));
  const endpoint = `unix://${join(dirs.runDir, 'kms.sock')}`;
  const config = join(pluginDir, 'config.yaml');
  await writeFile(
    config,
    `endpoint: ${endpoint}\nhealthListen: 127.0.0.1:0\nbackend:\n  type: vault-transit\n  address: ${url}\n  key: ${KEK_NAME}\n  auth:\n    type: token\n    tokenFile: ${tokenFile}\n`,
    { mode: 0o600 },
  );
  const plugin = await spawnCoffer(['kms-plugin', '--config', config, '--log-level', 'warn'], /coffer kms-plugin ready endpoint=(\S+)/, opts.onChild);
  return {
    endpoint: plugin.match[1]!,
    describe: 'coffer kms-plugin (vault-transit backend) -> coffer keyserver (Transit KEK)',
    placeholder: false,
    async takeOver(signal) {
      const loot = emptyLoot();
      // Full control: the key server's data directory and root key, on the attacker's own copy of the key server.
      const copy = join(dirs.serverDir, `takeover-${Date.now()}`);
      await cp(dataDir, copy, { recursive: true });
      const ownToken = join(copy, 'attacker-root.token');
      const own = await spawnCoffer(
        ['keyserver', '--data-dir', copy, '--root-key-file', rootKey, '--new-root-token', '--root-token-file', ownToken, '--listen', '127.0.0.1:0', '--log-level', 'error'],
        /keyserver listening on (\S+)/,
        opts.onChild,
      );
      const ownUrl = own.match[1]!;
      const token = (await readFile(ownToken, 'utf8')).trim();
      const listed = await vaultCall(ownUrl, token, 'LIST', 'transit/keys', undefined, signal);
      const keys = ((listed.json?.data as { keys?: string[] } | undefined)?.keys ?? []).filter((k) => typeof k === 'string');
      loot.notes.push(`own key server started on a copy of the key server's data directory with its root key; root token minted; transit keys: ${keys.length}`);
      // The KV store (ExternalSecret sources) and anything else sealed in the data directory is read by the same means.
      loot.oracles.push({
        name: `transit/decrypt on the attacker's copy of the key server (${keys.length} transit key(s))`,
        async unwrap(o) {
          const ciphertext = Buffer.from(o.encryptedDekSource).toString('latin1');
          for (const k of keys) {
            const r = await vaultCall(ownUrl, token, 'PUT', `transit/decrypt/${k}`, { ciphertext }, signal).catch(() => undefined);
            const plain = (r?.json?.data as { plaintext?: string } | undefined)?.plaintext;
            if (r?.status === 200 && plain) return Buffer.from(plain, 'base64');
          }
          return undefined;
        },
      });
      loot.notes.push('the copy keeps running until the deployment is torn down (its oracle is used by combinations)');
      return loot;
    },
    async stop() {
      await stopChild(plugin.child);
      await stopChild(ks.child);
    },
  };
}
