// Runs the lab: each variant of each selected row is deployed, attacked with each selected column's capability alone
// and with every pair of capabilities, judged, and torn down (processes stopped, temp dirs removed) before its slot is
// given to the next variant - also when an attack throws. Two variants run at a time (this machine has 2 cores).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Attack } from './attack.js';
import { configFileAttack } from './attacks/config-file-attack.js';
import { etcdAttack } from './attacks/datastore-read.js';
import { diskAttack } from './attacks/disk-attack.js';
import { kmsServerAttack } from './attacks/kms-server-attack.js';
import { kmsSocketAttack } from './attacks/kms-socket-attack.js';
import { ramAttack } from './attacks/ram-attack.js';
import { CONFIDENTIALITY_COLUMNS, type Capability, type Column } from './capability.js';
import { CleanupStack } from './cleanup.js';
import { deployVariant, variantUnavailable, type Deployed } from './deployment.js';
import { emptyFinding, type Finding } from './finding.js';
import { Judge } from './judge.js';
import type { Loot } from './loot.js';
import type { RowSpec, VariantSpec } from './rows.js';
import { restrictTarget } from './target.js';
import { computeCell, type Cell } from './verdict.js';

export const ATTACKS: Readonly<Record<(typeof CONFIDENTIALITY_COLUMNS)[number], Attack>> = {
  disk: diskAttack,
  ram: ramAttack,
  etcd: etcdAttack,
  'kms-server': kmsServerAttack,
  'config-file': configFileAttack,
  'kms-socket': kmsSocketAttack,
};

export interface LabOptions {
  rows: readonly RowSpec[];
  columns: readonly Column[];
  canaryCount?: number;
  concurrency?: number;
  signal?: AbortSignal;
  /** Progress lines; never holds a value. */
  log?: (line: string) => void;
  /** The stack every process and temp dir is registered on (the CLI's, which SIGINT empties). */
  cleanup: CleanupStack;
  /** Test hook: runs after each variant is deployed, before it is attacked (a test makes an attack fail here). */
  afterDeploy?: (d: Deployed) => Promise<void> | void;
}

export interface VariantResult {
  spec: VariantSpec;
  unavailable?: string;
  error?: string;
  notes: string[];
  placeholder?: string;
  canaryFingerprints: string[];
  durationMs: number;
}

export interface LabResult {
  startedAt: string;
  durationMs: number;
  columns: Column[];
  rows: { id: string; title: string; variants: VariantResult[] }[];
  findings: Finding[];
  cells: Cell[];
  /** Not part of any output: for the leak check. */
  plantedValues: Buffer[];
}

function failedFinding(spec: VariantSpec, attack: string, caps: Capability[], status: 'error' | 'unavailable', why: string): Finding {
  const f = emptyFinding({ row: spec.row, variant: spec.id, attack, capabilities: caps, total: 0 });
  f.status = status;
  f.error = why;
  f.evidence = [status === 'error' ? `attack failed: ${why}` : `not measured: ${why}`];
  return f;
}

async function attackVariant(d: Deployed, columns: readonly Column[], signal: AbortSignal, log: (l: string) => void): Promise<Finding[]> {
  const judge = new Judge(d.canaries);
  const spec = d.spec;
  const findings: Finding[] = [...d.integrity];
  const loots = new Map<Column, Loot>();
  const conf = CONFIDENTIALITY_COLUMNS.filter((c) => columns.includes(c));
  for (const column of conf) {
    const attack = ATTACKS[column];
    const started = Date.now();
    try {
      const scratch = join(d.target.scratch, column);
      await mkdir(scratch, { recursive: true });
      const loot = await attack.run(restrictTarget(d.target, attack.requires, scratch), signal);
      loots.set(column, loot);
      const f = await judge.assess({ row: spec.row, variant: spec.id, attack: column, capabilities: attack.requires }, [loot], signal);
      f.durationMs = Date.now() - started;
      log(`${spec.id}: ${column}: ${f.status} (${f.recovered}/${f.total}) in ${f.durationMs} ms`);
      findings.push(f);
    } catch (e) {
      findings.push(failedFinding(spec, column, attack.requires, 'error', e instanceof Error ? e.message : String(e)));
    }
  }
  // Every pair: the combinations the ✓ rule looks at (and the kms-server pairs it reports).
  for (let i = 0; i < conf.length; i++) {
    for (let j = i + 1; j < conf.length; j++) {
      const a = loots.get(conf[i]!);
      const b = loots.get(conf[j]!);
      if (!a || !b || a.notApplicable || b.notApplicable || a.unavailable || b.unavailable) continue;
      const caps = [...ATTACKS[conf[i]!].requires, ...ATTACKS[conf[j]!].requires];
      findings.push(await judge.assess({ row: spec.row, variant: spec.id, attack: `${conf[i]}+${conf[j]}`, capabilities: caps }, [a, b], signal));
    }
  }
  log(`${spec.id}: ${findings.filter((f) => !f.attack.includes('+') && f.status === 'recovered').length} single-capability attack(s) succeeded`);
  return findings;
}

