/**
 * Whether the kafka source reads a partition from its start (RecordOrigin.readFromStart), learnt at the
 * first read after an assignment from the group's committed offsets and the partition's low watermark.
 *
 * See also: ./source.ts, which asks before each read; operators/window/, whose restart rule uses it.
 */
import type Kafka from 'node-rdkafka';
import type { TopicPartition, TopicPartitionOffset } from 'node-rdkafka';
import type { Logger } from 'winston';
import { parsePartitionKey, partitionKey } from './positions.ts';

/** How long the queries that tell whether a newly assigned partition is read from its start may take. */
const START_QUERY_TIMEOUT_MS = 5_000;

/**
 * The group's committed offsets of `partitions`, read from the coordinator (undefined or negative when
 * none). The source's commit reads its offsets back with it too.
 */
export function committedOffsets(consumer: Kafka.KafkaConsumer, partitions: TopicPartition[], timeoutMs: number): Promise<Map<string, number | undefined>> {
  return new Promise((resolve, reject) =>
    consumer.committed(
      partitions.map(({ topic, partition }) => ({ topic, partition })),
      timeoutMs,
      (error, offsets) => (error ? reject(error) : resolve(new Map(offsets.map((o) => [partitionKey(o.topic, o.partition), o.offset])))),
    ),
  );
}

/**
 * Whether a partition of a new assignment can be read from its start (see RecordOrigin.readFromStart):
 * only when the group had committed none of the partitions assigned with it — one committed partition
 * means an earlier run — and then only if reading begins at the partition's low watermark (`latest` on
 * a non-empty partition begins after it). Here, the first half: undefined for "ask the low watermark".
 */
export function startsOfAssignment(committed: ReadonlyMap<string, number | undefined>, keys: readonly string[]): Map<string, false | undefined> {
  // No entry: not known (the coordinator did not answer), so perhaps committed. An entry without an offset: none.
  const anyCommitted = keys.some((key) => !committed.has(key) || (committed.get(key) ?? -1) >= 0);
  return new Map(keys.map((key) => [key, anyCommitted ? false : undefined]));
}

function lowWatermarkOf(consumer: Kafka.KafkaConsumer, topic: string, partition: number): Promise<number> {
  return new Promise((resolve, reject) =>
    consumer.queryWatermarkOffsets(topic, partition, START_QUERY_TIMEOUT_MS, (error, offsets) => (error ? reject(error) : resolve(offsets.lowOffset))),
  );
}

/**
 * Per owned partition, whether this run reads it from its start. The source tells it about rebalances
 * and asks it before handing out each read's messages.
 */
export class PartitionStarts {
  /** Per owned partition; undefined while its low watermark is still to be compared with its first record. */
  private readonly fromStart = new Map<string, boolean | undefined>();
  /** Partitions assigned since the last read: their committed offsets are asked before any is committed. */
  private newlyAssigned: string[] = [];
  /** Bumped by every rebalance, so that an answer about an assignment that has since changed is not kept. */
  private rebalances = 0;

  constructor(
    private readonly log: Logger,
    private readonly description: string,
  ) {}

  /** A rebalance moved `keys` (either way): what was known or asked about them is void. */
  rebalanced(keys: readonly string[]): void {
    this.rebalances++;
    for (const key of keys) this.fromStart.delete(key);
    this.newlyAssigned = this.newlyAssigned.filter((key) => !keys.includes(key));
  }

  /** `keys` were assigned: the next read asks about them. */
  assigned(keys: readonly string[]): void {
    this.newlyAssigned.push(...keys);
  }

  /** The whole assignment was dropped. */
  clear(): void {
    this.fromStart.clear();
    this.newlyAssigned = [];
  }

  /** Whether the records of partition `key` say `readFromStart` (known after `learn` for this read's messages). */
  readsFromStart(key: string): boolean {
    return this.fromStart.get(key) === true;
  }

  /**
   * Learns what this read needs: about the newly assigned partitions, and about those of `messages`
   * (whose partition keys are `keys`) still open.
   */
  async learn(consumer: Kafka.KafkaConsumer, messages: readonly TopicPartitionOffset[], keys: readonly string[]): Promise<void> {
    const firsts = new Map<string, TopicPartitionOffset>();
    messages.forEach(({ topic, partition, offset }, i) => {
      if (this.fromStart.get(keys[i]) === undefined && !firsts.has(keys[i])) firsts.set(keys[i], { topic, partition, offset });
    });
    if (this.newlyAssigned.length > 0 || firsts.size > 0) await this.learnStarts(consumer, firsts);
  }

  /**
   * Whether this run reads the newly assigned partitions, and those whose first record is in `firsts`,
   * from their start. When the group coordinator or the broker does not answer, the answer is no: the
   * window operator then keeps its restart cutoff, which is always safe.
   */
  private async learnStarts(c: Kafka.KafkaConsumer, firsts: Map<string, TopicPartitionOffset>): Promise<void> {
    const { fromStart, log, description } = this;
    const asked = this.rebalances;
    if (this.newlyAssigned.length > 0) {
      const keys = this.newlyAssigned;
      this.newlyAssigned = [];
      const committed = await committedOffsets(c, keys.map(parsePartitionKey), START_QUERY_TIMEOUT_MS).catch((error: Error) => {
        log.info(`${description}: could not read the group's committed offsets of ${keys.join(', ')} (${error.message}); treating them as resumed`);
        return new Map<string, number | undefined>();
      });
      // The assignment changed meanwhile, and its partitions may have been committed since: no, except
      // for partitions assigned again, which the next read asks about.
      if (asked !== this.rebalances) return keys.forEach((key) => this.newlyAssigned.includes(key) || fromStart.set(key, false));
      for (const [key, start] of startsOfAssignment(committed, keys)) fromStart.set(key, start);
    }
    const open = [...firsts].filter(([key]) => fromStart.has(key) && fromStart.get(key) === undefined);
    if (open.length === 0) return;
    const lows = await Promise.all(open.map(([, first]) => lowWatermarkOf(c, first.topic, first.partition).catch(() => undefined)));
    if (asked !== this.rebalances) return open.forEach(([key]) => this.newlyAssigned.includes(key) || fromStart.set(key, false));
    const started: string[] = [];
    open.forEach(([key, first], i) => {
      const low = lows[i];
      fromStart.set(key, low !== undefined && first.offset <= low);
      if (fromStart.get(key)) started.push(key);
    });
    if (started.length > 0) log.info(`${description}: ${started.join(', ')} read from the start: the group had committed none of its partitions`);
  }
}
