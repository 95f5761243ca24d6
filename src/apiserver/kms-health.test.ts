// Issue 11, defect 5 (API side): a KMS plugin that stops answering shows in /readyz and /healthz as kube-apiserver's
// `kms-providers` check, and writes it refuses answer 503 ServiceUnavailable with the reason, not 500. The plugin is a
// real gRPC server on a real unix socket; Status polling and the write deadline are shortened so the outage plays
// out in about a second.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadEncryptionConfiguration } from '../encryption/encryption-config.js';
import { EncryptionEngine } from '../encryption/encryption-engine.js';
import { startBase64KmsPlugin } from '../kms/testing/base64-kms-plugin.js';
import { startTestApiServer, type TestApiServer } from './testing/test-api-server.js';

/** Polls until `check` holds; the bound is only a liveness guard for a hung test. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (const start = Date.now(); !(await check()); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() - start > 30_000) throw new Error(`timed out waiting for ${what}`);
  }
}

void describe('KMS health in /readyz and /healthz, 503 for writes the KMS refuses', () => {
  let plugin: Awaited<ReturnType<typeof startBase64KmsPlugin>>;
  let t: TestApiServer;
  let n = 0;
  const write = () =>
    t.call('POST', '/api/v1/namespaces/default/secrets', { body: JSON.stringify({ metadata: { name: `s${n++}` }, stringData: { k: 'v' } }) });

  before(async () => {
    plugin = await startBase64KmsPlugin();
    const config = `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - kms:
          apiVersion: v2
          name: plugin-a
          endpoint: ${plugin.endpoint}
          timeout: 500ms
`;
    const engine = await EncryptionEngine.create(loadEncryptionConfiguration(config), {
      kmsV2Timing: { healthyIntervalMs: 100, retryIntervalMs: 100, writeTtlMs: 300 },
    });
    t = await startTestApiServer({ engine });
  });
  after(async () => {
    await t.close();
    await plugin.close();
  });

  void it('lists kms-providers and each provider while the plugin is healthy', async () => {
    const r = await t.call('GET', '/readyz?verbose', { auth: false });
    assert.equal(r.status, 200);
    assert.equal(r.text, '[+]ping ok\n[+]etcd ok\n[+]kms-providers ok\n[+]kms-provider-0 ok\nreadyz check passed\n');
    assert.equal((await t.call('GET', '/healthz/kms-providers')).text, 'ok');
    assert.equal((await write()).status, 201);
  });

  void it('fails the check, keeps /livez, and answers writes 503 while the plugin is down; recovers after', async () => {
    plugin.controls.failWith = grpc.status.UNAVAILABLE;
    await until(async () => (await t.call('GET', '/readyz/kms-providers')).status === 500, '/readyz/kms-providers to fail');
    const one = await t.call('GET', '/readyz/kms-providers');
    assert.match(one.text, /^internal server error: failed to perform status section of the healthz check for KMS Provider plugin-a, error: /);
    for (const endpoint of ['readyz', 'healthz']) {
      const list = await t.call('GET', `/${endpoint}`, { auth: false });
      assert.equal(list.status, 500);
      assert.equal(list.text, `[+]ping ok\n[+]etcd ok\n[-]kms-providers failed: reason withheld\n[-]kms-provider-0 failed: reason withheld\n${endpoint} check failed\n`);
    }
    assert.equal((await t.call('GET', '/livez', { auth: false })).text, 'ok');

    let refused = await write();
    await until(async () => (refused = await write()).status !== 201, 'the write deadline to pass');
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.json().reason, 'ServiceUnavailable');
    assert.match(refused.json().message as string, /^unable to transform key "\/registry\/secrets\/default\/s\d+": /);

    plugin.controls.failWith = undefined;
    await until(async () => (await t.call('GET', '/readyz', { auth: false })).text === 'ok', '/readyz to recover');
    await until(async () => (await write()).status === 201, 'writes to succeed again');
  });
});
