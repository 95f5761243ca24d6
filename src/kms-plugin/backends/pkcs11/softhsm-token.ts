// Test helper: SoftHSM tokens in a temporary directory, with their own softhsm2.conf.
//
// SoftHSM reads SOFTHSM2_CONF and scans its token directory in C_Initialize, which a process runs once per library
// (pkcs11-module.ts). So one process uses one SoftHSM directory: create every token a test file needs with one call,
// before the first key manager of the process, and point SOFTHSM2_CONF at it (`useSoftHsm` does). node --test runs
// each test file in its own process, which is what keeps test files apart.
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const MODULE_PATHS = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
];

export interface SoftHsmToken {
  tokenLabel: string;
  /** File holding the user PIN (mode 0600). */
  pinFile: string;
}

export interface SoftHsm {
  /** The PKCS#11 library, for the backend's `module` field and `pkcs11-tool --module`. */
  modulePath: string;
  confPath: string;
  /** Environment for child processes (softhsm2-util, pkcs11-tool) that must see these tokens. */
  env: NodeJS.ProcessEnv;
  tokens: SoftHsmToken[];
  cleanup(): Promise<void>;
}

function findModule(): string {
  const found = MODULE_PATHS.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `SoftHSM's PKCS#11 library is missing (looked in ${MODULE_PATHS.join(', ')}); ` +
        'install the Debian package softhsm2: apt-get install -y softhsm2 opensc',
    );
  }
  return found;
}

const digits = (n: number): string => Array.from({ length: n }, () => randomInt(10)).join('');

/** Creates one initialised token per label (user PIN random, in its pin file) under a fresh temporary directory. */
export async function createSoftHsm(labels: readonly string[]): Promise<SoftHsm> {
  const modulePath = findModule();
  const dir = await mkdtemp(join(tmpdir(), 'coffer-softhsm-'));
  try {
    const tokenDir = join(dir, 'tokens');
    await mkdir(tokenDir, { mode: 0o700 });
    const confPath = join(dir, 'softhsm2.conf');
    await writeFile(confPath, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    const env = { ...process.env, SOFTHSM2_CONF: confPath };
    const tokens: SoftHsmToken[] = [];
    for (const [i, tokenLabel] of labels.entries()) {
      const pin = digits(8);
      const pinFile = join(dir, `pin-${i}`);
      await writeFile(pinFile, `${pin}\n`, { mode: 0o600 });
      await chmod(pinFile, 0o600);
      const args = ['--init-token', '--free', '--label', tokenLabel, '--so-pin', digits(8), '--pin', pin];
      await run('softhsm2-util', args, { env }).catch((e: NodeJS.ErrnoException & { stderr?: string }) => {
        const why = e.code === 'ENOENT' ? 'softhsm2-util not found (Debian package softhsm2)' : (e.stderr ?? e.message);
        throw new Error(`cannot create SoftHSM token ${JSON.stringify(tokenLabel)}: ${why}`, { cause: e });
      });
      tokens.push({ tokenLabel, pinFile });
    }
    return { modulePath, confPath, env, tokens, cleanup: () => rm(dir, { recursive: true, force: true }) };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** `createSoftHsm`, then SOFTHSM2_CONF of this process pointed at it: call before the first PKCS#11 use. */
export async function useSoftHsm(labels: readonly string[]): Promise<SoftHsm> {
  const hsm = await createSoftHsm(labels);
  process.env.SOFTHSM2_CONF = hsm.confPath;
  return hsm;
}
