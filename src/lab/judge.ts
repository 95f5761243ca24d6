// Counts canaries in loot: in clear in any blob (raw, base64, UTF-16), or inside stored values opened with key
// candidates or through KMS oracles. The result is a Finding whose evidence says where and how, by canary index and
// fingerprint, offsets, file names and key fingerprints.
import type { Capability } from './capability.js';
import { findCanaries, fingerprint, type Canary } from './canary.js';
import { decryptWith, parseStoredValue, screenCandidate, type StoredValue, type ValueFormat } from './decrypt-trial.js';
import { emptyFinding, type Finding, type Recovery } from './finding.js';
import type { KeyCandidate } from './key-candidates.js';
import type { Loot } from './loot.js';

interface Group {
  id: string;
  label: string;
  sample: { value: StoredValue; format: ValueFormat };
  members: { value: StoredValue; format: ValueFormat }[];
}

function groupId(f: ValueFormat): string {
  switch (f.kind) {
    case 'aescbc':
    case 'aesgcm':
    case 'secretbox':
      return `${f.kind}:${f.keyName}`;
    case 'kms-v2':
      // One seed per EDEK: values sharing an EDEK open with the same seed.
      return `kms-v2:${f.providerName}:${fingerprint(f.object.encryptedDekSource)}`;
    default:
      return f.kind;
  }
}

function groupLabel(f: ValueFormat): string {
  switch (f.kind) {
    case 'aescbc':
    case 'aesgcm':
    case 'secretbox':
      return `${f.kind} (key name ${JSON.stringify(f.keyName)})`;
    case 'kms-v2':
      return `kms v2 ${JSON.stringify(f.providerName)} (EDEK ${fingerprint(f.object.encryptedDekSource)})`;
    default:
      return f.kind;
  }
}

export class Judge {
  private readonly plaintextMemo = new WeakMap<object, Recovery[]>();
  private readonly screenMemo = new Map<string, boolean>();

  constructor(readonly canaries: readonly Canary[]) {}

  /** Canaries in clear in the loot's blobs and identity-stored values (memoised per blob). */
  private plaintext(loot: Loot): Recovery[] {
    const out: Recovery[] = [];
    const reused: Recovery[] = [];
    for (const blob of loot.blobs) {
      let hits = this.plaintextMemo.get(blob);
      if (!hits) {
        hits = findCanaries(blob.bytes, this.canaries).map((h) => ({
          canary: h.canary.index,
          via: 'plaintext' as const,
          evidence: `${blob.label}: ${blob.locate ? blob.locate(h.offset) : `offset ${h.offset}`} (${h.form}, ${h.occurrences}x)`,
        }));
        this.plaintextMemo.set(blob, hits);
      }
      (blob.credentialReuse ? reused : out).push(...hits);
    }
    for (const v of loot.values) {
      let hits = this.plaintextMemo.get(v);
      if (!hits) {
        hits = findCanaries(v.value, this.canaries).map((h) => ({
          canary: h.canary.index,
          via: 'plaintext' as const,
          evidence: `${v.source}: ${v.key} stored unencrypted (${h.form} at byte ${h.offset})`,
        }));
        this.plaintextMemo.set(v, hits);
      }
      out.push(...hits);
    }
    return [...out, ...reused];
  }

  private screen(group: Group, key: KeyCandidate): boolean {
    const memo = `${group.id}|${key.bytes.toString('hex')}`;
    let ok = this.screenMemo.get(memo);
    if (ok === undefined) {
      ok = screenCandidate(group.sample.format, key.bytes);
      this.screenMemo.set(memo, ok);
    }
    return ok;
  }

