// What an attack found, as evidence: counts, files, memory regions, offsets, key fingerprints - never a canary value or
// a key. Verdicts (verdict.ts) are computed from these records and nothing else.
import type { Capability, Column } from './capability.js';

/** One recovery: how one canary was obtained. */
export interface Recovery {
  canary: number;
  /** 'plaintext': found in clear; 'key': decrypted with key material found; 'oracle': decrypted through a KMS. */
  via: 'plaintext' | 'key' | 'oracle';
  /** e.g. `ram: anon rw-p region 0x... at 0x... (base64, 3 times)` or `aescbc value /registry/... opened with key sha256:...`. */
  evidence: string;
}

export interface Finding {
  row: string;
  variant: string;
  /** The column for a single capability, or `a+b` for a combination. */
  attack: string;
  capabilities: Capability[];
  /**
   * recovered: at least one canary (confidentiality) or forged value served (integrity); nothing: tried and failed;
   * n/a: the capability has nothing to act on in this deployment; unavailable: the component is not built yet;
   * error: the attack itself failed (the message says why).
   */
  status: 'recovered' | 'nothing' | 'n/a' | 'unavailable' | 'error';
  /** Canaries recovered (distinct), or forged values served for integrity attacks. */
  recovered: number;
  /** Canaries planted, or integrity trials made. */
  total: number;
  /** The first line is the cell's evidence line in the table. */
  evidence: string[];
  recoveries: Recovery[];
  /** Counts that the ram column reports separately. */
  plaintextCanaries: number;
  keyMaterialCanaries: number;
  /** Key candidates that opened a stored value (each named by fingerprint and location). */
  keysFound: string[];
  /** What was tried without result (so "nothing" is auditable). */
  notes: string[];
  error?: string;
  durationMs: number;
}

export function columnOf(f: Finding): Column | undefined {
  return f.attack.includes('+') ? undefined : (f.attack as Column);
}

export function emptyFinding(base: Pick<Finding, 'row' | 'variant' | 'attack' | 'capabilities' | 'total'>): Finding {
  return {
    ...base,
    status: 'nothing',
    recovered: 0,
    evidence: [],
    recoveries: [],
    plaintextCanaries: 0,
    keyMaterialCanaries: 0,
    keysFound: [],
    notes: [],
    durationMs: 0,
  };
}
