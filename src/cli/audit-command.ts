// `coffer audit`: the status scan as a CI gate. One finding per storage key (never a value); exit 1 when any finding
// is of a kind named in --fail-on.
import type { Command } from 'commander';
import { InvalidError } from '../lib/errors.js';
import { addSourceOptions, type SourceFlags } from '../operations/open-source.js';
import { runStatus } from '../operations/status.js';
import { failingFindings, formatFindings, parseFailOn } from '../operations/status-report.js';
import { parseResources } from './encryption-command.js';

interface AuditFlags extends SourceFlags {
  encryptionConfig?: string;
  failOn: string;
  resources: string;
  output: string;
}

export function registerAuditCommand(program: Command): void {
  addSourceOptions(program.command('audit'))
    .description('list plaintext, unknown-prefix and stale objects of a backup or live cluster; exit 1 on --fail-on findings')
    .option('--encryption-config <file>', 'the EncryptionConfiguration that defines stale (needed for --fail-on stale)')
    .option('--fail-on <kinds>', 'comma-separated: plaintext, unknown, stale', 'plaintext,unknown,stale')
    .option('--resources <list>', 'resources to audit (comma-separated)', 'secrets')
    .option('-o, --output <format>', 'text | json', 'text')
    .action(async (o: AuditFlags) => {
      const failOn = parseFailOn(o.failOn);
      if (failOn.includes('stale') && !o.encryptionConfig) {
        throw new InvalidError('stale needs --encryption-config (stale means: not written by its first provider and key)', { field: '--fail-on' });
      }
      const { scan } = await runStatus({ source: o, resources: parseResources(o.resources)!, ...(o.encryptionConfig ? { encryptionConfig: o.encryptionConfig } : {}) });
      const failing = failingFindings(scan, failOn);
      if (o.output === 'json') {
        process.stdout.write(`${JSON.stringify({ source: scan.source, total: scan.total, failOn, findings: scan.findings, failing: failing.length }, null, 2)}\n`);
      } else {
        process.stdout.write(formatFindings(scan.findings));
        process.stdout.write(`audited ${scan.total} objects in ${scan.source}: ${scan.findings.length} findings, ${failing.length} failing (--fail-on ${failOn.join(',') || 'nothing'})\n`);
      }
      if (failing.length > 0) process.exitCode = 1;
    });
}
