// The verdict rules, applied to findings and nothing else (nothing here knows what a row is supposed to resist):
//
//  ✗   the capability alone recovers at least one canary (integrity: gets forged data served) in the row's default
//      variant;
//  ✓   it recovers nothing alone there, but does in another variant of the row, or together with one other in-cluster
//      capability (disk, ram, etcd, config-file, kms-socket) that recovers nothing alone; the caveat names which;
//  ✓✓  nothing recovered alone, in any variant, or with any in-cluster combination. Combinations with the kms-server
//      (the design's root of trust) are reported but do not count. Every one of those must have been measured: a run
//      of a subset of columns (or a variant or attack that could not run) gives ✓ naming what was not tried instead,
//      since an untried combination may recover what the tried ones do not;
//  n/a the capability has nothing to act on in that row (its attack says so);
//  ?   not measured: the attack failed or the component it needs is not built yet (the evidence says which).
import { IN_CLUSTER, isIntegrityColumn, type Capability, type Column } from './capability.js';
import type { Finding } from './finding.js';

export type Mark = '✗' | '✓' | '✓✓' | 'n/a' | '?';

export interface Cell {
  row: string;
  column: Column;
  mark: Mark;
  /** For ✓: what makes it recoverable (a variant, a combination). */
  caveat?: string;
  /** One line: the deciding evidence. */
  evidence: string;
  /** Which rule decided, in words (for the report and audits). */
  rule: string;
  /** Reported, not counted: combinations with the kms-server, unmeasured variants. */
  notes: string[];
}

export const VERDICT_RULES: readonly string[] = [
  '✗ does not mitigate: the capability alone recovers at least one canary (integrity columns: the API server serves forged data) in the row\'s default variant.',
  '✓ mitigates with a caveat: it recovers nothing alone, but does in another variant of the row, or together with one other in-cluster capability (disk, ram, etcd, config-file, kms-socket) that recovers nothing alone; the caveat names which.',
  '✓✓ mitigates with no caveat: nothing recovered alone, in any variant, or with any in-cluster combination (combinations with the kms-server, the design\'s root of trust, are reported but do not count), and every one of those was tried. When a variant or combination was not tried (a run of some columns only, or an attack that could not run) the cell is ✓ and its caveat names what was not tried.',
  'n/a: the capability has nothing to act on in that row.',
  '? not measured: the attack failed, or a component it needs is not built yet.',
];

export interface RowFindings {
  row: string;
  /** Variant ids, default first. */
  variants: readonly string[];
  findings: readonly Finding[];
}

function single(rf: RowFindings, variant: string, c: Capability | Column): Finding | undefined {
  return rf.findings.find((f) => f.variant === variant && f.attack === c);
}

function combo(rf: RowFindings, variant: string, a: string, b: string): Finding | undefined {
  return rf.findings.find((f) => f.variant === variant && (f.attack === `${a}+${b}` || f.attack === `${b}+${a}`));
}

const recovers = (f: Finding | undefined): boolean => f !== undefined && f.status === 'recovered' && f.recovered > 0;
/** "Recovers nothing alone": measured and empty (n/a counts: there was nothing to act on). */
const empty = (f: Finding | undefined): boolean => f !== undefined && (f.status === 'nothing' || f.status === 'n/a');

export function computeCell(rf: RowFindings, column: Column): Cell {
  const def = rf.variants[0];
  const base = { row: rf.row, column, notes: [] as string[] };
  const d = def === undefined ? undefined : single(rf, def, column);
  if (!d) return { ...base, mark: '?', evidence: 'not run', rule: 'no finding for the default variant' };
  if (d.status === 'unavailable' || d.status === 'error') {
    return { ...base, mark: '?', evidence: d.evidence[0] ?? d.error ?? d.status, rule: `default variant ${def}: ${d.status}` };
  }
  if (d.status === 'n/a') return { ...base, mark: 'n/a', evidence: d.evidence[0] ?? 'n/a', rule: 'nothing to act on' };
  if (recovers(d)) return { ...base, mark: '✗', evidence: d.evidence[0] ?? '', rule: `recovers alone in the default variant ${def}` };

  for (const v of rf.variants.slice(1)) {
    const f = single(rf, v, column);
    if (!f || f.status === 'unavailable' || f.status === 'error') base.notes.push(`variant ${v}: not measured (${f?.evidence[0] ?? 'not run'})`);
    if (recovers(f)) {
      return { ...base, mark: '✓', caveat: `in variant ${v}`, evidence: `${d.evidence[0] ?? ''}; but in ${v}: ${f!.evidence[0] ?? ''}`, rule: `recovers alone in another variant (${v})` };
    }
  }

  if (!isIntegrityColumn(column)) {
    const others = (column === 'kms-server' ? [] : IN_CLUSTER).filter((c) => c !== column);
    for (const v of rf.variants) {
      for (const c of others) {
        const both = combo(rf, v, column, c);
        if (recovers(both) && empty(single(rf, v, c))) {
          const where = v === def ? '' : ` in variant ${v}`;
          return {
            ...base,
            mark: '✓',
            caveat: `with ${c}${where}`,
            evidence: `${d.evidence[0] ?? ''}; with ${c}${where}: ${both!.evidence[0] ?? ''}`,
            rule: `recovers together with ${c}, which recovers nothing alone${where}`,
          };
        }
      }
    }
    // Reported, not counted: the root of trust together with something else.
    for (const v of rf.variants) {
      const partners = column === 'kms-server' ? IN_CLUSTER : (['kms-server'] as const);
      for (const c of partners) {
        const both = combo(rf, v, column, c);
        if (recovers(both)) base.notes.push(`with ${c}${v === def ? '' : ` in ${v}`}: ${both!.recovered}/${both!.total} (reported; the kms-server is the root of trust and does not count)`);
      }
    }
  }
  const untried = untriedFor(rf, column);
  if (untried.length > 0) {
    return {
      ...base,
      mark: '✓',
      caveat: `not tried: ${untried.join(', ')}`,
      evidence: d.evidence[0] ?? '',
      rule: `nothing recovered in what was measured, but ${untried.join(', ')} ${untried.length > 1 ? 'were' : 'was'} not tried, so this run cannot give ✓✓`,
    };
  }
  return { ...base, mark: '✓✓', evidence: d.evidence[0] ?? '', rule: 'nothing recovered alone, in any variant, or with any in-cluster combination' };
}

const measured = (f: Finding | undefined): boolean => f !== undefined && f.status !== 'unavailable' && f.status !== 'error';

/**
 * What ✓✓ needs that the findings lack: variants where the capability was not measured alone, and in-cluster partners
 * whose combination was not measured (a partner with nothing to act on, n/a, needs no combination).
 */
export function untriedFor(rf: RowFindings, column: Column): string[] {
  const out: string[] = [];
  const partners = isIntegrityColumn(column) || column === 'kms-server' ? [] : IN_CLUSTER.filter((c) => c !== column);
  const missing = new Map<string, string[]>();
  let tried = 0;
  for (const v of rf.variants) {
    if (!measured(single(rf, v, column))) {
      out.push(`variant ${v}`);
      continue;
    }
    tried++;
    for (const c of partners) {
      if (single(rf, v, c)?.status === 'n/a') continue;
      if (!measured(combo(rf, v, column, c))) missing.set(c, [...(missing.get(c) ?? []), v]);
    }
  }
  for (const [c, vs] of missing) out.push(vs.length === tried ? `with ${c}` : `with ${c} in ${vs.join(', ')}`);
  return out;
}
