// The `coffer` command. Each subcommand lives in its own file and registers itself on the program; command-table.ts
// loads only the one being run.
import { buildProgram } from './command-table.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const program = await buildProgram(args);
  if (args.length === 0) {
    program.outputHelp(); // `npm start` with no arguments: say what Coffer can do, successfully
    return;
  }
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    // Messages are written to name the field and value without secrets; a stack trace would add nothing for users.
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}

await main();
