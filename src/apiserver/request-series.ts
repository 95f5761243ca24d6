// apiserver_request_total and apiserver_request_duration_seconds counted per request at the cost of one Map lookup.
// prom-client's Counter.inc and Histogram.observe copy the labels, check every label name against the metric's and
// build a hash string of the sorted names and values on every call: at the rate of 1 KiB GETs that was about 4% of
// the API server's CPU (docs/performance.md). The label names here are fixed by the code, so those checks can only
// ever pass. What is exported is what prom-client exports for the same observations (same names, labels, label
// order, series order, values), which request-series.test.ts checks against prom-client itself.
import { Counter, type Registry } from 'prom-client';

/** One request's labels, in the order kube and prom-client print them. */
export type SeriesLabels = Record<string, string>;

/**
 * A counter whose increments are kept in a Map keyed by the label values and handed to a prom-client Counter when
 * the registry is read (its collect hook). The Map holds only what was counted since the last read, in the order it
 * was first counted: series the Counter already has keep their place, new ones follow in that order, as when each
 * request called Counter.inc.
 */
export class FastCounter<A, B = undefined> {
  private readonly pending = new Map<string, { labels: SeriesLabels; n: number }>();
  readonly counter: Counter<string>;

  constructor(opts: { name: string; help: string; labelNames: readonly string[]; registry: Registry }) {
    const pending = this.pending;
    this.counter = new PendingCounter(pending, {
      name: opts.name,
      help: opts.help,
      labelNames: [...opts.labelNames],
      registers: [opts.registry],
      collect() {
        for (const p of pending.values()) this.inc(p.labels, p.n);
        pending.clear();
      },
    });
  }

  /**
   * key: the label values joined (unique per label set); the labels are built from a and b only when the key is not
   * pending yet (a function and its arguments, not a closure or an object: nothing allocated per call).
   */
  inc(key: string, labels: (a: A, b: B) => SeriesLabels, a: A, b: B): void {
    const p = this.pending.get(key);
    if (p) p.n++;
    else this.pending.set(key, { labels: labels(a, b), n: 1 });
  }
}

/** A Counter whose reset (Registry.resetMetrics) also drops the increments not handed over yet. */
class PendingCounter extends Counter<string> {
  constructor(
    private readonly pending: Map<string, unknown>,
    config: ConstructorParameters<typeof Counter<string>>[0],
  ) {
    super(config);
  }

  override reset(): void {
    // Metric's constructor calls reset before this class's fields are set.
    this.pending?.clear();
    super.reset();
  }
}

interface HistogramSeries {
  labels: SeriesLabels;
  /** Observations per bucket (not cumulative), as prom-client keeps them; a value above the last bound is in none. */
  buckets: number[];
  sum: number;
  count: number;
}

interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels?: SeriesLabels;
  value: number;
  metricName: string;
  exemplar?: null;
}

/**
 * A histogram registered into a prom-client Registry as a metric of its own (the registry only calls get,
 * getForPromString and reset), exporting what prom-client's Histogram (lib/histogram.js, 15.x) exports: per series
 * in first-observed order, the cumulative `_bucket` counts with `le` first, `+Inf`, `_sum` and `_count`.
 */
export class FastHistogram<A> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly upperBounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** As FastCounter.inc, for one observed value. */
  observe(key: string, labels: (arg: A) => SeriesLabels, arg: A, value: number): void {
    let s = this.series.get(key);
    if (!s) {
      s = { labels: labels(arg), buckets: this.upperBounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        s.buckets[i]!++;
        break;
      }
    }
    s.sum += value;
    s.count += 1;
  }

  reset(): void {
    this.series = new Map();
  }

  /** As Registry.metrics() reads a histogram: bucket labels apart from the series' labels (shared). */
  getForPromString(): Promise<{ name: string; help: string; type: string; values: ExportedValue[]; aggregator: string }> {
    const bucket = `${this.name}_bucket`;
    const values: ExportedValue[] = [];
    for (const s of this.series.values()) {
      let acc = 0;
      this.upperBounds.forEach((le, i) => {
        acc += s.buckets[i]!;
        values.push({ labels: { le }, sharedLabels: s.labels, value: acc, metricName: bucket, exemplar: null });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucket, exemplar: null });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum`, exemplar: undefined });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count`, exemplar: undefined });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  /** As Registry.getMetricsAsJSON() reads it: the series' labels after `le`, each value with a labels object of its own. */
  async get(): Promise<{ name: string; help: string; type: string; values: ExportedValue[]; aggregator: string }> {
    const data = await this.getForPromString();
    data.values = data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return data;
  }
}
