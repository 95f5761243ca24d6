import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatGoDuration, parseGoDuration } from './go-duration.js';

void test('parses Go duration strings into nanoseconds', () => {
  assert.equal(parseGoDuration('3s'), 3e9);
  assert.equal(parseGoDuration('1m30s'), 90e9);
  assert.equal(parseGoDuration('500ms'), 500e6);
  assert.equal(parseGoDuration('1.5h'), 5400e9);
  assert.equal(parseGoDuration('.5s'), 500e6);
  assert.equal(parseGoDuration('1.s'), 1e9);
  assert.equal(parseGoDuration('2us'), 2000);
  assert.equal(parseGoDuration('2µs'), 2000);
  assert.equal(parseGoDuration('7ns'), 7);
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('-1s'), -1e9);
  assert.equal(parseGoDuration('+2m'), 120e9);
  assert.equal(parseGoDuration('1h2m3s4ms'), 3723004e6);
});

void test('rejects what Go rejects, with Go messages', () => {
  assert.throws(() => parseGoDuration(''), { message: 'time: invalid duration ""' });
  assert.throws(() => parseGoDuration('abc'), { message: 'time: invalid duration "abc"' });
  assert.throws(() => parseGoDuration('.s'), { message: 'time: invalid duration ".s"' });
  assert.throws(() => parseGoDuration('-'), { message: 'time: invalid duration "-"' });
  assert.throws(() => parseGoDuration('3'), { message: 'time: missing unit in duration "3"' });
  assert.throws(() => parseGoDuration('1d'), { message: 'time: unknown unit "d" in duration "1d"' });
  assert.throws(() => parseGoDuration('3 s'), { message: 'time: unknown unit " s" in duration "3 s"' });
  assert.throws(() => parseGoDuration('9999999999h'), { message: 'time: invalid duration "9999999999h"' });
});

void test('formats like Go Duration.String', () => {
  assert.equal(formatGoDuration(3e9), '3s');
  assert.equal(formatGoDuration(90e9), '1m30s');
  assert.equal(formatGoDuration(500e6), '500ms');
  assert.equal(formatGoDuration(5400e9), '1h30m0s');
  assert.equal(formatGoDuration(1.5e9), '1.5s');
  assert.equal(formatGoDuration(0), '0s');
  assert.equal(formatGoDuration(-2e9), '-2s');
});
