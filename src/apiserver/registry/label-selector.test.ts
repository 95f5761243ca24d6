import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLabelSelector, SelectorParseError } from './label-selector.js';

const NAME_PART =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
  "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with " +
  "an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

function fails(selector: string, message: string): void {
  assert.throws(() => parseLabelSelector(selector), (err: unknown) => err instanceof SelectorParseError && err.message === message, selector);
}

void describe('label selector grammar', () => {
  void it('parses every operator and matches as kube does', () => {
    const cases: [string, Record<string, string>, boolean][] = [
      ['app=a', { app: 'a' }, true],
      ['app==a', { app: 'b' }, false],
      ['app!=a', {}, true], // != also matches objects without the key
      ['app!=a', { app: 'a' }, false],
      ['app in (a,b)', { app: 'b' }, true],
      ['app in (a,b)', {}, false],
      ['app notin (a,b)', {}, true], // notin too
      ['app notin (a,b)', { app: 'a' }, false],
      ['app', { app: '' }, true],
      ['!app', { app: '' }, false],
      ['!app', {}, true],
      ['n>5', { n: '6' }, true],
      ['n>5', { n: 'x' }, false],
      ['n<5', { n: '-3' }, true],
      ['n<5', {}, false],
      ['app=', { app: '' }, true],
      ['app in ()', { app: '' }, true],
      ['app in (a,b),!legacy', { app: 'a' }, true],
      ['app in (a,b),!legacy', { app: 'a', legacy: 'y' }, false],
      ['  app = a ,  tier  notin  ( x ) ', { app: 'a', tier: 'y' }, true],
      ['in in (in, notin)', { in: 'notin' }, true], // "in" is a keyword only where an operator is expected
      ['x in (foo,,baz),y,z notin ()', { x: '', y: '1' }, true],
      ['example.com/app=web', { 'example.com/app': 'web' }, true],
    ];
    for (const [selector, labels, want] of cases) {
      assert.equal(parseLabelSelector(selector).matches(labels), want, `${selector} on ${JSON.stringify(labels)}`);
    }
  });

  void it('an empty selector matches everything', () => {
    assert.equal(parseLabelSelector('').empty, true);
    assert.equal(parseLabelSelector(undefined).matches(undefined), true);
  });

  void it('sorts requirements by key and de-duplicates set values', () => {
    const s = parseLabelSelector('b in (y,x,y),a');
    assert.deepEqual(s.requirements, [
      { key: 'a', operator: 'exists', values: [] },
      { key: 'b', operator: 'in', values: ['x', 'y'] },
    ]);
  });

  void it('reports syntax errors with the parser text', () => {
    fails('a,', "found '', expected: identifier after ','");
    fails(',a', "found ',', expected: !, identifier, or 'end of string'");
    fails('a b', 'unable to parse requirement: found \'b\', expected: in, notin, =, ==, !=, gt, lt');
    fails('a in b', "unable to parse requirement: found 'b' expected: '('");
    fails('a in (b', "unable to parse requirement: found '', expected: ',' or ')'");
    fails('a in (=)', "unable to parse requirement: found '=', expected: ',', ')' or identifier");
    fails('a=b=c', "found '=', expected: ',' or 'end of string'");
    fails('a=(', "unable to parse requirement: found '(', expected: identifier");
    fails('!a=b', "found '=', expected: ',' or 'end of string'");
    fails('!=a', "found '!=', expected: !, identifier, or 'end of string'");
  });

  void it('validates keys and values with the field error texts', () => {
    fails('-bad', `unable to parse requirement: <nil>: Invalid value: "-bad": ${NAME_PART}`);
    fails('a=-b', `unable to parse requirement: values[0][a]: Invalid value: "-b": ${LABEL_VALUE}`);
    fails('a>x', `unable to parse requirement: values[0]: Invalid value: "x": for 'Gt', 'Lt' operators, the value must be an integer`);
    fails('a/b/c', `unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`);
    fails(`a=${'v'.repeat(64)}`, `unable to parse requirement: values[0][a]: Invalid value: "${'v'.repeat(64)}": must be no more than 63 characters`);
  });
});
