// ESO's `fake` provider: static data in the store spec. Lookup is key+version (both must match exactly, no
// "latest"), `property` is a JSON path over the value, and find supports only name.regexp, returning the
// greatest version of each matching key. Useful for tests and demos; it contacts nothing.
import { InvalidError } from '../../lib/errors.js';
import { GoRegexp } from '../../lib/go/regexp.js';
import { jsonValueToBytes, selectJsonPath } from '../external-secrets/gjson-path.js';
import type { FindRef, RemoteRef } from '../external-secrets/external-secret-types.js';
import { convertKeys } from '../external-secrets/key-conversion.js';
import { jsonMemberToBytes, NoSecretError, type CallOptions, type SecretsProvider, type ValidationResult } from './secrets-provider.js';

export interface FakeProviderSpec {
  data?: { key: string; value: string; version?: string }[];
  validationResult?: number;
}

export class FakeProvider implements SecretsProvider {
  readonly metricName = 'Fake';
  constructor(private readonly spec: FakeProviderSpec) {}

  private lookup(ref: RemoteRef): string {
    const hit = (this.spec.data ?? []).find((d) => d.key === ref.key && (d.version ?? '') === (ref.version ?? ''));
    if (!hit) throw new NoSecretError();
    if (!ref.property) return hit.value;
    let parsed: unknown;
    try {
      parsed = JSON.parse(hit.value);
    } catch {
      throw new NoSecretError();
    }
    const v = selectJsonPath(parsed, ref.property);
    if (v === undefined) throw new NoSecretError();
    return jsonValueToBytes(v).toString();
  }

  // It contacts nothing, but a caller that gave up gets no answer, as from every provider that does.
  async getSecret(ref: RemoteRef, opts?: CallOptions): Promise<Buffer> {
    opts?.signal.throwIfAborted();
    return Buffer.from(this.lookup(ref));
  }

  async getSecretMap(ref: RemoteRef, opts?: CallOptions): Promise<Record<string, Buffer>> {
    opts?.signal.throwIfAborted();
    const text = this.lookup(ref);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new InvalidError(`unable to unmarshal secret: ${(e as Error).message}`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidError('unable to unmarshal secret: not a JSON object');
    const out: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(parsed)) out[k] = jsonMemberToBytes(v);
    return out;
  }

  async getAllSecrets(find: FindRef, opts?: CallOptions): Promise<Record<string, Buffer>> {
    opts?.signal.throwIfAborted();
    if (!find.name?.regexp) throw new InvalidError(`unsupported find operator: ${JSON.stringify(find)}`);
    const re = GoRegexp.compile(find.name.regexp);
    const best = new Map<string, { version: string; value: string }>();
    for (const d of this.spec.data ?? []) {
      if (!re.test(d.key)) continue;
      const prev = best.get(d.key);
      if (!prev || (d.version ?? '') > prev.version) best.set(d.key, { version: d.version ?? '', value: d.value });
    }
    const out: Record<string, Buffer> = {};
    for (const [k, v] of best) out[k] = Buffer.from(v.value);
    return convertKeys(out, find.conversionStrategy);
  }

  async validate(opts?: CallOptions): Promise<ValidationResult> {
    opts?.signal.throwIfAborted();
    if (this.spec.validationResult === 1) return 'Unknown';
    if (this.spec.validationResult === 2) throw new InvalidError('unable to validate');
    return 'Ready';
  }
}
