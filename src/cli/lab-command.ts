// `coffer lab`: stands up each way of storing Secrets as real processes, plants canaries, attacks with exactly the
// access each column describes, and prints the seed's threat table from what the attacks recovered (docs/lab.md).
import type { Command } from 'commander';
import { ALL_COLUMNS } from '../lab/capability.js';
import { runLabCommand, type LabCommandOptions } from '../lab/lab-command-run.js';
import { ROWS } from '../lab/rows.js';

export function registerLabCommand(program: Command): void {
  program
    .command('lab')
    .description('measure the threat table: deploy each implementation, plant canaries, attack, print verdicts from the evidence')
    .option('--rows <list>', `rows or variants to run (rows: ${ROWS.map((r) => r.id).join(', ')}; variants e.g. aescbc/sqlite)`)
    .option('--columns <list>', `columns to run (${ALL_COLUMNS.join(', ')})`)
    .option('--format <format>', 'table | json', 'table')
    .option('--html <file>', 'also write a self-contained HTML report')
    .option('--canaries <n>', 'canary Secrets planted per deployment', '3')
    .option('--concurrency <n>', 'deployments measured at a time', '2')
    .action(async (o: LabCommandOptions) => {
      const code = await runLabCommand(o, {
        stdout: (s) => process.stdout.write(s),
        stderr: (s) => process.stderr.write(s),
      });
      if (code !== 0) process.exitCode = code;
    });
}
