// The lab from the dashboard: one `coffer lab --format json` child at a time, its progress lines kept for the page
// (pushed live), its report kept as the latest. The lab starts processes on this machine, so only the operator's own
// session (the one-time link) may start it; any signed-in user may read the latest report, which by the lab's own
// check never holds a planted value.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const COFFER_BIN = fileURLToPath(new URL('../../bin/coffer.js', import.meta.url));
const MAX_LINES = 300;
const MAX_REPORT = 64 * 1024 * 1024;
/** Row or variant ids and column names: letters, digits, '-', '/', ','. The lab validates the names themselves. */
const SELECTION = /^[a-z0-9/,-]{0,300}$/;

interface LabReport {
  version?: string;
  subset?: string;
  generatedAt?: string;
  machine?: string;
  columns: { id: string; title: string }[];
  rows: { id: string; title: string; cells: Record<string, { mark: string; caveat?: string; evidence: string }>; remediation?: Record<string, string> }[];
  seed: { check: string; rows: { name: string; cells: Record<string, string>; lab: Record<string, string> }[]; differences: { row: string; column: string; seed: string; lab: string; why: string }[] };
}

export interface LabState {
  running: boolean;
  command?: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number | null;
  progress: string[];
  error?: string;
  report?: LabReport;
}

export class LabRuns {
  private state: LabState = { running: false, progress: [] };
  private child: ChildProcess | undefined;

  constructor(private readonly onChange: () => void) {}

  get current(): LabState {
    return this.state;
  }

  /** Starts a run; a message when it cannot (one already running, a bad selection). */
  start(sel: { rows?: string; columns?: string }): string | undefined {
    if (this.state.running) return 'a lab run is already in progress';
    for (const [flag, v] of Object.entries(sel)) {
      if (v !== undefined && !SELECTION.test(v)) return `--${flag}: want comma-separated ids (letters, digits, '-', '/'), got ${JSON.stringify(v)}`;
    }
    const args = ['lab', '--format', 'json', ...(sel.rows ? ['--rows', sel.rows] : []), ...(sel.columns ? ['--columns', sel.columns] : [])];
    const report = this.state.report;
    this.state = { running: true, command: `coffer ${args.join(' ')}`, startedAt: new Date().toISOString(), progress: [], ...(report ? { report } : {}) };
    const child = spawn(process.execPath, [COFFER_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      if (out.length < MAX_REPORT) out += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      err += c;
      const lines = err.split('\n');
      err = lines.pop() ?? '';
      this.state.progress.push(...lines.filter(Boolean));
      if (this.state.progress.length > MAX_LINES) this.state.progress.splice(0, this.state.progress.length - MAX_LINES);
      this.onChange();
    });
    child.once('close', (code) => {
      this.child = undefined;
      this.state.running = false;
      this.state.finishedAt = new Date().toISOString();
      this.state.exitCode = code;
      try {
        if (code === 0 || code === 2) this.state.report = JSON.parse(out) as LabReport;
        else this.state.error = `the lab exited with ${code}: ${this.state.progress.at(-1) ?? ''}`;
      } catch {
        this.state.error = 'the lab printed no readable report';
      }
      this.onChange();
    });
    this.onChange();
    return undefined;
  }

  /** The latest state for the page: the report without its per-finding detail. */
  view(): LabState {
    const r = this.state.report;
    return {
      ...this.state,
      ...(r
        ? { report: { version: r.version, subset: r.subset, generatedAt: r.generatedAt, machine: r.machine, columns: r.columns, rows: r.rows.map((x) => ({ id: x.id, title: x.title, cells: x.cells, remediation: x.remediation })), seed: r.seed } }
        : {}),
    };
  }

  close(): void {
    // SIGINT: the lab tears down what it started (processes, temp dirs) and exits.
    this.child?.kill('SIGINT');
  }
}