async function runVariant(spec: VariantSpec, opts: LabOptions, signal: AbortSignal, log: (l: string) => void) {
  const started = Date.now();
  const result: VariantResult = { spec, notes: [], canaryFingerprints: [], durationMs: 0 };
  const findings: Finding[] = [];
  const planted: Buffer[] = [];
  const unavailable = await variantUnavailable(spec);
  const allColumns = opts.columns;
  if (unavailable) {
    result.unavailable = unavailable;
    for (const c of allColumns) findings.push(failedFinding(spec, c, [], 'unavailable', unavailable));
    return { result, findings, planted };
  }
  // A stack of its own, registered on the lab's: SIGINT empties both; the variant's is emptied when it ends.
  const stack = new CleanupStack();
  const release = opts.cleanup.defer(`clean up ${spec.id}`, async () => {
    const failures = await stack.runAll();
    if (failures.length) throw new Error(failures.join('; '));
  });
  try {
    const d = await deployVariant(spec, stack, { columns: allColumns, canaryCount: opts.canaryCount ?? 3, signal, log });
    planted.push(...d.plantedValues);
    result.notes.push(...d.notes);
    if (d.placeholder) result.placeholder = d.placeholder;
    result.canaryFingerprints = d.canaries.map((c) => c.fingerprint);
    await opts.afterDeploy?.(d);
    findings.push(...(await attackVariant(d, allColumns, signal, log)));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    result.error = why;
    log(`${spec.id}: failed: ${why}`);
    for (const c of allColumns) if (!findings.some((f) => f.attack === c)) findings.push(failedFinding(spec, c, [], 'error', why));
  } finally {
    await release();
  }
  result.durationMs = Date.now() - started;
  return { result, findings, planted };
}

export async function runLab(opts: LabOptions): Promise<LabResult> {
  const started = Date.now();
  const signal = opts.signal ?? new AbortController().signal;
  const log = (line: string) => opts.log?.(`${((Date.now() - started) / 1000).toFixed(1)}s ${line}`);
  const jobs = opts.rows.flatMap((r) => r.variants);
  const results = new Map<string, Awaited<ReturnType<typeof runVariant>>>();
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const spec = jobs[next++]!;
      signal.throwIfAborted();
      results.set(spec.id, await runVariant(spec, opts, signal, log));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 2) }, worker));
  const findings = jobs.flatMap((j) => results.get(j.id)?.findings ?? []);
  const cells: Cell[] = [];
  for (const row of opts.rows) {
    const rf = { row: row.id, variants: row.variants.map((v) => v.id), findings: findings.filter((f) => f.row === row.id) };
    for (const column of opts.columns) cells.push(computeCell(rf, column));
  }
  return {
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    columns: [...opts.columns],
    rows: opts.rows.map((r) => ({ id: r.id, title: r.title, variants: r.variants.map((v) => results.get(v.id)!.result) })),
    findings,
    cells,
    plantedValues: jobs.flatMap((j) => results.get(j.id)?.planted ?? []),
  };
}

