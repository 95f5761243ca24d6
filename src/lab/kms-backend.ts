// The KMS side of the kms row: a KMS v2 plugin on a unix socket and the key server behind it.
//
// The real row: `coffer keyserver` (its own process; data directory, root key and root token in `serverDir`, the key
// server's machine) with a Transit KEK, and `coffer kms-plugin` (its own process; configuration in `nodeEtc`, on the
// node's disk, as the disk column defines; socket in `runDir`), provisioned as `coffer up` does (src/stack/kms-stack.ts): the
// plugin's key-server token is minted for this start and handed over response-wrapped on its stdin, so the node's
// disk holds no credential. With `tokenOnDisk` the token is kept in a file beside the config instead, as earlier
// versions of `coffer up` did - the variant that shows what that costs. The kms-server take-over is keyserver-process.ts's: full control of the key
// server's machine (transit/decrypt on the EDEKs, and whatever KV secrets it holds).
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { startAwsLabKms, type AwsKmsCredentials } from './aws-kms-backend.js';
import { stopChild } from './cleanup.js';
import { startLabKeyserver, spawnCoffer } from './keyserver-process.js';
import type { Loot } from './loot.js';

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
  return startRealKms(dirs, opts);
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
