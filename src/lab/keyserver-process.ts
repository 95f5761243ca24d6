// The seed's KMS server as the lab runs it: `coffer keyserver` as its own process, its data directory, root key and
// root token in the key server's own machine directory (`<base>/kms-server/`, not the node's disk). The kms row puts
// its Transit KEK there, the External Secrets row its KV v2 secrets.
//
// The kms-server column's take-over is what full control of that machine yields, found without knowing what the
// deployment keeps there: the attacker starts its own key server on a copy of the data directory with the root key,
// mints itself a root token, and then (1) offers transit/decrypt under every transit key as an oracle for EDEKs and
// (2) reads every KV v2 secret it can list (the values are sealed by the barrier key that the root key opens).
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VaultHttpClient } from '../lib/vault/vault-http-client.js';
import { stopChild } from './cleanup.js';
import { START_TIMEOUT_MS } from './coffer-process.js';
import { emptyLoot, type Loot } from './loot.js';

const COFFER_BIN = fileURLToPath(new URL('../../bin/coffer.js', import.meta.url));
/** Where `coffer keyserver` mounts KV version 2. */
export const KV_MOUNT = 'secret';
/** How long one call to a key server may take. */
const VAULT_CALL_TIMEOUT_MS = 30_000;
/** KV paths walked at most by a take-over (the lab writes a handful). */
const KV_WALK_LIMIT = 1_000;

/** Spawns `coffer <args>` and resolves with the match of its ready line on `stream`. */
export async function spawnCoffer(
  args: string[],
  ready: RegExp,
  onChild?: (c: ChildProcess) => void,
  stream: 'stdout' | 'stderr' = 'stdout',
  /** Bytes for the child's stdin (a wrapping token, as `coffer up` hands the plugin); the pipe stays open. */
  stdin?: Uint8Array,
  /** Added to the child's environment. */
  env?: Record<string, string>,
): Promise<{ child: ChildProcess; match: RegExpExecArray; errTail: () => string }> {
  const child = spawn(process.execPath, [COFFER_BIN, ...args], { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], ...(env ? { env: { ...process.env, ...env } } : {}) });
  onChild?.(child);
  if (stdin) {
    child.stdin!.on('error', () => undefined);
    child.stdin!.write(stdin);
  }
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-2000)));
  // Drain stdout too: a child blocked on a full pipe would stall.
  if (stream === 'stderr') child.stdout!.resume();
  try {
    const match = await new Promise<RegExpExecArray>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`coffer ${args[0]} did not start within ${START_TIMEOUT_MS} ms: ${err}`)), START_TIMEOUT_MS);
      child[stream]!.on('data', (c: Buffer) => {
        out = (out + c.toString()).slice(-8000);
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
    return { child, match, errTail: () => err };
  } catch (e) {
    await stopChild(child, 1000);
    throw e;
  }
}

export interface VaultResult {
  status: number;
  json: Record<string, unknown> | undefined;
  /** The response body as received (for the judge to search); the caller wipes it. */
  body: Buffer;
}

