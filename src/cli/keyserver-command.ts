// `coffer keyserver`: the key server (a subset of HashiCorp Vault's HTTP API: Transit, KV v2, token and AppRole auth)
// as its own process. stdout gets one machine-readable line, `keyserver listening on <url>`, so a parent process
// (tests, `coffer up`) can start it on port 0 and learn the address; logs (JSON) go to stderr. The root token goes
// only to --root-token-file (mode 0600).
import type { Command } from 'commander';
import { access, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { InvalidError } from '../lib/errors.js';
import { writePrivateFile } from '../lib/private-file.js';
import { DEFAULT_LISTEN, startKeyserver, type RunningKeyserver } from '../keyserver/keyserver.js';
import { isLoopback, parseListenAddress } from '../keyserver/listen-address.js';
import { loadRootKey } from '../keyserver/root-key.js';
import { STORAGE_FILE_NAME } from '../keyserver/sealed-storage.js';
import { createCommandLogger, resolveLogFormat } from '../lib/log-format.js';
import { serveUntilSignal } from './serve-until-signal.js';

export interface KeyserverCommandOptions {
  dataDir: string;
  rootKeyFile?: string;
  passphraseFile?: string;
  init?: boolean;
  listen: string;
  tlsCert?: string;
  tlsKey?: string;
  rootTokenFile?: string;
  newRootToken?: boolean;
  readyFile?: string;
  auditLog?: string;
  logLevel?: string;
  logFormat?: string;
}

/** Starts the key server as the command does; the caller owns signals and exit. */
export async function runKeyserver(o: KeyserverCommandOptions, log: Logger): Promise<RunningKeyserver> {
  const dataDir = resolve(o.dataDir);
  if (!o.rootKeyFile && !o.passphraseFile) throw new InvalidError('give --root-key-file or --passphrase-file (kept outside --data-dir)');
  if (o.rootKeyFile && o.passphraseFile) throw new InvalidError('give only one of --root-key-file and --passphrase-file');
  if (Boolean(o.tlsCert) !== Boolean(o.tlsKey)) throw new InvalidError('--tls-cert and --tls-key go together');
  // Checked before anything is created: a refused address must not leave a fresh key file behind.
  const { host } = parseListenAddress(o.listen);
  if (!o.tlsCert && !isLoopback(host)) {
    throw new InvalidError(`${host} is not a loopback address; serving tokens and secrets there needs TLS (--tls-cert and --tls-key)`, { field: 'listen' });
  }
  const fresh = !(await access(join(dataDir, STORAGE_FILE_NAME)).then(() => true, () => false));
  // A new storage mints the only root token there will be; without a file to put it in, it would be lost.
  if ((fresh || o.newRootToken) && !o.rootTokenFile) {
    throw new InvalidError(fresh ? `${dataDir} holds no key server yet: give --root-token-file to receive the root token` : '--new-root-token needs --root-token-file');
  }
  const rootKey = await loadRootKey(dataDir, {
    ...(o.rootKeyFile ? { keyFile: o.rootKeyFile } : {}),
    ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}),
    init: Boolean(o.init),
  });
  try {
    const tls = o.tlsCert && o.tlsKey ? { cert: await readFile(resolve(o.tlsCert)), key: await readFile(resolve(o.tlsKey)) } : undefined;
    const ks = await startKeyserver({
      dataDir,
      rootKey,
      listen: o.listen,
      ...(tls ? { tls } : {}),
      ...(o.auditLog ? { auditLogPath: resolve(o.auditLog) } : {}),
      ...(o.rootTokenFile ? { rootTokenFile: resolve(o.rootTokenFile) } : {}),
      mintRootToken: Boolean(o.newRootToken),
      logger: log,
    });
    if (o.readyFile) await writePrivateFile(resolve(o.readyFile), `${JSON.stringify({ url: ks.url, pid: process.pid })}\n`);
    return ks;
  } finally {
    rootKey.fill(0);
  }
}

export function registerKeyserverCommand(program: Command): void {
  program
    .command('keyserver')
    .description('run the key server: a subset of the HashiCorp Vault HTTP API (transit/, secret/ KV v2, token and AppRole auth)')
    .option('--data-dir <dir>', 'where the sealed storage and audit log live', '.coffer-keyserver')
    .option('--root-key-file <file>', 'the 32-byte root key that seals the storage (outside --data-dir)')
    .option('--passphrase-file <file>', 'derive the root key from this passphrase with scrypt instead (outside --data-dir)')
    .option('--init', 'create the root key file (or the passphrase salt) if absent')
    .option('--listen <host:port>', 'address to serve on; port 0 picks a free port', DEFAULT_LISTEN)
    .option('--tls-cert <file>', 'PEM certificate chain (needed to listen on a non-loopback address)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--root-token-file <file>', 'where a newly minted root token is written (mode 0600); required on first start')
    .option('--new-root-token', 'mint another root token into --root-token-file although the storage exists')
    .option('--ready-file <file>', 'write {"url","pid"} here once listening')
    .option('--audit-log <file>', 'audit log, JSON lines (default: <data-dir>/audit.log)')
    .option('--log-level <level>', 'trace | debug | info | warn | error', 'info')
    .option('--log-format <format>', 'json | text (default: text on a terminal, json otherwise)')
    .action(async (o: KeyserverCommandOptions) => {
      const log = createCommandLogger({ component: 'coffer-keyserver', level: o.logLevel ?? 'info', format: resolveLogFormat(o.logFormat) });
      await serveUntilSignal(log, () => runKeyserver(o, log), (ks) => process.stdout.write(`keyserver listening on ${ks.url}\n`));
    });
}
