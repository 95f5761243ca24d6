// The `coffer` command. Each subcommand lives in its own file and registers itself on the program.
import { Command } from 'commander';
import { registerControllerCommand } from './controller-command.js';
import { registerDashboardCommand } from './dashboard-command.js';
import { registerEncryptionConfigCommand } from './encryption-config-command.js';
import { registerKeyserverCommand } from './keyserver-command.js';
import { registerKmsPluginCommand } from './kms-plugin-command.js';
import { registerLabCommand } from './lab-command.js';
import { registerRotateKekCommand } from './rotate-kek-command.js';
import { registerTransformCommand } from './transform-command.js';
import { registerUpCommand } from './up-command.js';

const program = new Command('coffer')
  .description('Keeps Kubernetes Secrets safe at rest, and proves it')
  .showHelpAfterError()
  .configureOutput({ outputError: (msg, write) => write(msg) });

registerControllerCommand(program);
registerDashboardCommand(program);
registerEncryptionConfigCommand(program);
registerKeyserverCommand(program);
registerKmsPluginCommand(program);
registerLabCommand(program);
registerRotateKekCommand(program);
registerTransformCommand(program);
registerUpCommand(program);

if (process.argv.length <= 2) {
  program.outputHelp(); // `npm start` with no arguments: say what Coffer can do, successfully
} else {
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    // Messages are written to name the field and value without secrets; a stack trace would add nothing for users.
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
