// How the long-running commands (up, kms-plugin, keyserver) write their logs to stderr: one JSON object per line, as
// log collectors expect (the default when stderr is not a terminal), or one readable line per record on a terminal:
//   20:31:02.123 INFO  coffer-up: store: embedded SQLite store=sqlite path=/srv/coffer/store
// `coffer up` passes its choice to the plugin and key server it starts through COFFER_LOG_FORMAT, so one terminal
// shows one format.
import { writeSync } from 'node:fs';
import pino, { type DestinationStream, type Logger } from 'pino';

export type LogFormat = 'json' | 'text';

/** The environment variable a parent `coffer` sets for the `coffer` processes it starts. */
export const LOG_FORMAT_ENV = 'COFFER_LOG_FORMAT';

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** pino's own fields, shown in the line's fixed part rather than as key=value. */
const FIXED_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'component']);

/** The --log-format flag, else the parent's choice, else text on a terminal and JSON elsewhere. */
export function resolveLogFormat(flag: string | undefined, opts: { env?: NodeJS.ProcessEnv; isTty?: boolean } = {}): LogFormat {
  const env = opts.env ?? process.env;
  const value = flag ?? env[LOG_FORMAT_ENV];
  if (value === undefined || value === '') return (opts.isTty ?? process.stderr.isTTY) ? 'text' : 'json';
  if (value === 'json' || value === 'text') return value;
  throw new Error(`${flag === undefined ? LOG_FORMAT_ENV : '--log-format'}: must be json or text, got ${JSON.stringify(value)}`);
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (typeof v === 'object' && v !== null && 'message' in v && typeof v.message === 'string') return JSON.stringify(v.message);
  return JSON.stringify(v);
}

function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** One pino JSON line as a readable line; a line that is not a pino record passes through unchanged. */
export function formatLogLine(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  if (typeof rec !== 'object' || rec === null || typeof rec.level !== 'number') return line.endsWith('\n') ? line : `${line}\n`;
  const level = (LEVEL_NAMES[rec.level] ?? String(rec.level)).padEnd(5);
  const time = typeof rec.time === 'number' ? `${clock(rec.time)} ` : '';
  const component = typeof rec.component === 'string' ? `${rec.component}: ` : '';
  const fields = Object.entries(rec)
    .filter(([k]) => !FIXED_FIELDS.has(k))
    .map(([k, v]) => ` ${k}=${formatValue(v)}`)
    .join('');
  return `${time}${level} ${component}${typeof rec.msg === 'string' ? rec.msg : ''}${fields}\n`;
}

/** A synchronous stderr destination in the given format (sync: a crash must not lose its last lines). */
export function logDestination(format: LogFormat, fd = 2): DestinationStream {
  if (format === 'json') return pino.destination({ fd, sync: true });
  return {
    write(line: string) {
      writeSync(fd, formatLogLine(line));
    },
  };
}

/** The logger of a long-running command; an unknown --log-level is refused naming the flag (pino's error does not). */
export function createCommandLogger(o: { component: string; level: string; format: LogFormat }): Logger {
  const levels = [...Object.keys(pino.levels.values), 'silent'];
  if (!levels.includes(o.level)) throw new Error(`--log-level: must be one of ${levels.join(', ')}, got ${JSON.stringify(o.level)}`);
  return pino({ level: o.level, base: { component: o.component } }, logDestination(o.format));
}
