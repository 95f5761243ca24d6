// Masterminds/semver v3 as sprig's semver and semverCompare use it (version.go, constraints.go): loose versions
// ("v1.2" is 1.2.0), and constraints with ||, AND by comma or space, hyphen ranges, x/*/missing parts as wildcards,
// =, !=, >, <, >=, <=, ~, ~>, ^, where a prerelease version only matches a constraint that names a prerelease.
// Parsing uses RE2 (linear time) because the patterns nest quantifiers.
import { GoRegexp } from '../../lib/go/regexp.js';

export interface Version {
  major: number;
  minor: number;
  patch: number;
  pre: string;
  metadata: string;
  original: string;
}

const VERSION = GoRegexp.compile('^v?([0-9]+)(\\.[0-9]+)?(\\.[0-9]+)?(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?$');
const CV = 'v?([0-9|x|X|\\*]+)(\\.[0-9|x|X|\\*]+)?(\\.[0-9|x|X|\\*]+)?(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?';
const OPS = '=||!=|>|<|>=|=>|<=|=<|~|~>|\\^';
const CONSTRAINT = GoRegexp.compile(`^\\s*(${OPS})\\s*(${CV})\\s*$`);
const RANGE = GoRegexp.compile(`\\s*(${CV})\\s+-\\s+(${CV})\\s*`);
const FIND = GoRegexp.compile(`(${OPS})\\s*(${CV})`);
const VALID = GoRegexp.compile(`^(\\s*(${OPS})\\s*(${CV})\\s*\\,?)+$`);
/** Longer texts are refused before matching: no real version or constraint comes near. */
const MAX_TEXT = 1024;

export function parseVersion(text: string): Version | undefined {
  if (text.length > MAX_TEXT) return undefined;
  const m = VERSION.findStringSubmatch(text);
  if (!m) return undefined;
  const pre = m[5] ?? '';
  // SemVer: numeric prerelease identifiers have no leading zeros.
  if (pre.split('.').some((p) => /^0[0-9]+$/.test(p))) return undefined;
  const part = (s: string | undefined) => (s ? Number(s.replace(/^\./, '')) : 0);
  const [major, minor, patch] = [part(m[1]), part(m[2]), part(m[3])];
  if (![major, minor, patch].every(Number.isSafeInteger)) return undefined;
  return { major, minor, patch, pre, metadata: m[8] ?? '', original: text };
}

