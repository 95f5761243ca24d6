import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeStrictBase64 } from './strict-base64.js';

void test('decodes standard padded base64 like Go StdEncoding', () => {
  assert.equal(decodeStrictBase64('c2VjcmV0IGlzIHNlY3VyZQ==')?.toString(), 'secret is secure');
  assert.equal(decodeStrictBase64('YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=')?.length, 32);
  assert.equal(decodeStrictBase64('+qcnfOFX3aRXM9PuY7lQXDWYIQ3GWUdBc3nYBo91SCA=')?.length, 32);
  assert.equal(decodeStrictBase64('')?.length, 0);
});

void test('ignores CR and LF anywhere, as Go does', () => {
  assert.equal(decodeStrictBase64('c2VjcmV0\r\nIGlzIHNl\nY3VyZQ==\n')?.toString(), 'secret is secure');
});

void test('rejects missing padding, other alphabets, whitespace and misplaced padding', () => {
  for (const bad of [
    'c2VjcmV0IGlzIHNlY3VyZQ', // no padding
    'c2VjcmV0IGlzIHNlY3VyZQ=', // short padding
    'c2VjcmV0IGlzIHNlY3VyZQ===', // too much padding
    '-qcnfOFX3aRXM9PuY7lQXDWYIQ3GWUdBc3nYBo91SCA=', // URL alphabet
    'c2VjcmV0 IGlzIHNlY3VyZQ==', // space
    'c2Vj\tcmV0IGlzIHNlY3VyZQ==', // tab
    'c2Vj=mV0IGlzIHNlY3VyZQ==', // padding inside
    'P@ssword',
    'Q===',
  ]) {
    assert.equal(decodeStrictBase64(bad), undefined, bad);
  }
});
