/**
 * The idempotent producer the `kafka` and `dead-letter` sinks and the `kafka` state backend share: a
 * write resolves when the brokers acknowledged every one of its messages, and a producer that cannot
 * produce again is replaced. Under `processing: exactly-once` they write through the pipeline's one
 * transactional producer instead (clients/kafka-transactions.ts).
 *
 * See also: ./index.ts and ../dead-letter.ts (the components), state/kafka/, ./messages.ts, clients/kafka.ts.
 */
import Kafka from 'node-rdkafka';
import type { LibrdKafkaError } from 'node-rdkafka';
import type { ComponentContext, Sink, StreamRecord } from '../../topology/types.ts';
import { connectClient, createClient, describeTopicLayout, disconnectClient, ensureTopic, forwardClientLogs, librdkafkaConfig, type KafkaClientConfig, type ManagedOptions, type TopicLayout } from '../../clients/kafka.ts';
import type { OutgoingMessage } from './messages.ts';
import { KafkaTransactions, dispatchDeliveryReports, type DeliveryTarget } from '../../clients/kafka-transactions.ts';

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

/** Messages of one write call: delivery reports are counted against it (it is each message's opaque). */
class PendingWrite implements DeliveryTarget {
  outstanding = 0;
  /** Set when delivery reports are still missing well after the delivery timeout. */
  timedOut = false;
  failed = 0;
  firstError?: LibrdKafkaError;
  allProduced = false;

  constructor(
    readonly settle: () => void,
    private readonly onFatal: (error: LibrdKafkaError) => void,
  ) {}

  delivered(error: LibrdKafkaError | null | undefined): void {
    this.outstanding--;
    if (error) {
      this.failed++;
      this.firstError ??= error;
      if (error.code === ERR.ERR__FATAL) this.onFatal(error);
    }
    if (this.allProduced && this.outstanding === 0) this.settle();
  }
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
  /** Where messages go unless they name their own topic (`OutgoingMessage.topic`). */
  topic?: string;
  createTopic?: TopicLayout;
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

/** A sink of `T`s: the `kafka` and `dead-letter` sinks write records, the `kafka` state backend changelog messages. */
export type ProducerSink<T> = Omit<Sink, 'write'> & { write(items: readonly T[]): Promise<void> };

/**
 * A sink that produces each item, as `toMessage` shapes it, to its topic (`settings.topic` unless the
 * message names one). Shared by the `kafka` and `dead-letter` sinks and the `kafka` state backend.
 */
export function kafkaProducerSink<T = StreamRecord>(
  settings: ProducerSinkSettings,
  ctx: ComponentContext,
  description: string,
  toMessage: (item: T) => OutgoingMessage,
  { newProducer = (options) => new Kafka.Producer(options), reportGraceMs = REPORT_GRACE_MS }: ProducerSinkInternals = {},
): ProducerSink<T> {
  const log = ctx.logger;
  const { client, topic } = settings;
  let producer: Kafka.Producer | undefined;
  let fatal: LibrdKafkaError | undefined;
  /** Why the current producer must be replaced before the next write, other than a fatal error. */
  let replaceReason: string | undefined;
  let replacing: Promise<void> | undefined;

  const options: Record<string, string | number | boolean> = { ...settings.tuning, ...librdkafkaConfig(client), 'enable.idempotence': true, acks: 'all', dr_cb: true, 'message.timeout.ms': settings.deliveryTimeout };

  // Under `processing: exactly-once` every write goes through the pipeline's one transactional producer
  // instead of an idempotent one of this sink's own; the pipeline's source commits or aborts it.
  const transactions = ctx.processing === 'exactly-once' ? KafkaTransactions.of(ctx, client) : undefined;
  const connect = async (): Promise<Kafka.Producer> => {
    const p = createClient(client, () => newProducer(options as Kafka.ProducerGlobalConfig));
    forwardClientLogs(p, log, description);
    p.on('event.error', (error) => {
      if (error.isFatal) fatal = error;
    });
    dispatchDeliveryReports(p);
    await connectClient(p, client, client.connectTimeout);
    return p;
  };
  // The pipeline's transactional producer is never replaced here: a failed write fails the batch, and
  // the source's rollback aborts its transaction (or replaces that producer).
  const current = async (): Promise<Kafka.Producer | undefined> => {
    if (transactions) return transactions.producer$();
    const reason = fatal ? `after a fatal error: ${fatal.message}` : replaceReason;
    if (reason) await (replacing ??= replaceProducer(reason).finally(() => (replacing = undefined)));
    return producer;
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
      const p = transactions ? await transactions.producer$() : await connect();
      try {
        if (settings.createTopic && topic !== undefined) {
          const created = await ensureTopic(client, topic, settings.createTopic, settings.topicConfig ?? {}, p);
          if (created.outcome === 'created') log.info(`${description}: created topic ${topic} (${describeTopicLayout(created)})`);
        }
      } catch (error) {
        if (!transactions) await disconnectClient(p, 5000);
        throw error;
      }
      producer = p;
    },

    async write(records) {
      const p = await current();
      if (!p) throw new KafkaWriteError(`${description}: not started`, undefined);
      let settle!: () => void;
      const delivered = new Promise<void>((resolve) => (settle = resolve));
      const write = new PendingWrite(settle, (error) => (fatal = error));
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
          const target = message.topic ?? topic;
          if (target === undefined) {
            refused = { error: new Error('the message names no topic, and the producer has none'), index: i };
            break;
          }
          while (true) {
            try {
              p.produce(target, message.partition ?? null, message.value, message.key, message.timestamp, write, message.headers);
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
        if (p === producer && !transactions) replaceReason = 'whose delivery reports stopped coming (librdkafka lost its brokers)';
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
      // Producer.disconnect flushes what is still queued (bounded) before it disconnects; the pipeline
      // closes its transactional producer itself, after every component.
      if (p && !transactions) await disconnectClient(p, 10_000);
    },

    describe: () => description,
  };
}
