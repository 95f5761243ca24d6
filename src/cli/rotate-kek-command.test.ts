import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSoftHsm, type SoftHsm } from '../kms-plugin/backends/pkcs11/softhsm-token.js';
import { COFFER_BIN, run } from '../../test/support/processes.js';

void describe('coffer rotate-kek', () => {
  let dir: string;
  let hsm: SoftHsm;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-rotate-'));
    hsm = await createSoftHsm(['rotate']);
  });
  after(async () => {
    await hsm.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  void it('creates the next version of a pkcs11 KEK in the token, each run', async () => {
    const config = join(dir, 'plugin.yaml');
    await writeFile(config, `endpoint: unix://${join(dir, 'kms.sock')}
backend:
  type: pkcs11
  module: ${hsm.modulePath}
  tokenLabel: rotate
  pinFile: ${hsm.tokens[0]!.pinFile}
  keyLabel: kek
`);
    const env = { ...process.env, ...hsm.env };
    assert.equal((await run(process.execPath, [COFFER_BIN, 'rotate-kek', '--config', config], { env })).stdout, 'backend: created KEK version kek:v1\n');
    assert.equal((await run(process.execPath, [COFFER_BIN, 'rotate-kek', '--config', config], { env })).stdout, 'backend: created KEK version kek:v2\n');
  });

  void it('says how to rotate a key it does not own', async () => {
    const config = join(dir, 'vault.yaml');
    await writeFile(config, `endpoint: unix://${join(dir, 'kms.sock')}
backend:
  type: vault-transit
  address: http://127.0.0.1:8200
  key: coffer-kek
  auth: { type: token, tokenFile: ${join(dir, 'token')} }
`);
    await assert.rejects(run(process.execPath, [COFFER_BIN, 'rotate-kek', '--config', config]), (e: { stderr: string }) => {
      assert.equal(e.stderr, 'error: backend: backend.type vault-transit has no key Coffer can rotate: rotate it in Vault or coffer keyserver: POST http://127.0.0.1:8200/v1/transit/keys/coffer-kek/rotate\n');
      return true;
    });
  });
});
