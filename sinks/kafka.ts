/**
 * kafka — produces every record to a Kafka topic with an idempotent producer (acks=all), and
 * acknowledges a write only when the brokers acknowledged every one of its messages.
 *
 * A record becomes a message: key = the record's key, value = the record's value as it is when it is a
 * Buffer or a string, its JSON otherwise (null: a tombstone), timestamp = the record's timestamp,
 * headers = the record's headers. The partition is librdkafka's (a hash of the key).
 *
 * A write enqueues all its messages at once and counts their delivery reports: it resolves when every
 * report came back OK and rejects with the first delivery error otherwise. When librdkafka's local
 * queue is full, the sink serves delivery reports and tries again instead of failing. Transient broker
 * errors and timeouts are retryable (the framework's sink policy retries the chunk); a message too
 * large, a missing topic or an authorization failure is not. After a fatal producer error, or a write
 * whose delivery reports never came, the producer is replaced before the next write.
 *
 * ```yaml
 * sink:
 *   type: kafka
 *   brokers: ${KAFKA_BROKERS:-127.0.0.1:9092}
 *   topic: users_created
 *   createTopic: { partitions: 3, replicationFactor: 1 }
 *   compression: lz4
 * ```
 * See also: the `kafka` source, the `dead-letter` sink (which reuses this producer), clients/kafka.ts.
 */
import * as t from 'io-ts';
import Kafka from 'node-rdkafka';
import type { LibrdKafkaError, MessageHeader } from 'node-rdkafka';
import { defineComponent, problem } from '../topology/registry.ts';
import { objectCodec, optional, required, withDefault, type ConfigOf } from '../topology/spec.ts';
import { Duration, PositiveInt, TopicName, oneOf } from '../topology/codecs.ts';
import type { ComponentContext, Sink, StreamRecord } from '../topology/types.ts';
import { connectClient, createClient, disconnectClient, ensureTopic, forwardClientLogs, kafkaClientFields, librdkafkaConfig, type KafkaClientConfig, type ManagedOptions } from '../clients/kafka.ts';

const ERR = Kafka.CODES.ERRORS;

/** librdkafka options that Kafka sinks set for their delivery guarantees. */
export const PRODUCER_GUARANTEES: ManagedOptions = {
  'enable.idempotence': 'the sink always produces idempotently, so its own retries add no duplicates',
  acks: 'the sink waits for every in-sync replica (acks=all)',
  'request.required.acks': 'the sink waits for every in-sync replica (acks=all)',
  dr_cb: 'the sink counts delivery reports itself',
  dr_msg_cb: 'the sink counts delivery reports itself',
  'message.timeout.ms': 'use `deliveryTimeout`',
  'delivery.timeout.ms': 'use `deliveryTimeout`',
};

/** Errors worth another attempt: the broker or the network may recover, or the producer is replaced. */
const RETRYABLE_CODES = new Set<number>([
  ERR.ERR__TRANSPORT,
  ERR.ERR__ALL_BROKERS_DOWN,
  ERR.ERR__RESOLVE,
  ERR.ERR__MSG_TIMED_OUT,
  ERR.ERR__TIMED_OUT,
  ERR.ERR__QUEUE_FULL,
  ERR.ERR__FATAL,
  ERR.ERR_LEADER_NOT_AVAILABLE,
  ERR.ERR_NOT_LEADER_FOR_PARTITION,
  ERR.ERR_REQUEST_TIMED_OUT,
  ERR.ERR_NETWORK_EXCEPTION,
  ERR.ERR_NOT_ENOUGH_REPLICAS,
  ERR.ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ERR.ERR_KAFKA_STORAGE_ERROR,
  ERR.ERR_THROTTLING_QUOTA_EXCEEDED,
]);

/** A failed write; `code` is librdkafka's code of the first failure, which decides whether a retry can help. */
export class KafkaWriteError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
  ) {
    super(message);
    this.name = 'KafkaWriteError';
  }
}

/** Whether a failed Kafka write is worth retrying. */
export function isRetryableKafkaError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' && RETRYABLE_CODES.has(code);
}

