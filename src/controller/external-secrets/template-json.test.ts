// sprig's toJson, toRawJson and toPrettyJson write what Go's encoding/json writes (json.Marshal, an Encoder with
// SetEscapeHTML(false), json.MarshalIndent): U+2028/U+2029 escaped even in toRawJson, a lone surrogate as U+FFFD.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GoTemplate } from './go-template.js';

const render = (text: string, data: Record<string, string>) => GoTemplate.parse('k', text).execute(data).toString();

void describe('template JSON functions (Go encoding/json text)', () => {
  const d = { v: '<a>\u2028&\udc00' };
  void it('toJson escapes HTML characters, line separators and writes a lone surrogate as U+FFFD', () => {
    assert.equal(render('{{ .v | toJson }}', d), '"\\u003ca\\u003e\\u2028\\u0026\\ufffd"');
  });
  void it('toRawJson keeps HTML characters but still escapes U+2028', () => {
    assert.equal(render('{{ .v | toRawJson }}', d), '"<a>\\u2028&\\ufffd"');
  });
  void it('toPrettyJson indents by two spaces and escapes as toJson', () => {
    assert.equal(render('{{ dict "b" .v "a" 1 | toPrettyJson }}', d), '{\n  "a": 1,\n  "b": "\\u003ca\\u003e\\u2028\\u0026\\ufffd"\n}');
  });
});
