import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generatePassword } from './generators.js';

const count = (s: string, set: string) => [...s].filter((c) => set.includes(c)).length;
const SYMBOLS = '~!@#$%^&*()_+`-={}|[]\\:"<>?,./';

// Defaults and errors follow ESO's apis/generators/v1alpha1/types_password.go and sethvargo/go-password (generate.go).
void describe('Password generator', () => {
  void it("uses ESO's defaults: 24 characters, 25% digits, 25% symbols, no repeats", () => {
    for (let i = 0; i < 50; i++) {
      const p = generatePassword({});
      assert.equal(p.length, 24);
      assert.equal(count(p, '0123456789'), 6);
      assert.equal(count(p, SYMBOLS), 6);
      assert.equal(new Set(p).size, 24, 'no character twice');
    }
  });

  void it('follows length, digits, symbols, symbolCharacters, noUpper and allowRepeat', () => {
    const p = generatePassword({ length: 40, digits: 10, symbols: 5, symbolCharacters: '-_', noUpper: true, allowRepeat: true });
    assert.equal(p.length, 40);
    assert.equal(count(p, '0123456789'), 10);
    assert.equal(count(p, '-_'), 5);
    assert.doesNotMatch(p, /[A-Z]/);
    assert.equal(generatePassword({ length: 0 }), '');
  });

  void it("refuses impossible specs with go-password's texts", () => {
    assert.throws(() => generatePassword({ length: 4, digits: 3, symbols: 2 }), /number of digits and symbols must be less than total length/);
    assert.throws(() => generatePassword({ length: 60, digits: 0, symbols: 0, noUpper: true }), /number of letters exceeds available letters and repeats are not allowed/);
    assert.throws(() => generatePassword({ length: 30, digits: 11, symbols: 0 }), /number of digits exceeds available digits/);
    assert.throws(() => generatePassword({ length: 30, digits: 0, symbols: 3, symbolCharacters: '-_' }), /number of symbols exceeds available symbols/);
    assert.throws(() => generatePassword({ length: 1e9 }), /spec.length: must be an integer from 0 to 4096, got 1000000000/);
  });
});
