/**
 * ISO-8601 dates and date-times as milliseconds since the epoch, parsed strictly: an impossible date
 * (February 30) or time (24:00, an offset of +25:00) is refused rather than rolled over as Date.parse
 * does. A date alone is UTC midnight. What a date-time without a zone means is the caller's choice:
 * JavaScript would read it in the host's zone, which no pipeline should depend on.
 */

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

export interface IsoTimeOptions {
  /** A date-time without a zone: `refuse` it (event times), or read it as `utc` (as Cassandra does). */
  withoutZone: 'refuse' | 'utc';
}

/** Milliseconds since the epoch of an ISO-8601 date or date-time; undefined when it is not one. */
export function parseIsoTime(text: string, options: IsoTimeOptions): number | undefined {
  const m = ISO_DATE_TIME.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi = '00', s = '00', fraction = '', zone] = m;
  if (h !== undefined && zone === undefined && options.withoutZone === 'refuse') return undefined;
  const month = Number(mo);
  if (month < 1 || month > 12 || Number(d) < 1 || Number(d) > daysInMonth(Number(y), month)) return undefined;
  if (Number(h ?? 0) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  const offset = zone === undefined || zone.length === 1 ? 'Z' : zone.length === 3 ? `${zone}:00` : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  if (offset !== 'Z' && (Number(offset.slice(1, 3)) > 23 || Number(offset.slice(4)) > 59)) return undefined;
  const ms = Date.parse(`${y}-${mo}-${d}T${h ?? '00'}:${mi}:${s}${fraction.slice(0, 4)}${offset}`);
  return Number.isNaN(ms) ? undefined : ms;
}
