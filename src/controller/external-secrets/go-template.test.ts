import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { GoTemplate } from './go-template.js';
import { bytesToValue, type TemplateValue } from './template-functions.js';

const render = (text: string, data: Record<string, TemplateValue> = {}) => GoTemplate.parse('k', text).execute(data).toString();

void describe('template subset (engine v2)', () => {
  void it('renders fields, pipelines, functions and control flow as Go does', () => {
    const d = { username: 'admin', password: ' s3 ', 'my-key': 'x', json: '{"a":{"b":[1,2]},"c":1.5}' };
    assert.equal(render('{{ .username }}:{{ .password | trim | upper }}', d), 'admin:S3');
    assert.equal(render('{{ index . "my-key" }}', d), 'x');
    assert.equal(render('{{ range $k, $v := . }}{{ $k }};{{ end }}', { b: '1', a: '2' }), 'a;b;');
    assert.equal(render('{{ if eq .username "root" }}r{{ else if .username }}u{{ else }}n{{ end }}', d), 'u');
    assert.equal(render('{{ $j := fromJson .json }}{{ $j.a.b }} {{ $j.c }} {{ $j | toJson }}', d), '[1 2] 1.5 {"a":{"b":[1,2]},"c":1.5}');
    assert.equal(render('{{ with .username }}[{{ . }}]{{ end }}', d), '[admin]');
    assert.equal(render('a {{- /* gone */ -}} b'), 'ab');
    assert.equal(render('{{ "x" | quote }} {{ .missing | default "d" }}', { missing: '' }), '"x" d');
    assert.equal(render('{{ printf "%s-%d" .username 3 }}', d), 'admin-3');
    assert.equal(render('{{ "<a&b>" | toJson }}'), '"\\u003ca\\u0026b\\u003e"');
  });

  void it('fails clearly: missing keys, unknown functions and unsupported actions', () => {
    assert.throws(() => render('{{ .nope }}', {}), /template: k:1: map has no entry for key "nope"/);
    assert.throws(() => render('{{ .a | frobnicate }}', { a: '' }), /function "frobnicate" not defined/);
    for (const construct of ['define "x"', 'template "x"', 'block "x" .', 'break', 'continue']) {
      assert.throws(() => render(`{{ ${construct} }}`), new RegExp(`\\{\\{${construct.split(' ')[0]}\\}\\} is not supported`));
    }
    assert.throws(() => render('{{ if .a }}'), /without \{\{end\}\}/);
    assert.throws(() => render('{{ .a'), /unclosed action/);
  });

  void it('b64enc/b64dec round-trip arbitrary bytes, and values pass through unchanged (generated inputs)', () => {
    for (let i = 0; i < 200; i++) {
      const bytes = randomBytes(i % 40);
      const v = bytesToValue(bytes);
      assert.deepEqual(GoTemplate.parse('k', '{{ .v }}').execute({ v }), bytes);
      assert.equal(render('{{ .v | b64enc }}', { v }), bytes.toString('base64'));
      assert.deepEqual(GoTemplate.parse('k', '{{ .v | b64enc | b64dec }}').execute({ v }), bytes);
    }
  });

  void it('text without actions renders to itself (generated inputs)', () => {
    for (let i = 0; i < 200; i++) {
      const text = randomBytes(20).toString('base64').replace(/\{/g, '(');
      assert.equal(render(text), text);
    }
  });
});
