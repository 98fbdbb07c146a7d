/**
 * Test helpers: create a topic, produce to it, and read a whole topic — exactly what it holds, from each
 * partition's low to its high watermark — so a test can say "the topic contains exactly these messages".
 */
import { randomUUID } from 'node:crypto';
import Kafka from 'node-rdkafka';
import type { Message } from 'node-rdkafka';
import { textHeaders } from '../../clients/kafka.ts';

/** Create `topic` with `config` (topic-level settings such as max.message.bytes). */
export async function createTopic(brokers: string, topic: string, partitions: number, config: Record<string, string> = {}): Promise<void> {
  const admin = Kafka.AdminClient.create({ 'bootstrap.servers': brokers, log_level: 0 });
  try {
    await new Promise<void>((resolve, reject) => admin.createTopic({ topic, num_partitions: partitions, replication_factor: 1, config }, 15_000, (error) => (error ? reject(error) : resolve())));
  } finally {
    admin.disconnect();
  }
}

export interface Produced {
  key?: string;
  value: string | Buffer;
  /** librdkafka's choice by key when absent. */
  partition?: number;
  /** Epoch ms; the producer's time when absent. */
  timestamp?: number;
}

/**
 * Produce `messages` in order (idempotent producer) and wait for every delivery report: resolves with each
 * message's partition and offset, in the order given; rejects with the first delivery error.
 */
export async function produce(brokers: string, topic: string, messages: Produced[], config: Record<string, string | number | boolean> = {}): Promise<Array<{ partition: number; offset: number }>> {
  const producer = new Kafka.Producer({ 'bootstrap.servers': brokers, dr_cb: true, 'enable.idempotence': true, 'linger.ms': 5, log_level: 0, ...config }, { 'message.timeout.ms': 30_000 });
  await new Promise<void>((resolve, reject) => producer.connect({ timeout: 15_000 }, (error) => (error ? reject(error) : resolve())));
  try {
    const reports: Array<{ partition: number; offset: number }> = new Array(messages.length);
    await new Promise<void>((resolve, reject) => {
      let delivered = 0;
      producer.on('delivery-report', (error, report) => {
        if (error) return reject(new Error(`message ${String(report?.opaque)}: ${error.message}`));
        reports[report.opaque as number] = { partition: report.partition, offset: report.offset };
        if (++delivered === messages.length) resolve();
      });
      producer.setPollInterval(5);
      messages.forEach((m, i) => producer.produce(topic, m.partition ?? null, typeof m.value === 'string' ? Buffer.from(m.value) : m.value, m.key, m.timestamp ?? Date.now(), i));
      if (messages.length === 0) resolve();
    });
    return reports;
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
}

export async function deleteTopics(brokers: string, topics: string[]): Promise<void> {
  const admin = Kafka.AdminClient.create({ 'bootstrap.servers': brokers, log_level: 0 });
  for (const topic of topics) await new Promise<void>((resolve) => admin.deleteTopic(topic, 10_000, () => resolve()));
  admin.disconnect();
}

/** Every message of `topic`, partition by partition in offset order. Fails after `timeoutMs`. */
export async function readTopic(brokers: string, topic: string, timeoutMs = 60_000): Promise<Message[]> {
  const consumer = new Kafka.KafkaConsumer(
    // Large messages (the 1 MiB poison) must come through: librdkafka grows its fetch size up to these.
    { 'bootstrap.servers': brokers, 'group.id': `reader-${randomUUID()}`, 'enable.auto.commit': false, 'fetch.message.max.bytes': 16 * 1024 * 1024, log_level: 0 },
    {},
  );
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 15_000, topic }, (error) => (error ? reject(error) : resolve())));
  try {
    const metadata = await new Promise<Kafka.Metadata>((resolve, reject) => consumer.getMetadata({ topic, timeout: 15_000 }, (error, data) => (error ? reject(error) : resolve(data))));
    const partitions = metadata.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
    if (partitions.length === 0) throw new Error(`topic ${topic} has no partitions (does it exist?)`);
    const ranges = new Map<number, { low: number; high: number }>();
    for (const partition of partitions) {
      const { lowOffset, highOffset } = await new Promise<Kafka.WatermarkOffsets>((resolve, reject) =>
        consumer.queryWatermarkOffsets(topic, partition, 15_000, (error, offsets) => (error ? reject(error) : resolve(offsets))),
      );
      ranges.set(partition, { low: lowOffset, high: highOffset });
    }
    consumer.assign(partitions.filter((p) => ranges.get(p)!.high > ranges.get(p)!.low).map((partition) => ({ topic, partition, offset: ranges.get(partition)!.low })));
    const next = new Map(partitions.map((p) => [p, ranges.get(p)!.low]));
    const messages: Message[] = [];
    const deadline = Date.now() + timeoutMs;
    consumer.setDefaultConsumeTimeout(200);
    while (partitions.some((p) => next.get(p)! < ranges.get(p)!.high)) {
      if (Date.now() > deadline) throw new Error(`reading ${topic}: ${messages.length} message(s) after ${timeoutMs} ms, positions ${JSON.stringify([...next])} of ${JSON.stringify([...ranges])}`);
      const batch = await new Promise<Message[]>((resolve, reject) => consumer.consume(1000, (error, got) => (error ? reject(error) : resolve(got))));
      for (const message of batch) {
        messages.push(message);
        next.set(message.partition, message.offset + 1);
      }
    }
    return messages.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/**
 * Every committed message of `topic` as a read_committed consumer sees it, partition by partition in
 * offset order. A transactional topic's high watermark counts control records such a consumer never
 * gets, so each partition is read until the consumer reports its end (partition EOF).
 */
export async function readCommitted(brokers: string, topic: string, timeoutMs = 60_000): Promise<Message[]> {
  const consumer = new Kafka.KafkaConsumer(
    { 'bootstrap.servers': brokers, 'group.id': `reader-${randomUUID()}`, 'enable.auto.commit': false, 'enable.partition.eof': true, 'isolation.level': 'read_committed', log_level: 0 },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 15_000, topic }, (error) => (error ? reject(error) : resolve())));
  try {
    const metadata = await new Promise<Kafka.Metadata>((resolve, reject) => consumer.getMetadata({ topic, timeout: 15_000 }, (error, data) => (error ? reject(error) : resolve(data))));
    const partitions = metadata.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
    if (partitions.length === 0) throw new Error(`topic ${topic} has no partitions (does it exist?)`);
    const ended = new Set<number>();
    consumer.on('partition.eof', (eof) => ended.add(eof.partition));
    consumer.assign(partitions.map((partition) => ({ topic, partition, offset: 0 })));
    consumer.setDefaultConsumeTimeout(200);
    const messages: Message[] = [];
    const deadline = Date.now() + timeoutMs;
    while (ended.size < partitions.length) {
      if (Date.now() > deadline) throw new Error(`reading ${topic} (read_committed): ${messages.length} message(s) after ${timeoutMs} ms, at the end of partition(s) ${[...ended].join(', ') || 'none'} of ${partitions.join(', ')}`);
      const batch = await new Promise<Message[]>((resolve, reject) => consumer.consume(1000, (error, got) => (error ? reject(error) : resolve(got))));
      messages.push(...batch);
    }
    return messages.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/** A message's headers as one object (node-rdkafka gives a list of one-entry objects). */
export function headersOf(message: Message): Record<string, string> {
  return textHeaders(message.headers ?? []);
}
