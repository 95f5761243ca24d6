// Issue 11's fuzz suite for the user-supplied languages of the controller: Go templates (lexer, parser, executor with
// every function) and Go regexps (compile and every operation). Property: an error with a message, or a result;
// never another exception (a crash), and never a run over 1 s (the bound; the template's own time limit
// is far below it).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzOptions } from '../../../test/support/fuzz-options.js';
import { CofferError } from '../../lib/errors.js';
import { GoRegexp, quoteMeta } from '../../lib/go/regexp.js';
import { GoTemplate } from './go-template.js';
import { FIXED_COST_FUNCTIONS, TEMPLATE_FUNCTIONS } from './template-functions.js';

const HANG_MS = 1000;
const DATA = { a: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab', n: '42', json: '{"k":[1,"x",{"y":null}]}', b64: 'aGVsbG8=', pem: '-----BEGIN X-----\nAAAA\n-----END X-----\n' };

/** Runs `f`; an Error that names what failed is an answer, anything else (or taking over 1 s) fails the property. */
function answers(f: () => unknown, limitMs = HANG_MS): void {
  const start = performance.now();
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof Error && e.message.length > 0, `threw a non-error or an empty message: ${String(e)}`);
    assert.ok(!(e instanceof RangeError || e instanceof TypeError || e instanceof ReferenceError), `crashed: ${e.stack}`);
    // The executor wraps a function's exception in its own error; a JavaScript fault inside one is still a crash.
    assert.doesNotMatch(e.message, /Cannot read propert|is not a function|is not iterable|Maximum call stack|Invalid (string|array) length/, 'a JavaScript fault');
  }
  const took = performance.now() - start;
  assert.ok(took < limitMs, `took ${took.toFixed(0)} ms`);
}

// Pieces templates are made of, so that generated text reaches the parser's and executor's paths, not only the lexer.
const functionNames = Object.keys(TEMPLATE_FUNCTIONS);
const word = fc.constantFrom(...functionNames, 'if', 'else', 'end', 'range', 'with', 'nil', 'true', 'define', '.a', '.n', '.json', '.b64', '.pem', '.', '$', '$x', ':=', '=', '|', '(', ')', ',');
const literal = fc.oneof(fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)), fc.integer({ min: -5, max: 50 }).map(String), fc.constantFrom('"^(a+)+$"', '"(a|a)*b"', '"["', '`raw`', "'c'", '1.5', '0x1F', '-1'));
const action = fc.tuple(fc.constantFrom(' ', '- ', ''), fc.array(fc.oneof(word, literal), { maxLength: 6 })).map(([open, parts]) => `{{${open}${parts.join(' ')} }}`);
const template = fc.array(fc.oneof(action, fc.string({ maxLength: 6 }), fc.constantFrom('{{ end }}', '{{ else }}', '{{', '}}', '{{/* c */}}')), { maxLength: 12 }).map((p) => p.join(''));

// Regexp syntax pieces, to reach the parser's error paths and the matcher's heavy cases.
const regexPart = fc.oneof(
  fc.constantFrom('a', 'b', '.', '*', '+', '?', '|', '(', ')', '(?:', '(?P<n>', '(?i)', '[', ']', '[^a]', '[[:alpha:]]', '\\pL', '\\d', '\\b', '^', '$', '{2}', '{1,3}', '{1001}', '\\', '\\Q', '\\E', '\\1', '(?=', '(?<', '\\z', '\\A'),
  fc.string({ maxLength: 3 }),
);
const pattern = fc.array(regexPart, { maxLength: 12 }).map((p) => p.join(''));
const subject = fc.oneof(fc.string({ maxLength: 40 }), fc.integer({ min: 0, max: 3000 }).map((n) => `${'a'.repeat(n)}b`));

void describe('fuzz: Go templates and Go regexps from users', () => {
  void it('a generated template parses and executes to a result or an error, within 1 s', () => {
    fc.assert(
      fc.property(template, (text) => {
        answers(() => GoTemplate.parse('k', text).execute(DATA));
      }),
      fuzzOptions(),
    );
  });

  void it('arbitrary text as a template gives a result or an error, within 1 s', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        answers(() => GoTemplate.parse('k', text).execute(DATA));
      }),
      fuzzOptions(),
    );
  });

  void it('every template function called with generated arguments answers or fails with a message, within 1 s', () => {
    const arg = fc.oneof(literal, fc.constantFrom('.a', '.n', '.json', '.b64', '.pem', '(list 1 "a")', '(dict "k" 1)', 'nil'));
    fc.assert(
      fc.property(fc.constantFrom(...functionNames), fc.array(arg, { maxLength: 4 }), (name, args) => {
        // Key generation, bcrypt, scrypt and the PKCS#12 writers take a fixed, long while by design (outside the
        // template's time limit, bounded by count): a liveness bound only, as RSA key generation on a loaded machine
        // takes seconds.
        answers(() => GoTemplate.parse('k', `{{ ${name} ${args.join(' ')} }}`).execute(DATA), FIXED_COST_FUNCTIONS.has(name) ? 30_000 : HANG_MS);
      }),
      fuzzOptions(),
    );
  });

  void it('a generated pattern compiles or is refused with Go\'s text, and every operation answers within 1 s', () => {
    fc.assert(
      fc.property(pattern, subject, fc.string({ maxLength: 8 }), fc.integer({ min: -1, max: 5 }), (p, s, repl, n) => {
        let re: GoRegexp;
        try {
          re = GoRegexp.compile(p);
        } catch (e) {
          assert.ok(e instanceof CofferError, `compile crashed on ${JSON.stringify(p)}: ${String(e)}`);
          assert.match(e.message, /^error parsing regexp: /);
          return;
        }
        answers(() => {
          re.test(s);
          re.findString(s);
          re.findStringSubmatch(s);
          const all = re.findAllString(s, n);
          if (n >= 0) assert.ok(all.length <= n);
          re.replaceAllString(s, repl);
          re.replaceAllLiteralString(s, repl);
          const pieces = re.split(s, n);
          if (n > 0) assert.ok(pieces.length <= n);
        });
      }),
      fuzzOptions(),
    );
  });

  void it('QuoteMeta of any string compiles to a pattern matching exactly that string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (s) => {
        const re = GoRegexp.compile(`^${quoteMeta(s)}$`);
        assert.ok(re.test(s));
        assert.equal(re.replaceAllLiteralString(s, 'x'), 'x');
      }),
      fuzzOptions(),
    );
  });
});
