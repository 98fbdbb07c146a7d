/**
 * kafka — produces every record to a Kafka topic with an idempotent producer (acks=all); a write is
 * acknowledged once the brokers acknowledged all its messages. The spec's `description` below says the
 * rest (docs/sinks.md).
 *
 * ```yaml
 * sink:
 *   type: kafka
 *   brokers: ${KAFKA_BROKERS:-127.0.0.1:9092}
 *   topic: users_created
 *   createTopic: { partitions: 3, replicationFactor: auto }
 *   compression: lz4
 *   format: avro             # optional: Avro in the Confluent wire format
 *   schema: randomuser-user  # the named schema whose Avro schema is registered under users_created-value
 * ```
 * See also: ./producer.ts (how; the `dead-letter` sink reuses it), the `kafka` source, clients/kafka.ts,
 * clients/avro.ts (the wire format and the registry).
 */
import { defineComponent, problem, type ConfigProblem } from '../../topology/registry.ts';
import { optional, required, withDefault, type ConfigOf } from '../../topology/spec.ts';
import { BooleanFromAny, Duration, NonEmptyString, PositiveInt, TopicName, oneOf } from '../../topology/codecs.ts';
import type { ComponentContext, Sink } from '../../topology/types.ts';
import { lookupSchema } from '../../topology/functions.ts';
import { UserFacingError, errorMessage } from '../../topology/errors.ts';
import { kafkaClientFields } from '../../clients/kafka.ts';
import { AvroWriter } from '../../clients/avro.ts';
import { SchemaRegistryClient, registryConfig, registryEndpoint, schemaRegistryField } from '../../clients/schema-registry.ts';
import { Compression, createTopicField, deliveryTimeoutField } from './fields.ts';
import { avroRecordToMessage, rawRecordToMessage, recordToMessage, unchangedRawRecordToMessage } from './messages.ts';
import { PRODUCER_GUARANTEES, isRetryableKafkaError, kafkaProducerSink } from './producer.ts';

const fields = {
  ...kafkaClientFields({
    ...PRODUCER_GUARANTEES,
    'compression.type': 'use `compression`',
    'compression.codec': 'use `compression`',
    'linger.ms': 'use `linger`',
    'queue.buffering.max.ms': 'use `linger`',
    'batch.size': 'use `batchSize`',
    'batch.num.messages': 'use `batchNumMessages`',
  }),
  topic: required(TopicName, 'Topic to produce to.'),
  createTopic: createTopicField,
  payload: withDefault(
    oneOf(['value', 'raw', 'unchanged-raw'] as const),
    'value',
    'What each message carries: `value` encodes the record value (Buffers and strings as they are, anything else as JSON); `raw` sends the bytes the source read (http-poll: the element\'s JSON; kafka: the message), without encoding again — the same bytes when no operator changed the value, so only for pipelines that forward records unchanged: a pipeline with operators is refused at start; `unchanged-raw` (what a repartition topic\'s writer uses when the operators before it keep the values they are given) sends the bytes the kafka source read (format `json`) while the record\'s value is still the object or array parsed from them, and encodes it otherwise; it is refused after an operator that may modify a value in place (`map`; `filter` and `flat-map` with `fn`).',
  ),
  compression: withDefault(Compression, 'none', 'Compression of message batches (zstd only where librdkafka was built with it; the config is refused otherwise).'),
  linger: withDefault(Duration, 5, 'How long the producer waits for more messages before sending a batch (larger batches, a little more latency).'),
  batchSize: optional(PositiveInt, 'Upper bound, in bytes, of one batch of messages to a partition (librdkafka\'s default: 1000000).'),
  batchNumMessages: optional(PositiveInt, 'Upper bound of messages in one batch to a partition (librdkafka\'s default: 10000).'),
  deliveryTimeout: deliveryTimeoutField,
  format: withDefault(
    oneOf(['json', 'avro'] as const),
    'json',
    'How values are written: `json` as `payload` says; `avro` in the Confluent wire format (magic byte 0, the schema\'s registry id as 4 bytes big-endian, the Avro binary body), with the Avro schema of `schema`, registered under `subject` at start. With `avro`, `payload` does not apply: the value is always encoded, so the operators\' output is what is written.',
  ),
  schema: optional(NonEmptyString, '`format: avro`: the named schema (registerSchema, e.g. `randomuser-user`) whose Avro schema the values are written with.'),
  subject: optional(NonEmptyString, '`format: avro`: the registry subject of the schema; `<topic>-value` when absent (the topic-name strategy).'),
  autoRegister: withDefault(
    BooleanFromAny,
    true,
    '`format: avro`: register the schema under `subject` at start (the registry answers with the id it already has for the same schema, and refuses an incompatible one: the sink then does not start, and the error names the fields). `false`: only look it up; a schema not registered under the subject is an error at start.',
  ),
  schemaRegistry: schemaRegistryField,
};

