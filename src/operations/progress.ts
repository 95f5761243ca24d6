// Progress of a long operation on stderr: a redrawn bar on a terminal (done/total, rate, ETA), plain lines every few
// seconds otherwise, so logs of a CI job or `nohup` stay readable.
export interface ProgressOutput {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const BAR_WIDTH = 30;
const LINE_EVERY_MS = 5_000;
const REDRAW_EVERY_MS = 100;

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export class Progress {
  private done = 0;
  private readonly started = Date.now();
  private lastDraw = 0;
  private drawnDone = -1;

  constructor(
    private readonly label: string,
    private total: number,
    private readonly out: ProgressOutput = process.stderr,
    private readonly now: () => number = Date.now,
  ) {}

  setTotal(total: number): void {
    this.total = total;
  }

  add(n = 1): void {
    this.done += n;
    const t = this.now();
    if (t - this.lastDraw >= (this.out.isTTY ? REDRAW_EVERY_MS : LINE_EVERY_MS)) this.draw(t);
  }

  /** The last state, on its own line. */
  finish(): void {
    if (this.drawnDone !== this.done) this.draw(this.now());
    if (this.out.isTTY) this.out.write('\n');
  }

  line(): string {
    const elapsed = Math.max(0.001, (this.now() - this.started) / 1000);
    const rate = this.done / elapsed;
    const eta = rate > 0 ? (this.total - this.done) / rate : Infinity;
    return `${this.done}/${this.total} ${rate.toFixed(1)}/s ETA ${formatEta(eta)}`;
  }

  private draw(t: number): void {
    this.lastDraw = t;
    this.drawnDone = this.done;
    if (!this.out.isTTY) {
      this.out.write(`${this.label}: ${this.line()}\n`);
      return;
    }
    const filled = this.total > 0 ? Math.min(BAR_WIDTH, Math.round((this.done / this.total) * BAR_WIDTH)) : BAR_WIDTH;
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
    this.out.write(`\r\x1b[K${this.label} ${bar} ${this.line()}`);
  }
}

/** At most `qps` starts per second, spread evenly (a token bucket of one, like client-go's default burst per call). */
export class RateLimiter {
  private next = 0;
  constructor(private readonly qps: number) {}

  async wait(signal?: AbortSignal): Promise<void> {
    if (!(this.qps > 0) || !Number.isFinite(this.qps)) return;
    const now = Date.now();
    const at = Math.max(now, this.next);
    this.next = at + 1000 / this.qps;
    if (at > now) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, at - now);
        signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(signal.reason as Error);
        }, { once: true });
      });
    }
  }
}
