/**
 * ReplayBuffer — commit and rollback for a source that cannot re-read its input (an HTTP poll): items
 * get consecutive sequence numbers as they are appended, `take` hands them out in order, and the
 * handed-out ones are kept until `commit`; `rollback` puts them back at the front, in their order.
 *
 * @example
 * const buffer = new ReplayBuffer<StreamRecord>();
 * buffer.append(records);                      // sequence numbers buffer.end, end + 1, …
 * const { firstSeq, items } = buffer.take(100); // handed out, uncommitted
 * buffer.commit(firstSeq + items.length);      // forgotten for good
 * buffer.rollback();                           // or: readable again, before the rest
 */

/** Items with consecutive sequence numbers from `firstSeq`. */
export interface Chunk<T> {
  firstSeq: number;
  items: T[];
}

export class ReplayBuffer<T> {
  /** Not yet handed out, in order; `head` indexes into the first chunk. */
  private ready: Chunk<T>[] = [];
  private head = 0;
  private readyCount = 0;
  /** Handed out, not yet committed, in order (one chunk per `take`). */
  private pending: Chunk<T>[] = [];
  private pendingCount = 0;
  private nextSeq = 0;

  /** Items not yet handed out. */
  get buffered(): number {
    return this.readyCount;
  }

  /** Items handed out and not yet committed. */
  get uncommitted(): number {
    return this.pendingCount;
  }

  /** The sequence number of the next item `take` hands out. */
  get position(): number {
    return this.ready.length > 0 ? this.ready[0].firstSeq + this.head : this.nextSeq;
  }

  /** The sequence number the next appended item gets. */
  get end(): number {
    return this.nextSeq;
  }

  /** Add items after every other; they get the sequence numbers `end`, `end + 1`, … */
  append(items: T[]): void {
    if (items.length === 0) return;
    this.ready.push({ firstSeq: this.nextSeq, items });
    this.nextSeq += items.length;
    this.readyCount += items.length;
  }

  /** Hand out up to `max` items in order (across appended chunks); they stay uncommitted until `commit`. */
  take(max: number): Chunk<T> {
    const firstSeq = this.position;
    const items: T[] = [];
    while (items.length < max && this.ready.length > 0) {
      const chunk = this.ready[0].items;
      const end = Math.min(chunk.length, this.head + max - items.length);
      for (let i = this.head; i < end; i++) items.push(chunk[i]);
      this.head = end;
      if (this.head === chunk.length) {
        this.ready.shift();
        this.head = 0;
      }
    }
    this.readyCount -= items.length;
    if (items.length > 0) {
      this.pending.push({ firstSeq, items });
      this.pendingCount += items.length;
    }
    return { firstSeq, items };
  }

  /** Forget the handed-out items before `endSeq`, a whole `take` at a time (takes are committed in order). */
  commit(endSeq: number): void {
    while (this.pending.length > 0 && this.pending[0].firstSeq + this.pending[0].items.length <= endSeq) {
      this.pendingCount -= this.pending.shift()!.items.length;
    }
  }

  /** Put every uncommitted item back at the front, in order. False when there was none. */
  rollback(): boolean {
    if (this.pending.length === 0) return false;
    if (this.head > 0) {
      const first = this.ready[0];
      this.ready[0] = { firstSeq: first.firstSeq + this.head, items: first.items.slice(this.head) };
      this.head = 0;
    }
    this.ready.unshift(...this.pending);
    this.readyCount += this.pendingCount;
    this.pending = [];
    this.pendingCount = 0;
    return true;
  }
}
