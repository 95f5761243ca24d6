// Login, PIN files, lost sessions and health, against real SoftHSM tokens. Login state belongs to the process and
// token, so each case that depends on it has a token of its own.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { UnavailableError } from '../../../lib/errors.js';
import type { KeyManager } from '../../key-manager.js';
import { ck, Pkcs11Module } from './pkcs11-module.js';
import { createPkcs11KeyManager } from './pkcs11-key-manager.js';
import { useSoftHsm, type SoftHsm } from './softhsm-token.js';
import { TokenSession } from './token-session.js';

const call = () => ({ uid: 'test', signal: AbortSignal.timeout(10_000) });
const signal = () => ({ signal: AbortSignal.timeout(10_000) });
const WRONG_PIN = '31415926';

let hsm: SoftHsm;
const logLines: string[] = [];
const logger = pino({ level: 'debug' }, { write: (s: string) => void logLines.push(s) });
const managers: KeyManager[] = [];

function settings(token: number, extra: Record<string, unknown> = {}) {
  return {
    module: hsm.modulePath,
    tokenLabel: hsm.tokens[token]!.tokenLabel,
    pinFile: hsm.tokens[token]!.pinFile,
    keyLabel: 'kek',
    generateKey: true,
    ...extra,
  };
}
async function manager(token: number): Promise<KeyManager> {
  const m = await createPkcs11KeyManager(settings(token), { logger });
  managers.push(m);
  return m;
}
/** Ends every session of this process on the token, as pulling the token (or an HSM failover) would. */
async function closeAllSessions(token: number): Promise<void> {
  const t = hsm.tokens[token]!;
  const s = new TokenSession(Pkcs11Module.acquire(hsm.modulePath), { tokenLabel: t.tokenLabel }, t.pinFile);
  await s.use((o) => o.lib.C_CloseAllSessions(o.slot));
  s.drop();
}

before(async () => {
  hsm = await useSoftHsm(['coffer-login', 'coffer-reopen', 'coffer-health', 'coffer-pin']);
});
after(async () => {
  for (const m of managers) await m.close();
  await hsm.cleanup();
  const right = await Promise.all(hsm.tokens.map((t) => readFile(t.pinFile, 'utf8').catch(() => '')));
  for (const pin of [WRONG_PIN, ...right.map((p) => p.trim()).filter(Boolean)]) {
    assert.ok(!logLines.join('').includes(pin), 'a PIN appears in the logs');
  }
});

void describe('pkcs11 sessions and health', () => {
  void it('refuses a wrong PIN with a clear error that does not contain it', async () => {
    const t = hsm.tokens[0]!;
    const right = await readFile(t.pinFile);
    await writeFile(t.pinFile, `${WRONG_PIN}\n`);
    try {
      await assert.rejects(createPkcs11KeyManager(settings(0), { logger }), (e: unknown) => {
        assert.ok(e instanceof UnavailableError, String(e));
        assert.match(e.message, /token "coffer-login".*login failed: the PIN in .*pin-0 was rejected \(CKR_PIN_INCORRECT\)/);
        assert.ok(!e.message.includes(WRONG_PIN) && !e.message.includes(right.toString().trim()));
        return true;
      });
    } finally {
      await writeFile(t.pinFile, right);
    }
    const m = await manager(0);
    assert.equal((await m.status(signal())).healthy, true);
  });

  void it('reopens a lost session and logs in again, transparently', async () => {
    const m = await manager(1);
    const before = await m.encrypt(Buffer.alloc(32, 1), call());
    await closeAllSessions(1);
    const after = await m.encrypt(Buffer.alloc(32, 2), call());
    assert.equal(after.keyId, before.keyId);
    const back = await m.decrypt(before.ciphertext, { ...call(), keyId: before.keyId, annotations: {} });
    assert.deepEqual(Buffer.from(back), Buffer.alloc(32, 1));
    assert.ok(logLines.some((l) => l.includes('pkcs11 session lost; reopening')));
  });

  void it('re-reads the PIN file at login, and does not resend a PIN the token rejected', async () => {
    const m = await manager(3);
    const t = hsm.tokens[3]!;
    const right = await readFile(t.pinFile);
    await writeFile(t.pinFile, WRONG_PIN);
    await closeAllSessions(3);
    const first = await m.status(signal());
    assert.equal(first.healthy, false);
    assert.match(first.reason ?? '', /rejected \(CKR_PIN_INCORRECT\)/);
    // Tokens lock after a few wrong PINs: the same file content is not tried again.
    const second = await m.status(signal());
    assert.match(second.reason ?? '', /waiting for the file to change/);
    await writeFile(t.pinFile, right);
    assert.equal((await m.status(signal())).healthy, true);
  });

  void it('status is a real probe: healthy with the key, unhealthy with a reason once it is gone', async () => {
    const m = await manager(2);
    const healthy = await m.status(signal());
    assert.equal(healthy.healthy, true);
    const t = hsm.tokens[2]!;
    const s = new TokenSession(Pkcs11Module.acquire(hsm.modulePath), { tokenLabel: t.tokenLabel }, t.pinFile);
    await s.use((o) => {
      o.lib.C_FindObjectsInit(o.handle, [{ type: ck.CKA_LABEL, value: 'kek:v1' }]);
      const keys = o.lib.C_FindObjects(o.handle, 10);
      o.lib.C_FindObjectsFinal(o.handle);
      for (const k of keys) o.lib.C_DestroyObject(o.handle, k);
    });
    s.drop();
    const sick = await m.status(signal());
    assert.equal(sick.healthy, false);
    assert.equal(sick.keyId, healthy.keyId, 'the last key_id is still reported');
    assert.match(sick.reason ?? '', /token "coffer-health".*no key labelled "kek"/);
    await assert.rejects(m.encrypt(Buffer.alloc(32), call()), /no longer on token "coffer-health"/);
  });

  void it('reports a missing token by label with the tokens that are present', async () => {
    await assert.rejects(createPkcs11KeyManager({ ...settings(0), tokenLabel: 'nope' }), (e: unknown) => {
      assert.ok(e instanceof UnavailableError, String(e));
      assert.match(e.message, /token "nope" of .*: not found \(present tokens: .*"coffer-login"/);
      return true;
    });
  });
});
