import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import bcryptjs from 'bcryptjs';
import { GoTemplate } from './go-template.js';

// These tests are about results, not the time bound (go-template.test.ts and test/reliability test that): on a loaded
// machine bcrypt at cost 10, or the first time-zone lookup, takes a good part of the default 500 ms.
const render = (text: string) => GoTemplate.parse('k', text).execute({}, { timeoutMs: 60_000, maxOutputBytes: 1 << 20 }).toString();
const table = (cases: [string, string][]) => {
  for (const [tpl, want] of cases) assert.equal(render(tpl), want, tpl);
};

// Cases follow sprig v3's tests (list_test.go, dict_test.go, paths_test.go, numeric_test.go, strings_test.go,
// crypto_test.go, date_test.go), the copy ESO vendors in runtime/template/v2/sprig.
void describe("sprig v3's function map", () => {
  void it('lists: append, prepend, rest, initial, reverse, uniq, without, has, compact, slice, concat, chunk, until, seq', () => {
    table([
      ['{{ $t := tuple 1 2 3 }}{{ append $t 4 }}', '[1 2 3 4]'],
      ['{{ $t := tuple 1 2 3 }}{{ push $t 4 }} {{ prepend $t 0 }}', '[1 2 3 4] [0 1 2 3]'],
      ['{{ tuple 1 2 3 4 | rest }} {{ tuple 1 2 3 4 | initial }} {{ tuple 1 2 3 4 | reverse }}', '[2 3 4] [1 2 3] [4 3 2 1]'],
      ['{{ list 1 1 2 3 3 | uniq }}', '[1 2 3]'],
      ['{{ without (list 1 2 3 4 5) 1 3 5 }}', '[2 4]'],
      ['{{ list 1 2 3 | has 1 }} {{ list 1 2 3 | has 4 }}', 'true false'],
      ['{{ list 1 0 "" "hello" | compact }}', '[1 hello]'],
      ['{{ slice (list 1 2 3 4) 1 3 }} {{ slice (list 1 2 3 4) 2 }}', '[2 3] [3 4]'],
      ['{{ concat (list 1 2) (list 3) (list) }}', '[1 2 3]'],
      ['{{ chunk 2 (list 1 2 3 4 5) }}', '[[1 2] [3 4] [5]]'],
      ['{{ until 5 }} {{ untilStep 0 10 3 }} {{ until 0 }}', '[0 1 2 3 4] [0 3 6 9] []'],
      ['{{ seq 5 }}|{{ seq -3 }}|{{ seq 0 2 }}|{{ seq 2 -2 }}|{{ seq 0 2 10 }}|{{ seq 0 -5 -10 }}', '1 2 3 4 5|1 0 -1 -2 -3|0 1 2|2 1 0 -1 -2|0 2 4 6 8 10|0 -5 -10'],
      ['{{ list "c" "a" "b" | sortAlpha }}', '[a b c]'],
    ]);
    assert.throws(() => render('{{ append "x" 1 }}'), /error calling append: Cannot append on type string/);
  });

  void it('dicts: set, unset, pluck, pick, omit, merge, mergeOverwrite, dig', () => {
    table([
      ['{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ $d.b }}', '2'],
      ['{{ $d := dict "a" 1 "b" 2 }}{{ $_ := unset $d "a" }}{{ $d }}', 'map[b:2]'],
      ['{{ pluck "name" (dict "name" "a") (dict "name" "b") (dict "x" 1) }}', '[a b]'],
      ['{{ pick (dict "a" 1 "b" 2 "c" 3) "a" "c" }} {{ omit (dict "a" 1 "b" 2 "c" 3) "a" "c" }}', 'map[a:1 c:3] map[b:2]'],
      ['{{ merge (dict "a" 1) (dict "a" 2 "b" 3) | toJson }}', '{"a":1,"b":3}'],
      ['{{ mergeOverwrite (dict "a" 1) (dict "a" 2 "b" 3) | toJson }}', '{"a":2,"b":3}'],
      ['{{ dict "a" (dict "b" 1) | dig "a" "b" "def" }} {{ dict "a" 1 | dig "x" "y" "def" }}', '1 def'],
    ]);
  });

  void it('strings and paths', () => {
    table([
      ['{{ abbrev 5 "hello world" }}', 'he...'],
      ['{{ initials "First Try" }}', 'FT'],
      ['{{ snakecase "FirstName" }} {{ kebabcase "FirstName" }} {{ camelcase "http_server" }}', 'first_name first-name HttpServer'],
      ['{{ swapcase "This Is A.Test" }}', 'tHIS iS a.tEST'],
      ['{{ plural "one anchovy" "many anchovies" 2 }} {{ plural "one anchovy" "many anchovies" 1 }}', 'many anchovies one anchovy'],
      ['{{ wrap 5 "Hello World" }}', 'Hello\nWorld'],
      ['{{ splitn "$" 2 "foo$bar$baz" }}', 'map[_0:foo _1:bar$baz]'],
      ['{{ base "foo/bar/baz" }} {{ dir "foo/bar/baz" }} {{ clean "foo/../bar" }} {{ ext "foo.bar" }} {{ isAbs "/foo" }}', 'baz foo/bar bar .bar true'],
      ['{{ ext "archive.tar.gz" }}|{{ ext ".bashrc" }}|{{ ext "dir.d/file" }}|{{ base "" }}|{{ base "/" }}|{{ dir "" }}|{{ clean "/../a//b/./c/.." }}', '.gz|.bashrc||.|/|.|/a/b'],
    ]);
  });

  void it('numbers and types', () => {
    table([
      ['{{ div 10 3 }} {{ mod 10 3 }} {{ max 1 5 3 }} {{ min 4 2 8 }}', '3 1 5 2'],
      ['{{ round 123.5555 3 }} {{ round 123.5 0 }} {{ floor 1.5 }} {{ ceil 1.5 }}', '123.556 124 1 2'],
      ['{{ toDecimal "0777" }} {{ addf 1.5 2 }} {{ divf 10 4 }}', '511 3.5 2.5'],
      ['{{ typeOf 1 }} {{ typeOf "a" }} {{ typeOf (list) }} {{ kindIs "map" (dict) }} {{ kindOf (list) }}', 'int string []interface {} true slice'],
    ]);
    assert.throws(() => render('{{ div 1 0 }}'), /integer divide by zero/);
  });

  void it('dates: now is a time value; date, dateInZone, unixEpoch and dateModify format as Go', () => {
    table([
      ['{{ date "2006-01-02" 0 }}', '1970-01-01'],
      ['{{ dateInZone "2006-01-02T15:04:05Z07:00 Mon Jan 2 03:04PM MST" 1700000000 "UTC" }}', '2023-11-14T22:13:20Z Tue Nov 14 10:13PM UTC'],
      ['{{ dateInZone "15:04 -07:00" 1700000000 "Asia/Kolkata" }}', '03:43 +05:30'],
      ['{{ unixEpoch (dateModify "1h" (now)) | len }}', '10'],
      ['{{ now | typeOf }} {{ now | kindOf }}', 'time.Time struct'],
    ]);
    assert.equal(render('{{ now | date "2006" }}'), String(new Date().getUTCFullYear()));
    assert.match(render('{{ now }}'), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$/);
    assert.throws(() => render('{{ mustDateModify "1y" (now) }}'), /time: invalid duration "1y"/);
  });

  void it('htpasswd and bcrypt as ESO documents them: Go bcrypt ($2a$, cost 10), {SHA}, and sprig\'s error texts', () => {
    assert.equal(render('{{ htpasswd "myUser" "myPassword" "sha" }}'), 'myUser:{SHA}VBPuJHI7uixaa6LQGWx4s+5GKNE=');
    const line = render('{{ htpasswd "myUser" "myPassword" "bcrypt" }}');
    const [user, hash] = line.split(':') as [string, string];
    assert.equal(user, 'myUser');
    assert.match(hash, /^\$2a\$10\$/);
    assert.ok(bcryptjs.compareSync('myPassword', hash));
    assert.ok(!bcryptjs.compareSync('other', hash));
    assert.equal(render('{{ htpasswd "my:User" "p" "sha" }}'), 'invalid username: my:User');
    assert.equal(render(`{{ bcrypt "${'x'.repeat(73)}" }}`), 'failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes');
    // ESO's docs: several users built into one htpasswd file with append.
    const file = render('{{- $creds := list }}{{- range $user, $pw := dict "a" "1" "b" "2" }}{{- $creds = append $creds (htpasswd $user $pw "sha") }}{{- end }}{{ join "\\n" $creds }}');
    assert.equal(file, 'a:{SHA}NWoZK3kTsExUV00Ywo1G5jlUKKs=\nb:{SHA}2kuSN7rMzfGcB2DKt67EqDWQELA=');
  });

  void it('random values and uuidv4 have the documented shapes', () => {
    assert.match(render('{{ uuidv4 }}'), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(render('{{ randAlphaNum 12 }}'), /^[A-Za-z0-9]{12}$/);
    assert.match(render('{{ randNumeric 6 }}'), /^[0-9]{6}$/);
    assert.equal(Buffer.from(render('{{ randBytes 24 }}'), 'base64').length, 24);
    assert.throws(() => render('{{ fail "stop here" }}'), /error calling fail: stop here/);
  });
});
