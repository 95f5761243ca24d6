import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLogLine, resolveLogFormat } from './log-format.js';

void describe('log format', () => {
  void it('defaults to text on a terminal and JSON elsewhere; the flag wins over the parent', () => {
    assert.equal(resolveLogFormat(undefined, { env: {}, isTty: true }), 'text');
    assert.equal(resolveLogFormat(undefined, { env: {}, isTty: false }), 'json');
    assert.equal(resolveLogFormat(undefined, { env: { COFFER_LOG_FORMAT: 'text' }, isTty: false }), 'text');
    assert.equal(resolveLogFormat('json', { env: { COFFER_LOG_FORMAT: 'text' }, isTty: true }), 'json');
  });

  void it('names the flag and the value it refuses', () => {
    assert.throws(() => resolveLogFormat('xml', { env: {} }), { message: '--log-format: must be json or text, got "xml"' });
    assert.throws(() => resolveLogFormat(undefined, { env: { COFFER_LOG_FORMAT: 'yaml' } }), /^Error: COFFER_LOG_FORMAT: must be json or text, got "yaml"/);
  });

  void it('writes a pino record as one readable line', () => {
    const time = new Date(2026, 11, 6, 20, 31, 2, 123).getTime();
    const line = JSON.stringify({ level: 40, time, pid: 1, hostname: 'h', component: 'coffer-up', path: '/srv/a b', n: 3, error: { message: 'boom' }, msg: 'store: embedded SQLite' });
    assert.equal(formatLogLine(line), '20:31:02.123 WARN  coffer-up: store: embedded SQLite path="/srv/a b" n=3 error="boom"\n');
  });

  void it('passes through a line that is not a pino record', () => {
    assert.equal(formatLogLine('not json'), 'not json\n');
    assert.equal(formatLogLine('[1,2]'), '[1,2]\n');
  });
});
