// Go's net/url Parse and URL.String, as far as sprig's urlParse and urlJoin (url.go) use them: scheme, opaque,
// userinfo, host, path, raw query and fragment, with Go's escaping rules per URL part.

export interface GoUrl {
  scheme: string;
  opaque: string;
  username?: string;
  password?: string;
  host: string;
  path: string;
  rawQuery: string;
  forceQuery: boolean;
  fragment: string;
}

type Mode = 'path' | 'host' | 'userPassword' | 'fragment';

function shouldEscape(c: string, mode: Mode): boolean {
  if (/[A-Za-z0-9]/.test(c)) return false;
  if (mode === 'host' && `!$&'()*+,;=:[]<>"`.includes(c)) return false;
  if ('-_.~'.includes(c)) return false;
  if ('$&+,/:;=?@'.includes(c)) {
    if (mode === 'path') return c === '?';
    if (mode === 'userPassword') return '@/?:'.includes(c);
    return false; // host and fragment keep reserved characters
  }
  if (mode === 'fragment' && '!()*'.includes(c)) return false;
  return true;
}

function escape(s: string, mode: Mode): string {
  let out = '';
  for (const byte of Buffer.from(s)) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && !shouldEscape(c, mode) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function unescape(s: string): string {
  const bytes: number[] = [];
  const src = Buffer.from(s);
  for (let i = 0; i < src.length; i++) {
    if (src[i] === 0x25) {
      const hex = src.subarray(i + 1, i + 3).toString();
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new Error(`invalid URL escape ${JSON.stringify(src.subarray(i, i + 3).toString())}`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(src[i]!);
  }
  return Buffer.from(bytes).toString();
}

/** url.Parse; throws with Go's reasons. */
export function parseUrl(raw: string): GoUrl {
  const hash = raw.indexOf('#');
  const fragment = hash < 0 ? '' : unescape(raw.slice(hash + 1));
  let rest = hash < 0 ? raw : raw.slice(0, hash);
  const url: GoUrl = { scheme: '', opaque: '', host: '', path: '', rawQuery: '', forceQuery: false, fragment };
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(rest)) throw new Error('net/url: invalid control character in URL');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(rest);
  if (rest.startsWith(':')) throw new Error('missing protocol scheme');
  if (scheme) {
    url.scheme = scheme[1]!.toLowerCase();
    rest = rest.slice(scheme[0].length);
  }
  if (rest.endsWith('?') && rest.split('?').length === 2) {
    url.forceQuery = true;
    rest = rest.slice(0, -1);
  } else if (rest.includes('?')) {
    url.rawQuery = rest.slice(rest.indexOf('?') + 1);
    rest = rest.slice(0, rest.indexOf('?'));
  }
  if (!rest.startsWith('/')) {
    if (url.scheme !== '') {
      url.opaque = rest; // mailto:x, urn:...
      return url;
    }
    const colon = rest.indexOf(':');
    if (colon >= 0 && (rest.indexOf('/') < 0 || colon < rest.indexOf('/'))) throw new Error('first path segment in URL cannot contain colon');
  }
  if ((url.scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
    const end = rest.indexOf('/', 2);
    const authority = end < 0 ? rest.slice(2) : rest.slice(2, end);
    rest = end < 0 ? '' : rest.slice(end);
    const at = authority.lastIndexOf('@');
    url.host = unescape(at < 0 ? authority : authority.slice(at + 1));
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      const colon = userinfo.indexOf(':');
      url.username = unescape(colon < 0 ? userinfo : userinfo.slice(0, colon));
      if (colon >= 0) url.password = unescape(userinfo.slice(colon + 1));
    }
  }
  url.path = unescape(rest);
  return url;
}

export function userinfoString(u: GoUrl): string {
  if (u.username === undefined) return '';
  return escape(u.username, 'userPassword') + (u.password === undefined ? '' : `:${escape(u.password, 'userPassword')}`);
}

/** URL.Hostname: the host without its port and IPv6 brackets. */
export function hostname(u: GoUrl): string {
  let host = u.host;
  const colon = host.lastIndexOf(':');
  if (colon >= 0 && /^:[0-9]*$/.test(host.slice(colon))) host = host.slice(0, colon);
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** URL.String. */
export function formatUrl(u: GoUrl): string {
  let out = u.scheme === '' ? '' : `${u.scheme}:`;
  if (u.opaque !== '') out += u.opaque;
  else {
    if (u.scheme !== '' || u.host !== '' || u.username !== undefined) {
      if (u.host !== '' || u.path !== '' || u.username !== undefined) out += '//';
      if (u.username !== undefined) out += `${userinfoString(u)}@`;
      out += escape(u.host, 'host');
    }
    const path = escape(u.path, 'path');
    if (path !== '' && !path.startsWith('/') && u.host !== '') out += '/';
    if (out === '') {
      // A relative path whose first segment has a colon would read as a scheme.
      const segment = path.split('/')[0]!;
      if (segment.includes(':')) out += './';
    }
    out += path;
  }
  if (u.forceQuery || u.rawQuery !== '') out += `?${u.rawQuery}`;
  if (u.fragment !== '') out += `#${escape(u.fragment, 'fragment')}`;
  return out;
}
