/**
 * dead-letter — writes a pipeline's rejected records to a Kafka topic, byte for byte as they arrived,
 * with why, where and when they were rejected in message headers (the spec's `description` below lists
 * them; docs/sinks.md).
 *
 * ```yaml
 * deadLetter:
 *   type: dead-letter
 *   brokers: ${KAFKA_BROKERS:-127.0.0.1:9092}
 *   topic: users_created_dead
 *   createTopic: { partitions: 1 }
 * ```
 * See also: the `kafka` sink (whose producer this reuses: sinks/kafka/producer.ts), the `kafka` source
 * (which dead-letters invalid JSON), the `validate` operator.
 */
import { defineComponent } from '../topology/registry.ts';
import { required, withDefault, type ConfigOf } from '../topology/spec.ts';
import { PositiveInt, TopicName } from '../topology/codecs.ts';
import type { ComponentContext, DeadLetterValue, Sink, StreamRecord } from '../topology/types.ts';
import { kafkaClientFields } from '../clients/kafka.ts';
import { createTopicField, deliveryTimeoutField } from './kafka/fields.ts';
import { encodeValue, type OutgoingMessage } from './kafka/messages.ts';
import { PRODUCER_GUARANTEES, kafkaProducerSink } from './kafka/producer.ts';

/** The headers of a dead letter's report (read back by the console and `npm run dead-letters`). */
export const DEAD_LETTER_HEADERS = {
  reason: 'dead-letter.reason',
  stage: 'dead-letter.stage',
  topology: 'dead-letter.topology',
  pipeline: 'dead-letter.pipeline',
  failedAt: 'dead-letter.failed-at',
  originTopic: 'dead-letter.origin.topic',
  originPartition: 'dead-letter.origin.partition',
  originOffset: 'dead-letter.origin.offset',
} as const;
const H = DEAD_LETTER_HEADERS;

/** The message a dead letter becomes: the original bytes, key and timestamp, the report in headers. */
export function deadLetterMessage(record: StreamRecord<DeadLetterValue>): OutgoingMessage {
  const letter = record.value;
  const origin = letter.origin ?? record.origin;
  const headers: Array<[string, string]> = [
    [H.reason, letter.reason],
    [H.stage, letter.stage],
    [H.topology, letter.topology],
    [H.pipeline, letter.pipeline],
    [H.failedAt, new Date(letter.failedAt).toISOString()],
  ];
  if (origin?.topic !== undefined) headers.push([H.originTopic, origin.topic]);
  if (origin?.partition !== undefined) headers.push([H.originPartition, String(origin.partition)]);
  if (origin?.offset !== undefined) headers.push([H.originOffset, String(origin.offset)]);
  const raw = record.raw === undefined ? undefined : Buffer.isBuffer(record.raw) ? record.raw : Buffer.from(record.raw, 'utf8');
  return {
    key: record.key,
    value: raw ?? encodeValue(letter.value),
    timestamp: Number.isFinite(record.timestamp) ? Math.trunc(record.timestamp) : null,
    headers: headers.map(([name, value]) => ({ [name]: value })),
  };
}

/**
 * A dead letter is an input message plus its report: a producer limited to librdkafka's default
 * (1,000,000 bytes) cannot write back a message that its input topic accepted, and the batch holding
 * it would fail, be retried and fail again, holding up every record behind it.
 */
export const DEFAULT_DEAD_LETTER_MAX_BYTES = 16 * 1024 * 1024;

const fields = {
  ...kafkaClientFields({ ...PRODUCER_GUARANTEES, 'message.max.bytes': 'use `maxMessageBytes`' }),
  topic: required(TopicName, 'Topic the dead letters go to, e.g. `<input topic>_dead`.'),
  createTopic: createTopicField,
  deliveryTimeout: deliveryTimeoutField,
  maxMessageBytes: withDefault(
    PositiveInt,
    DEFAULT_DEAD_LETTER_MAX_BYTES,
    'Largest dead letter the sink writes (bytes): the producer\'s message.max.bytes and, on a topic `createTopic` creates, its max.message.bytes. A dead letter is an input message plus about 1 KB of headers, so keep this above the input topic\'s max.message.bytes (uncompressed: the limit applies before compression); an existing dead-letter topic needs a max.message.bytes as large.',
  ),
};

export type DeadLetterSinkConfig = ConfigOf<typeof fields>;

export function deadLetterSink(config: DeadLetterSinkConfig, ctx: ComponentContext): Sink {
  // Dead letters are few: librdkafka's batching defaults suit them (tunable through `rdkafka`).
  return kafkaProducerSink(
    {
      client: config,
      topic: config.topic,
      createTopic: config.createTopic,
      deliveryTimeout: config.deliveryTimeout,
      tuning: { 'message.max.bytes': config.maxMessageBytes },
      topicConfig: { 'max.message.bytes': String(config.maxMessageBytes) },
    },
    ctx,
    `kafka dead-letter topic ${config.topic}`,
    (record) => deadLetterMessage(record as StreamRecord<DeadLetterValue>),
  );
}

defineComponent({
  kind: 'sink',
  type: 'dead-letter',
  summary: 'Writes rejected records to a Kafka topic: the original bytes, with the reason and origin in headers.',
  description:
    'The usual `deadLetter` of a pipeline. For every record an operator (or the source) rejected, produces the original message bytes (when there are none, the rejected value: a Buffer or string as it is, anything else as JSON), key and timestamp to `topic`, with headers `dead-letter.reason` (e.g. `invalid JSON: Unexpected end of JSON input`), `dead-letter.stage` (e.g. `source`, `operators[0] (validate)`), `dead-letter.topology`, `dead-letter.pipeline`, `dead-letter.failed-at` (ISO 8601) and, when known, `dead-letter.origin.topic`, `dead-letter.origin.partition` and `dead-letter.origin.offset`. A consumer can therefore fix and replay them unchanged. Uses the `kafka` sink\'s idempotent producer: the batch commits only after its dead letters are acknowledged. Messages up to `maxMessageBytes` (default 16 MiB) are written — the producer\'s limit, and that of a topic `createTopic` creates — so a large input message that its topic accepted can be set aside too instead of failing its batch again and again. Under the pipeline\'s `processing: exactly-once` it writes through the pipeline\'s transactional producer in this process (transactional id `user-stream.<topology>.<pipeline>.<instance>`, see the kafka source), in the batch\'s transaction.',
  fields,
  transactional: true,
  examples: ['deadLetter:\n  type: dead-letter\n  brokers: ${KAFKA_BROKERS:-127.0.0.1:9092}\n  topic: users_created_dead\n  createTopic: { partitions: 1 }'],
  endpoints: (config) => [{ service: 'kafka', address: config.brokers }],
  create: (config, ctx) => deadLetterSink(config, ctx),
});
