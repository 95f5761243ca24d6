// From config text to a serving plugin for every backend type, PKCS#11 (SoftHSM) included: the factory's lazy load of
// the PKCS#11 module, its settings and relative paths passed through, and a multi backend mixing it with a local key.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { GrpcKmsV2Client } from '../kms/grpc-v2-client.js';
import { FakeClock } from '../lib/clock.js';
import { useSoftHsm, type SoftHsm } from './backends/pkcs11/softhsm-token.js';
import { createKeyManager } from './key-manager-factory.js';
import { startKmsPlugin } from './kms-plugin.js';
import { parseKmsPluginConfig } from './plugin-config.js';

void describe('key manager factory', () => {
  let hsm: SoftHsm;
  let dir: string;
  before(async () => {
    hsm = await useSoftHsm(['coffer-factory']);
    dir = await mkdtemp(join(tmpdir(), 'coffer-factory-'));
    await writeFile(join(dir, 'kek'), randomBytes(32));
  });
  after(async () => {
    await hsm.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  void it('serves a multi backend of a local key and a SoftHSM key, built from YAML', async () => {
    // The pin file is given relative to the config file, to prove baseDir reaches the PKCS#11 module.
    await writeFile(join(dir, 'pin'), await readFile(hsm.tokens[0]!.pinFile), { mode: 0o600 });
    const config = parseKmsPluginConfig(
      `
endpoint: unix://${join(dir, 'kms.sock')}
healthListen: 127.0.0.1:0
backend:
  type: multi
  members:
    - name: dev
      backend: {type: local, keyFiles: [kek]}
    - name: hsm
      backend:
        type: pkcs11
        module: ${hsm.modulePath}
        tokenLabel: coffer-factory
        pinFile: pin
        keyLabel: kek
        generateKey: true
`,
      { file: join(dir, 'kms.yaml') },
    );
    const plugin = await startKmsPlugin({ config, logger: pino({ level: 'silent' }) });
    const client = new GrpcKmsV2Client(plugin.endpoint, { timeoutMs: 10_000 });
    try {
      assert.equal((await client.status()).healthz, 'ok');
      const seed = randomBytes(32);
      const r = await client.encrypt(seed, { uid: 'u' });
      assert.deepEqual(Object.keys(r.annotations).sort(), ['dev.multi.kms.coffer.dev', 'hsm.multi.kms.coffer.dev']);
      assert.deepEqual(Buffer.from(await client.decrypt(r.ciphertext, { uid: 'u', keyId: r.keyId, annotations: r.annotations })), seed);
    } finally {
      client.close();
      await plugin.close();
    }
  });

  void it('passes PKCS#11 config errors through with the field path inside the file', async () => {
    const config = parseKmsPluginConfig(
      `endpoint: unix:///x.sock\nbackend:\n  type: multi\n  members:\n    - name: hsm\n      backend: {type: pkcs11, module: ${hsm.modulePath}, tokenLabel: coffer-factory, pinFile: /p, keyLabel: kek, colour: red}\n`,
      { file: join(dir, 'kms.yaml') },
    );
    await assert.rejects(createKeyManager(config.backend, { logger: pino({ level: 'silent' }), clock: new FakeClock() }), /backend\.members\[0\]\.backend\.colour/);
  });
});
