// `coffer encryption status`: what is encrypted with which provider and key, per resource, in a live etcd, an etcd
// snapshot or Coffer's own store; and the configuration's health. `encryption-config` (a separate group) checks files.
import type { Command } from 'commander';
import { InvalidError } from '../lib/errors.js';
import { addSourceOptions, type SourceFlags } from '../operations/open-source.js';
import { runStatus } from '../operations/status.js';
import { formatStatusTable } from '../operations/status-report.js';

export function parseResources(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const r of list) {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(r)) throw new InvalidError(`not a resource name: ${JSON.stringify(r)}`, { field: '--resources' });
  }
  if (list.length === 0) throw new InvalidError(`no resource in ${JSON.stringify(text)}`, { field: '--resources' });
  return list;
}

interface StatusFlags extends SourceFlags {
  encryptionConfig?: string;
  output: string;
  resources?: string;
  kubeconfig?: string;
  kmsHealthUrl?: string;
}

export function registerEncryptionCommand(program: Command): void {
  const group = program.command('encryption').description('What is encrypted at rest, and with which key (docs/operations.md)');
  addSourceOptions(group.command('status'))
    .description('count stored objects per resource by provider and key, plaintext, unknown prefix and stale')
    .option('--encryption-config <file>', 'the EncryptionConfiguration to judge staleness and health against')
    .option('--resources <list>', 'only these resources (comma-separated); all found by default')
    .option('--kubeconfig <file>', "ask this API server's /readyz")
    .option('--kms-health-url <url>', "ask this KMS plugin's /healthz")
    .option('-o, --output <format>', 'table | json', 'table')
    .action(async (o: StatusFlags) => {
      if (o.output !== 'table' && o.output !== 'json') throw new InvalidError(`must be table or json, got ${JSON.stringify(o.output)}`, { field: '--output' });
      const resources = parseResources(o.resources);
      const { scan, health } = await runStatus({
        source: o,
        ...(o.encryptionConfig ? { encryptionConfig: o.encryptionConfig } : {}),
        ...(resources ? { resources } : {}),
        ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}),
        ...(o.kmsHealthUrl ? { kmsHealthUrl: o.kmsHealthUrl } : {}),
      });
      if (o.output === 'json') {
        const { findings: _findings, ...counts } = scan;
        process.stdout.write(`${JSON.stringify({ ...counts, ...(health ? { health } : {}) }, null, 2)}\n`);
      } else {
        process.stdout.write(formatStatusTable(scan, health));
      }
    });
}
