/**
 * The console's reads and writes of Kafka: the latest messages of a topic (dead letters, peeks), its
 * partitions' offsets and each consumer group's lag, and producing messages back (replay). Clients are
 * made per call from a component's client config (brokers, SASL, TLS: clients/kafka.ts), with a group id
 * of their own that never joins a group, so the console never takes partitions from a pipeline.
 */
import { randomUUID } from 'node:crypto';
import Kafka from 'node-rdkafka';
import type { Message } from 'node-rdkafka';
import { librdkafkaConfig, type KafkaClientConfig } from '../../clients/kafka.ts';

const TIMEOUT_MS = 15_000;
/** Dead letters may be as large as the dead-letter sink's default limit (16 MiB). */
const FETCH_MAX_BYTES = 16 * 1024 * 1024;

function consumer(client: KafkaClientConfig, groupId = `user-stream-console-${randomUUID()}`, extra: Record<string, string | number | boolean> = {}): Kafka.KafkaConsumer {
  return new Kafka.KafkaConsumer(
    { ...librdkafkaConfig(client), 'group.id': groupId, 'enable.auto.commit': false, 'fetch.message.max.bytes': FETCH_MAX_BYTES, log_level: 0, ...extra },
    { 'auto.offset.reset': 'earliest' },
  );
}

async function connected<T>(c: Kafka.KafkaConsumer, use: (c: Kafka.KafkaConsumer) => Promise<T>): Promise<T> {
  await new Promise<void>((resolve, reject) => c.connect({ timeout: TIMEOUT_MS }, (error) => (error ? reject(new Error(`Kafka: ${error.message}`)) : resolve())));
  try {
    return await use(c);
  } finally {
    await new Promise<void>((resolve) => c.disconnect(() => resolve()));
  }
}

export interface PartitionOffsets {
  partition: number;
  low: number;
  high: number;
}

async function partitionOffsets(c: Kafka.KafkaConsumer, topic: string): Promise<PartitionOffsets[]> {
  const metadata = await new Promise<Kafka.Metadata>((resolve, reject) => c.getMetadata({ topic, timeout: TIMEOUT_MS }, (error, data) => (error ? reject(error) : resolve(data))));
  const partitions = metadata.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
  const out: PartitionOffsets[] = [];
  for (const partition of partitions.sort((a, b) => a - b)) {
    const { lowOffset, highOffset } = await new Promise<Kafka.WatermarkOffsets>((resolve, reject) => c.queryWatermarkOffsets(topic, partition, TIMEOUT_MS, (error, offsets) => (error ? reject(error) : resolve(offsets))));
    out.push({ partition, low: lowOffset, high: highOffset });
  }
  return out;
}

/**
 * The last `perPartition` committed messages of each partition of `topic` (read_committed: a
 * transactional writer's aborted messages are left out), oldest first within a partition.
 */
export async function latestMessages(client: KafkaClientConfig, topic: string, perPartition: number): Promise<Message[]> {
  const c = consumer(client, undefined, { 'enable.partition.eof': true, 'isolation.level': 'read_committed' });
  return connected(c, async () => {
    const offsets = (await partitionOffsets(c, topic)).filter((p) => p.high > p.low);
    if (offsets.length === 0) return [];
    const ended = new Set<number>();
    c.on('partition.eof', (eof) => ended.add(eof.partition));
    c.assign(offsets.map((p) => ({ topic, partition: p.partition, offset: Math.max(p.low, p.high - perPartition) })));
    c.setDefaultConsumeTimeout(200);
    const messages: Message[] = [];
    const deadline = Date.now() + TIMEOUT_MS;
    // A transactional topic's high watermark counts control records a reader never gets: read to each partition's end.
    while (ended.size < offsets.length && Date.now() < deadline) {
      const batch = await new Promise<Message[]>((resolve, reject) => c.consume(500, (error, got) => (error ? reject(error) : resolve(got))));
      messages.push(...batch);
    }
    return messages.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  });
}

