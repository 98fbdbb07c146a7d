/** Converting record fields to the values the driver encodes for each CQL type, and refusing what does not fit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import cassandra from 'cassandra-driver';
import type { CqlType } from '../../../sinks/cassandra/config.ts';
import { converterFor } from '../../../sinks/cassandra/values.ts';
import { parseIsoTime } from '../../../topology/time.ts';

const convert = (type: CqlType, value: unknown): unknown => converterFor(type, 'regular')(value);
const refusal = (type: CqlType, value: unknown): string => {
  try {
    convert(type, value);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${type} accepted ${String(value)}`);
};
/** How the sink reads a date-time text: without an offset, as UTC. */
const parseTimestamp = (text: string): number | undefined => parseIsoTime(text, { withoutZone: 'utc' });

test('text, varchar and ascii: strings as they are, scalars as their text', () => {
  assert.equal(convert('text', 'Ава'), 'Ава');
  assert.equal(convert('varchar', 75_001), '75001', 'RandomUser postcodes are sometimes numbers');
  assert.equal(convert('text', false), 'false');
  assert.equal(refusal('text', { a: 1 }), '{"a":1} is not text');
  assert.equal(convert('ascii', 'abc'), 'abc');
  assert.equal(refusal('ascii', 'Zoë'), '"Zoë" is not ASCII text (it has non-ASCII characters)');
});

test('uuid and timeuuid', () => {
  const uuid = convert('uuid', '7AC2B5D8-4f0f-4f55-9a35-5b8a0b1a3e47');
  assert.ok(uuid instanceof cassandra.types.Uuid);
  assert.equal(String(uuid), '7ac2b5d8-4f0f-4f55-9a35-5b8a0b1a3e47');
  assert.equal(refusal('uuid', 'not-a-uuid'), '"not-a-uuid" is not a UUID (32 hex digits as 8-4-4-4-12)');
  assert.equal(refusal('uuid', 12), '12 is not a UUID (32 hex digits as 8-4-4-4-12)');
  assert.ok(convert('timeuuid', '50554d6e-29bb-11e5-b345-feff819cdc9f') instanceof cassandra.types.TimeUuid);
  assert.equal(refusal('timeuuid', '7ac2b5d8-4f0f-4f55-9a35-5b8a0b1a3e47'), '"7ac2b5d8-4f0f-4f55-9a35-5b8a0b1a3e47" is not a time-based (version 1) UUID');
});

test('int, smallint, tinyint: whole numbers in range, from numbers or digit strings', () => {
  assert.equal(convert('int', 2_147_483_647), 2_147_483_647);
  assert.equal(convert('int', ' -12 '), -12);
  assert.equal(refusal('int', 2_147_483_648), '2147483648 is not an int (a whole number from -2147483648 to 2147483647)');
  assert.equal(refusal('int', 1.5), '1.5 is not an int (a whole number from -2147483648 to 2147483647)');
  assert.equal(refusal('int', '12abc'), '"12abc" is not an int (a whole number from -2147483648 to 2147483647)');
  assert.equal(convert('smallint', -32_768), -32_768);
  assert.equal(refusal('smallint', 40_000), '40000 is not a smallint (a whole number from -32768 to 32767)');
  assert.equal(convert('tinyint', '127'), 127);
  assert.equal(refusal('tinyint', 128), '128 is not a tinyint (a whole number from -128 to 127)');
});

test('bigint and varint: beyond 2^53 from strings and bigints, without losing digits', () => {
  assert.equal(String(convert('bigint', '9223372036854775807')), '9223372036854775807');
  assert.equal(String(convert('bigint', -(2n ** 63n))), '-9223372036854775808');
  assert.equal(String(convert('bigint', 42)), '42');
  assert.match(refusal('bigint', '9223372036854775808'), /^"9223372036854775808" is not a bigint/);
  assert.match(refusal('bigint', 2 ** 60), /is not a bigint/, 'an unsafe JS number has already lost its digits');
  assert.equal(String(convert('varint', '-123456789012345678901234567890')), '-123456789012345678901234567890');
  assert.equal(refusal('varint', '1e5'), '"1e5" is not a whole number');
  // The driver's Integer hangs the process at ±2^1024 (fromString) and just below (toString): refused
  // from 2^1023 on; the largest allowed converts and reads back.
  assert.equal(refusal('varint', 2n ** 1024n), `${2n ** 1024n}n is not a whole number`);
  assert.equal(refusal('varint', -(2n ** 1023n)), `${-(2n ** 1023n)}n is not a whole number`);
  assert.equal(String(convert('varint', (2n ** 1023n - 1n).toString())), (2n ** 1023n - 1n).toString());
  assert.equal(String(convert('varint', -(2n ** 1023n) + 1n)), (-(2n ** 1023n) + 1n).toString());
});

