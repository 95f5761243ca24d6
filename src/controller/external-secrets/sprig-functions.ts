// More of sprig v3's function map, as ESO's runtime/template/v2/sprig vendors it: lists, dicts, paths, numbers,
// types, dates, hashes and htpasswd. Behaviour follows sprig's source, with its quirks (most functions swallow
// errors and return a zero value; the must* forms fail). Anything not listed here or in template-functions.ts is
// refused at parse time with the function's name.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import bcryptjs from 'bcryptjs';
import { formatGoTime, parseGoDuration } from './go-time.js';
import type { TemplateFunction, TemplateValue } from './template-functions.js';

export interface SprigHelpers {
  str: (v: TemplateValue | undefined) => string;
  num: (v: TemplateValue | undefined) => number;
  isTruthy: (v: TemplateValue) => boolean;
  equal: (a: TemplateValue, b: TemplateValue) => boolean;
  arity: (name: string, args: TemplateValue[], n: number) => void;
  maxBuilt: number;
}

type Dict = { [key: string]: TemplateValue };
const isDict = (v: TemplateValue | undefined): v is Dict => !!v && typeof v === 'object' && !Buffer.isBuffer(v) && !Array.isArray(v) && !(v instanceof Date);

export function sprigFunctions(h: SprigHelpers): Record<string, TemplateFunction> {
  const { str, num, arity } = h;
  const int = (v: TemplateValue | undefined) => Math.trunc(num(v));
  /** sprig's list functions take any slice; anything else makes the plain form fail like the must form (a panic). */
  const listOf = (name: string, v: TemplateValue | undefined): TemplateValue[] => {
    if (Array.isArray(v)) return v;
    throw new Error(`Cannot ${name} on type ${typeOf(v)}`);
  };
  const bounded = <T>(n: number, what: string, make: () => T[]): T[] => {
    if (n > h.maxBuilt) throw new Error(`${what} would build ${n} elements, the limit is ${h.maxBuilt}`);
    return make();
  };
  const range = (start: number, stop: number, step: number): number[] => {
    if (step === 0 || (stop - start) / step < 0) return [];
    return bounded(Math.ceil((stop - start) / step), 'until', () => Array.from({ length: Math.ceil((stop - start) / step) }, (_, i) => start + i * step));
  };
  const deepMerge = (dst: Dict, src: Dict, overwrite: boolean): Dict => {
    for (const [k, v] of Object.entries(src)) {
      const d = dst[k];
      if (isDict(d) && isDict(v)) deepMerge(d, v, overwrite);
      else if (!(k in dst) || overwrite || !h.isTruthy(d!)) dst[k] = structuredClone(v);
    }
    return dst;
  };
  const words = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(/[^A-Za-z0-9]+/).filter(Boolean);
  const bcrypt = (password: string): string => {
    // x/crypto/bcrypt refuses more than 72 bytes and writes the $2a$ prefix; bcryptjs writes $2b$ for the same hash.
    if (Buffer.byteLength(password) > 72) return 'failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes';
    return bcryptjs.hashSync(password, 10).replace(/^\$2b\$/, '$2a$');
  };

  const fns: Record<string, TemplateFunction> = {
    // lists
    append: (...a) => (arity('append', a, 2), [...listOf('append', a[0]), a[1]!]),
    push: (...a) => (arity('push', a, 2), [...listOf('push', a[0]), a[1]!]),
    prepend: (...a) => (arity('prepend', a, 2), [a[1]!, ...listOf('prepend', a[0])]),
    rest: (...a) => (arity('rest', a, 1), listOf('rest', a[0]).slice(1)),
    initial: (...a) => (arity('initial', a, 1), listOf('initial', a[0]).slice(0, -1)),
    reverse: (...a) => (arity('reverse', a, 1), [...listOf('reverse', a[0])].reverse()),
    uniq: (...a) => (arity('uniq', a, 1), listOf('uniq', a[0]).filter((v, i, l) => l.findIndex((w) => h.equal(v, w)) === i)),
    without: (...a) => listOf('without', a[0]).filter((v) => !a.slice(1).some((w) => h.equal(v, w))),
    has: (...a) => (arity('has', a, 2), a[1] === null ? false : listOf('has', a[1]).some((v) => h.equal(v, a[0]!))),
    compact: (...a) => (arity('compact', a, 1), listOf('compact', a[0]).filter(h.isTruthy)),
    concat: (...a) => a.flatMap((l) => (Array.isArray(l) ? l : [])),
    slice: (...a) => {
      const l = listOf('slice', a[0]);
      return l.slice(a.length > 1 ? int(a[1]) : 0, a.length > 2 ? int(a[2]) : l.length);
    },
    chunk: (...a) => {
      arity('chunk', a, 2);
      const size = int(a[0]);
      const l = listOf('chunk', a[1]);
      if (size < 1) return [];
      return Array.from({ length: Math.ceil(l.length / size) }, (_, i) => l.slice(i * size, (i + 1) * size));
    },
    sortAlpha: (...a) => (arity('sortAlpha', a, 1), Array.isArray(a[0]) ? a[0].map(str).sort() : [str(a[0])]),
    tuple: (...a) => a,
    until: (...a) => (arity('until', a, 1), range(0, int(a[0]), int(a[0]) < 0 ? -1 : 1)),
    untilStep: (...a) => (arity('untilStep', a, 3), range(int(a[0]), int(a[1]), int(a[2]))),
    seq: (...a) => {
      const n = a.map(int);
      const [start, step, end] = n.length === 1 ? [1, n[0]! < 1 ? -1 : 1, n[0]!] : n.length === 2 ? [n[0]!, n[0]! <= n[1]! ? 1 : -1, n[1]!] : [n[0]!, n[1]!, n[2]!];
      if (n.length === 0 || n.length > 3) return '';
      return range(start, end + (step > 0 ? 1 : -1), step).join(' ');
    },
    // dicts
    set: (...a) => (arity('set', a, 3), Object.assign(dictOf(a[0]), { [str(a[1])]: a[2]! })),
    unset: (...a) => {
      arity('unset', a, 2);
      const d = dictOf(a[0]);
      delete d[str(a[1])];
      return d;
    },
    pluck: (...a) => a.slice(1).filter(isDict).filter((d) => Object.hasOwn(d, str(a[0]))).map((d) => d[str(a[0])]!),
    pick: (...a) => {
      const d = dictOf(a[0]);
      return Object.fromEntries(a.slice(1).map(str).filter((k) => Object.hasOwn(d, k)).map((k) => [k, d[k]!]));
    },
    omit: (...a) => {
      const drop = new Set(a.slice(1).map(str));
      return Object.fromEntries(Object.entries(dictOf(a[0])).filter(([k]) => !drop.has(k)));
    },
    merge: (...a) => a.slice(1).filter(isDict).reduce((d, s) => deepMerge(d, s, false), dictOf(a[0])),
    mergeOverwrite: (...a) => a.slice(1).filter(isDict).reduce((d, s) => deepMerge(d, s, true), dictOf(a[0])),
    dig: (...a) => {
      if (a.length < 3) throw new Error(`wrong number of args for dig: want at least 3 got ${a.length}`);
      let v: TemplateValue = dictOf(a[a.length - 1]);
      for (const k of a.slice(0, -2).map(str)) {
        if (!isDict(v) || !Object.hasOwn(v, k)) return a[a.length - 2]!;
        v = v[k]!;
      }
      return v;
    },
    deepCopy: (...a) => (arity('deepCopy', a, 1), structuredClone(a[0]!)),
    // strings
    abbrev: (...a) => (arity('abbrev', a, 2), abbrev(int(a[0]), str(a[1]))),
    initials: (...a) => (arity('initials', a, 1), str(a[0]).split(/\s+/).filter(Boolean).map((w) => [...w][0]).join('')),
    untitle: (...a) => (arity('untitle', a, 1), str(a[0]).replace(/(^|\s)(\S)/g, (_, p: string, c: string) => p + c.toLowerCase())),
    swapcase: (...a) => (arity('swapcase', a, 1), [...str(a[0])].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('')),
    snakecase: (...a) => (arity('snakecase', a, 1), words(str(a[0])).map((w) => w.toLowerCase()).join('_')),
    kebabcase: (...a) => (arity('kebabcase', a, 1), words(str(a[0])).map((w) => w.toLowerCase()).join('-')),
    camelcase: (...a) => (arity('camelcase', a, 1), str(a[0]).split('_').map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : '')).join('')),
    plural: (...a) => (arity('plural', a, 3), int(a[2]) === 1 ? str(a[0]) : str(a[1])),
    splitn: (...a) => {
      arity('splitn', a, 3);
      const parts = goSplitN(str(a[2]), str(a[0]), int(a[1]));
      return Object.fromEntries(parts.map((p, i) => [`_${i}`, p]));
    },
    toStrings: (...a) => (arity('toStrings', a, 1), Array.isArray(a[0]) ? a[0].map(str) : [str(a[0])]),
    wrap: (...a) => (arity('wrap', a, 2), wrapWords(str(a[1]), int(a[0]), '\n')),
    wrapWith: (...a) => (arity('wrapWith', a, 3), wrapWords(str(a[2]), int(a[0]), str(a[1]))),
    // paths (Go's path package; the os* forms are the same on Linux)
    base: (...a) => (arity('base', a, 1), goBase(str(a[0]))),
    dir: (...a) => (arity('dir', a, 1), goDir(str(a[0]))),
    clean: (...a) => (arity('clean', a, 1), goClean(str(a[0]))),
    ext: (...a) => (arity('ext', a, 1), goExt(str(a[0]))),
    isAbs: (...a) => (arity('isAbs', a, 1), str(a[0]).startsWith('/')),
    // numbers (sprig converts with cast.ToInt64 / ToFloat64)
    int64: (...a) => (arity('int64', a, 1), int(a[0])),
    float64: (...a) => (arity('float64', a, 1), num(a[0])),
    div: (...a) => {
      arity('div', a, 2);
      if (int(a[1]) === 0) throw new Error('runtime error: integer divide by zero');
      return Math.trunc(int(a[0]) / int(a[1]));
    },
    mod: (...a) => {
      arity('mod', a, 2);
      if (int(a[1]) === 0) throw new Error('runtime error: integer divide by zero');
      return int(a[0]) % int(a[1]);
    },
    max: (...a) => Math.max(...a.map(int)),
    min: (...a) => Math.min(...a.map(int)),
    biggest: (...a) => Math.max(...a.map(int)),
    maxf: (...a) => Math.max(...a.map(num)),
    minf: (...a) => Math.min(...a.map(num)),
    addf: (...a) => a.reduce<number>((s, v) => s + num(v), 0),
    add1f: (...a) => (arity('add1f', a, 1), num(a[0]) + 1),
    subf: (...a) => a.slice(1).reduce<number>((s, v) => s - num(v), num(a[0])),
    mulf: (...a) => a.reduce<number>((s, v) => s * num(v), 1),
    divf: (...a) => a.slice(1).reduce<number>((s, v) => s / num(v), num(a[0])),
    floor: (...a) => (arity('floor', a, 1), Math.floor(num(a[0]))),
    ceil: (...a) => (arity('ceil', a, 1), Math.ceil(num(a[0]))),
    round: (...a) => {
      if (a.length < 2 || a.length > 3) throw new Error(`wrong number of args for round: want 2 or 3 got ${a.length}`);
      const pow = 10 ** int(a[1]);
      const roundOn = a.length === 3 ? num(a[2]) : 0.5;
      const digit = num(a[0]) * pow;
      const whole = Math.trunc(digit);
      return (digit - whole >= roundOn ? whole + 1 : whole) / pow;
    },
    toDecimal: (...a) => (arity('toDecimal', a, 1), /^[0-7]+$/.test(str(a[0])) ? parseInt(str(a[0]), 8) : 0),
    // types
    typeOf: (...a) => (arity('typeOf', a, 1), typeOf(a[0])),
    kindOf: (...a) => (arity('kindOf', a, 1), kindOf(a[0])),
    typeIs: (...a) => (arity('typeIs', a, 2), typeOf(a[1]) === str(a[0])),
    kindIs: (...a) => (arity('kindIs', a, 2), kindOf(a[1]) === str(a[0])),
    deepEqual: (...a) => (arity('deepEqual', a, 2), h.equal(a[0]!, a[1]!)),
    // dates: time values print as Go's time.Time; "Local" is UTC, as in a container
    now: (...a) => (arity('now', a, 0), new Date()),
    date: (...a) => (arity('date', a, 2), formatGoTime(toTime(a[1]), str(a[0]), 'UTC')),
    dateInZone: (...a) => (arity('dateInZone', a, 3), formatGoTime(toTime(a[1]), str(a[0]), str(a[2]))),
    htmlDate: (...a) => (arity('htmlDate', a, 1), formatGoTime(toTime(a[0]), '2006-01-02', 'UTC')),
    unixEpoch: (...a) => (arity('unixEpoch', a, 1), String(Math.floor(toTime(a[0]).getTime() / 1000))),
    dateModify: (...a) => (arity('dateModify', a, 2), modify(toTime(a[1]), str(a[0])) ?? toTime(a[1])),
    mustDateModify: (...a) => {
      arity('mustDateModify', a, 2);
      const t = modify(toTime(a[1]), str(a[0]));
      if (!t) throw new Error(`time: invalid duration ${JSON.stringify(str(a[0]))}`);
      return t;
    },
    // hashes, random values and passwords
    adler32sum: (...a) => (arity('adler32sum', a, 1), String(adler32(Buffer.from(str(a[0]))))),
    uuidv4: (...a) => (arity('uuidv4', a, 0), randomUUID()),
    randBytes: (...a) => (arity('randBytes', a, 1), randomBytes(Math.max(0, Math.min(int(a[0]), h.maxBuilt))).toString('base64')),
    randAlphaNum: (...a) => (arity('randAlphaNum', a, 1), randomString(int(a[0]), 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', h.maxBuilt)),
    randAlpha: (...a) => (arity('randAlpha', a, 1), randomString(int(a[0]), 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', h.maxBuilt)),
    randNumeric: (...a) => (arity('randNumeric', a, 1), randomString(int(a[0]), '0123456789', h.maxBuilt)),
    randAscii: (...a) => (arity('randAscii', a, 1), randomString(int(a[0]), Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join(''), h.maxBuilt)),
    bcrypt: (...a) => (arity('bcrypt', a, 1), bcrypt(str(a[0]))),
    htpasswd: (...a) => {
      arity('htpasswd', a, 3);
      const user = str(a[0]);
      if (user.includes(':')) return `invalid username: ${user}`;
      if (str(a[2]) === 'sha') return `${user}:{SHA}${createHash('sha1').update(str(a[1])).digest('base64')}`;
      return `${user}:${bcrypt(str(a[1]))}`;
    },
    fail: (...a) => {
      arity('fail', a, 1);
      throw new Error(str(a[0]));
    },
  };
  // The must* forms of list functions: the same, since the plain ones already fail where sprig's panic.
  for (const name of ['append', 'push', 'prepend', 'rest', 'initial', 'reverse', 'uniq', 'without', 'has', 'compact', 'slice', 'chunk']) {
    fns[`must${name[0]!.toUpperCase()}${name.slice(1)}`] = fns[name]!;
  }
  fns['mustMerge'] = fns['merge']!;
  fns['mustMergeOverwrite'] = fns['mergeOverwrite']!;
  fns['mustDeepCopy'] = fns['deepCopy']!;
  for (const name of ['base', 'dir', 'clean', 'ext', 'isAbs']) fns[`os${name[0]!.toUpperCase()}${name.slice(1)}`] = fns[name]!;
  return fns;

  function dictOf(v: TemplateValue | undefined): Dict {
    if (isDict(v)) return v;
    throw new Error(`expected a map, got ${typeOf(v)}`);
  }
  function toTime(v: TemplateValue | undefined): Date {
    if (v instanceof Date) return v;
    if (typeof v === 'number') return new Date(Math.trunc(v) * 1000);
    return new Date(); // sprig's dateInZone formats the current time for anything else
  }
  function modify(t: Date, duration: string): Date | undefined {
    const ms = parseGoDuration(duration);
    return ms === undefined ? undefined : new Date(t.getTime() + ms);
  }
}

/** Go's %T of a template value (what reflect reports for the types ESO's data produces). */
export function typeOf(v: TemplateValue | undefined): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (Buffer.isBuffer(v)) return '[]uint8';
  if (v instanceof Date) return 'time.Time';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

function kindOf(v: TemplateValue | undefined): string {
  const t = typeOf(v);
  if (t.startsWith('[]')) return 'slice';
  if (t.startsWith('map')) return 'map';
  if (t === 'time.Time') return 'struct';
  return t === '<nil>' ? 'invalid' : t;
}

function abbrev(width: number, s: string): string {
  if (width < 4 || s.length <= width) return s;
  return `${s.slice(0, width - 3)}...`;
}

function goSplitN(s: string, sep: string, n: number): string[] {
  if (n === 0) return [];
  const parts = s.split(sep);
  if (n < 0 || parts.length <= n) return parts;
  return [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
}

/** goutils.WrapCustom: words kept whole, lines broken at spaces once longer than `width`. */
function wrapWords(s: string, width: number, newline: string): string {
  const w = Math.max(1, width);
  return s
    .split('\n')
    .map((line) => {
      const out: string[] = [];
      let current = '';
      for (const word of line.split(' ')) {
        if (current && current.length + 1 + word.length > w) {
          out.push(current);
          current = word;
        } else current = current ? `${current} ${word}` : word;
      }
      out.push(current);
      return out.join(newline);
    })
    .join('\n');
}

function goClean(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
    } else out.push(part);
  }
  const joined = out.join('/');
  return rooted ? `/${joined}` : joined || '.';
}

function goBase(p: string): string {
  if (p === '') return '.';
  const trimmed = p.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

function goDir(p: string): string {
  return goClean(p.slice(0, p.lastIndexOf('/') + 1));
}

function goExt(p: string): string {
  for (let i = p.length - 1; i >= 0 && p[i] !== '/'; i--) if (p[i] === '.') return p.slice(i);
  return '';
}

function adler32(b: Buffer): number {
  let a = 1;
  let s = 0;
  for (const byte of b) {
    a = (a + byte) % 65521;
    s = (s + a) % 65521;
  }
  return ((s << 16) | a) >>> 0;
}

function randomString(n: number, alphabet: string, max: number): string {
  const count = Math.max(0, Math.min(n, max));
  const bytes = randomBytes(count * 2);
  let out = '';
  for (let i = 0; i < count; i++) out += alphabet[bytes.readUInt16BE(i * 2) % alphabet.length];
  return out;
}
