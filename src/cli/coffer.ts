// The `coffer` command. Each subcommand lives in its own file and registers itself on the program.
import { Command } from 'commander';

const program = new Command('coffer')
  .description('Keeps Kubernetes Secrets safe at rest, and proves it')
  .showHelpAfterError()
  .configureOutput({ outputError: (msg, write) => write(msg) });

// Subcommands (one import and one call each):

await program.parseAsync(process.argv);
