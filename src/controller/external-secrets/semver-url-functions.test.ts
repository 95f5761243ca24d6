import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GoTemplate } from './go-template.js';

const render = (text: string) => GoTemplate.parse('k', text).execute({}).toString();
const table = (cases: [string, string][]) => {
  for (const [tpl, want] of cases) assert.equal(render(tpl), want, tpl);
};

// Cases follow Masterminds/sprig semver_test.go and Masterminds/semver v3 constraints_test.go (TestConstraintCheck),
// with ESO's error texts (runtime/template/v2/sprig/errors.go).
void describe('semver and semverCompare', () => {
  void it('sprig TestSemver, TestSemverCompare and TestSemverCompareErr', () => {
    table([
      ['{{ $s := semver "1.2.3-beta.1+c0ff33" }}{{ $s.Prerelease }}', 'beta.1'],
      ['{{ $s := semver "1.2.3-beta.1+c0ff33" }}{{ $s.Major }}.{{ $s.Minor }}.{{ $s.Patch }} {{ $s.Metadata }}', '1.2.3 c0ff33'],
      ['{{ $v := semver "v1.2" }}{{ $v.String }} {{ $v.Original }}', '1.2.0 v1.2'],
      ['{{ semverCompare "1.2.3" "1.2.3" }}', 'true'],
      ['{{ semverCompare "^1.2.0" "1.2.3" }}', 'true'],
      ['{{ semverCompare "^1.2.0" "2.2.3" }}', 'false'],
    ]);
    assert.throws(() => render('{{ semverCompare "badConstraint" "1.2.3" }}'), /error calling semverCompare: invalid version constraint/);
    assert.throws(() => render('{{ semverCompare "1.2.0" "badVersion" }}'), /error calling semverCompare: invalid version$/m);
    assert.throws(() => render('{{ semver "1.2.3-01" }}'), /error calling semver: invalid version/);
  });

  void it('semver v3 constraint checks', () => {
    const cases: [string, string, boolean][] = [
      ['=2.0.0', '1.2.3', false],
      ['=2.0.0', '2.0.0', true],
      ['=2.0', '1.2.3', false],
      ['=2.0', '2.0.0', true],
      ['=2.0', '2.0.1', true],
      ['4.1', '4.1.0', true],
      ['!=4.1.0', '4.1.0', false],
      ['!=4.1.0', '4.1.1', true],
      ['!=4.1', '4.1.1', false],
      ['!=4.1-alpha', '4.1.0', true],
      ['>1.1', '4.1.0', true],
      ['>1.1', '1.1.0', false],
      ['>0', '0.0.1-alpha', false],
      ['>0.0', '0.0.1-alpha', false],
      ['>0-0', '0.0.1-alpha', false],
      ['>0.0-0', '0.0.1-alpha', false],
      ['>0', '0.0.0-alpha', false],
      ['>0-0', '0.0.0-alpha', false],
      ['>0.0.0-0', '0.0.0-alpha', true],
      ['>1.2.3-alpha.1', '1.2.3-alpha.2', true],
      ['>1.2.3-alpha.1', '1.3.3-alpha.2', true],
      ['>11', '11.1.0', false],
      ['>11.1', '11.1.0', false],
      ['>11.1', '11.1.1', false],
      ['>11.1', '11.2.1', true],
      ['>=11', '11.1.2', true],
      ['>=11.1', '11.1.2', true],
      ['>=11.1', '11.0.2', false],
      ['>=1.1', '4.1.0', true],
      ['>=1.1', '1.1.0', true],
      ['>=1.1', '0.0.9', false],
      ['<=1.1', '0.1.0', true],
      ['<=1.1', '1.1.0', true],
      ['<=1.1', '1.1.1', true],
      ['<=2.x', '3.0.0', false],
      ['<=2.x', '2.9.9', true],
      ['<2.x', '2.0.0', false],
      ['<2.x', '1.9.9', true],
      ['>=1.1', '1.1.1-alpha', false],
      ['>=1.1-0', '1.1.1-alpha', true],
      ['<1.1', '0.1.0', true],
      ['<1.1', '1.1.0', false],
      ['<1.1', '1.1.1', false],
      ['<1.x', '1.1.1', false],
      ['<1.x', '0.1.1', true],
      ['<2.x', '1.1.1', true],
      ['*', '1.1.1', true],
      ['*', '1.1.1-alpha', false],
      ['>=1.2.3 <2', '1.2.5', true],
      ['>=1.2.3, <2', '2.0.0', false],
      ['>=1.2.3 || <2', '0.5.0', true],
      ['1.1 - 2', '1.1.1', true],
      ['1.1 - 3', '4.3.2', false],
      ['^1.1', '1.1.1', true],
      ['^1.1', '4.3.2', false],
      ['^1.x', '1.1.1', true],
      ['^2.x', '1.1.1', false],
      ['^1.x', '2.1.1', false],
      ['^0.0.1', '0.1.3', false],
      ['^0.0.1', '0.0.1', true],
      ['^0.2.3', '0.2.5', true],
      ['^0.2.3', '0.3.0', false],
      ['~*', '2.1.1', true],
      ['~1', '2.1.1', false],
      ['~1', '1.3.5', true],
      ['~1', '1.3.5-beta', false],
      ['~1.x', '2.1.1', false],
      ['~1.x', '1.3.5', true],
      ['~1.3.6-alpha', '1.3.5-beta', false],
      ['~1.3.5-alpha', '1.3.5-beta', true],
      ['~1.3.5-beta', '1.3.5-alpha', false],
      ['~1.x', '1.3.5-beta', false],
      ['~1.3.x', '1.3.5-beta', false],
      ['~1.4.x', '1.3.5-beta', false],
      ['~1.2.3', '1.2.5', true],
      ['~1.2.3', '1.3.0', false],
      ['~1.2', '1.2.9', true],
    ];
    for (const [constraint, version, want] of cases) {
      assert.equal(render(`{{ semverCompare "${constraint}" "${version}" }}`), String(want), `${constraint} ${version}`);
    }
  });

  void it('bounds what it parses: a long constraint is refused, not matched', () => {
    assert.throws(() => render(`{{ semverCompare "${'1'.repeat(2000)}" "1.0.0" }}`), /invalid version constraint/);
  });
});