/** What one record becomes on the wire. */
export interface OutgoingMessage {
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

function messageOf(record: StreamRecord, value: Buffer | null): OutgoingMessage {
  return {
    key: record.key,
    value,
    timestamp: Number.isFinite(record.timestamp) ? Math.trunc(record.timestamp) : null,
    ...(record.headers ? { headers: Object.entries(record.headers).map(([name, value]) => ({ [name]: value })) } : {}),
  };
}

/** Messages of one write call: delivery reports are counted against it (it is each message's opaque). */
interface PendingWrite {
  outstanding: number;
  /** Set when delivery reports are still missing well after the delivery timeout. */
  timedOut: boolean;
  failed: number;
  firstError?: LibrdKafkaError;
  allProduced: boolean;
  settle(): void;
}

const POLL_INTERVAL_MS = 5;
/** librdkafka's default message.max.bytes: the largest message (with its protocol overhead) a producer sends. */
const DEFAULT_MESSAGE_MAX_BYTES = 1_000_000;
const QUEUE_FULL_WAIT_MS = 5;
/**
 * librdkafka reports every message within its delivery timeout (give or take an outage); a write still
 * missing reports this much later fails, and its producer is replaced before the next write.
 */
const REPORT_GRACE_MS = 10_000;

export interface ProducerSinkSettings {
  client: KafkaClientConfig;
  topic: string;
  createTopic?: { partitions: number; replicationFactor: number };
  /** ms a message may take to be acknowledged (librdkafka's message.timeout.ms). */
  deliveryTimeout: number;
  /** librdkafka producer options of the component (compression, linger, …); the guarantees are added. */
  tuning: Record<string, string | number | boolean>;
  /** Topic-level settings of a topic `createTopic` creates (e.g. max.message.bytes). */
  topicConfig?: Record<string, string>;
}

/** Seams for unit tests: how a producer is made, and how long a write waits for missing delivery reports. */
export interface ProducerSinkInternals {
  newProducer?: (options: Kafka.ProducerGlobalConfig) => Kafka.Producer;
  reportGraceMs?: number;
}

/**
 * A sink that produces each record, as `toMessage` shapes it, to `settings.topic`. Shared by the
 * `kafka` and `dead-letter` sinks.
 */
export function kafkaProducerSink(
  settings: ProducerSinkSettings,
  ctx: ComponentContext,
  description: string,
  toMessage: (record: StreamRecord) => OutgoingMessage,
  { newProducer = (options) => new Kafka.Producer(options), reportGraceMs = REPORT_GRACE_MS }: ProducerSinkInternals = {},
): Sink {
  const log = ctx.logger;
  const { client, topic } = settings;
  let producer: Kafka.Producer | undefined;
  let fatal: LibrdKafkaError | undefined;
  /** Why the current producer must be replaced before the next write, other than a fatal error. */
  let replaceReason: string | undefined;
  let replacing: Promise<void> | undefined;

  const options: Record<string, string | number | boolean> = { ...settings.tuning, ...librdkafkaConfig(client), 'enable.idempotence': true, acks: 'all', dr_cb: true, 'message.timeout.ms': settings.deliveryTimeout };

  const connect = async (): Promise<Kafka.Producer> => {
    const p = createClient(client, () => newProducer(options as Kafka.ProducerGlobalConfig));
    forwardClientLogs(p, log, description);
    p.on('event.error', (error) => {
      if (error.isFatal) fatal = error;
    });
    p.on('delivery-report', (error, report) => {
      const write = report.opaque as PendingWrite;
      write.outstanding--;
      if (error) {
        write.failed++;
        write.firstError ??= error;
        if (error.code === ERR.ERR__FATAL) fatal = error;
      }
      if (write.allProduced && write.outstanding === 0) write.settle();
    });
    await connectClient(p, client, client.connectTimeout);
    return p;
  };

  /**
   * Replaces a producer that cannot produce again: an idempotent producer after a fatal error (e.g. a
   * sequence gap), or one that let a write's delivery reports go missing. The messages the old one still
   * holds were never acknowledged: the retried chunk writes their records again.
   */
  const replaceProducer = async (reason: string): Promise<void> => {
    log.warn(`${description}: replacing the producer ${reason}`);
    const old = producer;
    producer = undefined;
    if (old) await disconnectClient(old, 5000);
    try {
      producer = await connect();
    } catch (error) {
      // Still unreachable: retryable, and the next attempt connects again.
      replaceReason ??= reason;
      throw new KafkaWriteError(`${description}: ${(error as Error).message}`, ERR.ERR__TRANSPORT);
    }
    fatal = undefined;
    replaceReason = undefined;
  };

  return {
    async start() {
      const p = await connect();
      try {
        if (settings.createTopic) {
          const { partitions, replicationFactor } = settings.createTopic;
          const outcome = await ensureTopic(client, topic, partitions, replicationFactor, settings.topicConfig);
          if (outcome === 'created') log.info(`${description}: created topic ${topic} (${partitions} partition(s), replication factor ${replicationFactor})`);
        }
      } catch (error) {
        await disconnectClient(p, 5000);
        throw error;
      }
      producer = p;
    },

    async write(records) {
      const reason = fatal ? `after a fatal error: ${fatal.message}` : replaceReason;
      if (reason) await (replacing ??= replaceProducer(reason).finally(() => (replacing = undefined)));
      const p = producer;
      if (!p) throw new KafkaWriteError(`${description}: not started`, undefined);
      let settle!: () => void;
      const delivered = new Promise<void>((resolve) => (settle = resolve));
      const write: PendingWrite = { outstanding: 0, timedOut: false, failed: 0, allProduced: false, settle };
      let refused: { error: { message: string; code?: number }; index: number; bytes?: number } | undefined;
      // Delivery reports reach JavaScript only when the producer is polled: poll while this write waits.
      const poller = setInterval(() => {
        if (p.isConnected()) p.poll();
      }, POLL_INTERVAL_MS);
      const guard = setTimeout(() => {
        write.timedOut = true;
        settle();
      }, settings.deliveryTimeout + reportGraceMs);
      try {
        for (let i = 0; i < records.length && !refused; i++) {
          let message: OutgoingMessage;
          try {
            message = toMessage(records[i]);
          } catch (error) {
            refused = { error: error as Error, index: i };
            break;
          }
          while (true) {
            try {
              p.produce(topic, null, message.value, message.key, message.timestamp, write, message.headers);
              write.outstanding++;
              break;
            } catch (error) {
              if ((error as LibrdKafkaError).code !== ERR.ERR__QUEUE_FULL) {
                refused = { error: error as LibrdKafkaError, index: i, bytes: (message.value?.length ?? 0) + Buffer.byteLength(message.key ?? '') };
                break;
              }
              // The local queue is full: let delivery reports drain it, then try the same message again.
              p.poll();
              await new Promise((resolve) => setTimeout(resolve, QUEUE_FULL_WAIT_MS));
            }
          }
        }
        write.allProduced = true;
        if (write.outstanding === 0) settle();
        // Even when a message was refused, wait for the ones already enqueued: nothing is left in flight.
        await delivered;
      } finally {
        clearInterval(poller);
        clearTimeout(guard);
      }
      if (write.timedOut) {
        // A wedged librdkafka never reports again: in the Kafka-outage fault test, 2.12 dropped its only
        // broker when the broker answered a metadata request with none while shutting down (as in
        // librdkafka #5301) and found no usable broker after the restart. A new producer bootstraps afresh.
        if (p === producer) replaceReason = 'whose delivery reports stopped coming (librdkafka lost its brokers)';
        const waited = (settings.deliveryTimeout + reportGraceMs) / 1000;
        throw new KafkaWriteError(`${description}: ${write.outstanding} of ${records.length} message(s) not acknowledged within ${waited} s (no delivery report; are the brokers answering?)`, ERR.ERR__MSG_TIMED_OUT);
      }
      if (refused) {
        // librdkafka words its own size check like the broker's ("Broker: Message size too large"): say which limit.
        const limit = refused.error.code === ERR.ERR_MSG_SIZE_TOO_LARGE ? ` (${refused.bytes} bytes of key and value; this producer's message.max.bytes is ${options['message.max.bytes'] ?? DEFAULT_MESSAGE_MAX_BYTES})` : '';
        throw new KafkaWriteError(`${description}: record ${refused.index + 1} of ${records.length} could not be produced: ${refused.error.message}${limit}`, refused.error.code);
      }
      if (write.firstError) {
        throw new KafkaWriteError(`${description}: ${write.failed} of ${records.length} message(s) not delivered: ${write.firstError.message}`, write.firstError.code);
      }
    },

    isRetryable: isRetryableKafkaError,

    async close() {
      const p = producer;
      producer = undefined;
      // Producer.disconnect flushes what is still queued (bounded) before it disconnects.
      if (p) await disconnectClient(p, 10_000);
    },

    describe: () => description,
  };
}

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const codecName = oneOf(CODECS);

/** The compression codecs this build of librdkafka has (zstd is optional at build time). */
export const COMPRESSION_CODECS: readonly string[] = CODECS.filter((codec) => codec === 'none' || Kafka.features.includes(codec));

/**
 * A compression codec name. The codec's name (what the docs show) lists every codec, so the generated
 * docs do not depend on the machine; one this build lacks is refused when the config is validated.
 */
const Compression = new t.Type<(typeof CODECS)[number], unknown, unknown>(
  codecName.name,
  codecName.is,
  (input, context) => {
    const result = codecName.validate(input, context);
    if (result._tag === 'Right' && !COMPRESSION_CODECS.includes(result.right)) {
      return t.failure(input, context, `"${result.right}" compression is not available in this build of librdkafka ${Kafka.librdkafkaVersion} (available: ${COMPRESSION_CODECS.join(', ')})`);
    }
    return result;
  },
  (a) => a,
);

/** `deliveryTimeout`, shared with the dead-letter sink. */
export const deliveryTimeoutField = withDefault(
  Duration,
  30_000,
  'How long a message may take to be acknowledged, librdkafka\'s own retries included, before its write fails (and the sink policy retries the chunk).',
);

/** `createTopic`, shared with the dead-letter sink. */
export const createTopicField = optional(
  objectCodec('topic creation', {
    partitions: withDefault(PositiveInt, 3, 'Partitions of the new topic (the most consumers of one group that can share it).'),
    replicationFactor: withDefault(PositiveInt, 1, 'Copies of each partition; at most the number of brokers.'),
  }),
  'Create the topic at start when it does not exist (an existing topic is left as it is). Without it the topic must exist, or the brokers must auto-create it.',
);

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
    oneOf(['value', 'raw'] as const),
    'value',
    'What each message carries: `value` encodes the record value (Buffers and strings as they are, anything else as JSON); `raw` sends the bytes the source read (http-poll: the element\'s JSON; kafka: the message), without encoding again — the same bytes when no operator changed the value, so only for pipelines that forward records unchanged: a pipeline with operators is refused at start.',
  ),
  compression: withDefault(Compression, 'none', 'Compression of message batches (zstd only where librdkafka was built with it; the config is refused otherwise).'),
  linger: withDefault(Duration, 5, 'How long the producer waits for more messages before sending a batch (larger batches, a little more latency).'),
  batchSize: optional(PositiveInt, 'Upper bound, in bytes, of one batch of messages to a partition (librdkafka\'s default: 1000000).'),
  batchNumMessages: optional(PositiveInt, 'Upper bound of messages in one batch to a partition (librdkafka\'s default: 10000).'),
  deliveryTimeout: deliveryTimeoutField,
};

