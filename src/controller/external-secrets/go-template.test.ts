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

// Cases follow sprig v3's regex_test.go (the copy ESO vendors in runtime/template/v2/sprig).
void describe('regex template functions (Go regexp on RE2)', () => {
  void it('behave as sprig: argument order, limits, Go expansion, splitting and quoting', () => {
    assert.equal(render('{{ regexMatch "^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\\\.[A-Za-z]{2,}$" "test@acme.com" }}'), 'true');
    assert.equal(render('{{ regexMatch "^[a-z]+\\\\[[0-9]+\\\\]$" "adam[23]" }}'), 'true');
    assert.equal(render('{{ "abcd1234" | regexMatch "^[a-z]+$" }}'), 'false');
    assert.equal(render('{{ regexFind "[a-zA-Z][1-9]" "abcd1234" }}'), 'd1');
    assert.equal(render('{{ regexFindAll "[2,4,6,8]" "123456789" -1 }}'), '[2 4 6 8]');
    assert.equal(render('{{ regexFindAll "[2,4,6,8]" "123456789" 3 }}'), '[2 4 6]');
    assert.equal(render('{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}'), '-W-xxW-');
    assert.equal(render('{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" }}'), '---', 'the longest name, "1W", is no group');
    assert.equal(render('{{ regexReplaceAll "a(?P<x>x*)b" "-ab-axxb-" "${x}W" }}'), '-W-xxW-');
    assert.equal(render('{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}'), '-${1}-${1}-');
    assert.equal(render('{{ regexSplit "z+" "pizza" -1 }}'), '[pi a]');
    assert.equal(render('{{ regexSplit "z+" "pizza" 1 }}'), '[pizza]');
    assert.equal(render('{{ regexQuoteMeta "1.2.3" }}'), '1\\.2\\.3');
  });

  void it("answers bad patterns as sprig does: false from regexMatch, MustCompile's text elsewhere, errors from must*", () => {
    assert.equal(render('{{ regexMatch "(" "x" }}'), 'false');
    assert.throws(() => render('{{ mustRegexMatch "(" "x" }}'), /error calling mustRegexMatch: error parsing regexp: missing closing \): `\(`/);
    assert.throws(() => render('{{ regexFind "(" "x" }}'), /error calling regexFind: regexp: Compile\(`\(`\): error parsing regexp: missing closing \): `\(`/);
    assert.throws(() => render('{{ regexReplaceAll "(?=x)" "x" "" }}'), /invalid or unsupported Perl syntax: `\(\?=`/);
    assert.throws(() => render('{{ regexSplit "x**" "x" -1 }}'), /invalid nested repetition operator: `\*\*`/);
  });

  // Issue 11: `{{ regexMatch "^(a+)+$" "<27 a's>b" }}` stalled the process for seconds (minutes at 32).
  void it('evaluates the catastrophic-backtracking attack without backtracking', { timeout: 30_000 }, () => {
    for (const n of [27, 32]) {
      const input = `${'a'.repeat(n)}b`;
      assert.equal(render(`{{ regexMatch "^(a+)+$" "${input}" }}`), 'false');
      assert.equal(render('{{ .v | regexMatch "^(a+)+$" }}-{{ regexFind "(a|a)*b" .v }}', { v: input }), `false-${input}`);
    }
  });
});

void describe('template limits', () => {
  const limits = { timeoutMs: 100, maxOutputBytes: 1000 };
  const run = (text: string) => GoTemplate.parse('k', text).execute({ v: 'x' }, limits).toString();

  void it('stops a run that exceeds its time budget, however it loops', { timeout: 30_000 }, () => {
    assert.throws(() => run('{{ range 1000000000000 }}{{ end }}'), /^InvalidError: template: k:1: execution exceeded the time limit of 100ms$/);
    assert.throws(() => run('{{ range $i := 1000000 }}{{ range 1000000 }}{{ $m := $.v | regexMatch "x" }}{{ end }}{{ end }}'), /exceeded the time limit of 100ms/);
  });

  void it('refuses output and built values over the size limit, before building them where it can', () => {
    assert.equal(run('{{ repeat 1000 "x" }}').length, 1000);
    assert.throws(() => run('{{ repeat 1001 "x" }}'), /result of repeat exceeds the size limit of 1000 bytes/);
    assert.throws(() => run('{{ range 2000 }}x{{ end }}'), /output exceeds the size limit of 1000 bytes/);
    assert.throws(() => run('{{ $a := repeat 600 "x" }}{{ $b := printf "%s%s" $a $a }}'), /result of printf exceeds the size limit of 1000 bytes/);
    assert.throws(() => render('{{ repeat 1000000000 "x" }}'), /error calling repeat: repeat would build 1000000000 bytes, the limit is 1048576/);
  });

  void it("refuses nesting deeper than the parser's limit with Go's text", () => {
    assert.equal(render(`{{ ${'('.repeat(500)}1${')'.repeat(500)} }}`), '1');
    assert.throws(() => render(`{{ ${'('.repeat(5000)}1${')'.repeat(5000)} }}`), /template: k:1: max expression depth exceeded/);
    assert.throws(() => render(`${'{{ if 1 }}'.repeat(5000)}${'{{ end }}'.repeat(5000)}`), /max expression depth exceeded/);
  });
});

