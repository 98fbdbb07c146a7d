/**
 * Plain node-rdkafka clients for the benchmark: topic admin, a producer that reports each message's
 * delivery (partition, offset), and a consumer that reads a topic from the start. No framework code,
 * so the ceilings they measure are the client library's.
 */
import Kafka from 'node-rdkafka';
import type { DeliveryReport, LibrdKafkaError, Message } from 'node-rdkafka';
import { sleep } from './stats.ts';

const ERR = Kafka.CODES.ERRORS;

function admin(brokers: string): Kafka.IAdminClient {
  return Kafka.AdminClient.create({ 'bootstrap.servers': brokers, log_level: 0 } as Kafka.GlobalConfig);
}

export async function createTopic(brokers: string, topic: string, partitions: number): Promise<void> {
  const client = admin(brokers);
  try {
    await new Promise<void>((resolve, reject) =>
      client.createTopic({ topic, num_partitions: partitions, replication_factor: 1 }, 10_000, (error) => (!error || error.code === ERR.ERR_TOPIC_ALREADY_EXISTS ? resolve() : reject(error))),
    );
  } finally {
    client.disconnect();
  }
}

/** Delete topics; a topic that does not exist is fine. Returns the ones that could not be deleted, with why. */
export async function deleteTopics(brokers: string, topics: readonly string[]): Promise<string[]> {
  const client = admin(brokers);
  const failed: string[] = [];
  try {
    for (const topic of topics) {
      await new Promise<void>((resolve) =>
        client.deleteTopic(topic, 10_000, (error) => {
          if (error && error.code !== ERR.ERR_UNKNOWN_TOPIC_OR_PART) failed.push(`${topic}: ${error.message}`);
          resolve();
        }),
      );
    }
  } finally {
    client.disconnect();
  }
  return failed;
}

export interface ProducerSettings {
  compression: string;
  linger: number;
}

/** An idempotent acks=all producer (the kafka sink's guarantees), reporting deliveries to `onDelivery`. */
export async function connectProducer(brokers: string, settings: ProducerSettings, onDelivery: (error: LibrdKafkaError | undefined, report: DeliveryReport) => void): Promise<Kafka.Producer> {
  const producer = new Kafka.Producer({
    'bootstrap.servers': brokers,
    'enable.idempotence': true,
    acks: 'all',
    'compression.type': settings.compression,
    'linger.ms': settings.linger,
    dr_cb: true,
  } as Kafka.ProducerGlobalConfig);
  producer.on('delivery-report', (error, report) => onDelivery(error ?? undefined, report));
  await new Promise<void>((resolve, reject) => producer.connect({ timeout: 10_000 }, (error) => (error ? reject(error) : resolve())));
  producer.setPollInterval(5);
  return producer;
}

/** Enqueue one message, waiting while librdkafka's local queue is full. */
export async function produce(producer: Kafka.Producer, topic: string, value: Buffer, key: string, opaque?: unknown): Promise<void> {
  for (;;) {
    try {
      producer.produce(topic, null, value, key, null, opaque);
      return;
    } catch (error) {
      if ((error as LibrdKafkaError).code !== ERR.ERR__QUEUE_FULL) throw error;
      producer.poll();
      await sleep(2);
    }
  }
}

export function disconnect(client: Kafka.Producer | Kafka.KafkaConsumer): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 10_000);
    client.disconnect(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A consumer in a group of its own, reading `topic` from the beginning, committing nothing. */
export async function connectConsumer(brokers: string, topic: string, groupId: string): Promise<Kafka.KafkaConsumer> {
  const consumer = new Kafka.KafkaConsumer({ 'bootstrap.servers': brokers, 'group.id': groupId, 'enable.auto.commit': false } as Kafka.ConsumerGlobalConfig, { 'auto.offset.reset': 'earliest' });
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (error) => (error ? reject(error) : resolve())));
  consumer.subscribe([topic]);
  return consumer;
}

export function consume(consumer: Kafka.KafkaConsumer, max: number): Promise<Message[]> {
  return new Promise((resolve, reject) => consumer.consume(max, (error, messages) => (error ? reject(error) : resolve(messages))));
}