function comparePre(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return 1; // a release sorts after its prereleases
  if (b === '') return -1;
  const as = a.split('.');
  const bs = b.split('.');
  for (let i = 0; i < Math.max(as.length, bs.length); i++) {
    const x = as[i];
    const y = bs[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const xn = /^[0-9]+$/.test(x);
    const yn = /^[0-9]+$/.test(y);
    if (xn && yn) return Number(x) < Number(y) ? -1 : 1;
    if (xn !== yn) return xn ? -1 : 1; // numeric identifiers sort before alphanumeric ones
    return x < y ? -1 : 1;
  }
  return 0;
}

/** Version.Compare: -1, 0 or 1; build metadata is ignored. */
export function compareVersions(a: Version, b: Version): number {
  for (const k of ['major', 'minor', 'patch'] as const) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  return comparePre(a.pre, b.pre);
}

interface Constraint {
  op: string;
  con: Version;
  dirty: boolean;
  minorDirty: boolean;
  patchDirty: boolean;
}

const isX = (s: string | undefined) => s === 'x' || s === 'X' || s === '*';

function parseConstraint(text: string): Constraint {
  const m = CONSTRAINT.findStringSubmatch(text);
  if (!m) throw new Error(`improper constraint: ${text}`);
  const [op, orig, major, minorPart, patchPart] = [m[1]!, m[2]!, m[3], m[4] ?? '', m[5] ?? ''];
  const preAndMeta = m[6] ?? '';
  let ver = orig;
  let dirty = false;
  let minorDirty = false;
  let patchDirty = false;
  if (isX(major) || !major) [ver, dirty] = ['0.0.0', true];
  else if (isX(minorPart.slice(1)) || minorPart === '') [ver, dirty, minorDirty] = [`${major}.0.0${preAndMeta}`, true, true];
  else if (isX(patchPart.slice(1)) || patchPart === '') [ver, dirty, patchDirty] = [`${major}${minorPart}.0${preAndMeta}`, true, true];
  const con = parseVersion(ver);
  if (!con) throw new Error('constraint Parser Error');
  return { op, con, dirty, minorDirty, patchDirty };
}

/** NewConstraint: a list of OR groups, each a list of constraints that must all hold. */
export function parseConstraints(text: string): Constraint[][] {
  if (text.length > MAX_TEXT) throw new Error('improper constraint: too long');
  // rewriteRange: each "a - b" becomes ">= a, <= b", replacing the first occurrence of each match once.
  let rewritten = text;
  for (const whole of RANGE.findAllString(text, -1)) {
    const m = RANGE.findStringSubmatch(whole)!;
    rewritten = rewritten.replace(whole, () => `>= ${m[1]}, <= ${m[11]}`);
  }
  return rewritten.split('||').map((group) => {
    if (!VALID.test(group)) throw new Error(`improper constraint: ${group}`);
    const found = FIND.findAllString(group, -1);
    return (found.length > 0 ? found : [group]).map(parseConstraint);
  });
}

function check(v: Version, c: Constraint): boolean {
  const cmp = compareVersions(v, c.con);
  const releaseOnly = v.pre !== '' && c.con.pre === '';
  switch (c.op) {
    case '!=':
      if (c.dirty) {
        if (releaseOnly) return false;
        if (c.con.major !== v.major) return true;
        if (c.con.minor !== v.minor && !c.minorDirty) return true;
        if (c.minorDirty) return false;
        if (c.con.patch !== v.patch && !c.patchDirty) return true;
        if (c.patchDirty) return (v.pre !== '' || c.con.pre !== '') && comparePre(v.pre, c.con.pre) !== 0;
      }
      return cmp !== 0;
    case '>':
      if (releaseOnly) return false;
      if (!c.dirty) return cmp === 1;
      if (v.major !== c.con.major) return v.major > c.con.major;
      if (c.minorDirty) return false;
      if (c.patchDirty) return v.minor > c.con.minor;
      return cmp === 1;
    case '<':
      return !releaseOnly && cmp < 0;
    case '>=':
    case '=>':
      return !releaseOnly && cmp >= 0;
    case '<=':
    case '=<':
      if (releaseOnly) return false;
      if (!c.dirty) return cmp <= 0;
      return !(v.major > c.con.major || (v.major === c.con.major && v.minor > c.con.minor && !c.minorDirty));
    case '~':
    case '~>':
      return tilde(v, c, cmp);
    case '^':
      if (releaseOnly || cmp < 0) return false;
      if (c.con.major > 0 || c.minorDirty) return v.major === c.con.major;
      if (v.major > 0) return false;
      if (c.con.minor > 0 || c.patchDirty) return v.minor === c.con.minor;
      return v.patch === c.con.patch;
    default: // "" and "=": a wildcard opts in to ~, otherwise equality
      if (releaseOnly) return false;
      return c.dirty ? tilde(v, c, cmp) : cmp === 0;
  }
}

function tilde(v: Version, c: Constraint, cmp: number): boolean {
  if ((v.pre !== '' && c.con.pre === '') || cmp < 0) return false;
  if (c.con.major === 0 && c.con.minor === 0 && c.con.patch === 0 && !c.minorDirty && !c.patchDirty) return true;
  if (v.major !== c.con.major) return false;
  return v.minor === c.con.minor || c.minorDirty;
}

export function satisfies(v: Version, constraints: Constraint[][]): boolean {
  return constraints.some((group) => group.every((c) => check(v, c)));
}
