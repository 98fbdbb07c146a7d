/**
 * Revokes that wait for the batch in flight, as a Kafka Streams task finishes its batch, flushes its
 * state and commits before its partition is given up: a cooperative revoke of partitions whose records
 * a batch in flight holds is kept here until that batch committed (or was rolled back), or until a
 * timeout, after which it is given up anyway. Time runs on the injected scheduler, so it is unit-tested
 * in virtual time (test/unit/kafka/revokes.test.ts).
 *
 * See also: ./source.ts, which unassigns what this hands back; ./positions.ts, which says whether a
 * partition has records in flight.
 */
import { timer, type SchedulerLike, type Subscription } from 'rxjs';
import type { TopicPartition } from 'node-rdkafka';

/** One revoke as the group handed it over: its partition keys, and its partitions as librdkafka gave them. */
export interface Revoke {
  keys: string[];
  partitions: TopicPartition[];
}

export class PendingRevokes {
  private pending: Array<{ revoke: Revoke; timeout: Subscription }> = [];

  constructor(
    private readonly scheduler: SchedulerLike,
    /** How long a revoke may wait. */
    readonly waitMs: number,
    /** A revoke that waited `waitMs`: it is no longer pending, and must be given up now. */
    private readonly timedOut: (revoke: Revoke) => void,
  ) {}

  get size(): number {
    return this.pending.length;
  }

  /** Whether `key` is waiting to be revoked: its records are no longer handed out. */
  includes(key: string): boolean {
    return this.pending.some((p) => p.revoke.keys.includes(key));
  }

  /** Keep `revoke` until it is due, or `waitMs` passed. */
  add(revoke: Revoke): void {
    const entry = {
      revoke,
      timeout: timer(this.waitMs, this.scheduler).subscribe(() => {
        this.pending = this.pending.filter((p) => p !== entry);
        this.timedOut(revoke);
      }),
    };
    this.pending.push(entry);
  }

  /** The revokes none of whose partitions has records in flight (`inFlight`), no longer pending. */
  takeDue(inFlight: (key: string) => boolean): Revoke[] {
    const due = this.pending.filter((p) => !p.revoke.keys.some(inFlight));
    return this.take(due);
  }

  /** Every pending revoke (a rollback, a close, a failed rebalance), no longer pending. */
  takeAll(): Revoke[] {
    return this.take(this.pending);
  }

  private take(entries: typeof this.pending): Revoke[] {
    this.pending = this.pending.filter((p) => !entries.includes(p));
    for (const p of entries) p.timeout.unsubscribe();
    return entries.map((p) => p.revoke);
  }
}
