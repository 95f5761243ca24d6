// kube-apiserver's --encryption-provider-config-automatic-reload: the config file is polled; when its hash changes
// the new file is loaded and validated, its KMS providers probed, and only then swapped in. A bad new file leaves
// the running configuration in place, so a typo never stops the API server from reading its Secrets.
import { readFile } from 'node:fs/promises';
import { SYSTEM_CLOCK, type Clock } from '../lib/clock.js';
import { computeEncryptionConfigHash, readEncryptionConfigurationFile, type LoadEncryptionConfigurationOptions } from './encryption-config.js';
import { EncryptionEngine, type EncryptionEngineOptions } from './encryption-engine.js';
import type { GroupResource } from './group-resource.js';
import type { Transformer } from './transformer.js';

export interface ReloadingEngineOptions {
  load?: LoadEncryptionConfigurationOptions;
  engine?: EncryptionEngineOptions;
  /** Upstream polls every minute. */
  intervalMs?: number;
  /** How long a replaced configuration stays usable for requests already holding it (then its keys are wiped). */
  graceMs?: number;
  clock?: Clock;
  /** Told of each reload attempt; never given key material. */
  onReload?: (result: { ok: true; hash: string } | { ok: false; error: string }) => void;
}

export class ReloadingEncryptionEngine {
  private timer: { cancel(): void } | undefined;
  private closed = false;

  private constructor(
    private readonly file: string,
    private current: EncryptionEngine,
    private readonly opts: ReloadingEngineOptions,
  ) {}

  static async open(file: string, opts: ReloadingEngineOptions = {}): Promise<ReloadingEncryptionEngine> {
    const config = await readEncryptionConfigurationFile(file, { ...opts.load, reload: true });
    const engine = new ReloadingEncryptionEngine(file, await EncryptionEngine.create(config, opts.engine), opts);
    engine.schedule();
    return engine;
  }

  get configHash(): string {
    return this.current.configHash;
  }

  transformerFor(gr: GroupResource): Transformer {
    return this.current.transformerFor(gr);
  }

  healthCheck(): Promise<void> {
    return this.current.healthCheck();
  }

  get healthProbes(): EncryptionEngine['healthProbes'] {
    return this.current.healthProbes;
  }

  get kmsV2WriteDeadlines(): EncryptionEngine['kmsV2WriteDeadlines'] {
    return this.current.kmsV2WriteDeadlines;
  }

  /** Checks the file now (the timer calls this); resolves whether or not a reload happened. */
  async check(): Promise<void> {
    let next: EncryptionEngine | undefined;
    try {
      const hash = computeEncryptionConfigHash(await readFile(this.file));
      if (hash === this.current.configHash) return;
      const config = await readEncryptionConfigurationFile(this.file, { ...this.opts.load, reload: true });
      next = await EncryptionEngine.create(config, this.opts.engine);
      await next.healthCheck(); // a KMS plugin that does not answer must not take over
      if (this.closed) throw new Error('closed during reload');
      const old = this.current;
      this.current = next;
      next = undefined;
      // Requests in flight may still hold the old transformers: wipe their keys only once those are done.
      (this.opts.clock ?? SYSTEM_CLOCK).setTimeout(() => old.close(), this.opts.graceMs ?? 10_000);
      this.opts.onReload?.({ ok: true, hash: this.current.configHash });
    } catch (e) {
      next?.close();
      this.opts.onReload?.({ ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.current.close();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = (this.opts.clock ?? SYSTEM_CLOCK).setTimeout(() => {
      void this.check().finally(() => this.schedule());
    }, this.opts.intervalMs ?? 60_000);
  }
}
