import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GoRegexp, GoRegexpError, quoteMeta } from './regexp.js';

void describe("Go's regexp on RE2", () => {
  // Cases follow Go's regexp/all_test.go (splitTests).
  void it('Split as Go: limits, empty matches, leading and trailing separators', () => {
    const cases: [string, string, number, string[]][] = [
      ['foo:and:bar', ':', -1, ['foo', 'and', 'bar']],
      ['foo:and:bar', ':', 1, ['foo:and:bar']],
      ['foo:and:bar', ':', 2, ['foo', 'and:bar']],
      ['foo:and:bar', 'foo', -1, ['', ':and:bar']],
      ['foo:and:bar', 'bar', -1, ['foo:and:', '']],
      ['foo:and:bar', 'baz', -1, ['foo:and:bar']],
      ['baabaab', 'a', -1, ['b', '', 'b', '', 'b']],
      ['baabaab', 'a*', -1, ['b', 'b', 'b']],
      ['baabaab', 'ba*', -1, ['', '', '', '']],
      ['foobar', 'f*b*', -1, ['', 'o', 'o', 'a', 'r']],
      ['foobar', 'f+.*b+', -1, ['', 'ar']],
      ['foobooboar', 'o{2}', -1, ['f', 'b', 'boar']],
      ['a,b,c,d,e,f', ',', 3, ['a', 'b', 'c,d,e,f']],
      ['a,b,c,d,e,f', ',', 0, []],
      [',', ',', -1, ['', '']],
      [',,,', ',', -1, ['', '', '', '']],
      ['', ',', -1, ['']],
      ['', '.*', -1, ['']],
      ['', '.+', -1, ['']],
      ['', '', -1, []],
      ['foobar', '', -1, ['f', 'o', 'o', 'b', 'a', 'r']],
      ['abaabaccadaaae', 'a*', 5, ['', 'b', 'b', 'c', 'cadaaae']],
      [':x:y:z:', ':', -1, ['', 'x', 'y', 'z', '']],
    ];
    for (const [s, re, n, want] of cases) assert.deepEqual(GoRegexp.compile(re).split(s, n), want, `Split(${JSON.stringify(s)}, ${re}, ${n})`);
  });

  // Cases follow Go's regexp/all_test.go (replaceTests, replaceLiteralTests).
  void it('ReplaceAllString expands $1, ${name}, $$ and unknown names as Go; ReplaceAllLiteralString does not', () => {
    const cases: [string, string, string, string][] = [
      ['', '', '', ''],
      ['', 'x', 'abc', 'xaxbxcx'],
      ['b', 'x', 'abc', 'axc'],
      ['y', 'x', 'abc', 'abc'],
      ['[a-c]*', 'x', '\u65e5', 'x\u65e5x'],
      ['[^\u65e5]', 'x', 'abc\u65e5def', 'xxx\u65e5xxx'],
      ['a*', 'x', 'baaac', 'xbxcx'],
      ['a+', 'x', 'baaac', 'bxc'],
      ['a+', '($0)', 'banana', 'b(a)n(a)n(a)'],
      ['(a)(b)?', '[$1$2]', 'ab a', '[ab] [a]'],
      ['a(?P<x>b)', '<$x>', 'ab', '<b>'],
      ['a(?P<x>b)', '<${x}y>', 'ab', '<by>'],
      ['a(?P<x>b)', '<$xy>', 'ab', '<>'],
      ['a', '$$', 'a', '$'],
      ['a', '$', 'a', '$'],
      ['a(b)', '$1x', 'ab', ''],
      ['a(b)', '${1}x', 'ab', 'bx'],
      ['a(b)', '$9', 'ab', ''],
    ];
    for (const [re, repl, s, want] of cases) assert.equal(GoRegexp.compile(re).replaceAllString(s, repl), want, `ReplaceAllString(${JSON.stringify(s)}, ${re}, ${repl})`);
    assert.equal(GoRegexp.compile('a+').replaceAllLiteralString('banana', '($0)'), 'b($0)n($0)n($0)');
    assert.equal(GoRegexp.compile('').replaceAllLiteralString('abc', '$$'), '$$a$$b$$c$$');
  });

  void it('finds as Go: leftmost-first, all matches with a limit, submatches of groups that did not take part', () => {
    assert.equal(GoRegexp.compile('a+').findString('xaay'), 'aa');
    assert.equal(GoRegexp.compile('z').findString('xaay'), '');
    assert.deepEqual(GoRegexp.compile('x*').findAllString('axxb', -1), ['', 'xx', '']);
    assert.deepEqual(GoRegexp.compile('[0-9]+').findAllString('1 22 333', 2), ['1', '22']);
    assert.deepEqual(GoRegexp.compile('(a)|b').findStringSubmatch('b'), ['b', '']);
    assert.equal(GoRegexp.compile('(a)|b').findStringSubmatch('c'), null);
    assert.deepEqual(GoRegexp.compile('(?P<first>\\w+)-(\\d)').subexpNames(), ['', 'first', '']);
  });

  void it("takes Go's syntax (RE2 classes, flags, \\Q...\\E) and refuses what RE2 does with Go's error texts", () => {
    assert.ok(GoRegexp.compile('^\\pL+$').test('héllo'));
    assert.ok(GoRegexp.compile('^[[:alpha:]]+$').test('abc'));
    assert.ok(GoRegexp.compile('(?i)^ABC$').test('abc'));
    assert.ok(GoRegexp.compile('^\\Q.*\\E$').test('.*'));
    assert.ok(!GoRegexp.compile('^\\Q.*\\E$').test('ab'));
    assert.ok(GoRegexp.compile('\\Aab\\z').test('ab'));
    // Texts of Go's regexp/syntax (parse.go error codes).
    const refused: [string, string][] = [
      ['a(b', 'error parsing regexp: missing closing ): `a(b`'],
      ['a)', 'error parsing regexp: unexpected ): `a)`'],
      ['[z-a]', 'error parsing regexp: invalid character class range: `z-a`'],
      ['x**', 'error parsing regexp: invalid nested repetition operator: `**`'],
      ['(?=a)', 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`'],
      ['(a)\\1', 'error parsing regexp: invalid escape sequence: `\\1`'],
      ['a{1001}', 'error parsing regexp: invalid repeat count: `{1001}`'],
      ['(?P<>a)', 'error parsing regexp: invalid named capture: `(?P<>`'],
    ];
    for (const [pattern, message] of refused) {
      assert.throws(() => GoRegexp.compile(pattern), (e: Error) => e instanceof GoRegexpError && e.message === message, pattern);
    }
    assert.throws(() => GoRegexp.compile('a'.repeat(70_000)), /expression too large/);
  });

  // Go's regexp/all_test.go (metaTests).
  void it('QuoteMeta escapes every metacharacter and the result matches itself literally', () => {
    assert.equal(quoteMeta(''), '');
    assert.equal(quoteMeta('foo'), 'foo');
    assert.equal(quoteMeta('\u65e5本語'), '\u65e5本語');
    assert.equal(quoteMeta('foo\\.+*?()|[]{}^$'), 'foo\\\\\\.\\+\\*\\?\\(\\)\\|\\[\\]\\{\\}\\^\\$');
    const s = 'a.b*c(d)[e]{f}|g^h$i\\j+k?';
    assert.ok(GoRegexp.compile(`^${quoteMeta(s)}$`).test(s));
  });

  // Issue 11: on a backtracking engine these take seconds (27 a's) to minutes (32 a's). RE2 is linear; the test's
  // timeout only ends a hang, it is not a speed assertion.
  void it('answers catastrophic-backtracking patterns without backtracking', { timeout: 30_000 }, () => {
    for (const n of [27, 32, 10_000]) {
      const input = `${'a'.repeat(n)}b`;
      assert.equal(GoRegexp.compile('^(a+)+$').test(input), false);
      assert.equal(GoRegexp.compile('^(a|a)*$').test(input), false);
      assert.equal(GoRegexp.compile('^(a|aa)+$').test(input), false);
      assert.equal(GoRegexp.compile('(a*)*b').findString(input), input);
    }
  });
});