// Cases follow sprig's urlParse/urlJoin documentation (docs/url.md) and Go's net/url url_test.go (TestParse, TestURLString).
void describe('urlParse and urlJoin', () => {
  void it('urlParse splits a URL as Go net/url does', () => {
    table([
      ['{{ urlParse "proto://auth@host:80/path?query#fragment" | toJson }}',
        '{"fragment":"fragment","host":"host:80","hostname":"host","opaque":"","path":"/path","query":"query","scheme":"proto","userinfo":"auth"}'],
      ['{{ $u := urlParse "HTTPS://user:p%40ss@[::1]:8443/a%20b?x=1&y=2#frag%20ment" }}{{ $u.scheme }}|{{ $u.hostname }}|{{ $u.path }}|{{ $u.query }}|{{ $u.fragment }}|{{ $u.userinfo }}',
        'https|::1|/a b|x=1&y=2|frag ment|user:p%40ss'],
      ['{{ $u := urlParse "mailto:someone@example.com" }}{{ $u.opaque }}|{{ $u.host }}', 'someone@example.com|'],
      ['{{ $u := urlParse "/relative/path?q" }}{{ $u.path }}|{{ $u.scheme }}', '/relative/path|'],
    ]);
    assert.throws(() => render('{{ urlParse ":no-scheme" }}'), /error calling urlParse: unable to parse url/);
    assert.throws(() => render('{{ urlParse "http://h/%zz" }}'), /error calling urlParse: unable to parse url/);
  });

  void it('urlJoin builds the URL back, escaping each part as URL.String does', () => {
    table([
      ['{{ urlJoin (dict "fragment" "fragment" "host" "host:80" "path" "/path" "query" "query" "scheme" "proto") }}', 'proto://host:80/path?query#fragment'],
      ['{{ urlParse "proto://auth@host:80/path?query#fragment" | urlJoin }}', 'proto://auth@host:80/path?query#fragment'],
      ['{{ urlJoin (dict "scheme" "https" "host" "example.com" "path" "a b/c?d" "userinfo" "us er:p@ss") }}', 'https://us%20er:p%40ss@example.com/a%20b/c%3Fd'],
      ['{{ urlJoin (dict "scheme" "mailto" "opaque" "x@example.com") }}', 'mailto:x@example.com'],
      ['{{ urlJoin (dict "path" "a:b") }}', './a:b'],
    ]);
    assert.throws(() => render('{{ urlJoin (dict "host" 1) }}'), /error calling urlJoin: unable to parse dictionary value: expected string/);
  });
});
