// The `coffer` command. Each subcommand lives in its own file and registers itself on the program.
import { Command } from 'commander';
import { registerEncryptionConfigCommand } from './encryption-config-command.js';

const program = new Command('coffer')
  .description('Keeps Kubernetes Secrets safe at rest, and proves it')
  .showHelpAfterError()
  .configureOutput({ outputError: (msg, write) => write(msg) });

// Subcommands (one import and one call each):
registerEncryptionConfigCommand(program);

if (process.argv.length <= 2) {
  program.outputHelp(); // `npm start` with no arguments: say what Coffer can do, successfully
} else {
  await program.parseAsync(process.argv);
}
