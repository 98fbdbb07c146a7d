/**
 * The `kafka` state backend at work: a batch's changes go to its stores' changelog topics through the
 * Kafka sinks' idempotent producer (acks=all, a write resolves once every message is acknowledged); a
 * task's entries are read back from its changelog partition by one consumer that is in no group
 * (partitions are assigned to it, one restore at a time), from the start to the end the partition had
 * when the restore began.
 *
 * See also: ./changelog.ts (names, messages, the restore fold), ./index.ts (the component and its fields).
 */
import Kafka from 'node-rdkafka';
import type { Message } from 'node-rdkafka';
import type { ComponentContext, Offsets, StateBackend, StoreChanges, TaskId } from '../../topology/types.ts';
import { UserFacingError } from '../../topology/errors.ts';
import { connectClient, createClient, describeTopicLayout, disconnectClient, ensureTopic, forwardClientLogs, librdkafkaConfig, type KafkaClientConfig } from '../../clients/kafka.ts';
import type { ReplicationSetting } from '../../topology/codecs.ts';
import type { OutgoingMessage } from '../../sinks/kafka/messages.ts';
import { kafkaProducerSink } from '../../sinks/kafka/producer.ts';
import { ChangelogRestore, changelogMessages, changelogTopic, changelogTopicConfig } from './changelog.ts';

/** What the backend needs of its config (./index.ts has the fields). */
export interface KafkaStateSettings extends KafkaClientConfig {
  replicationFactor: ReplicationSetting;
  minInsyncReplicas?: ReplicationSetting;
  minCompactionLag: number;
  deliveryTimeout: number;
}

/**
 * Messages one consume call may return. Not more: node-rdkafka converts a call's messages on this
 * thread only once the call has them all, and large arrays of messages outlive the young generation
 * (restoring 1.1 million messages took 8.5 s at 1,000 or 5,000 a call, 11 s at 20,000).
 */
const RESTORE_BATCH = 1000;
/** How long one consume call waits for the next message (a restore ends with a call that waits this long for nothing). */
const CONSUME_WAIT_MS = 50;
/** A restore that reads nothing for this long fails (the pipeline tries again at its next read). */
const RESTORE_STALL_MS = 30_000;
const RETRY_PAUSE_MS = 100;

/** The restore consumer's options: the user's librdkafka options, then what restoring relies on. */
function consumerOptions(config: KafkaClientConfig): Kafka.ConsumerGlobalConfig {
  return {
    // Large fetches: a restore reads one partition from its start as fast as it can.
    'fetch.message.max.bytes': 16 * 1024 * 1024,
    // A fetch the broker holds while a partition has nothing more (librdkafka's default: 500 ms) delays
    // the next restore's first fetch by as much.
    'fetch.wait.max.ms': 10,
    // Once its queue holds queued.min.messages, librdkafka pauses fetching for this long (default 1 s):
    // a restore empties the queue much sooner (measured: 1.1 million messages in 5 s instead of 10).
    'fetch.queue.backoff.ms': 10,
    ...librdkafkaConfig(config),
    // node-rdkafka wants a group id, but partitions are assigned, never subscribed: the group is never joined.
    'group.id': `${config.clientId}-state-restore`,
    'enable.auto.commit': false,
    'enable.auto.offset.store': false,
    'enable.partition.eof': true,
  } as Kafka.ConsumerGlobalConfig;
}

/** Where a restore is: the partition it reads, the next offset it expects, and the end of the partition once reached. */
interface Cursor {
  topic: string;
  partition: number;
  next: number;
  eof: number;
}