  private async decrypted(loot: Loot, signal: AbortSignal): Promise<{ recoveries: Recovery[]; keysFound: string[]; notes: string[] }> {
    const groups = new Map<string, Group>();
    const seenValue = new Set<string>();
    for (const value of loot.values) {
      const format = parseStoredValue(value.value);
      if (format.kind === 'identity' || format.kind === 'unknown') continue;
      const dedupe = `${value.key}|${fingerprint(value.value)}`;
      if (seenValue.has(dedupe)) continue;
      seenValue.add(dedupe);
      const id = groupId(format);
      const g = groups.get(id);
      if (g) g.members.push({ value, format });
      else groups.set(id, { id, label: groupLabel(format), sample: { value, format }, members: [{ value, format }] });
    }
    const recoveries: Recovery[] = [];
    const keysFound: string[] = [];
    const notes: string[] = [];
    const record = (plain: Buffer, via: 'key' | 'oracle', how: string) => {
      for (const h of findCanaries(plain, this.canaries, 1)) recoveries.push({ canary: h.canary.index, via, evidence: how });
      plain.fill(0);
    };
    for (const g of groups.values()) {
      let opened = false;
      for (const key of loot.keys) {
        if (!this.screen(g, key)) continue;
        const check = await decryptWith(g.sample.format, key.bytes, g.sample.value.key);
        if (!check) continue;
        check.fill(0);
        opened = true;
        const kid = fingerprint(key.bytes);
        keysFound.push(`key ${kid} (${key.how}, ${key.where}) opens ${g.label}`);
        for (const m of g.members) {
          const plain = await decryptWith(m.format, key.bytes, m.value.key);
          if (plain) record(plain, 'key', `${m.value.source}: ${m.value.key} opened with key ${kid} found as ${key.how} at ${key.where}`);
        }
        break;
      }
      if (opened) continue;
      for (const oracle of loot.oracles) {
        let any = false;
        for (const m of g.members) {
          if (m.format.kind !== 'kms-v2') continue;
          const seed = await oracle.unwrap(m.format.object, m.format.providerName, signal).catch(() => undefined);
          if (!seed) continue;
          const plain = await decryptWith(m.format, seed, m.value.key);
          seed.fill(0);
          if (!plain) continue;
          any = true;
          record(plain, 'oracle', `${m.value.source}: ${m.value.key} opened after ${oracle.name} unwrapped its EDEK`);
        }
        if (any) {
          keysFound.push(`${oracle.name} unwraps the EDEKs of ${g.label}`);
          opened = true;
          break;
        }
      }
      if (!opened) notes.push(`${g.members.length} ${g.label} value(s): none of ${loot.keys.length} key candidate(s) and ${loot.oracles.length} way(s) to have the KMS decrypt opened them`);
    }
    return { recoveries, keysFound, notes };
  }

  async assess(
    base: { row: string; variant: string; attack: string; capabilities: Capability[] },
    parts: readonly Loot[],
    signal: AbortSignal,
  ): Promise<Finding> {
    const started = Date.now();
    const f = emptyFinding({ ...base, total: this.canaries.length });
    const unavailable = parts.find((p) => p.unavailable)?.unavailable;
    const na = parts.find((p) => p.notApplicable)?.notApplicable;
    f.notes = parts.flatMap((p) => p.notes);
    if (unavailable) {
      f.status = 'unavailable';
      f.evidence = [`not measured: ${unavailable}`];
      return f;
    }
    if (na && parts.length === 1) {
      f.status = 'n/a';
      f.evidence = [`n/a: ${na}`];
      return f;
    }
    const merged: Loot = {
      blobs: parts.flatMap((p) => p.blobs),
      values: parts.flatMap((p) => p.values),
      keys: parts.flatMap((p) => p.keys),
      oracles: parts.flatMap((p) => p.oracles),
      notes: [],
    };
    const plain = this.plaintext(merged);
    const dec = await this.decrypted(merged, signal);
    f.notes.push(...dec.notes);
    f.keysFound = dec.keysFound;
    f.recoveries = [...plain, ...dec.recoveries];
    const distinct = (rs: Recovery[]) => new Set(rs.map((r) => r.canary)).size;
    f.plaintextCanaries = distinct(plain);
    f.keyMaterialCanaries = distinct(dec.recoveries);
    f.recovered = distinct(f.recoveries);
    f.status = f.recovered > 0 ? 'recovered' : 'nothing';
    f.evidence = summarize(f, merged);
    f.durationMs = Date.now() - started;
    return f;
  }
}

/** The cell line first, then one line per distinct way a canary was obtained. */
function summarize(f: Finding, loot: Loot): string[] {
  const lines: string[] = [];
  if (f.recovered === 0) {
    const tried = [
      loot.blobs.length ? `${loot.blobs.length} blob(s), ${mb(loot.blobs.reduce((n, b) => n + b.bytes.length, 0))}` : '',
      loot.values.length ? `${loot.values.length} stored value(s)` : '',
      loot.keys.length ? `${loot.keys.length} key candidate(s)` : '',
      loot.oracles.length ? `${loot.oracles.length} way(s) to have the KMS decrypt` : '',
    ].filter(Boolean);
    lines.push(`0/${f.total} canaries from ${tried.join(', ') || 'nothing obtained'}`);
    return lines;
  }
  const parts: string[] = [];
  if (f.plaintextCanaries) parts.push(`${f.plaintextCanaries} in plaintext`);
  if (f.keyMaterialCanaries) parts.push(`${f.keyMaterialCanaries} via ${f.keysFound.length} key(s) found or KMS decryption obtained`);
  const first = f.recoveries[0]!;
  lines.push(`${f.recovered}/${f.total} canaries (${parts.join('; ')}): ${first.evidence}`);
  const seen = new Set<string>();
  for (const r of f.recoveries) {
    const line = `canary #${r.canary} [${r.via === 'oracle' ? 'KMS decrypted it' : r.via === 'key' ? 'key found' : 'in clear'}] ${r.evidence}`;
    if (!seen.has(line)) lines.push(line);
    seen.add(line);
  }
  lines.push(...f.keysFound);
  return lines;
}

function mb(n: number): string {
  return n > 1 << 20 ? `${(n / (1 << 20)).toFixed(0)} MiB` : `${n} bytes`;
}
