import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { announceReady, describeEncryption, describeStore } from './ready-summary.js';

const KEY = Buffer.alloc(32, 7).toString('base64');

void describe('coffer up ready summary', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-ready-'));
    const config = (providers: string) => `apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n${providers}`;
    await writeFile(join(dir, 'aesgcm.yaml'), config(`      - aesgcm:\n          keys:\n            - name: key1\n              secret: ${KEY}\n      - identity: {}\n`));
    await writeFile(join(dir, 'identity.yaml'), config('      - identity: {}\n'));
    await writeFile(join(dir, 'kms-down.yaml'), config(`      - kms:\n          apiVersion: v2\n          name: coffer\n          endpoint: unix://${join(dir, 'absent.sock')}\n          timeout: 1s\n`));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('names the first provider for Secrets, its key name, never the key', async () => {
    assert.equal(await describeEncryption(join(dir, 'aesgcm.yaml')), 'aesgcm (key "key1")');
    assert.equal(await describeEncryption(join(dir, 'identity.yaml')), 'none (identity: Secrets are stored in plaintext)');
    assert.match(await describeEncryption(join(dir, 'kms-down.yaml')), /^KMS v2 \(provider "coffer", Status failed: /);
  });

  void it('says where the store is', () => {
    assert.equal(describeStore({ store: 'sqlite', dataDir: '/srv/c' }), 'SQLite /srv/c/store');
    assert.equal(describeStore({ store: 'etcd', dataDir: '/srv/c', etcdEndpoints: 'http://10.0.0.5:2379' }), 'etcd http://10.0.0.5:2379');
  });

  void it('prints a block on a terminal and one record with JSON logs', async () => {
    const facts = { url: 'https://127.0.0.1:6443', kubeconfig: '/srv/c/kubeconfig', encryptionConfig: join(dir, 'aesgcm.yaml'), store: 'SQLite /srv/c/store', readySeconds: 0.84 };
    let text = '';
    await announceReady(facts, { format: 'text', log: pino({ level: 'silent' }), write: (s) => (text += s) });
    assert.equal(
      text,
      [
        'coffer is ready in 0.8 s',
        '  API server   https://127.0.0.1:6443',
        '  kubeconfig   /srv/c/kubeconfig   (export KUBECONFIG=/srv/c/kubeconfig; kubectl get secrets)',
        '  encryption   aesgcm (key "key1")',
        `  config       ${join(dir, 'aesgcm.yaml')}`,
        '  store        SQLite /srv/c/store',
        '',
      ].join('\n'),
    );
    const lines: string[] = [];
    await announceReady(facts, { format: 'json', log: pino({ base: null, timestamp: false }, { write: (l: string) => lines.push(l) }) });
    assert.equal(lines.length, 1);
    assert.deepEqual(JSON.parse(lines[0]!), { level: 30, ...facts, encryption: 'aesgcm (key "key1")', msg: 'ready in 0.8 s' });
    assert.ok(!lines[0]!.includes(KEY));
  });
});
