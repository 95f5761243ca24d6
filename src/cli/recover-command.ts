// `coffer recover`: decrypt a whole backup into kubectl-appliable YAML (docs/operations.md).
import type { Command } from 'commander';
import { addSourceOptions, type SourceFlags } from '../operations/open-source.js';
import { formatRecoverReport, recover } from '../operations/recover.js';
import { parseResources } from './encryption-command.js';

interface RecoverFlags extends SourceFlags {
  encryptionConfig: string;
  output: string;
  resources?: string;
}

export function registerRecoverCommand(program: Command): void {
  addSourceOptions(program.command('recover'))
    .description('decrypt a whole backup into YAML files kubectl can apply (0600 files, 0700 directories)')
    .requiredOption('--encryption-config <file>', 'the EncryptionConfiguration the backup was written with')
    .requiredOption('--output <dir>', 'a new or empty directory for the YAML files and recover-report.txt')
    .option('--resources <list>', 'only these resources (comma-separated); all but events by default')
    .action(async (o: RecoverFlags) => {
      const resources = parseResources(o.resources);
      const result = await recover({ source: o, encryptionConfig: o.encryptionConfig, output: o.output, ...(resources ? { resources } : {}) });
      process.stdout.write(formatRecoverReport(result, o.output));
      if (result.failures.length > 0) process.exitCode = 1;
    });
}
