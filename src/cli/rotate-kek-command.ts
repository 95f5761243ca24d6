// `coffer rotate-kek --config FILE`: makes the next version of the KEK that a `coffer kms-plugin` configuration uses,
// where Coffer owns the key (PKCS#11 tokens). Vault and the key server rotate their own keys through their API.
import type { Command } from 'commander';
import pino from 'pino';
import { InvalidError } from '../lib/errors.js';
import { rotatePkcs11Key } from '../kms-plugin/backends/pkcs11/pkcs11-key-manager.js';
import { loadKmsPluginConfig, type BackendConfig, type Pkcs11BackendConfig } from '../kms-plugin/plugin-config.js';

/** Every pkcs11 backend of the configuration (a multi backend may have several), with where each sits. */
function pkcs11Backends(b: BackendConfig): Pkcs11BackendConfig[] {
  if (b.type === 'pkcs11') return [b];
  if (b.type === 'multi') return b.members.flatMap((m) => pkcs11Backends(m.backend));
  return [];
}

function howToRotate(b: BackendConfig): string {
  if (b.type === 'vault-transit') return `rotate it in Vault or coffer keyserver: POST ${b.address}/v1/${b.transitMount}/keys/${b.key}/rotate`;
  if (b.type === 'local') return 'add a new key file first in backend.keyFiles and restart the plugin';
  return 'rotate each member where its key lives';
}

export function registerRotateKekCommand(program: Command): void {
  program
    .command('rotate-kek')
    .description("create the next version of a kms-plugin configuration's PKCS#11 KEK (running plugins pick it up at their next Status)")
    .requiredOption('--config <file>', 'the coffer kms-plugin configuration')
    .action(async (o: { config: string }) => {
      const config = await loadKmsPluginConfig(o.config);
      const targets = pkcs11Backends(config.backend);
      if (targets.length === 0) {
        throw new InvalidError(`backend.type ${config.backend.type} has no key Coffer can rotate: ${howToRotate(config.backend)}`, { field: 'backend' });
      }
      const logger = pino({ level: 'info', base: { component: 'coffer-rotate-kek' } }, pino.destination({ fd: 2, sync: true }));
      for (const t of targets) {
        const { label } = await rotatePkcs11Key(t.settings, { field: t.field, baseDir: t.baseDir, logger });
        process.stdout.write(`${t.field}: created KEK version ${label}\n`);
      }
    });
}
