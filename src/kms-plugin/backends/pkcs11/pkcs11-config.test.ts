import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidError } from '../../../lib/errors.js';
import { parsePkcs11Config } from './pkcs11-config.js';

const valid = {
  module: '/usr/lib/softhsm/libsofthsm2.so',
  tokenLabel: 'coffer',
  pinFile: '/etc/coffer/pin',
  keyLabel: 'kek',
};

function rejects(value: unknown, field: string, text: RegExp, opts = {}): void {
  assert.throws(
    () => parsePkcs11Config(value, opts),
    (e: unknown) => {
      assert.ok(e instanceof InvalidError, String(e));
      assert.equal(e.field, field);
      assert.match(e.message, text);
      return true;
    },
  );
}

void describe('parsePkcs11Config', () => {
  void it('fills the defaults', () => {
    assert.deepEqual(parsePkcs11Config(valid), {
      module: valid.module,
      token: { tokenLabel: 'coffer' },
      pinFile: valid.pinFile,
      keyLabel: 'kek',
      mechanism: 'aes-gcm',
      generateKey: false,
    });
  });

  void it('accepts a slot instead of a token label, and the type field', () => {
    const { tokenLabel: _t, ...rest } = valid;
    const c = parsePkcs11Config({ ...rest, type: 'pkcs11', slot: 1612795730, mechanism: 'aes-kwp', generateKey: true });
    assert.deepEqual(c.token, { slot: 1612795730 });
    assert.equal(c.mechanism, 'aes-kwp');
    assert.equal(c.generateKey, true);
  });

  void it('resolves relative paths against baseDir, and rejects them without one', () => {
    const c = parsePkcs11Config({ ...valid, pinFile: 'secrets/pin' }, { baseDir: '/etc/coffer' });
    assert.equal(c.pinFile, '/etc/coffer/secrets/pin');
    rejects({ ...valid, pinFile: 'secrets/pin' }, 'pinFile', /absolute path, got "secrets\/pin"/);
  });

  void it('names the field and the value of every mistake', () => {
    rejects({ ...valid, pinFlie: '/x' }, 'pinFlie', /unknown field "pinFlie"/);
    rejects({ ...valid, pin: '1234' }, 'pin', /unknown field "pin"/);
    rejects({ ...valid, module: undefined }, 'module', /required/);
    rejects({ ...valid, mechanism: 'aes-cbc' }, 'mechanism', /one of aes-gcm, aes-kwp, got "aes-cbc"/);
    rejects({ ...valid, generateKey: 'yes' }, 'generateKey', /true or false, got "yes"/);
    rejects({ ...valid, keyLabel: 'kek:v2' }, 'keyLabel', /no ":".*got "kek:v2"/);
    rejects({ ...valid, slot: 3 }, 'slot', /either tokenLabel or slot/);
    rejects({ ...valid, tokenLabel: undefined }, 'tokenLabel', /required.*slot/);
    rejects({ ...valid, tokenLabel: 'x'.repeat(33) }, 'tokenLabel', /at most 32 bytes/);
    rejects({ ...valid, type: 'local' }, 'type', /one of pkcs11, got "local"/);
    rejects('text', '(document)', /must be a mapping/);
  });

  void it('prefixes fields with where the mapping sits in the file', () => {
    rejects({ ...valid, keyLabel: 7 }, 'backend.members[1].backend.keyLabel', /non-empty string, got 7/, {
      field: 'backend.members[1].backend',
    });
  });
});
