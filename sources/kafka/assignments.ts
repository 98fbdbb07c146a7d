/**
 * The tasks a kafka source reports (topology/types.ts, SourceBatch.assigned and revoked): a task is a
 * partition number; at the first read after partitions are assigned, the group's committed offsets of
 * them are read from the coordinator, so that the pipeline can restore each task's state as of its
 * committed position before any of its records is processed.
 *
 * See also: ./source.ts, which tells it about rebalances and asks it before each read.
 */
import type Kafka from 'node-rdkafka';
import type { TopicPartition } from 'node-rdkafka';
import type { Offsets, TaskId } from '../../topology/types.ts';
import { parsePartitionKey, partitionKey } from './positions.ts';

/** How long reading the committed offsets of a new assignment may take (a timeout fails the read, which is retried). */
const COMMITTED_QUERY_TIMEOUT_MS = 10_000;

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

/** Per task (partition number), the committed position of each of its partitions (-1: never committed). */
export function tasksOf(keys: readonly string[], committed: ReadonlyMap<string, number | undefined>): Array<{ task: TaskId; committed: Offsets }> {
  const byTask = new Map<TaskId, Record<string, number>>();
  for (const key of keys) {
    const { partition } = parsePartitionKey(key);
    let offsets = byTask.get(partition);
    if (!offsets) byTask.set(partition, (offsets = {}));
    const offset = committed.get(key);
    offsets[key] = offset === undefined || offset < 0 ? -1 : offset;
  }
  return [...byTask].map(([task, offsets]) => ({ task, committed: offsets }));
}

export class Assignments {
  /** Partition keys assigned since the last report. */
  private assigned: string[] = [];
  /** Partition numbers revoked since the last report. */
  private revoked = new Set<TaskId>();

  /** `keys` were assigned. */
  add(keys: readonly string[]): void {
    this.assigned = [...this.assigned, ...keys.filter((key) => !this.assigned.includes(key))];
    for (const key of keys) this.revoked.delete(parsePartitionKey(key).partition);
  }

  /** `keys` were revoked (`stillOwned`: whether a partition key is still this member's, e.g. another topic's same partition). */
  remove(keys: readonly string[], stillOwned: (key: string) => boolean, owned: readonly string[]): void {
    this.assigned = this.assigned.filter((key) => !keys.includes(key));
    for (const key of keys) {
      const task = parsePartitionKey(key).partition;
      if (!owned.some((other) => stillOwned(other) && parsePartitionKey(other).partition === task)) this.revoked.add(task);
    }
  }

  /**
   * What the next read reports: tasks revoked, and tasks assigned with their committed positions. A
   * failed query throws, and the assignment stays to be reported by the next read.
   */
  async report(consumer: Kafka.KafkaConsumer): Promise<{ assigned?: Array<{ task: TaskId; committed: Offsets }>; revoked?: TaskId[] }> {
    const out: { assigned?: Array<{ task: TaskId; committed: Offsets }>; revoked?: TaskId[] } = {};
    if (this.assigned.length > 0) {
      const keys = this.assigned;
      const committed = await committedOffsets(consumer, keys.map(parsePartitionKey), COMMITTED_QUERY_TIMEOUT_MS);
      // Assigned or revoked again while the query ran: the next read reports what is true then.
      if (this.assigned === keys) {
        this.assigned = [];
        out.assigned = tasksOf(keys, committed);
      }
    }
    if (this.revoked.size > 0) {
      out.revoked = [...this.revoked];
      this.revoked.clear();
    }
    return out;
  }
}
