/** Record fields converted to the values cassandra-driver encodes for each CQL type. */
import { isIP } from 'node:net';
import cassandra from 'cassandra-driver';
import type { CqlType } from './config.ts';

const { Integer, LocalDate, LocalTime, InetAddress, BigDecimal, Long, TimeUuid, Uuid } = cassandra.types;

/** Turns one field of a record into the value the driver encodes for the column's type; throws with why not. */
export type Converter = (value: unknown) => unknown;

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

function not(value: unknown, what: string): never {
  throw new Error(`${show(value)} is not ${what}`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TIMEUUID = /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INTEGER = /^[-+]?\d+$/;
const DECIMAL = /^([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
const TIME = /^\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?$/;

function isValidDate(year: number, month: number, day: number): boolean {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/**
 * Milliseconds since the epoch from an ISO-8601 date or date-time. A date-time without an offset is
 * UTC (as Cassandra reads one), not this machine's zone; impossible dates (Feb 30) are refused
 * rather than rolled over as Date.parse does.
 */
export function parseTimestamp(text: string): number | undefined {
  const m = DATE_TIME.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', fraction = '', zone = 'Z'] = m;
  if (!isValidDate(Number(y), Number(mo), Number(d)) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  const offset = /^[+-]\d{2}$/.test(zone) ? `${zone}:00` : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone.toUpperCase();
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${fraction.slice(0, 4)}${offset}`);
  return Number.isNaN(ms) ? undefined : ms;
}

/** A whole number in [min, max] from a number, a bigint or a string of digits, as a bigint. */
function wholeNumber(value: unknown, min: bigint, max: bigint, what: string): bigint {
  let n: bigint | undefined;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && INTEGER.test(value.trim())) n = BigInt(value.trim());
  if (n === undefined || n < min || n > max) not(value, what);
  return n;
}

/** A number that fits the JS number range of a 32-bit int or smaller (the driver encodes those from numbers). */
function smallInteger(bits: number, name: string): Converter {
  const max = 2 ** (bits - 1) - 1;
  const min = -(2 ** (bits - 1));
  const what = `${name} (a whole number from ${min} to ${max})`;
  return (value) => (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : Number(wholeNumber(value, BigInt(min), BigInt(max), what)));
}

function finiteNumber(value: unknown, what: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n)) not(value, what);
  return n;
}

function text(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return not(value, what);
}

function timestampMs(value: unknown, what: string): number {
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'number'
        ? value
        : typeof value === 'string'
          ? INTEGER.test(value.trim())
            ? Number(value)
            : parseTimestamp(value)
          : undefined;
  // new Date() holds at most 8.64e15 ms either side of the epoch.
  if (ms === undefined || !(Math.abs(ms) <= 8.64e15)) return not(value, what);
  return Math.trunc(ms);
}

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
const FLOAT_MAX = 3.4028234663852886e38;

const CONVERTERS: Record<CqlType, Converter> = {
  text: (v) => text(v, 'text'),
  varchar: (v) => text(v, 'text'),
  ascii: (v) => {
    const s = text(v, 'ASCII text');
    // eslint-disable-next-line no-control-regex
    return /^[\x00-\x7f]*$/.test(s) ? s : not(v, 'ASCII text (it has non-ASCII characters)');
  },
  uuid: (v) => (typeof v === 'string' && UUID.test(v) ? Uuid.fromString(v) : not(v, 'a UUID (32 hex digits as 8-4-4-4-12)')),
  timeuuid: (v) => (typeof v === 'string' && TIMEUUID.test(v) ? TimeUuid.fromString(v) : not(v, 'a time-based (version 1) UUID')),
  int: smallInteger(32, 'an int'),
  smallint: smallInteger(16, 'a smallint'),
  tinyint: smallInteger(8, 'a tinyint'),
  bigint: (v) => Long.fromString(wholeNumber(v, LONG_MIN, LONG_MAX, `a bigint (a whole number from ${LONG_MIN} to ${LONG_MAX})`).toString()),
  varint: (v) => Integer.fromString(wholeNumber(v, -(2n ** 1024n), 2n ** 1024n, 'a whole number').toString()),
  double: (v) => finiteNumber(v, 'a finite number'),
  float: (v) => {
    const n = finiteNumber(v, 'a finite number');
    return Math.abs(n) <= FLOAT_MAX ? n : not(v, 'a float (its magnitude is above 3.4e38)');
  },
  decimal: (v) => {
    // BigDecimal.fromString misreads exponents (1.5e3 becomes 0.015), so they are expanded here first.
    const m = typeof v === 'string' || typeof v === 'number' ? DECIMAL.exec(String(v).trim()) : null;
    if (!m || (m[2] === '' && (m[3] ?? '') === '') || (typeof v === 'number' && !Number.isFinite(v))) return not(v, 'a decimal number');
    const [, sign, whole, fraction = '', exponent = '0'] = m;
    let scale = fraction.length - Number(exponent);
    let digits = `${whole}${fraction}` || '0';
    if (scale < 0) {
      digits += '0'.repeat(-scale);
      scale = 0;
    }
    const padded = digits.padStart(scale + 1, '0');
    return BigDecimal.fromString(`${sign === '-' ? '-' : ''}${scale === 0 ? padded : `${padded.slice(0, -scale)}.${padded.slice(-scale)}`}`);
  },
  boolean: (v) => (typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : not(v, 'true or false')),
  timestamp: (v) => new Date(timestampMs(v, 'a timestamp (an ISO-8601 date-time such as 2024-05-01T12:00:00Z, or milliseconds since the epoch)')),
  date: (v) => {
    const m = typeof v === 'string' ? DATE.exec(v.trim()) : null;
    if (m && isValidDate(Number(m[1]), Number(m[2]), Number(m[3]))) return new LocalDate(Number(m[1]), Number(m[2]), Number(m[3]));
    // A date-time counts by its UTC calendar day (LocalDate.fromDate would use this machine's zone).
    const day = new Date(timestampMs(v, 'a date (YYYY-MM-DD, or a date-time)'));
    return new LocalDate(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate());
  },
  time: (v) => {
    if (typeof v === 'string' && TIME.test(v.trim())) {
      const [h, m, s = '0'] = v.trim().split(':');
      if (Number(h) <= 23 && Number(m) <= 59 && Number(s) < 60) return LocalTime.fromString(v.trim());
    }
    return not(v, 'a time of day (HH:MM:SS[.fffffffff])');
  },
  inet: (v) => (typeof v === 'string' && isIP(v) !== 0 ? InetAddress.fromString(v) : not(v, 'an IPv4 or IPv6 address')),
  blob: (v) => {
    if (Buffer.isBuffer(v)) return v;
    if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    return typeof v === 'string' && BASE64.test(v) ? Buffer.from(v, 'base64') : not(v, 'a blob (a Buffer, or base64 text)');
  },
};

/**
 * The converter of one column. A missing field is left unset and `null` clears the column, except
 * in the primary key, which every row needs; a partition key of text or bytes cannot be empty either.
 */
export function converterFor(type: CqlType, role: 'partition' | 'clustering' | 'regular'): Converter {
  const convert = CONVERTERS[type];
  if (role === 'regular') return (value) => (value === undefined ? cassandra.types.unset : value === null ? null : convert(value));
  const canBeEmpty = role === 'clustering' || !['text', 'varchar', 'ascii', 'blob'].includes(type);
  return (value) => {
    if (value === undefined || value === null) throw new Error(`${value === undefined ? 'missing' : 'null'}, but a primary key column needs a value`);
    const converted = convert(value);
    if (!canBeEmpty && (converted as string | Buffer).length === 0) throw new Error(`${show(value)}: a partition key cannot be empty`);
    return converted;
  };
}

/** A record whose value cannot become a row. Retrying cannot help. */
export class CassandraValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CassandraValueError';
  }
}
