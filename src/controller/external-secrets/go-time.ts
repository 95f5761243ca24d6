// Go's time formatting as sprig's date functions use it: layouts written with the reference time
// "Mon Jan 2 15:04:05 MST 2006", time.Time's String form, and time.ParseDuration. JavaScript dates carry
// milliseconds, so fractional seconds beyond them print as zeros; "Local" is UTC, as in a container.

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

interface Zoned {
  year: number;
  month: number; // 0-11
  day: number;
  weekday: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
  yday: number;
  offsetMinutes: number;
  abbreviation: string;
}

function inZone(t: Date, zone: string): Zoned {
  let offsetMinutes = 0;
  let abbreviation = 'UTC';
  if (zone !== 'UTC' && zone !== 'Local' && zone !== '') {
    try {
      const name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(t).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
      const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
      offsetMinutes = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
      abbreviation = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'short' }).formatToParts(t).find((p) => p.type === 'timeZoneName')?.value ?? 'UTC';
    } catch {
      // sprig's dateInZone falls back to UTC for a zone it cannot load
    }
  }
  const local = new Date(t.getTime() + offsetMinutes * 60_000);
  const yday = Math.floor((Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate()) - Date.UTC(local.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
  return {
    year: local.getUTCFullYear(),
    month: local.getUTCMonth(),
    day: local.getUTCDate(),
    weekday: local.getUTCDay(),
    hour: local.getUTCHours(),
    minute: local.getUTCMinutes(),
    second: local.getUTCSeconds(),
    ms: local.getUTCMilliseconds(),
    yday,
    offsetMinutes,
    abbreviation,
  };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function offset(z: Zoned, token: string): string {
  if (token.startsWith('Z') && z.offsetMinutes === 0) return 'Z';
  const sign = z.offsetMinutes < 0 ? '-' : '+';
  const hh = pad(Math.floor(Math.abs(z.offsetMinutes) / 60));
  const mm = pad(Math.abs(z.offsetMinutes) % 60);
  const body = token.replace(/^[-Z]/, '');
  switch (body) {
    case '07': return sign + hh;
    case '0700': return sign + hh + mm;
    case '07:00': return `${sign}${hh}:${mm}`;
    case '070000': return `${sign}${hh}${mm}00`;
    default: return `${sign}${hh}:${mm}:00`;
  }
}

// Tried longest first at each position, as Go's nextStdChunk does.
const TOKENS = ['January', 'Jan', 'Monday', 'Mon', 'MST', '2006', '002', '01', '02', '03', '04', '05', '06', '15', '__2', '_2', '1', '2', '3', '4', '5', 'PM', 'pm',
  '-07:00:00', '-070000', '-07:00', '-0700', '-07', 'Z07:00:00', 'Z070000', 'Z07:00', 'Z0700', 'Z07'];

/** time.Time.Format(layout) in `zone`. */
export function formatGoTime(t: Date, layout: string, zone: string): string {
  const z = inZone(t, zone);
  let out = '';
  let i = 0;
  while (i < layout.length) {
    const frac = /^[.,](0+|9+)(?![0-9])/.exec(layout.slice(i, i + 12));
    if (frac && /05$/.test(layout.slice(0, i))) {
      const digits = (pad(z.ms, 3) + '000000').slice(0, frac[1]!.length);
      out += frac[1]![0] === '9' ? (digits.replace(/0+$/, '') ? layout[i] + digits.replace(/0+$/, '') : '') : layout[i] + digits;
      i += frac[0].length;
      continue;
    }
    const token = TOKENS.find((tk) => layout.startsWith(tk, i) && !(tk === 'Mon' && layout.startsWith('Month', i)));
    if (!token) {
      out += layout[i];
      i++;
      continue;
    }
    i += token.length;
    switch (token) {
      case 'January': out += MONTHS[z.month]; break;
      case 'Jan': out += MONTHS[z.month]!.slice(0, 3); break;
      case 'Monday': out += DAYS[z.weekday]; break;
      case 'Mon': out += DAYS[z.weekday]!.slice(0, 3); break;
      case 'MST': out += z.abbreviation; break;
      case '2006': out += pad(z.year, 4); break;
      case '06': out += pad(z.year % 100); break;
      case '002': out += pad(z.yday, 3); break;
      case '01': out += pad(z.month + 1); break;
      case '1': out += String(z.month + 1); break;
      case '02': out += pad(z.day); break;
      case '2': out += String(z.day); break;
      case '_2': out += String(z.day).padStart(2, ' '); break;
      case '__2': out += String(z.yday).padStart(3, ' '); break;
      case '15': out += pad(z.hour); break;
      case '03': out += pad(z.hour % 12 || 12); break;
      case '3': out += String(z.hour % 12 || 12); break;
      case '04': out += pad(z.minute); break;
      case '4': out += String(z.minute); break;
      case '05': out += pad(z.second); break;
      case '5': out += String(z.second); break;
      case 'PM': out += z.hour >= 12 ? 'PM' : 'AM'; break;
      case 'pm': out += z.hour >= 12 ? 'pm' : 'am'; break;
      default: out += offset(z, token);
    }
  }
  return out;
}

/** time.Time.String() (without the monotonic clock reading Go appends to time.Now()). */
export function goTimeString(t: Date): string {
  return formatGoTime(t, '2006-01-02 15:04:05.999999999 -0700 MST', 'UTC');
}

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** time.ParseDuration in milliseconds, or undefined where Go refuses the text. */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0' || s === '+0' || s === '-0') return 0;
  const m = /^([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(s);
  if (!m) return undefined;
  let total = 0;
  for (const part of m[2]!.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(part[1]) * UNIT_MS[part[2]!]!;
  return m[1] === '-' ? -total : total;
}
