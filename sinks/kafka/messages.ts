/**
 * What a record becomes on the wire: key, value (Buffers and strings as they are, anything else as
 * JSON, null as a tombstone, or the bytes the source read with `payload: raw`), timestamp and headers.
 *
 * See also: ./producer.ts, which produces them; sources/kafka/records.ts for the way in.
 */
import type { MessageHeader } from 'node-rdkafka';
import type { StreamRecord } from '../../topology/types.ts';

/** What one record becomes on the wire. */
export interface OutgoingMessage {
  /** The topic, when not the producer's own (a state backend writes to a changelog per store). */
  topic?: string;
  /** The partition; librdkafka's partitioner (a hash of the key) when absent. */
  partition?: number;
  key: string | null;
  value: Buffer | null;
  /** ms since epoch; null lets the producer stamp it. */
  timestamp: number | null;
  headers?: MessageHeader[];
}

/** A value as message bytes: Buffers and strings as they are, null/undefined as a tombstone, anything else as JSON. */
export function encodeValue(value: unknown): Buffer | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return Buffer.from(JSON.stringify(value), 'utf8');
}

export function recordToMessage(record: StreamRecord): OutgoingMessage {
  return messageOf(record, encodeValue(record.value));
}

/**
 * The message of `payload: raw`: the record's `raw` bytes as its source read them (its value encoded
 * when it has none), so a pipeline that forwards what it read unchanged does not encode it again.
 */
export function rawRecordToMessage(record: StreamRecord): OutgoingMessage {
  const raw = record.raw;
  return messageOf(record, raw === undefined ? encodeValue(record.value) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8'));
}

/**
 * The message of `payload: unchanged-raw`: the bytes the source read while the record's value is still
 * the object or array the source parsed from them (`StreamRecord.decoded`), so a value no operator
 * replaced is not encoded again — a reader parses the same value from either; the value encoded
 * otherwise (as `payload: value`: also a null, a tombstone, and a string, sent as its text, not as JSON).
 */
export function unchangedRawRecordToMessage(record: StreamRecord): OutgoingMessage {
  const { raw, value } = record;
  const unchanged = raw !== undefined && typeof value === 'object' && value !== null && value === record.decoded;
  return messageOf(record, unchanged ? (Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8')) : encodeValue(value));
}

/** The message of `format: avro`: the value in the Confluent wire format (`encode`), null still a tombstone. */
export function avroRecordToMessage(encode: (value: unknown) => Buffer): (record: StreamRecord) => OutgoingMessage {
  return (record) => messageOf(record, record.value === null || record.value === undefined ? null : encode(record.value));
}

function messageOf(record: StreamRecord, value: Buffer | null): OutgoingMessage {
  return {
    key: record.key,
    value,
    timestamp: Number.isFinite(record.timestamp) ? Math.trunc(record.timestamp) : null,
    ...(record.headers ? { headers: Object.entries(record.headers).map(([name, value]) => ({ [name]: value })) } : {}),
  };
}