/** The messages in a topic (the sum of its partitions' high watermarks: its offsets, when nothing was compacted or transactional). */
export async function topicOffsets(brokers: string, topic: string): Promise<number> {
  // A producer's metadata request would otherwise create a missing topic (when the brokers allow it).
  const producer = new Kafka.Producer({ 'bootstrap.servers': brokers, log_level: 0, 'allow.auto.create.topics': false } as Kafka.ProducerGlobalConfig);
  await new Promise<void>((resolve, reject) => producer.connect({ timeout: 10_000 }, (error) => (error ? reject(error) : resolve())));
  try {
    const metadata = await new Promise<Kafka.Metadata>((resolve, reject) => producer.getMetadata({ topic, timeout: 10_000 }, (error, data) => (error ? reject(error) : resolve(data))));
    const partitions = metadata.topics.find((t) => t.name === topic)?.partitions ?? [];
    let total = 0;
    for (const { id } of partitions) {
      total += await new Promise<number>((resolve, reject) => producer.queryWatermarkOffsets(topic, id, 10_000, (error, offsets) => (error ? reject(error) : resolve(offsets.highOffset))));
    }
    return total;
  } finally {
    await disconnect(producer);
  }
}

/**
 * How far consumer groups have committed: the messages of their topics not yet committed, summed over
 * every partition (high watermark − committed offset; a partition with nothing committed counts from
 * its low watermark). One consumer per group, never subscribed, so it does not join the group: it only
 * asks the group coordinator for the committed offsets.
 */
export class GroupBacklog {
  private constructor(
    private readonly readers: Array<{ consumer: Kafka.KafkaConsumer; topics: string[] }>,
    private readonly timeoutMs: number,
  ) {}

  static async open(brokers: string, groups: ReadonlyArray<{ groupId: string; topics: string[] }>, timeoutMs = 10_000): Promise<GroupBacklog> {
    const readers: Array<{ consumer: Kafka.KafkaConsumer; topics: string[] }> = [];
    try {
      for (const { groupId, topics } of groups) {
        const consumer = new Kafka.KafkaConsumer({ 'bootstrap.servers': brokers, 'group.id': groupId, 'enable.auto.commit': false, log_level: 0, 'allow.auto.create.topics': false } as Kafka.ConsumerGlobalConfig, {});
        await new Promise<void>((resolve, reject) => consumer.connect({ timeout: timeoutMs }, (error) => (error ? reject(error) : resolve())));
        readers.push({ consumer, topics });
      }
    } catch (error) {
      for (const { consumer } of readers) await disconnect(consumer);
      throw error;
    }
    return new GroupBacklog(readers, timeoutMs);
  }

  /** Messages not yet committed, over every group and partition. */
  async messages(): Promise<number> {
    let total = 0;
    for (const { consumer, topics } of this.readers) {
      const partitions: Kafka.TopicPartition[] = [];
      for (const topic of topics) {
        const metadata = await new Promise<Kafka.Metadata>((resolve, reject) => consumer.getMetadata({ topic, timeout: this.timeoutMs }, (error, data) => (error ? reject(error) : resolve(data))));
        const found = metadata.topics.find((t) => t.name === topic)?.partitions ?? [];
        // A topic not created yet holds everything still to come.
        if (found.length === 0) return Infinity;
        for (const { id } of found) partitions.push({ topic, partition: id });
      }
      const committed = await new Promise<Kafka.TopicPartitionOffset[]>((resolve, reject) => consumer.committed(partitions, this.timeoutMs, (error, offsets) => (error ? reject(error) : resolve(offsets))));
      for (const { topic, partition, offset } of committed) {
        const { lowOffset, highOffset } = await new Promise<Kafka.WatermarkOffsets>((resolve, reject) =>
          consumer.queryWatermarkOffsets(topic, partition, this.timeoutMs, (error, offsets) => (error ? reject(error) : resolve(offsets))),
        );
        total += highOffset - (offset >= 0 ? offset : lowOffset);
      }
    }
    return total;
  }

  async close(): Promise<void> {
    for (const { consumer } of this.readers) await disconnect(consumer);
  }
}
