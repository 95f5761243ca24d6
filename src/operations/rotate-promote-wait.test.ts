// `coffer rotate promote` waits for every API server to report the promoted configuration's hash (kube-apiserver's
// apiserver_encryption_config_controller_last_config_info) before it says the new key writes: here against a server
// that reloads only when the test lets it, so promote must still be waiting after many polls of the old hash.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readRotationState, rotatePrepare, rotatePromote, type RotateContext } from './rotate.js';

void describe('coffer rotate promote against a slowly reloading server', () => {
  let dir: string;
  let server: Server;
  /** The hash the "server" reports, and every hash it was asked for (one entry per poll). */
  let loaded = '';
  const polls: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-rotate-promote-'));
    server = createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      polls.push(loaded);
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`apiserver_encryption_config_controller_last_config_info{apiserver_id_hash="sha256:x",hash="${loaded}"} 1\n`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });

  void it('does not return (nor say the new key writes) before the server reports the promoted hash', async () => {
    const config = join(dir, 'encryption-config.yaml');
    await writeFile(
      config,
      `apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n      - aescbc: {keys: [{name: old, secret: ${randomBytes(32).toString('base64')}}]}\n      - identity: {}\n`,
      { mode: 0o600 },
    );
    const kubeconfig = join(dir, 'kubeconfig');
    const { port } = server.address() as { port: number };
    await writeFile(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
    );
    const logs: string[] = [];
    // Polls come quickly (the wait between them is the only thing shortened); the deadline is the real one.
    const ctx: RotateContext = { encryptionConfig: config, kubeconfigs: [kubeconfig], reloadIntervalMs: 60_000, log: (l) => logs.push(l), sleep: () => new Promise((r) => setTimeout(r, 5)) };

    const prepared = await rotatePrepare({ ...ctx, kubeconfigs: [] }, { resource: 'secrets', type: 'aesgcm', keyName: 'new' });
    loaded = prepared.hashes.prepared!; // the server has the prepared file
    let returned = false;
    let failed: Error | undefined;
    const promote = rotatePromote(ctx).then(
      (s) => ((returned = true), s),
      (e: unknown) => {
        failed = e as Error;
        throw e;
      },
    );

    // The file is promoted on disk; the server keeps reporting the prepared hash for a good many polls.
    let promotedHash: string | undefined;
    while (!promotedHash) {
      if (failed) throw failed;
      await new Promise((r) => setTimeout(r, 10));
      const state = await readRotationState(config);
      if (state?.stage === 'promoted') promotedHash = state.hashes.promoted;
    }
    const seen = polls.length;
    while (polls.length < seen + 20 && !failed && !returned) await new Promise((r) => setTimeout(r, 10));
    if (failed) throw failed;
    assert.equal(returned, false, 'promote returned while the server still had the prepared file');
    assert.ok(!logs.some((l) => l.startsWith('promoted:')), 'promote said the new key writes before the server loaded it');

    loaded = promotedHash; // the server reloads
    const state = await promote;
    assert.equal(state.stage, 'promoted');
    assert.equal(polls.at(-1), promotedHash, 'the last poll saw the promoted hash');
    assert.ok(logs.some((l) => l.startsWith('promoted: aesgcm key "new" writes')));
  });
});
