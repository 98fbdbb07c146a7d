/**
 * The kafka source's per-partition bookkeeping: `topic/partition` keys, and which partitions a member
 * owns, where a rollback seeks back to, and how far each partition has been read. Pure, so it is
 * unit-tested without a broker (test/unit/kafka/offsets.test.ts).
 *
 * See also: ./source.ts, which keeps one PartitionPositions per consumer.
 */
import type { TopicPartition, TopicPartitionOffset } from 'node-rdkafka';
import type { Offsets } from '../../topology/types.ts';

/** `topic/partition`, the keys of a Kafka batch's offsets. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/** The inverse of `partitionKey` (topic names cannot contain `/`). */
export function parsePartitionKey(key: string): TopicPartition {
  const slash = key.lastIndexOf('/');
  return { topic: key.slice(0, slash), partition: Number(key.slice(slash + 1)) };
}

/**
 * Per-partition bookkeeping of a consumer that commits only acknowledged batches: which partitions it
 * owns, the first uncommitted offset of each (where a rollback seeks back to), the next offset it will
 * hand out, and the end of the partition when it last reached it. Pure, so it is unit-tested.
 */
export class PartitionPositions {
  /** False until the group assigned partitions, and again while a rebalance is under way. */
  assignmentKnown = false;
  private readonly owned = new Set<string>();
  private readonly firstUncommitted = new Map<string, number>();
  private readonly next = new Map<string, number>();
  /** The last offset + 1 of the records handed out (EOF events do not move it, unlike `next`). */
  private readonly handedOut = new Map<string, number>();
  private readonly ends = new Map<string, number>();

  /** Partitions added to this member (eager protocol: its whole new assignment). They start afresh. */
  assign(keys: string[]): void {
    this.assignmentKnown = true;
    for (const key of keys) {
      this.owned.add(key);
      this.forget(key);
    }
  }

  /** Partitions taken away; until the next assignment the member does not know what it owns. */
  revoke(keys: string[]): void {
    this.assignmentKnown = false;
    for (const key of keys) {
      this.owned.delete(key);
      this.forget(key);
    }
  }

  owns(key: string): boolean {
    return this.owned.has(key);
  }

  ownedPartitions(): string[] {
    return [...this.owned];
  }

  /** A message handed out. The first one since the assignment (or a commit) marks where a rollback returns to. */
  noteRead(key: string, offset: number): void {
    if (!this.firstUncommitted.has(key)) this.firstUncommitted.set(key, offset);
    this.next.set(key, Math.max(this.next.get(key) ?? 0, offset + 1));
    this.handedOut.set(key, Math.max(this.handedOut.get(key) ?? 0, offset + 1));
  }

  /**
   * Whether records of `key` were handed out and not committed yet: a batch in flight holds them. A
   * rollback ends that (the records are read again later); so does a commit up to the last of them.
   */
  uncommitted(key: string): boolean {
    const end = this.handedOut.get(key);
    return end !== undefined && end > (this.firstUncommitted.get(key) ?? end);
  }

  /** The consumer reached the end of the partition at `offset` (librdkafka's partition EOF). */
  noteEnd(key: string, offset: number): void {
    this.ends.set(key, offset);
    this.next.set(key, Math.max(this.next.get(key) ?? offset, offset));
  }

  /** Split a batch's end offsets into those of partitions this member still owns, and the others. */
  commitTargets(endOffsets: Offsets): { owned: TopicPartitionOffset[]; notOwned: string[] } {
    const owned: TopicPartitionOffset[] = [];
    const notOwned: string[] = [];
    for (const [key, offset] of Object.entries(endOffsets)) {
      if (this.owned.has(key)) owned.push({ ...parsePartitionKey(key), offset: Number(offset) });
      else notOwned.push(key);
    }
    return { owned, notOwned };
  }

  /** Offsets the group coordinator accepted: a later rollback returns no further back than these. */
  markCommitted(offsets: TopicPartitionOffset[]): void {
    for (const { topic, partition, offset } of offsets) {
      const key = partitionKey(topic, partition);
      if (!this.owned.has(key)) continue;
      this.firstUncommitted.set(key, Math.max(this.firstUncommitted.get(key) ?? offset, offset));
    }
  }

  /**
   * Where each owned partition with read-but-uncommitted records must seek back to; their next offset
   * becomes that position.
   */
  rewind(): TopicPartitionOffset[] {
    const targets: TopicPartitionOffset[] = [];
    for (const key of this.owned) {
      this.handedOut.delete(key);
      const first = this.firstUncommitted.get(key);
      const next = this.next.get(key);
      if (first === undefined || next === undefined || next <= first) continue;
      targets.push({ ...parsePartitionKey(key), offset: first });
      this.next.set(key, first);
    }
    return targets;
  }

  /**
   * True when every owned partition has been read up to its end. `high` gives the partition's latest
   * known high watermark, if any.
   */
  caughtUp(high: (key: string) => number | undefined): boolean {
    if (!this.assignmentKnown) return false;
    for (const key of this.owned) {
      const next = this.next.get(key);
      const end = this.endOf(key, high);
      if (next === undefined || end === undefined || next < end) return false;
    }
    return true;
  }

  /** Messages between each owned partition's position and its end, summed over partitions where both are known. */
  lag(high: (key: string) => number | undefined): number {
    return Object.values(this.lagByPartition(high)).reduce((sum, lag) => sum + lag, 0);
  }

  /** Messages between each owned partition's position and its end, by `topic/partition`, where both are known. */
  lagByPartition(high: (key: string) => number | undefined): Record<string, number> {
    const lags: Record<string, number> = {};
    for (const key of [...this.owned].sort()) {
      const next = this.next.get(key);
      const end = this.endOf(key, high);
      if (next !== undefined && end !== undefined) lags[key] = Math.max(0, end - next);
    }
    return lags;
  }

  private endOf(key: string, high: (key: string) => number | undefined): number | undefined {
    const watermark = high(key);
    const end = this.ends.get(key);
    if (watermark === undefined) return end;
    return end === undefined ? watermark : Math.max(watermark, end);
  }

  private forget(key: string): void {
    this.firstUncommitted.delete(key);
    this.next.delete(key);
    this.handedOut.delete(key);
    this.ends.delete(key);
  }
}
