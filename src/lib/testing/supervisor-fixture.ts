// A tiny parent and child for process-supervisor.test.ts, run as real processes:
//   supervisor-fixture.ts parent <pidFile>   supervises a `child`, prints `child <pid>` once it is ready
//   supervisor-fixture.ts child              serves until a signal or its lifeline closes, as coffer's commands do
import pino from 'pino';
import { serveUntilSignal } from '../../cli/serve-until-signal.js';
import { superviseProcess } from '../process-supervisor.js';

const [mode, pidFile] = process.argv.slice(2);
const logger = pino({ level: 'warn' }, pino.destination({ fd: 2, sync: true }));
const self = new URL(import.meta.url).pathname;

if (mode === 'parent') {
  const child = superviseProcess({
    name: 'fixture-child',
    command: process.execPath,
    // The test's own TypeScript loader (npm test's, or tsx's), not a second one started in the child.
    args: [...process.execArgv, self, 'child'],
    ready: /^ready$/,
    logger,
    ...(pidFile ? { pidFile } : {}),
  });
  await child.ready;
  process.stdout.write(`child ${child.pid()}\n`);
  setInterval(() => undefined, 60_000);
} else {
  const keepAlive = setInterval(() => undefined, 60_000);
  await serveUntilSignal(logger, async () => ({ close: async () => clearInterval(keepAlive) }), () => process.stdout.write('ready\n'));
}
