// /livez, /readyz and /healthz as kube-apiserver serves them (k8s.io/apiserver pkg/server/healthz/healthz.go): a list of
// named checks, `[+]name ok` / `[-]name failed: reason withheld` lines under `?verbose` or on failure, `?exclude=`,
// one path per check (`/readyz/kms-providers`), and 500 when any check fails. The reasons go to the server log only
// on the list endpoints; a single check's endpoint answers its error, as upstream does.
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { writeNotFoundPage, writeText } from './response-writer.js';

export interface HealthCheck {
  name: string;
  check(): Promise<void>;
}

/** A KMS provider's probe, as the encryption engine lists them. */
export interface KmsProbe {
  name: string;
  check(): Promise<void>;
}

/**
 * kube-apiserver's KMS checks (k8s.io/apiserver pkg/server/options/encryptionconfig/config.go): `kms-providers` runs
 * every provider's probe in turn and fails with each unhealthy provider's error; `kms-provider-<i>` checks one
 * provider, so `?verbose` shows which one is down. No KMS provider, no check.
 */
export function kmsHealthChecks(probes: () => readonly KmsProbe[]): HealthCheck[] {
  const all: HealthCheck = {
    name: 'kms-providers',
    async check() {
      const errors: string[] = [];
      for (const p of probes()) {
        await p.check().catch((e: unknown) => errors.push(e instanceof Error ? e.message : String(e)));
      }
      if (errors.length > 0) throw new Error(errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`);
    },
  };
  const count = probes().length;
  if (count === 0) return [];
  return [
    all,
    ...Array.from({ length: count }, (_, i) => ({
      name: `kms-provider-${i}`,
      check: async () => {
        const probe = probes()[i];
        if (probe) await probe.check();
      },
    })),
  ];
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Serves `/<endpoint>` or `/<endpoint>/<check>`; `ping` always passes. */
export async function serveHealth(
  res: ServerResponse,
  endpoint: string,
  checkName: string | undefined,
  query: URLSearchParams,
  opts: { checks: readonly HealthCheck[]; logger: Logger },
): Promise<void> {
  const checks: HealthCheck[] = [{ name: 'ping', check: async () => undefined }, ...opts.checks];
  if (checkName !== undefined) {
    const one = checks.find((c) => c.name === checkName);
    if (!one) return writeNotFoundPage(res);
    try {
      await one.check();
    } catch (e) {
      return writeText(res, 500, `internal server error: ${message(e)}\n`);
    }
    return writeText(res, 200, 'ok');
  }
  const excluded = new Set(query.getAll('exclude'));
  let lines = '';
  let failed = false;
  for (const c of checks) {
    if (excluded.has(c.name)) {
      lines += `[+]${c.name} excluded: ok\n`;
      continue;
    }
    try {
      await c.check();
      lines += `[+]${c.name} ok\n`;
    } catch (e) {
      failed = true;
      lines += `[-]${c.name} failed: reason withheld\n`;
      opts.logger.warn({ endpoint, check: c.name, error: message(e) }, `${endpoint} check failed`);
    }
  }
  if (failed) return writeText(res, 500, `${lines}${endpoint} check failed\n`);
  if (query.has('verbose')) return writeText(res, 200, `${lines}${endpoint} check passed\n`);
  writeText(res, 200, 'ok');
}
