// `coffer reencrypt`: rewrite objects through the API server so it stores them with its current write key.
import type { Command } from 'commander';
import { InvalidError } from '../lib/errors.js';
import { addSourceOptions, type SourceFlags } from '../operations/open-source.js';
import { runReencrypt } from '../operations/reencrypt-run.js';
import { formatFindings } from '../operations/status-report.js';
import { parseResources } from './encryption-command.js';

interface ReencryptFlags extends SourceFlags {
  kubeconfig: string;
  resources: string;
  onlyStale?: boolean;
  encryptionConfig?: string;
  qps: string;
  concurrency: string;
  checkpoint?: string;
}

export function positiveNumber(text: string, field: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidError(`must be a number > 0, got ${JSON.stringify(text)}`, { field });
  return n;
}

export function registerReencryptCommand(program: Command): void {
  addSourceOptions(program.command('reencrypt'))
    .description('rewrite objects through the API server (GET + PUT, unchanged) so they are stored with its write key')
    .requiredOption('--kubeconfig <file>', 'the API server to rewrite through')
    .option('--resources <list>', 'comma-separated resources', 'secrets')
    .option('--only-stale', 'rewrite only what a scan of the source finds stale')
    .option('--encryption-config <file>', "the API server's EncryptionConfiguration (with a source: what is stale)")
    .option('--qps <n>', 'at most this many objects per second', '50')
    .option('--concurrency <n>', 'objects in flight at once', '4')
    .option('--checkpoint <file>', 'record finished objects here; run again with the same file to resume')
    .action(async (o: ReencryptFlags) => {
      const abort = new AbortController();
      const onSignal = () => abort.abort(new Error('interrupted'));
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const { summary, stillStale } = await runReencrypt({
          kubeconfig: o.kubeconfig,
          resources: parseResources(o.resources)!,
          source: o,
          ...(o.encryptionConfig ? { encryptionConfig: o.encryptionConfig } : {}),
          onlyStale: o.onlyStale === true,
          qps: positiveNumber(o.qps, '--qps'),
          concurrency: positiveNumber(o.concurrency, '--concurrency'),
          ...(o.checkpoint ? { checkpoint: o.checkpoint } : {}),
          signal: abort.signal,
          log: (line) => process.stderr.write(`${line}\n`),
        });
        process.stdout.write(
          `reencrypt: ${summary.total} objects: ${summary.rewritten} rewritten, ${summary.alreadyDone} already done (checkpoint), ` +
            `${summary.deleted} deleted meanwhile, ${summary.conflictsRetried} conflicts retried, ${summary.failed.length} failed\n`,
        );
        for (const f of summary.failed) process.stdout.write(`failed ${f.target}: ${f.error}\n`);
        if (stillStale !== undefined) {
          process.stdout.write(`verification: ${stillStale.length} stale objects remain\n${formatFindings(stillStale)}`);
        }
        if (summary.failed.length > 0 || (stillStale?.length ?? 0) > 0) process.exitCode = 1;
      } catch (e) {
        if (abort.signal.aborted) {
          process.stderr.write(`reencrypt interrupted${o.checkpoint ? `; run the same command again to resume from ${o.checkpoint}` : ''}\n`);
          process.exitCode = 130;
          return;
        }
        throw e;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
