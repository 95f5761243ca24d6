// `coffer encryption status` and `coffer audit` output: a table for people, JSON for tools. Both show storage keys and
// provider/key names only, never a value or key material.
import { InvalidError } from '../lib/errors.js';
import type { ConfigHealth } from './config-health.js';
import type { Finding, ScanResult } from './scan.js';

export type FailOn = 'plaintext' | 'unknown' | 'stale';
export const FAIL_ON_VALUES: readonly FailOn[] = ['plaintext', 'unknown', 'stale'];

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function formatStatusTable(scan: ScanResult, health?: ConfigHealth): string {
  const out: string[] = [`source: ${scan.source} (prefix ${scan.prefix})`, ''];
  const rows = [['RESOURCE', 'TOTAL', 'PLAINTEXT', 'UNKNOWN', 'STALE', 'WRITTEN BY']];
  for (const r of scan.resources) {
    const writers = Object.entries(r.byWriter).sort(([a], [b]) => a.localeCompare(b)).map(([w, n]) => `${w}=${n}`).join(' ');
    rows.push([r.resource, String(r.total), String(r.plaintext), String(r.unknown), r.stale === null ? '-' : String(r.stale), writers]);
  }
  out.push(table(rows));
  if (health) {
    out.push('', `configuration: ${health.hash}`);
    for (const rule of health.rules) {
      out.push(`  ${rule.resources.join(',')}: writes ${rule.writes}; reads only ${rule.readsOnly.length ? rule.readsOnly.join(', ') : '(nothing else)'}`);
    }
    for (const k of health.kmsV2) {
      out.push(`  kms v2 plugin ${k.name} (${k.endpoint}): ${k.healthz}${k.keyIdHash ? `, current key_id ${k.keyIdHash}` : ''}${k.error ? ` (${k.error})` : ''}`);
    }
    if (health.apiServerReadyz) out.push(`  API server ${health.apiServerReadyz.url}: ${health.apiServerReadyz.ok ? 'ready' : `not ready (${health.apiServerReadyz.detail})`}`);
    if (health.pluginHealthz) out.push(`  KMS plugin ${health.pluginHealthz.url}: ${health.pluginHealthz.ok ? 'healthy' : `not healthy (${health.pluginHealthz.detail})`}`);
    if (health.agree !== undefined) out.push(`  API server and plugin ${health.agree ? 'agree' : 'DISAGREE'}`);
  }
  return `${out.join('\n')}\n`;
}

export function failingFindings(scan: ScanResult, failOn: readonly FailOn[]): Finding[] {
  return scan.findings.filter(
    (f) => (failOn.includes('plaintext') && f.kind === 'plaintext') || (failOn.includes('unknown') && f.kind === 'unknown') || (failOn.includes('stale') && f.stale),
  );
}

/** One line per finding: what is wrong with which storage key, and what wrote it. */
export function formatFindings(findings: readonly Finding[]): string {
  return findings
    .map((f) => {
      const what = [f.kind === 'plaintext' ? 'plaintext' : f.kind === 'unknown' ? 'unknown-prefix' : '', f.stale ? 'stale' : ''].filter(Boolean).join(',');
      return `${what} ${f.key} (${f.writer})\n`;
    })
    .join('');
}

export function parseFailOn(text: string): FailOn[] {
  const values = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const v of values) {
    if (!(FAIL_ON_VALUES as readonly string[]).includes(v)) {
      throw new InvalidError(`each value must be one of ${FAIL_ON_VALUES.join(', ')}, got ${JSON.stringify(v)}`, { field: '--fail-on' });
    }
  }
  return values as FailOn[];
}
