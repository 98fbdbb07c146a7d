/**
 * A record's field checked and parsed into the plain JS value a database column of a type holds —
 * checked UUID text, a bigint, a Date, a finite number, canonical decimal text, a calendar date, a
 * Buffer — or refused with an Error that says why: `"12abc" is not an int (a whole number from …)`.
 * No driver here: a sink wraps these values into its driver's types (sinks/cassandra/values.ts).
 * Each parser is one call that allocates nothing but its result, as sinks run them for every column
 * of every row.
 */
import { isIP } from 'node:net';
import { parseIsoTime } from '../topology/time.ts';

/** A value as it appears in an error message: JSON, cut short. */
export function show(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Refuses `value`: `<value> is not <what>`. */
export function refuse(value: unknown, what: string): never {
  throw new Error(`${show(value)} is not ${what}`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TIMEUUID = /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INTEGER = /^[-+]?\d+$/;
const DECIMAL = /^([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const TIME = /^\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?$/;

function scalarText(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return refuse(value, what);
}

/** Text: a string as it is; a number, boolean or bigint as its text. */
export function asText(value: unknown): string {
  return scalarText(value, 'text');
}

/** Text of ASCII characters only. */
export function asAsciiText(value: unknown): string {
  const text = scalarText(value, 'ASCII text');
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text : refuse(value, 'ASCII text (it has non-ASCII characters)');
}

/** A UUID's text, checked (any version, either case). */
export function asUuid(value: unknown): string {
  return typeof value === 'string' && UUID.test(value) ? value : refuse(value, 'a UUID (32 hex digits as 8-4-4-4-12)');
}

/** A time-based (version 1) UUID's text, checked. */
export function asTimeUuid(value: unknown): string {
  return typeof value === 'string' && TIMEUUID.test(value) ? value : refuse(value, 'a time-based (version 1) UUID');
}

/** A whole number in [min, max] from a number, a bigint or a string of digits, as a bigint. */
export function asWholeNumber(value: unknown, min: bigint, max: bigint, what: string): bigint {
  let n: bigint | undefined;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && INTEGER.test(value.trim())) n = BigInt(value.trim());
  if (n === undefined || n < min || n > max) refuse(value, what);
  return n;
}

/**
 * The parser of a signed integer of `bits` (32 at most, so that it fits a JS number), named `name`
 * in its errors: `an int` → `… is not an int (a whole number from -2147483648 to 2147483647)`.
 */
export function signedInteger(bits: number, name: string): (value: unknown) => number {
  const max = 2 ** (bits - 1) - 1;
  const min = -(2 ** (bits - 1));
  const what = `${name} (a whole number from ${min} to ${max})`;
  return (value) => (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : Number(asWholeNumber(value, BigInt(min), BigInt(max), what)));
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INT64 = `a bigint (a whole number from ${INT64_MIN} to ${INT64_MAX})`;

/** A signed 64-bit whole number, as a bigint (a JS number past 2^53 has already lost digits, so it is refused). */
export function asInt64(value: unknown): bigint {
  return asWholeNumber(value, INT64_MIN, INT64_MAX, INT64);
}

// cassandra-driver's Integer computes with doubles: at ±2^1024 fromString never returns, and just
// below it toString does not either. Below 2^1023 both work.
const HUGE = 2n ** 1023n - 1n;

/** A whole number of any practical size (below 2^1023 either side), as a bigint. */
export function asInteger(value: unknown): bigint {
  return asWholeNumber(value, -HUGE, HUGE, 'a whole number');
}

/** A finite number, from a number or its text. */
export function asFiniteNumber(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n)) refuse(value, 'a finite number');
  return n;
}

const FLOAT_MAX = 3.4028234663852886e38;

/** A finite number within a 32-bit float's range. */
export function asFloat(value: unknown): number {
  const n = asFiniteNumber(value);
  return Math.abs(n) <= FLOAT_MAX ? n : refuse(value, 'a float (its magnitude is above 3.4e38)');
}

/**
 * A decimal number as canonical text without an exponent — `-1.5e3` → `-1500`, `2.5E-3` → `0.0025`,
 * `.5` → `0.5` — keeping the digits written (`12.3400` stays), so that no float rounding creeps in.
 */
export function asDecimalText(value: unknown): string {
  const m = typeof value === 'string' || typeof value === 'number' ? DECIMAL.exec(String(value).trim()) : null;
  if (!m || (m[2] === '' && (m[3] ?? '') === '') || (typeof value === 'number' && !Number.isFinite(value))) return refuse(value, 'a decimal number');
  const [, sign, whole, fraction = '', exponent = '0'] = m;
  let scale = fraction.length - Number(exponent);
  let digits = `${whole}${fraction}` || '0';
  if (scale < 0) {
    digits += '0'.repeat(-scale);
    scale = 0;
  }
  const padded = digits.padStart(scale + 1, '0');
  return `${sign === '-' ? '-' : ''}${scale === 0 ? padded : `${padded.slice(0, -scale)}.${padded.slice(-scale)}`}`;
}

/** true or false, from a boolean or its text. */
export function asBoolean(value: unknown): boolean {
  return typeof value === 'boolean' ? value : value === 'true' ? true : value === 'false' ? false : refuse(value, 'true or false');
}

/**
 * Milliseconds since the epoch from a Date, a number of milliseconds (or its digits), or an ISO-8601
 * date or date-time; a date-time without an offset is UTC (as Cassandra reads one), not this machine's
 * zone, and impossible dates (Feb 30) are refused.
 */
function epochMs(value: unknown, what: string): number {
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'number'
        ? value
        : typeof value === 'string'
          ? INTEGER.test(value.trim())
            ? Number(value)
            : parseIsoTime(value, { withoutZone: 'utc' })
          : undefined;
  // new Date() holds at most 8.64e15 ms either side of the epoch.
  if (ms === undefined || !(Math.abs(ms) <= 8.64e15)) return refuse(value, what);
  return Math.trunc(ms);
}

/** A point in time (see epochMs for what is read how), to the millisecond. */
export function asTimestamp(value: unknown): Date {
  return new Date(epochMs(value, 'a timestamp (an ISO-8601 date-time such as 2024-05-01T12:00:00Z, or milliseconds since the epoch)'));
}

/** A day of the calendar; `month` and `day` count from 1. */
export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

/** A calendar date from YYYY-MM-DD, or the UTC day of a date-time (or of anything asTimestamp reads). */
export function asCalendarDate(value: unknown): CalendarDate {
  const day = new Date(epochMs(value, 'a date (YYYY-MM-DD, or a date-time)'));
  return { year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate() };
}

/** A time of day, HH:MM[:SS[.fffffffff]] from 00:00 to 23:59:59.999999999, as its trimmed text. */
export function asTimeOfDay(value: unknown): string {
  if (typeof value === 'string') {
    const text = value.trim();
    if (TIME.test(text)) {
      const [h, m, s = '0'] = text.split(':');
      if (Number(h) <= 23 && Number(m) <= 59 && Number(s) < 60) return text;
    }
  }
  return refuse(value, 'a time of day (HH:MM:SS[.fffffffff])');
}

/** An IPv4 or IPv6 address's text, checked. */
export function asInetAddress(value: unknown): string {
  return typeof value === 'string' && isIP(value) !== 0 ? value : refuse(value, 'an IPv4 or IPv6 address');
}

/** Bytes: a Buffer as it is, a Uint8Array's bytes (not copied), or base64 text decoded. */
export function asBytes(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return typeof value === 'string' && BASE64.test(value) ? Buffer.from(value, 'base64') : refuse(value, 'a blob (a Buffer, or base64 text)');
}