void describe('ESO PEM and decoding functions', () => {
  const block = (type: string, bytes: Buffer, width = 64) => {
    const body = bytes.toString('base64').match(new RegExp(`.{1,${width}}`, 'g'))!.join('\n');
    return `-----BEGIN ${type}-----\n${body}\n-----END ${type}-----\n`;
  };
  const cert = block('CERTIFICATE', randomBytes(300));
  const other = block('CERTIFICATE', randomBytes(200));
  const key = block('PRIVATE KEY', randomBytes(120));
  const filter = (type: string, input: string) => render(`{{ .in | filterPEM "${type}" }}`, { in: input });

  // Cases follow ESO's runtime/template/v2/pem_test.go (TestFilterPEM).
  void it('filterPEM keeps the blocks of one type, case-insensitively, and fails on junk as ESO', () => {
    assert.equal(filter('certificate', cert + key), cert, 'extract cert / cert first');
    assert.equal(filter('certificate', key + cert), cert, 'extract cert / key first');
    assert.equal(filter('certificate', key + cert + key + other), cert + other, 'extract multiple certs');
    assert.equal(filter('private key', key + cert), key, 'extract key');
    assert.equal(filter('private key', `${cert}${key}some ---junk---`), key, 'key with junk');
    assert.equal(filter('private key', `some junk${cert}${key}some ---junk---`), key, 'begin/end with junk');
    assert.throws(() => filter('private key', `${cert}some junk${key}`), /error calling filterPEM: error filtering pem: found junk/, 'interleaved junk');
    assert.throws(() => filter('private key', '---junk---'), /error filtering pem: found junk/, 'err when junk');
  });

  void it('filterPEM decodes and encodes again: 64-column lines, CRLF and indentation gone, bad bodies skipped', () => {
    const bytes = randomBytes(500);
    const wide = block('CERTIFICATE', bytes, 76).replace(/\n/g, '\r\n');
    assert.equal(filter('CERTIFICATE', wide), block('CERTIFICATE', bytes));
    const broken = '-----BEGIN CERTIFICATE-----\n!!!notbase64!!!\n-----END CERTIFICATE-----\n';
    assert.equal(filter('CERTIFICATE', broken + cert), cert, 'a block whose body is not base64 is skipped, as pem.Decode does');
    assert.equal(filter('CERTIFICATE', ''), '');
  });

  // ESO's template_test.go ("b64dec func") and sprig's strings.go: a decoding error becomes the value, Go's text.
  void it("b64dec and hexdec print Go's error text into the value", () => {
    assert.equal(render('{{ .s | b64dec }}', { s: 'MTIzNA==' }), '1234');
    assert.equal(render('{{ "123412341234" | b64enc | b64dec }}'), '123412341234');
    assert.equal(render('{{ .s | b64dec }}', { s: 'MTIzNA' }), 'illegal base64 data at input byte 4');
    assert.equal(render('{{ .s | b64dec }}', { s: 'not base64!' }), 'illegal base64 data at input byte 3');
    assert.equal(render('{{ "6869" | hexdec }} {{ "0g" | hexdec }} {{ "abc" | hexdec }}'), "hi encoding/hex: invalid byte: U+0067 'g' encoding/hex: odd length hex string");
    // sprig's base32decode (strings.go) and its strings_test.go TestBase32EncodeDecode.
    assert.equal(render('{{ "this is a test" | b32enc }} {{ "ORUGS4ZANFZSAYJAORSXG5A=" | b32dec }}'), 'ORUGS4ZANFZSAYJAORSXG5A= this is a test');
    assert.equal(render('{{ .s | b32dec }}', { s: 'ORUGS4ZA' + 'x' }), 'illegal base32 data at input byte 8');
  });
});
