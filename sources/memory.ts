/**
 * memory — reads records from an in-process channel: a list of records that tests (or a `memory` sink
 * of another pipeline) append to, with a committed position like a Kafka partition.
 *
 * Used by the test driver and by unit tests: no broker, deterministic, and its committed position is
 * inspectable, so tests can prove that a batch is committed only after its sink acknowledged it.
 *
 * ```yaml
 * source: { type: memory, channel: users }
 * ```
 * See also: the `memory` sink, the `rate` source.
 */
import * as t from 'io-ts';
import { defineComponent } from '../topology/registry.ts';
import { optional, required, withDefault } from '../topology/spec.ts';
import { BooleanFromAny, NonEmptyString } from '../topology/codecs.ts';
import type { Source, SourceBatch, StreamRecord } from '../topology/types.ts';

/** One channel: an append-only log, the position committed by its reader, and test hooks for sinks. */
export class MemoryChannel {
  readonly records: StreamRecord[] = [];
  /** Index of the first record not yet committed by the reading source. */
  committed = 0;
  /** Index of the next record the reading source will hand out (read but uncommitted = readPosition - committed). */
  readPosition = 0;
  /** Number of commits made (each one a batch). */
  commits = 0;
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

/** Channels by topology and name (separate topologies never share a channel). */
class MemoryStore {
  private readonly channels = new Map<string, MemoryChannel>();

  channel(topology: string, name: string): MemoryChannel {
    const id = `${topology}/${name}`;
    let channel = this.channels.get(id);
    if (!channel) this.channels.set(id, (channel = new MemoryChannel()));
    return channel;
  }

  /** Forget every channel of a topology. */
  reset(topology: string): void {
    for (const id of [...this.channels.keys()]) if (id.startsWith(`${topology}/`)) this.channels.delete(id);
  }
}

export const memoryStore = new MemoryStore();

const fields = {
  channel: required(NonEmptyString, 'Name of the in-process channel to read.'),
  records: optional(t.array(t.unknown), 'Values appended to the channel when the source starts (a fixed data set).'),
  finite: withDefault(BooleanFromAny, false, 'true: the pipeline ends once every record has been read and committed.'),
};

export function memorySource(config: { channel: string; records?: unknown[]; finite: boolean }, topology: string, now: () => number): Source {
  const channel = memoryStore.channel(topology, config.channel);
  let position = channel.committed;
  const batchOf = (records: StreamRecord[], start: number): SourceBatch => ({
    records,
    startOffsets: { index: start },
    endOffsets: { index: start + records.length },
    caughtUp: start + records.length >= channel.records.length,
    finished: config.finite && start + records.length >= channel.records.length,
    metrics: { lag: channel.records.length - (start + records.length) },
  });
  return {
    async start() {
      if (config.records) for (const value of config.records) channel.append({ key: null, value, timestamp: now() });
      position = channel.committed;
    },
    async read(maxRecords) {
      const start = position;
      const records = channel.records.slice(start, start + maxRecords);
      position += records.length;
      channel.readPosition = position;
      return batchOf(records, start);
    },
    async commit(batch) {
      channel.committed = Number(batch.endOffsets.index);
      channel.commits++;
    },
    async rollback() {
      position = channel.committed;
      channel.readPosition = position;
    },
    async close() {},
    describe: () => `memory channel ${config.channel}`,
  };
}

defineComponent({
  kind: 'source',
  type: 'memory',
  summary: 'Reads records from an in-process channel (tests, the test driver).',
  description:
    'Reads an append-only in-process channel with a committed position, like a single Kafka partition. A `memory` sink of another pipeline, a test or the test driver appends to it. Rolled-back records are read again from the committed position.',
  fields,
  examples: ['source: { type: memory, channel: users, records: [{ id: 1 }, { id: 2 }], finite: true }'],
  create: (config, ctx) => memorySource(config, ctx.topology, () => ctx.scheduler.now()),
});
