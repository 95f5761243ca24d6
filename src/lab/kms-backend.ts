// The KMS side of the kms row: a KMS v2 plugin on a unix socket and the key server behind it.
//
// The real row: `coffer keyserver` (its own process; data directory, root key and root token in `serverDir`, the key
// server's machine) with a Transit KEK, and `coffer kms-plugin` (its own process; configuration in `nodeEtc`, on the
// node's disk, as the disk column defines; socket in `runDir`), provisioned as `coffer up` does (src/stack/kms-stack.ts): the
// plugin's key-server token is minted for this start and handed over response-wrapped on its stdin, so the node's
// disk holds no credential. With `tokenOnDisk` the token is kept in a file beside the config instead, as earlier
// versions of `coffer up` did - the variant that shows what that costs. The kms-server take-over is keyserver-process.ts's: full control of the key
// server's machine (transit/decrypt on the EDEKs, and whatever KV secrets it holds).
//
// PLACEHOLDER fallback (LAB_KMS=placeholder, or when the key server cannot start): src/kms/testing/base64-kms-plugin.ts,
// whose "KEK" is base64 - it exercises the API server's KMS code paths but protects nothing; the report says so.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { startAwsLabKms, type AwsKmsCredentials } from './aws-kms-backend.js';
import { stopChild } from './cleanup.js';
import { startLabKeyserver, spawnCoffer } from './keyserver-process.js';
import { emptyLoot, type Loot } from './loot.js';

// Compiled (dist/) it is a .js file beside this one; from the sources a .ts file that needs tsx.
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const PLUGIN_MAIN = fileURLToPath(new URL(`./placeholder-kms-plugin-main.${FROM_SOURCES ? 'ts' : 'js'}`, import.meta.url));

export interface LabKms {
  /** `unix:///.../kms.sock` */
  endpoint: string;
  describe: string;
  placeholder: boolean;
  /** With callerAuth: what the plugin requires of its callers, for `coffer up --kms-caller-auth` on its stdin. */
  callerSecret?: string;
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
  const child = spawn(process.execPath, [...(FROM_SOURCES ? ['--import', import.meta.resolve('tsx')] : []), PLUGIN_MAIN, runDir], { stdio: ['ignore', 'pipe', 'pipe'] });
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

interface LabKmsOptions {
  onChild?: (c: ChildProcess) => void;
  /** Keep the plugin's token in a file on the node's disk (the pre-wrapping layout). */
  tokenOnDisk?: boolean;
  /** The plugin requires a caller secret (handed over on its stdin before the wrapping token; kept in memory here). */
  callerAuth?: boolean;
  /** The aws-kms backend (against the AWS test double) with these node credentials, instead of the key server. */
  awsKms?: AwsKmsCredentials;
}

export async function startLabKms(dirs: LabKmsDirs, opts: LabKmsOptions = {}): Promise<LabKms> {
  if (opts.awsKms) return startAwsLabKms(dirs, opts.awsKms, opts);
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

async function startRealKms(dirs: LabKmsDirs, opts: LabKmsOptions): Promise<LabKms> {
  const { provisionKeyserver, issuePluginCredential, writePluginTokenFileUnsafe, KEK_NAME } = await import('../stack/kms-stack.js');
  const ks = await startLabKeyserver(dirs.serverDir, opts);
  const url = ks.url;
  const pluginDir = join(dirs.nodeEtc, 'kms-plugin');
  await mkdir(pluginDir, { recursive: true, mode: 0o700 });
  await provisionKeyserver(url, ks.rootTokenFile, pino({ level: 'silent' }));
  const endpoint = `unix://${join(dirs.runDir, 'kms.sock')}`;
  const config = join(pluginDir, 'config.yaml');
  const tokenFile = join(pluginDir, 'vault-token');
  let auth = '    type: wrapped-token\n';
  let stdin: Buffer | undefined;
  // As coffer up's supervisor does: minted for this start, kept in this process's memory, sent on the pipes only.
  const callerSecret = opts.callerAuth ? randomBytes(32).toString('base64url') : undefined;
  if (opts.tokenOnDisk) {
    await writePluginTokenFileUnsafe(url, ks.rootTokenFile, tokenFile);
    auth = `    type: token\n    tokenFile: ${tokenFile}\n`;
    if (callerSecret) stdin = Buffer.from(`${callerSecret}\n`);
  } else {
    stdin = Buffer.from(`${callerSecret ? `${callerSecret}\n` : ''}${(await issuePluginCredential(url, ks.rootTokenFile)).wrappingToken}\n`);
  }
  await writeFile(
    config,
    `endpoint: ${endpoint}\nhealthListen: 127.0.0.1:0\n${callerSecret ? 'callerSecret: stdin\n' : ''}backend:\n  type: vault-transit\n  address: ${url}\n  key: ${KEK_NAME}\n  auth:\n${auth}`,
    { mode: 0o600 },
  );
  const plugin = await spawnCoffer(['kms-plugin', '--config', config, '--log-level', 'warn'], /coffer kms-plugin ready endpoint=(\S+)/, opts.onChild, 'stdout', stdin);
  stdin?.fill(0);
  return {
    endpoint: plugin.match[1]!,
    describe: `coffer kms-plugin (vault-transit backend, ${opts.tokenOnDisk ? 'token in a file on the node disk' : 'token handed over wrapped on stdin'}${callerSecret ? ', Encrypt/Decrypt only for callers with the caller secret' : ''}) -> coffer keyserver (Transit KEK)`,
    placeholder: false,
    ...(callerSecret ? { callerSecret } : {}),
    takeOver: (signal) => ks.takeOver(signal),
    async stop() {
      await stopChild(plugin.child);
      await ks.stop();
    },
  };
}