/** One Vault HTTP API call (the key server speaks Vault's API). */
export async function vaultCall(url: string, token: string, method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<VaultResult> {
  const res = await new VaultHttpClient({ address: url, timeoutMs: VAULT_CALL_TIMEOUT_MS }).request(method, path, { token, body, keepRaw: true, ...(signal ? { signal } : {}) });
  return { status: res.status, json: res.body, body: res.raw ?? Buffer.alloc(0) };
}

/** Like vaultCall, but a non-2xx answer is an error naming the method, path and status (never a body sent). */
export async function vaultMust(url: string, token: string, method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<VaultResult> {
  const r = await vaultCall(url, token, method, path, body, signal);
  if (r.status < 200 || r.status > 299) {
    const errors = (r.json?.errors as unknown[] | undefined)?.filter((e) => typeof e === 'string').join('; ') ?? '';
    throw new Error(`key server: ${method} /v1/${path} answered ${r.status}${errors ? `: ${errors.slice(0, 200)}` : ''}`);
  }
  return r;
}

export interface LabKeyserver {
  url: string;
  dataDir: string;
  rootKeyFile: string;
  rootTokenFile: string;
  pid: number;
  rootToken(): Promise<string>;
  /** Full control of the key server's machine: what it yields (kms-server column). */
  takeOver(signal: AbortSignal): Promise<Loot>;
  stop(): Promise<void>;
}

/** Every KV v2 key under `prefix` ('' for the whole mount), depth first, as LIST on metadata/ returns them. */
async function walkKv(url: string, token: string, signal: AbortSignal, prefix = '', out: string[] = []): Promise<string[]> {
  if (out.length >= KV_WALK_LIMIT) return out;
  const r = await vaultCall(url, token, 'LIST', `${KV_MOUNT}/metadata/${prefix}`, undefined, signal);
  r.body.fill(0);
  const keys = ((r.json?.data as { keys?: unknown[] } | undefined)?.keys ?? []).filter((k): k is string => typeof k === 'string');
  for (const k of keys) {
    if (k.endsWith('/')) await walkKv(url, token, signal, `${prefix}${k}`, out);
    else out.push(`${prefix}${k}`);
  }
  return out;
}

/** Starts `coffer keyserver` on `serverDir` (created with --init: root key and root token there). */
export async function startLabKeyserver(serverDir: string, opts: { onChild?: (c: ChildProcess) => void } = {}): Promise<LabKeyserver> {
  const dataDir = join(serverDir, 'data');
  const rootKeyFile = join(serverDir, 'root.key');
  const rootTokenFile = join(serverDir, 'root.token');
  const ks = await spawnCoffer(
    ['keyserver', '--data-dir', dataDir, '--root-key-file', rootKeyFile, '--init', '--root-token-file', rootTokenFile, '--listen', '127.0.0.1:0', '--log-level', 'warn'],
    /keyserver listening on (\S+)/,
    opts.onChild,
  );
  const url = ks.match[1]!;
  return {
    url,
    dataDir,
    rootKeyFile,
    rootTokenFile,
    pid: ks.child.pid!,
    rootToken: async () => (await readFile(rootTokenFile, 'utf8')).trim(),
    async takeOver(signal) {
      const loot = emptyLoot();
      // Full control: the key server's data directory and root key, on the attacker's own copy of the key server.
      const copy = join(serverDir, `takeover-${Date.now()}`);
      await cp(dataDir, copy, { recursive: true });
      const ownToken = join(copy, 'attacker-root.token');
      const own = await spawnCoffer(
        ['keyserver', '--data-dir', copy, '--root-key-file', rootKeyFile, '--new-root-token', '--root-token-file', ownToken, '--listen', '127.0.0.1:0', '--log-level', 'error'],
        /keyserver listening on (\S+)/,
        opts.onChild,
      );
      const ownUrl = own.match[1]!;
      const token = (await readFile(ownToken, 'utf8')).trim();

      // (1) Transit: every key's decrypt, as an oracle for the EDEKs the judge holds.
      const listed = await vaultCall(ownUrl, token, 'LIST', 'transit/keys', undefined, signal);
      const keys = ((listed.json?.data as { keys?: string[] } | undefined)?.keys ?? []).filter((k) => typeof k === 'string');
      loot.notes.push(`own key server started on a copy of the key server's data directory with its root key; root token minted; transit keys: ${keys.length}`);
      if (keys.length > 0) {
        loot.oracles.push({
          name: `transit/decrypt on the attacker's copy of the key server (${keys.length} transit key(s))`,
          async unwrap(o) {
            const ciphertext = Buffer.from(o.encryptedDekSource).toString('latin1');
            for (const k of keys) {
              const r = await vaultCall(ownUrl, token, 'PUT', `transit/decrypt/${k}`, { ciphertext }, signal).catch(() => undefined);
              const plain = (r?.json?.data as { plaintext?: string } | undefined)?.plaintext;
              r?.body.fill(0);
              if (r?.status === 200 && plain) return Buffer.from(plain, 'base64');
            }
            return undefined;
          },
        });
      }

      // (2) KV v2: every secret the mount holds, read with the minted root token.
      const kvKeys = await walkKv(ownUrl, token, signal);
      for (const k of kvKeys) {
        const r = await vaultCall(ownUrl, token, 'GET', `${KV_MOUNT}/data/${k}`, undefined, signal);
        if (r.status === 200) loot.blobs.push({ label: `kms-server: GET /v1/${KV_MOUNT}/data/${k} on the attacker's copy of the key server (root token minted with the root key)`, bytes: r.body });
        else r.body.fill(0);
      }
      loot.notes.push(`KV v2 mount ${KV_MOUNT}/: ${kvKeys.length} secret(s) listed and read on the copy`);
      if (keys.length > 0) loot.notes.push('the copy keeps running until the deployment is torn down (its oracle is used by combinations)');
      return loot;
    },
    stop: () => stopChild(ks.child),
  };
}