export type KafkaSinkConfig = ConfigOf<typeof fields>;

/** The subject a sink's schema is registered under: its own, or `<topic>-value` (Confluent's topic-name strategy). */
export function avroSubject(config: Pick<KafkaSinkConfig, 'topic' | 'subject'>): string {
  return config.subject ?? `${config.topic}-value`;
}

export function describeKafkaSink(config: Pick<KafkaSinkConfig, 'topic' | 'compression'> & Partial<Pick<KafkaSinkConfig, 'format' | 'subject' | 'schemaRegistry'>>): string {
  const details = [
    ...(config.compression === 'none' ? [] : [config.compression]),
    ...(config.format === 'avro' ? [`avro, subject ${avroSubject(config)} at ${new SchemaRegistryClient(registryConfig(config.schemaRegistry)).url}`] : []),
  ];
  return `kafka topic ${config.topic}${details.length > 0 ? ` (${details.join('; ')})` : ''}`;
}

export function kafkaSink(config: KafkaSinkConfig, ctx: ComponentContext): Sink {
  const tuning: Record<string, string | number> = { 'compression.type': config.compression, 'linger.ms': config.linger };
  if (config.batchSize !== undefined) tuning['batch.size'] = config.batchSize;
  if (config.batchNumMessages !== undefined) tuning['batch.num.messages'] = config.batchNumMessages;
  const description = describeKafkaSink(config);
  const settings = { client: config, topic: config.topic, createTopic: config.createTopic, deliveryTimeout: config.deliveryTimeout, tuning };
  if (config.format !== 'avro') {
    return kafkaProducerSink(settings, ctx, description, config.payload === 'raw' ? rawRecordToMessage : config.payload === 'unchanged-raw' ? unchangedRawRecordToMessage : recordToMessage);
  }
  const writer = new AvroWriter(new SchemaRegistryClient(registryConfig(config.schemaRegistry)), avroSubject(config), lookupSchema(config.schema!).avro!, config.autoRegister);
  const inner = kafkaProducerSink(settings, ctx, description, avroRecordToMessage((value) => writer.encode(value)));
  return {
    ...inner,
    async start() {
      // Before the producer connects: a schema the registry refuses stops the pipeline at start, not at its first write.
      try {
        const id = await writer.resolve();
        ctx.logger.info(`${description}: writing Avro with schema id ${id} of subject ${writer.subject}`);
      } catch (error) {
        throw new UserFacingError(`${description}: ${errorMessage(error)}`, 'make the schema compatible (a new field needs a default), or change the subject\'s compatibility level in the registry');
      }
      await inner.start();
    },
    // A value that does not fit the schema fails its chunk for good; the registry's and the brokers' errors may pass.
    isRetryable: isRetryableKafkaError,
  };
}

/** `format: avro` needs a named schema that has an Avro schema. */
export function avroProblems(config: Pick<KafkaSinkConfig, 'format' | 'schema'>): ConfigProblem[] {
  if (config.format !== 'avro') return [];
  if (config.schema === undefined) return [problem('schema', 'format: avro needs `schema`: the named schema (e.g. randomuser-user) whose Avro schema the values are written with')];
  try {
    if (!lookupSchema(config.schema).avro) return [problem('schema', `schema "${config.schema}" has no Avro schema (registerSchema's \`avro\`), so it cannot be written with format: avro`)];
  } catch (error) {
    return [problem('schema', errorMessage(error))];
  }
  return [];
}

