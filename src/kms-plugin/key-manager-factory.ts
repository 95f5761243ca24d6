// Builds the KeyManager a configuration names. PKCS#11 is loaded only when configured: its module pulls in a native
// binding that most installations never need, and it owns its own config schema.
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import { InvalidError } from '../lib/errors.js';
import { createLocalKeyManager } from './backends/local-key-manager.js';
import { MultiKeyManager } from './backends/multi-key-manager.js';
import { createVaultTransitKeyManager } from './backends/vault-transit-key-manager.js';
import type { KeyManager } from './key-manager.js';
import type { BackendConfig, Pkcs11BackendConfig } from './plugin-config.js';

export interface KeyManagerDeps {
  /** Already bound to the plugin's component; backends add their own fields. */
  logger: Logger;
  clock: Clock;
  /** Deadline for calls a backend makes on its own (token renewal, logins); request calls get the caller's signal. */
  timeoutMs?: number;
  /** Where a `wrapped-token` auth reads its wrapping token (default: process.stdin). */
  stdin?: Readable;
  /** A `wrapped-token` auth lost its token for good (default: exit 75, so the supervisor restarts with a fresh one). */
  onCredentialLost?: () => void;
}

/** What `backends/pkcs11/pkcs11-key-manager.ts` exports; it validates the mapping itself (pkcs11-config.ts). */
export interface Pkcs11Module {
  createPkcs11KeyManager(settings: unknown, deps: { field?: string; baseDir?: string; logger?: Logger }): Promise<KeyManager>;
}

// A specifier in a variable keeps TypeScript from resolving the module at build time, so this file compiles whether
// or not the PKCS#11 backend is present.
const PKCS11_MODULE = './backends/pkcs11/pkcs11-key-manager.js';

async function loadPkcs11(field: string): Promise<Pkcs11Module> {
  let mod: Partial<Pkcs11Module>;
  try {
    mod = (await import(PKCS11_MODULE)) as Partial<Pkcs11Module>;
  } catch (e) {
    throw new InvalidError(`backend type pkcs11 is not available in this build: ${(e as Error).message}`, { field: `${field}.type`, cause: e });
  }
  if (typeof mod.createPkcs11KeyManager !== 'function') {
    throw new InvalidError('backend type pkcs11 is not available in this build (module has no createPkcs11KeyManager)', { field: `${field}.type` });
  }
  return mod as Pkcs11Module;
}

async function createPkcs11(config: Pkcs11BackendConfig, deps: KeyManagerDeps): Promise<KeyManager> {
  const mod = await loadPkcs11(config.field);
  return mod.createPkcs11KeyManager(config.settings, { field: config.field, baseDir: config.baseDir, logger: deps.logger });
}

export async function createKeyManager(config: BackendConfig, deps: KeyManagerDeps): Promise<KeyManager> {
  switch (config.type) {
    case 'local':
      return createLocalKeyManager(config, deps);
    case 'vault-transit':
      return createVaultTransitKeyManager(config, deps);
    case 'pkcs11':
      return createPkcs11(config, deps);
    case 'aws-kms':
      // Loaded only when configured: the AWS SDK is large and most plugins never use it.
      return (await import('./backends/aws-kms-key-manager.js')).createAwsKmsKeyManager(config, deps);
    case 'multi': {
      const members: { name: string; keyManager: KeyManager }[] = [];
      try {
        for (const m of config.members) {
          members.push({ name: m.name, keyManager: await createKeyManager(m.backend, { ...deps, logger: deps.logger.child({ member: m.name }) }) });
        }
      } catch (e) {
        await Promise.allSettled(members.map((m) => m.keyManager.close()));
        throw e;
      }
      return new MultiKeyManager(members, { ...config, clock: deps.clock, logger: deps.logger });
    }
  }
}
