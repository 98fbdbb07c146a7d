/**
 * Record fields as the values cassandra-driver encodes for each CQL type: sinks/column-values.ts checks
 * and parses them, this file only wraps them in the driver's types and says what a missing or null
 * field means for a column.
 */
import cassandra from 'cassandra-driver';
import {
  asAsciiText,
  asBoolean,
  asBytes,
  asCalendarDate,
  asDecimalText,
  asFiniteNumber,
  asFloat,
  asInetAddress,
  asInt64,
  asInteger,
  asText,
  asTimeOfDay,
  asTimestamp,
  asTimeUuid,
  asUuid,
  show,
  signedInteger,
} from '../column-values.ts';
import type { CqlType } from './config.ts';

const { Integer, LocalDate, LocalTime, InetAddress, BigDecimal, Long, TimeUuid, Uuid } = cassandra.types;

/** Turns one field of a record into the value the driver encodes for the column's type; throws with why not. */
export type Converter = (value: unknown) => unknown;

const CONVERTERS: Record<CqlType, Converter> = {
  text: asText,
  varchar: asText,
  ascii: asAsciiText,
  uuid: (v) => Uuid.fromString(asUuid(v)),
  timeuuid: (v) => TimeUuid.fromString(asTimeUuid(v)),
  int: signedInteger(32, 'an int'),
  smallint: signedInteger(16, 'a smallint'),
  tinyint: signedInteger(8, 'a tinyint'),
  bigint: (v) => Long.fromString(asInt64(v).toString()),
  varint: (v) => Integer.fromString(asInteger(v).toString()),
  double: asFiniteNumber,
  float: asFloat,
  // Exponents are expanded first: BigDecimal.fromString misreads them (1.5e3 becomes 0.015).
  decimal: (v) => BigDecimal.fromString(asDecimalText(v)),
  boolean: asBoolean,
  timestamp: asTimestamp,
  // By the UTC calendar day (LocalDate.fromDate would use this machine's zone).
  date: (v) => {
    const { year, month, day } = asCalendarDate(v);
    return new LocalDate(year, month, day);
  },
  time: (v) => LocalTime.fromString(asTimeOfDay(v)),
  inet: (v) => InetAddress.fromString(asInetAddress(v)),
  blob: asBytes,
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