export function kafkaStateBackend(config: KafkaStateSettings, ctx: ComponentContext): StateBackend {
  const log = ctx.logger;
  const label = 'kafka state backend';
  // No topic auto-creation (librdkafka's producers ask for it): the brokers' would not be compacted.
  const tuning = { 'linger.ms': 5, 'allow.auto.create.topics': false };
  const producer = kafkaProducerSink<OutgoingMessage>({ client: config, deliveryTimeout: config.deliveryTimeout, tuning }, ctx, label, (message) => message);
  let consumer: Kafka.KafkaConsumer | undefined;
  /** Changelog topics known to exist, with their partition count. */
  const partitionsOf = new Map<string, number>();
  let cursor: Cursor | undefined;
  /** Restores share the consumer: one at a time. */
  let restoring: Promise<unknown> = Promise.resolve();

  const connected = (): Kafka.KafkaConsumer => {
    if (!consumer) throw new Error(`${label}: not started`);
    return consumer;
  };

  /** Creates the changelog when it is missing; refuses one whose partitions are not one per task. */
  const ensureChangelog = async (c: Kafka.KafkaConsumer, topic: string, partitions: number): Promise<void> => {
    if (!partitionsOf.has(topic)) {
      const layout = { partitions, replicationFactor: config.replicationFactor, minInsyncReplicas: config.minInsyncReplicas };
      const created = await ensureTopic(config, topic, layout, changelogTopicConfig(config), c);
      if (created.outcome === 'created') log.info(`${label}: created changelog topic ${topic} (${describeTopicLayout(created)})`);
      partitionsOf.set(topic, await retrying(`reading the metadata of changelog topic ${topic}`, () => partitionCount(c, topic)));
    }
    const actual = partitionsOf.get(topic)!;
    if (actual !== partitions) {
      throw new UserFacingError(
        `${label}: changelog topic ${topic} has ${actual} partition(s), but the pipeline's input has ${partitions}: a changelog has one partition per task (input partition), so its state cannot be restored`,
        `the input's partition count changed since the changelog was made; delete topic ${topic} (the store starts empty) or give the input ${actual} partition(s) again`,
      );
    }
  };

  /** Reads `task`'s changelog partition from its start to its end as of now, through `restore`. */
  const readPartition = async (c: Kafka.KafkaConsumer, topic: string, task: TaskId, restore: ChangelogRestore): Promise<void> => {
    const { lowOffset, highOffset } = await retrying(`reading the offsets of changelog ${topic}/${task}`, () => watermarks(c, topic, task));
    if (highOffset <= lowOffset) return;
    const at: Cursor = (cursor = { topic, partition: task, next: lowOffset, eof: -1 });
    c.assign([{ topic, partition: task, offset: lowOffset }]);
    let pending = consume(c, RESTORE_BATCH);
    try {
      let progressAt = Date.now();
      while (at.next < highOffset && at.eof < highOffset) {
        const messages = await pending;
        // librdkafka gathers the next messages (on node's thread pool) while this thread applies these.
        pending = consume(c, RESTORE_BATCH);
        const before = at.next;
        for (const message of messages) {
          // A compacted partition has gaps in its offsets; what was written after the restore began is not read.
          if (message.partition !== task || message.topic !== topic || message.offset < at.next || message.offset >= highOffset) continue;
          restore.apply(message);
          at.next = message.offset + 1;
        }
        if (at.next > before) progressAt = Date.now();
        else if (Date.now() - progressAt > RESTORE_STALL_MS) {
          throw new Error(`${label}: restoring from changelog ${topic}/${task} stalled at offset ${at.next} of ${highOffset} for ${RESTORE_STALL_MS / 1000} s`);
        }
      }
    } finally {
      // The call in flight ends before the consumer is unassigned and serves another restore.
      await pending.catch(() => undefined);
      cursor = undefined;
      c.unassign();
    }
  };

  return {
    async start() {
      const c = createClient(config, () => new Kafka.KafkaConsumer(consumerOptions(config), { 'auto.offset.reset': 'earliest' }));
      forwardClientLogs(c, log, label);
      c.on('partition.eof', (eof) => {
        if (cursor && eof.topic === cursor.topic && eof.partition === cursor.partition) cursor.eof = eof.offset;
      });
      await connectClient(c, config, config.connectTimeout);
      try {
        await producer.start();
      } catch (error) {
        await disconnectClient(c, 5000);
        throw error;
      }
      consumer = c;
    },

    restore(store: string, task: TaskId, committed: Offsets, partitions: number) {
      const run = async () => {
        const c = connected();
        const topic = changelogTopic(store);
        await ensureChangelog(c, topic, partitions);
        const restore = new ChangelogRestore(committed, `changelog ${topic}/${task}`);
        await readPartition(c, topic, task, restore);
        return { entries: restore.entries(), read: restore.read };
      };
      const result = restoring.then(run, run);
      restoring = result.catch(() => undefined);
      return result;
    },

    async write(changes: readonly StoreChanges[]) {
      const topicOf = (store: string): string => {
        const topic = changelogTopic(store);
        if (!partitionsOf.has(topic)) throw new Error(`${label}: store ${store} was written before any task of it was restored (the restore creates its changelog ${topic})`);
        return topic;
      };
      if (changes.length > 0) await producer.write(changelogMessages(changes, topicOf));
    },

    async close() {
      const c = consumer;
      consumer = undefined;
      await producer.close();
      if (c) await disconnectClient(c, 10_000);
    },

    describe: (store) => `kafka changelog topic ${changelogTopic(store)} (compacted)`,
  };
}

function consume(c: Kafka.KafkaConsumer, max: number): Promise<Message[]> {
  c.setDefaultConsumeTimeout(CONSUME_WAIT_MS);
  return new Promise((resolve, reject) => c.consume(max, (error, messages) => (error ? reject(new Error(`kafka state backend: consume failed: ${error.message}`, { cause: error })) : resolve(messages))));
}

/** The partition count of `topic` as the brokers' metadata shows it; fails while a new topic has no leaders yet. */
function partitionCount(c: Kafka.KafkaConsumer, topic: string): Promise<number> {
  return new Promise((resolve, reject) =>
    c.getMetadata({ topic, timeout: 10_000 }, (error, metadata) => {
      if (error) return reject(error);
      const partitions = metadata.topics.find((t) => t.name === topic)?.partitions ?? [];
      if (partitions.length === 0 || partitions.some((p) => p.leader < 0)) return reject(new Error(`topic ${topic} has no partition leaders yet`));
      resolve(partitions.length);
    }),
  );
}

function watermarks(c: Kafka.KafkaConsumer, topic: string, partition: number): Promise<Kafka.WatermarkOffsets> {
  return new Promise((resolve, reject) => c.queryWatermarkOffsets(topic, partition, 10_000, (error, offsets) => (error ? reject(error) : resolve(offsets))));
}

/** `attempt` until it succeeds, for up to 15 s (a topic just created takes a moment to have leaders everywhere). */
async function retrying<T>(what: string, attempt: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`kafka state backend: ${what} failed: ${(error as Error).message}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
    }
  }
}