defineComponent({
  kind: 'sink',
  type: 'kafka',
  summary: 'Produces records to a Kafka topic with an idempotent producer; a write completes when every message is acknowledged.',
  description:
    'Produces each record to `topic` with node-rdkafka (enable.idempotence, acks=all): key = the record key, value = the record value (Buffers and strings as they are, anything else as JSON, null as a tombstone), timestamp and headers from the record; the partition is librdkafka\'s (a hash of the key). A write resolves only when every delivery report came back OK, so the source commits only what the brokers hold; it rejects with the first delivery error otherwise. When librdkafka\'s local queue is full, the write serves delivery reports and tries again instead of failing. Transient errors (broker unreachable, timeouts, not enough replicas) are retried by the sink policy; a message too large, a missing topic or an authorization failure fails the batch at once. After a fatal producer error, or a write whose delivery reports never came, the producer is replaced before the next write. `createTopic` creates the topic at start when it is missing. With `format: avro` the value is Avro in the Confluent wire format instead, with the Avro schema of the named `schema`, registered under `subject` (`<topic>-value`) in `schemaRegistry` before the producer connects: a schema the registry refuses as incompatible stops the start with one line naming the subject, the compatibility level and the fields (docs/avro.md). Under the pipeline\'s `processing: exactly-once` it writes through the pipeline\'s transactional producer in this process (transactional id `user-stream.<topology>.<pipeline>.<instance>`, see the kafka source): the batch\'s messages become visible to read_committed consumers only with its offsets, and not at all if the batch fails.',
  fields,
  transactional: true,
  examples: [
    'sink:\n  type: kafka\n  brokers: ${KAFKA_BROKERS:-127.0.0.1:9092}\n  topic: users_created\n  createTopic: { partitions: 3, replicationFactor: auto }',
    'sink:\n  type: kafka\n  brokers: ${KAFKA_BROKERS:-127.0.0.1:9092}\n  topic: users_created\n  format: avro\n  schema: randomuser-user\n  schemaRegistry:\n    url: ${SCHEMA_REGISTRY_URL:-http://127.0.0.1:8081/apis/ccompat/v7}\n    username: ${SCHEMA_REGISTRY_USER:-}\n    password: ${SCHEMA_REGISTRY_PASSWORD:-}',
    'sink:\n  type: kafka\n  brokers: ${KAFKA_BROKERS}\n  topic: users_created\n  compression: lz4\n  linger: 20ms\n  batch: { maxRows: 5000, concurrency: 2 }',
  ],
  endpoints: (config) => [{ service: 'kafka', address: config.brokers }, ...(config.format === 'avro' ? [registryEndpoint(config.schemaRegistry)] : [])],
  check(config, { operatorsBefore, operatorsChangingValues }) {
    if (config.format === 'avro') return avroProblems(config);
    // unchanged-raw trusts that a value still the one the source parsed is as the source read it.
    if (config.payload === 'unchanged-raw' && operatorsChangingValues.length > 0) {
      return [
        problem(
          'payload',
          `unchanged-raw sends the bytes the source read for a value still the one parsed from them, but ${operatorsChangingValues.join(', ')} may modify the value it is given in place; ` +
            'use `payload: value` (the default)',
        ),
      ];
    }
    // raw would silently write the source's bytes, as if the operators had not run.
    if (config.payload !== 'raw' || operatorsBefore.length === 0) return [];
    return [
      problem(
        'payload',
        `raw sends the bytes the source read, so what the operators (${operatorsBefore.join(', ')}) make of the records would be lost; ` +
          'remove `payload: raw` (the default, `value`, writes the operators\' output), or the operators',
      ),
    ];
  },
  create: (config, ctx) => kafkaSink(config, ctx),
});
