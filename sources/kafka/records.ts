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
  const base = {
    key,
    timestamp,
    origin: { topic: message.topic, partition: message.partition, offset: message.offset },
    raw: raw ?? Buffer.alloc(0),
    ...(message.headers && message.headers.length > 0 ? { headers: headersOf(message.headers) } : {}),
  };
  if (format === 'bytes') return { record: { ...base, value: raw ?? null } };
  if (format === 'avro') {
    if (!avroReader) throw new Error('format avro: no Avro reader');
    // A null value is a tombstone, as in every format.
    if (raw === undefined) return { record: { ...base, value: null } };
    const decoded = avroReader.decode(raw);
    if ('invalid' in decoded) return { record: { ...base, value: raw }, invalid: decoded.invalid };
    return { record: { ...base, value: decoded.value } };
  }
  if (format === 'string') return { record: { ...base, value: raw === undefined ? null : raw.toString('utf8') } };
  const text = raw === undefined ? '' : raw.toString('utf8');
  if (text.trim() === '') return { record: { ...base, value: text }, invalid: 'invalid JSON: empty message' };
  try {
    const value: unknown = JSON.parse(text);
    return { record: { ...base, value, decoded: value } };
  } catch (error) {
    return { record: { ...base, value: text }, invalid: `invalid JSON: ${(error as Error).message}` };
  }
}

function headersOf(headers: ReadonlyArray<Record<string, string | Buffer>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const header of headers) for (const [name, value] of Object.entries(header)) out[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  return out;
}
