// `coffer rotate`: key rotation of an EncryptionConfiguration file, stage by stage (docs/operations.md).
import type { Command } from 'commander';
import { InvalidError } from '../lib/errors.js';
import { LOCAL_TYPES, type LocalType } from '../operations/config-file-edit.js';
import { addSourceOptions, type SourceFlags } from '../operations/open-source.js';
import { rotateKmsV2 } from '../operations/rotate-kms.js';
import { rotatePrepare, rotatePromote, rotatePrune, rotateReencrypt, rotationStatus, type RotateContext } from '../operations/rotate.js';
import { positiveNumber } from './reencrypt-command.js';

interface CommonFlags {
  encryptionConfig: string;
  kubeconfig?: string[];
  reloadInterval: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const log = (line: string) => process.stderr.write(`${line}\n`);

function context(o: CommonFlags): RotateContext {
  return {
    encryptionConfig: o.encryptionConfig,
    kubeconfigs: o.kubeconfig ?? [],
    reloadIntervalMs: positiveNumber(o.reloadInterval, '--reload-interval') * 1000,
    log,
  };
}

function common(cmd: Command): Command {
  return cmd
    .requiredOption('--encryption-config <file>', 'the EncryptionConfiguration file the API servers load (edited in place)')
    .option('--kubeconfig <file>', 'an API server that loads the file (repeat for each)', collect)
    .option('--reload-interval <seconds>', 'how long a server without the config-hash metric may take to reload the file', '60');
}

export function registerRotateCommand(program: Command): void {
  const rotate = program.command('rotate').description('rotate encryption keys: prepare -> promote -> reencrypt -> prune (docs/operations.md)');
  common(rotate.command('prepare'))
    .description('add a new key second (every API server can read it; none writes with it yet)')
    .option('--provider <type>', 'aescbc | aesgcm | secretbox (default: the type of the key that writes now)')
    .option('--key-name <name>', 'name of the new key (default key-<UTC timestamp>)')
    .option('--resource <resource>', 'the rule to rotate: the one naming this resource', 'secrets')
    .action(async (o: CommonFlags & { provider?: string; keyName?: string; resource: string }) => {
      if (o.provider !== undefined && !(LOCAL_TYPES as readonly string[]).includes(o.provider)) {
        throw new InvalidError(`must be aescbc, aesgcm or secretbox, got ${JSON.stringify(o.provider)}`, { field: '--provider' });
      }
      await rotatePrepare(context(o), { resource: o.resource, ...(o.provider ? { type: o.provider as LocalType } : {}), ...(o.keyName ? { keyName: o.keyName } : {}) });
    });
  common(rotate.command('promote'))
    .description('make the new key the one that writes, once every API server has loaded the prepared file')
    .action(async (o: CommonFlags) => {
      await rotatePromote(context(o));
    });
  addSourceOptions(common(rotate.command('reencrypt')))
    .description('rewrite every object (only the stale ones when a source is given) through the API server, then verify')
    .option('--qps <n>', 'objects per second', '50')
    .option('--concurrency <n>', 'objects in flight', '4')
    .action(async (o: CommonFlags & SourceFlags & { qps: string; concurrency: string }) => {
      await rotateReencrypt(context(o), { source: o, qps: positiveNumber(o.qps, '--qps'), concurrency: positiveNumber(o.concurrency, '--concurrency') });
    });
  addSourceOptions(common(rotate.command('prune')))
    .description('remove the old key, once the source holds no object under it')
    .action(async (o: CommonFlags & SourceFlags) => {
      await rotatePrune(context(o), { source: o });
    });
  rotate
    .command('status')
    .description('the stage of the rotation and the next step')
    .requiredOption('--encryption-config <file>', 'the EncryptionConfiguration file')
    .action(async (o: { encryptionConfig: string }) => {
      const s = await rotationStatus(o.encryptionConfig);
      const key = (k?: { type: string; name: string }) => (k ? `${k.type}/${k.name}` : '-');
      process.stdout.write(
        `stage: ${s.stage}\nwrites: ${key(s.writes)}\n` +
          (s.state ? `rotation: ${key(s.state.from)} -> ${key(s.state.to)}\n` : '') +
          `next: ${s.next}\n` +
          (s.kms ? `kms-v2 rotation: ${s.kms.stage}${s.kms.latestVersion ? ` (transit key version ${s.kms.latestVersion})` : ''}\nkms-v2 next: ${s.kms.next}\n` : ''),
      );
    });
  addSourceOptions(rotate.command('kms-v2'))
    .description('rotate the KEK behind a KMS v2 provider, re-encrypt the stale, then raise min_decryption_version')
    .requiredOption('--encryption-config <file>', "the API server's EncryptionConfiguration (its KMS v2 plugin socket)")
    .requiredOption('--kubeconfig <file>', 'the API server to rewrite through')
    .option('--resource <resource>', 'the resource to re-encrypt', 'secrets')
    .option('--backend <kind>', 'keyserver (Transit rotate + min_decryption_version) | none (the KEK was rotated already, e.g. coffer rotate-kek)', 'keyserver')
    .option('--vault-addr <url>', 'the key server (or Vault) address')
    .option('--vault-token-file <file>', 'a token allowed to rotate and configure the Transit key')
    .option('--transit-key <name>', 'the Transit key that wraps the DEK seeds', 'coffer-kek')
    .option('--wait <seconds>', "how long the plugin and the API server may take to notice the new key (the API server's KMS v2 Status period)", '180')
    .option('--again', 'start another rotation after a finished one')
    .option('--qps <n>', 'objects per second', '50')
    .option('--concurrency <n>', 'objects in flight', '4')
    .action(async (o: SourceFlags & { encryptionConfig: string; kubeconfig: string; resource: string; backend: string; vaultAddr?: string; vaultTokenFile?: string; transitKey: string; wait: string; again?: boolean; qps: string; concurrency: string }) => {
      if (o.backend !== 'keyserver' && o.backend !== 'none') throw new InvalidError(`must be keyserver or none, got ${JSON.stringify(o.backend)}`, { field: '--backend' });
      const state = await rotateKmsV2({
        encryptionConfig: o.encryptionConfig, kubeconfig: o.kubeconfig, source: o, resource: o.resource, backend: o.backend,
        ...(o.vaultAddr ? { vaultAddr: o.vaultAddr } : {}), ...(o.vaultTokenFile ? { vaultTokenFile: o.vaultTokenFile } : {}),
        transitKey: o.transitKey, qps: positiveNumber(o.qps, '--qps'), concurrency: positiveNumber(o.concurrency, '--concurrency'),
        waitMs: positiveNumber(o.wait, '--wait') * 1000, again: o.again === true, log,
      });
      process.stdout.write(`kms-v2 rotation: ${state.stage}\n`);
    });
}
