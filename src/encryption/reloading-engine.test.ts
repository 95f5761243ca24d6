import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../lib/clock.js';
import { ReloadingEncryptionEngine } from './reloading-engine.js';
import { contextForKey } from './transformer.js';

const config = (keys: string[]) => `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aesgcm:
          keys:
${keys.map((k) => `            - name: ${k}\n              secret: c2VjcmV0IGlzIHNlY3VyZQ==\n`).join('')}`;
const SECRETS = { group: '', resource: 'secrets' };
const ctx = contextForKey('/registry/secrets/default/a');

void describe('automatic reload of the encryption configuration', () => {
  let dir: string;
  let file: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-reload-'));
    file = join(dir, 'enc.yaml');
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  void it('swaps in a changed valid file, keeps the old one on a bad file, and polls on its interval', async () => {
    await writeFile(file, config(['key1']));
    const clock = new FakeClock();
    const results: string[] = [];
    const engine = await ReloadingEncryptionEngine.open(file, {
      clock,
      intervalMs: 60_000,
      onReload: (r) => results.push(r.ok ? 'ok' : `failed: ${r.error}`),
    });
    try {
      const prefixOf = async () => Buffer.from(await engine.transformerFor(SECRETS).toStorage(Buffer.from('x'), ctx)).toString('latin1').slice(0, 23);
      assert.equal(await prefixOf(), 'k8s:enc:aesgcm:v1:key1:');
      const old = engine.configHash;

      await writeFile(file, config(['key2', 'key1']));
      await clock.advance(59_000);
      assert.equal(engine.configHash, old, 'not before the interval');
      await clock.advance(1_000);
      // The reload reads the file and builds the engine for real: wait for its report, not a fixed time.
      for (let i = 0; results.length === 0; i++) {
        assert.ok(i < 200, 'no reload within 10 s of the interval');
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.notEqual(engine.configHash, old);
      assert.equal(await prefixOf(), 'k8s:enc:aesgcm:v1:key2:');

      await writeFile(file, config(['key3']).replace('c2VjcmV0IGlzIHNlY3VyZQ==', 'dG9vc2hvcnQ='));
      await engine.check();
      assert.equal(await prefixOf(), 'k8s:enc:aesgcm:v1:key2:', 'a bad file changes nothing');
      assert.equal(results[0], 'ok');
      assert.match(results[1]!, /^failed: .*must be 16, 24 or 32 bytes/);
      assert.ok(!results[1]!.includes('dG9vc2hvcnQ='), 'the key is not in the message');
    } finally {
      engine.close();
    }
  });
});