test('float, double and decimal', () => {
  assert.equal(convert('double', '0.1'), 0.1);
  assert.equal(convert('float', 2.5), 2.5);
  assert.equal(refusal('double', ''), '"" is not a finite number');
  assert.equal(refusal('float', 1e39), '1e+39 is not a float (its magnitude is above 3.4e38)');
  const decimal = (v: unknown) => String(convert('decimal', v));
  assert.equal(decimal('-1.5e3'), '-1500', 'exponents are expanded (the driver would read 1.5e3 as 0.015)');
  assert.equal(decimal('12.3400'), '12.3400');
  assert.equal(decimal(0.000001), '0.000001');
  assert.equal(decimal('2.5E-3'), '0.0025');
  assert.equal(decimal('.5'), '0.5');
  assert.equal(refusal('decimal', '1,5'), '"1,5" is not a decimal number');
  assert.equal(refusal('decimal', '.'), '"." is not a decimal number');
});

test('boolean', () => {
  assert.equal(convert('boolean', 'false'), false);
  assert.equal(convert('boolean', true), true);
  assert.equal(refusal('boolean', 1), '1 is not true or false');
});

test('timestamp: ISO-8601 (UTC when no offset), milliseconds, Dates; impossible dates refused', () => {
  const ts = (v: unknown) => (convert('timestamp', v) as Date).toISOString();
  assert.equal(ts('1993-07-20T09:44:18.674Z'), '1993-07-20T09:44:18.674Z');
  assert.equal(ts('2024-05-01T12:00:00+02:00'), '2024-05-01T10:00:00.000Z');
  assert.equal(ts('2024-05-01 12:00:00.123456'), '2024-05-01T12:00:00.123Z', 'no offset: UTC, whatever the machine zone; sub-ms digits dropped');
  assert.equal(ts('2024-05-01'), '2024-05-01T00:00:00.000Z');
  assert.equal(ts(0), '1970-01-01T00:00:00.000Z');
  assert.equal(ts('1714557600000'), '2024-05-01T10:00:00.000Z');
  assert.equal(ts(new Date('2000-01-01T00:00:00Z')), '2000-01-01T00:00:00.000Z');
  assert.match(refusal('timestamp', '2024-02-30T00:00:00Z'), /^"2024-02-30T00:00:00Z" is not a timestamp \(an ISO-8601 date-time/);
  assert.match(refusal('timestamp', 'yesterday'), /is not a timestamp/);
  assert.match(refusal('timestamp', 1e20), /is not a timestamp/);
  assert.equal(parseTimestamp('2024-05-01T24:00:00Z'), undefined);
  assert.equal(parseTimestamp('2024-05-01T12:00+0530'), Date.parse('2024-05-01T06:30:00Z'));
});

test('date and time', () => {
  assert.equal(String(convert('date', '2024-02-29')), '2024-02-29');
  assert.equal(String(convert('date', '1993-07-20T23:44:18.674-05:00')), '1993-07-21', 'a date-time counts by its UTC day');
  assert.match(refusal('date', '2023-02-29'), /^"2023-02-29" is not a date \(YYYY-MM-DD, or a date-time\)$/);
  assert.equal(String(convert('time', '23:59:59.123456789')), '23:59:59.123456789');
  assert.equal(String(convert('time', '07:30')), '07:30:00');
  assert.equal(refusal('time', '24:00:00'), '"24:00:00" is not a time of day (HH:MM:SS[.fffffffff])');
});

test('inet and blob', () => {
  assert.equal(String(convert('inet', '192.168.0.1')), '192.168.0.1');
  assert.equal(String(convert('inet', '::1')), '::1');
  assert.equal(refusal('inet', '300.1.1.1'), '"300.1.1.1" is not an IPv4 or IPv6 address');
  assert.deepEqual(convert('blob', Buffer.from('hi')), Buffer.from('hi'));
  assert.deepEqual(convert('blob', 'aGk='), Buffer.from('hi'));
  assert.deepEqual(convert('blob', new Uint8Array([1, 2])), Buffer.from([1, 2]));
  assert.equal(refusal('blob', 'not base64!'), '"not base64!" is not a blob (a Buffer, or base64 text)');
});

test('missing and null fields: unset and null in regular columns, refused in the primary key', () => {
  assert.equal(convert('text', undefined), cassandra.types.unset);
  assert.equal(convert('uuid', null), null);
  const partition = converterFor('text', 'partition');
  const clustering = converterFor('text', 'clustering');
  assert.throws(() => partition(undefined), { message: 'missing, but a primary key column needs a value' });
  assert.throws(() => clustering(null), { message: 'null, but a primary key column needs a value' });
  assert.throws(() => partition(''), { message: '"": a partition key cannot be empty' });
  assert.equal(clustering(''), '', 'an empty clustering value is allowed');
  assert.equal(converterFor('int', 'partition')(0), 0);
});
