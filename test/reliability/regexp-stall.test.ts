// Issue 11, defect 2, kept as a reliability test: `{{ regexMatch "^(a+)+$" "<27 a's>b" }}` in one ExternalSecret used
// to stall the whole `coffer up` process (API server included) for seconds, and for minutes at 32 characters, because
// patterns ran on JavaScript's backtracking engine. A real `coffer up` (which runs the controller in-process) gets
// that ExternalSecret and one whose template runs away, through kubectl, while a client keeps reading Secrets: every
// answer must come within 1 s (the liveness bound), the patterns must be evaluated (RE2 says "false"), and the
// runaway template must fail its ExternalSecret with a clear message and leave the Secret it synced before.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { freePort, run, runWithInput, startCoffer, until, type CofferChild } from '../support/processes.js';

const LIVENESS_BOUND_MS = 1000;

interface Kubeconfig {
  clusters: { cluster: { server: string; 'certificate-authority-data'?: string } }[];
  users: { user: { token: string } }[];
}

void describe('reliability: user regexps and templates cannot stall coffer up', () => {
  let dir: string;
  let server: CofferChild;
  let kubeconfig: Kubeconfig;
  const kubeArgs = () => ['--kubeconfig', join(dir, 'data', 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache')];
  const apply = (manifest: object) => runWithInput('kubectl', [...kubeArgs(), 'apply', '-f', '-'], JSON.stringify(manifest));
  const getJson = async <T>(...args: string[]): Promise<T | undefined> => {
    const out = (await run('kubectl', [...kubeArgs(), ...args, '--ignore-not-found', '-o', 'json'])).stdout;
    return out.trim() === '' ? undefined : (JSON.parse(out) as T);
  };
  const ready = async (name: string) =>
    (await getJson<{ status?: { conditions?: { type: string; status: string; message?: string }[] } }>('-n', 'stall', 'get', 'externalsecret', name))?.status?.conditions?.find(
      (c) => c.type === 'Ready',
    );
  const secretValue = async (name: string, key: string) => {
    const s = await getJson<{ data?: Record<string, string> }>('-n', 'stall', 'get', 'secret', name);
    const v = s?.data?.[key];
    return v === undefined ? undefined : Buffer.from(v, 'base64').toString();
  };

  /** One authenticated GET of a Secret list, as any client does; resolves with its duration. */
  function timedGet(): Promise<number> {
    const cluster = kubeconfig.clusters[0]!.cluster;
    const ca = cluster['certificate-authority-data'];
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = request(
        `${cluster.server}/api/v1/namespaces/stall/secrets`,
        { headers: { Authorization: `Bearer ${kubeconfig.users[0]!.user.token}` }, ...(ca ? { ca: Buffer.from(ca, 'base64') } : {}) },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`GET secrets answered ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-stall-'));
    const port = await freePort();
    ({ child: server } = await startCoffer(['up', '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--encryption', 'aesgcm'], /export KUBECONFIG=/, 'coffer up'));
    kubeconfig = parseYaml(await readFile(join(dir, 'data', 'kubeconfig'), 'utf8')) as Kubeconfig;
  });
  after(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  void it('answers every request within 1 s while the attack ExternalSecrets reconcile, and syncs them with RE2 results', async (t) => {
    const latencies: number[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        latencies.push(await timedGet());
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const attack = (n: number) => `${'a'.repeat(n)}b`;
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'stall' } });
    await apply({
      apiVersion: 'external-secrets.io/v1',
      kind: 'SecretStore',
      metadata: { name: 'fake', namespace: 'stall' },
      spec: { provider: { fake: { data: [{ key: '/input', value: attack(32) }] } } },
    });
    const externalSecret = (name: string, template: Record<string, string>) => ({
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name, namespace: 'stall' },
      spec: {
        refreshInterval: '1s',
        secretStoreRef: { name: 'fake', kind: 'SecretStore' },
        target: { template: { data: template } },
        data: [{ secretKey: 'input', remoteRef: { key: '/input' } }],
      },
    });
    await apply(externalSecret('redos', {
      literal27: `{{ regexMatch "^(a+)+$" "${attack(27)}" }}`,
      literal32: `{{ regexMatch "^(a+)+$" "${attack(32)}" }}`,
      fromProvider: '{{ .input | regexMatch "^(a+)+$" }}',
      replaced: '{{ regexReplaceAll "^(a+)+b$" .input "matched" }}',
    }));
    await apply(externalSecret('runaway', { value: 'first {{ .input | len }}' }));

    await until(async () => (await ready('redos'))?.status === 'True', 'ExternalSecret stall/redos Ready', 30_000);
    assert.equal(await secretValue('redos', 'literal27'), 'false');
    assert.equal(await secretValue('redos', 'literal32'), 'false');
    assert.equal(await secretValue('redos', 'fromProvider'), 'false');
    assert.equal(await secretValue('redos', 'replaced'), 'matched');

    await until(async () => (await secretValue('runaway', 'value')) === 'first 33', 'Secret stall/runaway synced', 30_000);
    // Now a template that would run for hours: it must fail within its budget (time, or output size on a fast machine:
    // each iteration writes "false"), over and over on each retry.
    await apply(externalSecret('runaway', { value: '{{ range 1000000000000 }}{{ regexMatch "^(a+)+$" $.input }}{{ end }}' }));
    const failed = await until(async () => (await ready('runaway'))?.status === 'False', 'ExternalSecret stall/runaway Ready=False', 30_000).then(() => ready('runaway'));
    assert.match(failed!.message ?? '', /unable to execute template at key value: template: value:1: (execution exceeded the time limit of \d+ms|output exceeds the size limit of \d+ bytes)/);
    assert.equal(await secretValue('runaway', 'value'), 'first 33', 'the Secret synced before is left as it was');
    // Keep the attack reconciling (refreshInterval 1s, retries with backoff) while the probe goes on.
    await new Promise((r) => setTimeout(r, 3000));

    probing = false;
    await prober;
    assert.ok(latencies.length > 20, `the probe ran throughout (${latencies.length} requests)`);
    const worst = Math.max(...latencies);
    t.diagnostic(`${latencies.length} GETs, slowest ${worst.toFixed(0)} ms`);
    assert.ok(worst < LIVENESS_BOUND_MS, `every GET answered within ${LIVENESS_BOUND_MS} ms; the slowest took ${worst.toFixed(0)} ms`);
  });
});
