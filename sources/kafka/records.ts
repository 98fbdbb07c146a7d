/**
 * Kafka messages as records (key, value by `format`, timestamp, origin, raw bytes, headers), and a
 * batch's start and end offsets.
 *
 * See also: ./source.ts, which reads the messages; sinks/kafka/messages.ts for the way back (record → message).
 */
import type { Message } from 'node-rdkafka';
import type { Offsets, StreamRecord } from '../../topology/types.ts';
import { partitionKey } from './positions.ts';
import type { AvroReader } from '../../clients/avro.ts';
import { textHeaders } from '../../clients/kafka.ts';

/** A batch's start offsets (first offset per partition) and end offsets (last offset + 1 per partition). */
export function batchOffsets(messages: ReadonlyArray<{ topic: string; partition: number; offset: number }>): { startOffsets: Offsets; endOffsets: Offsets } {
  const startOffsets: Record<string, number> = {};
  const endOffsets: Record<string, number> = {};
  for (const m of messages) {
    const key = partitionKey(m.topic, m.partition);
    if (!(key in startOffsets) || m.offset < startOffsets[key]) startOffsets[key] = m.offset;
    if (!(key in endOffsets) || m.offset + 1 > endOffsets[key]) endOffsets[key] = m.offset + 1;
  }
  return { startOffsets, endOffsets };
}

export type KafkaValueFormat = 'json' | 'string' | 'bytes' | 'avro';

/**
 * A Kafka message as a record; `invalid` says why a `json` or `avro` message must be dead-lettered
 * instead. `avro` decodes with `avroReader`, which must have been prepared with the messages' schema ids.
 */
export function messageToRecord(message: Message, format: KafkaValueFormat, now: number, avroReader?: AvroReader): { record: StreamRecord; invalid?: string } {
  const raw = message.value ?? undefined;
  const key = message.key === null || message.key === undefined ? null : Buffer.isBuffer(message.key) ? message.key.toString('utf8') : String(message.key);
  const timestamp = message.timestamp !== undefined && message.timestamp >= 0 ? message.timestamp : now;
  const origin = { topic: message.topic, partition: message.partition, offset: message.offset };
  const headers = message.headers && message.headers.length > 0 ? textHeaders(message.headers) : undefined;
  if (format === 'json' && raw !== undefined) {
    const text = raw.toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      // Only a message that does not parse is looked at again (the common one is not copied or scanned twice).
      const invalid = text.trim() === '' ? 'invalid JSON: empty message' : `invalid JSON: ${(error as Error).message}`;
      return { record: recordOf(key, text, timestamp, origin, raw, headers), invalid };
    }
    // One object literal, always in this shape, for the records of the hot path: no intermediate copies.
    const record: StreamRecord = { key, value, timestamp, origin, raw, decoded: value };
    if (headers) record.headers = headers;
    return { record };
  }
  if (format === 'json') return { record: recordOf(key, '', timestamp, origin, raw, headers), invalid: 'invalid JSON: empty message' };
  if (format === 'avro') {
    if (!avroReader) throw new Error('format avro: no Avro reader');
    // A null value is a tombstone, as in every format.
    if (raw === undefined) return { record: recordOf(key, null, timestamp, origin, raw, headers) };
    const decoded = avroReader.decode(raw);
    if ('invalid' in decoded) return { record: recordOf(key, raw, timestamp, origin, raw, headers), invalid: decoded.invalid };
    return { record: recordOf(key, decoded.value, timestamp, origin, raw, headers) };
  }
  if (format === 'bytes') return { record: recordOf(key, raw ?? null, timestamp, origin, raw, headers) };
  return { record: recordOf(key, raw === undefined ? null : raw.toString('utf8'), timestamp, origin, raw, headers) };
}

function recordOf(key: string | null, value: unknown, timestamp: number, origin: StreamRecord['origin'], raw: Buffer | undefined, headers: Record<string, string> | undefined): StreamRecord {
  const record: StreamRecord = { key, value, timestamp, origin, raw: raw ?? Buffer.alloc(0) };
  if (headers) record.headers = headers;
  return record;
}
