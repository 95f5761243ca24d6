// The command table lists every command with the summary its own file registers, and loads only the one asked for.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { buildProgram, COMMANDS } from './command-table.js';

void describe('command table', () => {
  void it('summaries match what each command file registers', async () => {
    for (const entry of COMMANDS) {
      const program = new Command('coffer');
      (await entry.load())(program);
      const registered = program.commands.find((c) => c.name() === entry.name);
      assert.ok(registered, `${entry.name}: its file registers no command of that name`);
      assert.equal(entry.summary, registered.description(), `${entry.name}: summary differs from its file`);
    }
  });

  void it('registers the options of the requested command only', async () => {
    const program = await buildProgram(['kms-plugin', '--config', 'x.yaml']);
    const options = (name: string) => program.commands.find((c) => c.name() === name)!.options.map((o) => o.long);
    assert.ok(options('kms-plugin').includes('--config'));
    assert.deepEqual(options('up'), []);
    const help = await buildProgram(['help', 'up']);
    assert.ok(help.commands.find((c) => c.name() === 'up')!.options.some((o) => o.long === '--data-dir'));
  });

  void it('lists every command in the top-level help', async () => {
    const program = await buildProgram(['--help']);
    const help = program.helpInformation();
    for (const entry of COMMANDS) assert.match(help, new RegExp(`^  ${entry.name} `, 'm'));
  });
});
