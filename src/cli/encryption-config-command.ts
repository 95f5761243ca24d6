// `coffer encryption-config validate FILE`: checks an EncryptionConfiguration the way kube-apiserver would, before a
// restart finds the problem. It prints what each resource resolves to (names, never key bytes) and the config hash
// that kube-apiserver's apiserver_encryption_config_controller_last_config_info metric reports.
import type { Command } from 'commander';
import {
  EncryptionConfigurationError,
  readEncryptionConfigurationFile,
  type ProviderConfig,
} from '../encryption/encryption-config.js';
import { formatGoDuration } from '../encryption/go-duration.js';

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function runValidate(file: string, opts?: { reload?: boolean }): Promise<CommandResult> {
  let config;
  try {
    config = await readEncryptionConfigurationFile(file, { reload: opts?.reload ?? false });
  } catch (e) {
    if (!(e instanceof EncryptionConfigurationError)) throw e;
    return { exitCode: 1, stdout: '', stderr: e.errors.map((err) => `${err.message}\n`).join('') };
  }
  const out: string[] = [];
  for (const [resource, providers] of config.providersByResource) {
    out.push(`resource ${JSON.stringify(resource)}:`);
    for (const provider of providers) out.push(`  - ${describeProvider(provider)}`);
  }
  out.push(`config hash: ${config.hash}`);
  return {
    exitCode: 0,
    stdout: out.map((line) => `${line}\n`).join(''),
    stderr: config.warnings.map((w) => `warning: ${w}\n`).join(''),
  };
}

function describeProvider(provider: ProviderConfig): string {
  switch (provider.type) {
    case 'identity':
      return 'identity';
    case 'kms': {
      const parts = [
        `name ${JSON.stringify(provider.name)}`,
        `endpoint ${JSON.stringify(provider.endpoint)}`,
        `timeout ${formatGoDuration(provider.timeoutMs * 1e6)}`,
      ];
      if (provider.cachesize !== undefined) parts.push(`cachesize ${provider.cachesize}`);
      if (provider.noDekCache) parts.push('no DEK cache');
      return `kms ${provider.apiVersion}: ${parts.join(', ')}`;
    }
    default:
      return `${provider.type}: keys ${provider.keys.map((k) => JSON.stringify(k.name)).join(', ')}`;
  }
}

/** `io` is for tests; the command writes to the process's stdout and stderr. */
export function registerEncryptionConfigCommand(
  program: Command,
  io: { stdout: { write(text: string): unknown }; stderr: { write(text: string): unknown } } = process,
): void {
  const group = program.command('encryption-config').description('Work with EncryptionConfiguration files');
  group
    .command('validate')
    .description('Check an EncryptionConfiguration as kube-apiserver would; print what each resource uses')
    .argument('<file>', 'the --encryption-provider-config file (YAML or JSON)')
    .option('--reload', 'validate as with --encryption-provider-config-automatic-reload (unique KMS v1 names)')
    .action(async (file: string, options: { reload?: boolean }) => {
      const result = await runValidate(file, { reload: options.reload ?? false });
      io.stdout.write(result.stdout);
      io.stderr.write(result.stderr);
      process.exitCode = result.exitCode;
    });
}
