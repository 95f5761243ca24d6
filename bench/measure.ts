// Benchmark helpers. Absolute speeds drift on shared machines, so every figure is reported next to a baseline
// measured in the same run, as a ratio; the baseline and the candidate are interleaved to share the same noise.

export interface Measurement {
  opsPerSec: number;
}

/** Runs fn repeatedly for about `ms` milliseconds (after a short warm-up) and returns operations per second. */
export async function measure(fn: () => unknown, opts: { ms?: number; batch?: number } = {}): Promise<Measurement> {
  const ms = opts.ms ?? 500;
  const batch = opts.batch ?? 16;
  for (let i = 0; i < batch; i++) await fn();
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < batch; i++) await fn();
    ops += batch;
    elapsed = performance.now() - start;
  }
  return { opsPerSec: (ops * 1000) / elapsed };
}

/** Measures baseline and candidate in alternating rounds and returns the median of each, so drift hits both. */
export async function compare(
  baseline: () => unknown,
  candidate: () => unknown,
  opts: { rounds?: number; ms?: number; batch?: number } = {},
): Promise<{ baseline: number; candidate: number; ratio: number }> {
  const rounds = opts.rounds ?? 3;
  const b: number[] = [];
  const c: number[] = [];
  for (let r = 0; r < rounds; r++) {
    b.push((await measure(baseline, opts)).opsPerSec);
    c.push((await measure(candidate, opts)).opsPerSec);
  }
  const base = median(b);
  const cand = median(c);
  return { baseline: base, candidate: cand, ratio: cand / base };
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
}

export interface BenchRow {
  name: string;
  baseline: string;
  opsPerSec: number;
  baselineOpsPerSec: number;
  ratio: number;
  target?: number;
}

export function printRows(title: string, rows: BenchRow[]): void {
  console.log(`\n## ${title}\n`);
  console.log('| case | ops/s | baseline | baseline ops/s | ratio | target |');
  console.log('|---|---:|---|---:|---:|---:|');
  for (const r of rows) {
    const target = r.target === undefined ? '' : `≥ ${r.target} ${r.ratio >= r.target ? 'met' : 'MISSED'}`;
    console.log(
      `| ${r.name} | ${r.opsPerSec.toFixed(0)} | ${r.baseline} | ${r.baselineOpsPerSec.toFixed(0)} | ${r.ratio.toFixed(2)} | ${target} |`,
    );
  }
}
