// kube-apiserver calls Status every minute per API server (every 10 s while unhealthy), and /healthz is probed by the
// kubelet as well; asking Vault or an HSM each time would turn health checks into load. One probe answers every
// caller for a TTL (longer when healthy, short when not, so recovery is seen quickly); concurrent callers share the
// probe in flight.
import type { Clock } from '../lib/clock.js';
import { keyIdError } from '../kms/kms-v2-encrypted-object.js';
import type { KeyManager } from './key-manager.js';

export interface ProbeResult {
  healthy: boolean;
  /** The backend's key id, or the last one it reported when it cannot say now; "" when never known. */
  keyId: string;
  /** Why it is unhealthy (no secret material). */
  reason?: string;
  checkedAt: number;
}

export interface StatusCacheOptions {
  okTtlMs: number;
  errorTtlMs: number;
  timeoutMs: number;
  clock: Clock;
  /** Called with every fresh probe result (metrics, logs of changes). */
  onProbe?: (result: ProbeResult, previous: ProbeResult | undefined) => void;
}

export class StatusCache {
  private last: ProbeResult | undefined;
  private inflight: Promise<ProbeResult> | undefined;
  private generation = 0;

  constructor(
    private readonly keyManager: KeyManager,
    private readonly o: StatusCacheOptions,
  ) {}

  /** The last key id the backend reported, "" before any. */
  get lastKeyId(): string {
    return this.last?.keyId ?? '';
  }

  async get(): Promise<ProbeResult> {
    const last = this.last;
    if (last) {
      const ttl = last.healthy ? this.o.okTtlMs : this.o.errorTtlMs;
      if (this.o.clock.now() - last.checkedAt < ttl) return last;
    }
    if (!this.inflight) {
      const p: Promise<ProbeResult> = this.probe().finally(() => {
        if (this.inflight === p) this.inflight = undefined;
      });
      this.inflight = p;
    }
    return this.inflight;
  }

  /** Forget the cached result: the backend said something (a new key id from Encrypt) that the cache does not know. */
  invalidate(): void {
    this.generation++;
    this.last = undefined;
    this.inflight = undefined; // a probe already under way may predate the change; the next caller starts a new one
  }

  private async probe(): Promise<ProbeResult> {
    const generation = this.generation;
    const previous = this.last;
    let result: ProbeResult;
    try {
      const s = await this.keyManager.status({ signal: AbortSignal.timeout(this.o.timeoutMs) });
      const keyErr = keyIdError(s.keyId);
      if (keyErr) {
        result = { healthy: false, keyId: previous?.keyId ?? '', reason: `backend ${this.keyManager.name} reported an invalid key id: ${keyErr}`, checkedAt: this.o.clock.now() };
      } else {
        const reason = s.healthy ? undefined : s.reason || `backend ${this.keyManager.name} is unhealthy`;
        result = { healthy: s.healthy, keyId: s.keyId, ...(reason ? { reason } : {}), checkedAt: this.o.clock.now() };
      }
    } catch (e) {
      result = { healthy: false, keyId: previous?.keyId ?? '', reason: (e as Error).message || String(e), checkedAt: this.o.clock.now() };
    }
    if (generation === this.generation) this.last = result;
    this.o.onProbe?.(result, previous);
    return result;
  }
}