/** The message at `partition`/`offset` of `topic`, if there is one. */
export async function messageAt(client: KafkaClientConfig, topic: string, partition: number, offset: number): Promise<Message | undefined> {
  const c = consumer(client, undefined, { 'enable.partition.eof': true, 'isolation.level': 'read_committed' });
  return connected(c, async () => {
    let ended = false;
    c.on('partition.eof', () => (ended = true));
    c.assign([{ topic, partition, offset }]);
    c.setDefaultConsumeTimeout(200);
    const deadline = Date.now() + TIMEOUT_MS;
    while (!ended && Date.now() < deadline) {
      const batch = await new Promise<Message[]>((resolve, reject) => c.consume(1, (error, got) => (error ? reject(error) : resolve(got))));
      const found = batch.find((m) => m.offset >= offset);
      if (found) return found.offset === offset ? found : undefined;
    }
    return undefined;
  });
}

export interface GroupLag {
  groupId: string;
  /** Per partition: the committed offset (undefined: nothing committed) and the records behind the end. */
  partitions: Array<{ partition: number; committed?: number; lag: number }>;
  lag: number;
}

export interface TopicReport {
  topic: string;
  partitions: Array<PartitionOffsets & { messages: number }>;
  messages: number;
  groups: GroupLag[];
}

/** A topic's partitions and messages, and for each of `groups` what it committed and its lag. */
export async function topicReport(client: KafkaClientConfig, topic: string, groups: string[]): Promise<TopicReport> {
  const offsets = await connected(consumer(client), (c) => partitionOffsets(c, topic));
  const report: TopicReport = { topic, partitions: offsets.map((p) => ({ ...p, messages: p.high - p.low })), messages: offsets.reduce((n, p) => n + p.high - p.low, 0), groups: [] };
  for (const groupId of groups) {
    // A consumer that never subscribes asks the coordinator for the group's offsets without joining it.
    const committed = await connected(consumer(client, groupId), (c) =>
      new Promise<Kafka.TopicPartitionOffset[]>((resolve, reject) => c.committed(offsets.map((p) => ({ topic, partition: p.partition })), TIMEOUT_MS, (error, got) => (error ? reject(error) : resolve(got)))),
    );
    const partitions = offsets.map((p) => {
      const at = committed.find((tp) => tp.partition === p.partition)?.offset;
      const done = at !== undefined && at >= 0 ? at : undefined;
      return { partition: p.partition, ...(done !== undefined ? { committed: done } : {}), lag: Math.max(0, p.high - (done ?? p.low)) };
    });
    report.groups.push({ groupId, partitions, lag: partitions.reduce((n, p) => n + p.lag, 0) });
  }
  return report;
}

export interface OutgoingReplay {
  topic: string;
  key: string | Buffer | null;
  value: Buffer;
  timestamp: number | null;
  headers: Array<Record<string, string>>;
}

/** Produce `messages` (idempotent producer) and wait for every delivery report; rejects with the first error. */
export async function produceAll(client: KafkaClientConfig, messages: OutgoingReplay[]): Promise<void> {
  if (messages.length === 0) return;
  const producer = new Kafka.Producer({ ...librdkafkaConfig(client), dr_cb: true, 'enable.idempotence': true, 'message.max.bytes': FETCH_MAX_BYTES, log_level: 0 }, {});
  await new Promise<void>((resolve, reject) => producer.connect({ timeout: TIMEOUT_MS }, (error) => (error ? reject(new Error(`Kafka: ${error.message}`)) : resolve())));
  try {
    await new Promise<void>((resolve, reject) => {
      let delivered = 0;
      producer.on('delivery-report', (error) => {
        if (error) reject(new Error(`Kafka: ${error.message}`));
        else if (++delivered === messages.length) resolve();
      });
      producer.setPollInterval(10);
      for (const m of messages) producer.produce(m.topic, null, m.value, m.key ?? undefined, m.timestamp ?? Date.now(), undefined, m.headers);
    });
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
}
