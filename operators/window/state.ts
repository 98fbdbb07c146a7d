/**
 * The state of the `window` operator: one aggregate per (window, group), found by window start and
 * then by group key, with the starts in state kept in a min-heap, so that closing the windows the
 * watermark has passed takes them from the front instead of scanning the whole state.
 *
 * Every window of one operator has the same size, so ordering by start is ordering by end.
 *
 * @see operator.ts — the operator that fills it and decides what to emit
 */
import type { Aggregates } from '../grouping.ts';

/** The running aggregates of one window and one group (laid out by ../grouping.ts). */
export interface WindowAggregate extends Aggregates {
  readonly start: number;
  /** The group key (the JSON of the group values), its key in the window. */
  readonly key: string;
  /** The group's values, in `groupBy` order (never changed once created, so copies may share it). */
  readonly group: readonly unknown[];
  /** The batch in which it last changed: update mode emits the aggregates changed in a batch. */
  changedIn: number;
}

export class WindowState {
  private byStart = new Map<number, Map<string, WindowAggregate>>();
  /** Min-heap of the keys of `byStart`. */
  private starts: number[] = [];
  /** Consecutive records mostly fall in the same window: the last window looked up, to skip a lookup. */
  private lastStart = Number.NaN;
  private lastGroups: Map<string, WindowAggregate> | undefined;
  /** Aggregates held (windows × groups). */
  size = 0;

  /** The aggregate of window `start` and group `key`, made by `create(start)` when absent. */
  aggregate(start: number, key: string, create: (start: number) => WindowAggregate): WindowAggregate {
    let groups = start === this.lastStart ? this.lastGroups : this.byStart.get(start);
    if (groups === undefined) {
      groups = new Map();
      this.byStart.set(start, groups);
      this.push(start);
    }
    this.lastStart = start;
    this.lastGroups = groups;
    let found = groups.get(key);
    if (found === undefined) {
      found = create(start);
      groups.set(key, found);
      this.size++;
    }
    return found;
  }

  /** The aggregate of window `start` and group `key`, if there is one. */
  get(start: number, key: string): WindowAggregate | undefined {
    return this.byStart.get(start)?.get(key);
  }

  /** The latest window start held, if any. */
  latestStart(): number | undefined {
    let latest: number | undefined;
    for (const start of this.byStart.keys()) if (latest === undefined || start > latest) latest = start;
    return latest;
  }

  /**
   * Removes every window that starts at or before `lastStart`, in start order (within a window, in the
   * order its groups were first seen), handing each aggregate to `visit`.
   */
  evictUpTo(lastStart: number, visit: (aggregate: WindowAggregate) => void): void {
    while (this.starts.length > 0 && this.starts[0] <= lastStart) {
      const start = this.pop();
      const groups = this.byStart.get(start)!;
      this.byStart.delete(start);
      this.size -= groups.size;
      for (const aggregate of groups.values()) visit(aggregate);
    }
    this.lastStart = Number.NaN;
    this.lastGroups = undefined;
  }

  /** A deep copy: accumulators and change marks are copied, group values shared (they never change). */
  clone(): WindowState {
    const copy = new WindowState();
    for (const [start, groups] of this.byStart) {
      const groupsCopy = new Map<string, WindowAggregate>();
      for (const [key, a] of groups) groupsCopy.set(key, { start: a.start, key: a.key, group: a.group, acc: a.acc.slice(), ...(a.latest ? { latest: a.latest.slice() } : {}), changedIn: a.changedIn });
      copy.byStart.set(start, groupsCopy);
    }
    copy.starts = this.starts.slice();
    copy.size = this.size;
    return copy;
  }

  private push(start: number): void {
    const heap = this.starts;
    let i = heap.push(start) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent] <= start) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = start;
  }

  private pop(): number {
    const heap = this.starts;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const child = left + 1 < heap.length && heap[left + 1] < heap[left] ? left + 1 : left;
        if (heap[child] >= last) break;
        heap[i] = heap[child];
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