export type KafkaSinkConfig = ConfigOf<typeof fields>;

export function describeKafkaSink(config: Pick<KafkaSinkConfig, 'topic' | 'compression'>): string {
  return `kafka topic ${config.topic}${config.compression === 'none' ? '' : ` (${config.compression})`}`;
}

export function kafkaSink(config: KafkaSinkConfig, ctx: ComponentContext): Sink {
  const tuning: Record<string, string | number> = { 'compression.type': config.compression, 'linger.ms': config.linger };
  if (config.batchSize !== undefined) tuning['batch.size'] = config.batchSize;
  if (config.batchNumMessages !== undefined) tuning['batch.num.messages'] = config.batchNumMessages;
  return kafkaProducerSink(
    { client: config, topic: config.topic, createTopic: config.createTopic, deliveryTimeout: config.deliveryTimeout, tuning },
    ctx,
    describeKafkaSink(config),
    config.payload === 'raw' ? rawRecordToMessage : recordToMessage,
  );
}

defineComponent({
  kind: 'sink',
  type: 'kafka',
  summary: 'Produces records to a Kafka topic with an idempotent producer; a write completes when every message is acknowledged.',
  description:
    'Produces each record to `topic` with node-rdkafka (enable.idempotence, acks=all): key = the record key, value = the record value (Buffers and strings as they are, anything else as JSON, null as a tombstone), timestamp and headers from the record. A write resolves only when every delivery report came back OK, so the source commits only what the brokers hold; it rejects with the first delivery error otherwise. Transient errors (broker unreachable, timeouts, not enough replicas) are retried by the sink policy; a message too large, a missing topic or an authorization failure fails the batch at once. `createTopic` creates the topic at start when it is missing.',
  fields,
  examples: [
    'sink:\n  type: kafka\n  brokers: ${KAFKA_BROKERS:-127.0.0.1:9092}\n  topic: users_created\n  createTopic: { partitions: 3, replicationFactor: 1 }',
    'sink:\n  type: kafka\n  brokers: ${KAFKA_BROKERS}\n  topic: users_created\n  compression: lz4\n  linger: 20ms\n  batch: { maxRows: 5000, concurrency: 2 }',
  ],
  endpoints: (config) => [{ service: 'kafka', address: config.brokers }],
  check(config, { operatorsBefore }) {
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
