/**
 * In-process channels for tests and the test driver: append-only lists of records with a committed
 * position like a Kafka partition (read by the `memory` source), and fault hooks that make a `memory`
 * sink writing to a channel slow or failing — so tests can prove commit-after-ack and backpressure;
 * and the `memory` state backend's changelogs, which outlive a pipeline within the process.
 */
import type { StreamRecord } from '../topology/types.ts';

/** One channel: an append-only log, the position committed by its reader, and test hooks for sinks. */
export class MemoryChannel {
  readonly records: StreamRecord[] = [];
  /** Index of the first record not yet committed by the reading source. */
  committed = 0;
  /** Index of the next record the reading source will hand out (read but uncommitted = readPosition - committed). */
  readPosition = 0;
  /** Number of commits made (each one a batch). */
  commits = 0;
  /** Set by tests: the reading source's next N commits fail (as a lost commit would). */
  failNextCommits = 0;
  /** Set by tests to make a memory sink writing here slow or failing. */
  behaviour: MemorySinkBehaviour = {};
  /** Every write call a memory sink made here, in order, with its size (acknowledged or not). */
  readonly writeCalls: number[] = [];

  append(...items: Array<StreamRecord | unknown>): void {
    for (const item of items) this.records.push(isStreamRecord(item) ? item : { key: null, value: item, timestamp: Date.now() });
  }

  values(): unknown[] {
    return this.records.map((r) => r.value);
  }
}

export interface MemorySinkBehaviour {
  /** Delay (ms, on the pipeline's scheduler) before each write is acknowledged. */
  delayMs?: number;
  /** The delay of one write, by its records (instead of `delayMs`): lets a later batch be acknowledged first. */
  delayOf?: (records: readonly StreamRecord[]) => number;
  /** Fail the next N write calls. */
  failNextWrites?: number;
  /** Fail a write containing a record for which this returns true, after appending the records before it. */
  failOn?: (record: StreamRecord) => boolean;
  /** Error thrown by the failures above. */
  error?: () => Error;
}

function isStreamRecord(item: unknown): item is StreamRecord {
  return typeof item === 'object' && item !== null && 'value' in item && 'timestamp' in item && 'key' in item;
}

/** One changelog entry of the `memory` state backend. */
export interface MemoryChangelogEntry {
  task: number;
  key: string;
  /** The value as JSON text; undefined: the key was deleted. */
  value: string | undefined;
  /** The task's source position the change reflects. */
  position: Record<string, number | string>;
}

/** A store's changelog, in the order it was written, and a fault hook for tests. */
export class MemoryChangelog {
  readonly entries: MemoryChangelogEntry[] = [];
  /** Fail the next N writes (the batch then fails and is retried). */
  failNextWrites = 0;
}

/** Channels and changelogs by topology and name (separate topologies never share one). */
class MemoryStore {
  private readonly channels = new Map<string, MemoryChannel>();
  private readonly changelogs = new Map<string, MemoryChangelog>();

  changelog(topology: string, store: string): MemoryChangelog {
    const id = `${topology}/${store}`;
    let found = this.changelogs.get(id);
    if (!found) this.changelogs.set(id, (found = new MemoryChangelog()));
    return found;
  }

  channel(topology: string, name: string): MemoryChannel {
    const id = `${topology}/${name}`;
    let channel = this.channels.get(id);
    if (!channel) this.channels.set(id, (channel = new MemoryChannel()));
    return channel;
  }

  /** Forget every channel and changelog of a topology. */
  reset(topology: string): void {
    for (const map of [this.channels, this.changelogs]) for (const id of [...map.keys()]) if (id.startsWith(`${topology}/`)) map.delete(id);
  }
}

export const memoryStore = new MemoryStore();
