/**
 * memory — reads an in-process channel (testing/memory-channels.ts) with a committed position like a
 * Kafka partition: no broker, deterministic, its position inspectable by tests and the test driver.
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
import { memoryStore } from '../testing/memory-channels.ts';

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
  /** The one task, reported at the first read after the start with the committed position. */
  let assignmentReported = false;
  return {
    async start() {
      if (config.records) for (const value of config.records) channel.append({ key: null, value, timestamp: now() });
      position = channel.committed;
      assignmentReported = false;
    },
    async read(maxRecords) {
      const start = position;
      const records = channel.records.slice(start, start + maxRecords);
      position += records.length;
      channel.readPosition = position;
      const batch = batchOf(records, start);
      if (assignmentReported) return batch;
      assignmentReported = true;
      return { ...batch, assigned: [{ task: 0, committed: { index: channel.committed } }] };
    },
    partitions: async () => 1,
    positionScope: config.channel,
    async commit(batch) {
      if (channel.failNextCommits > 0) {
        channel.failNextCommits--;
        throw new Error(`memory channel ${config.channel}: injected commit failure`);
      }
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
    'Reads an append-only in-process channel with a committed position, like a single Kafka partition. A `memory` sink of another pipeline, a test or the test driver appends to it. Rolled-back records are read again from the committed position. The channel is its pipeline\'s one task (0): with a `state` backend, the task\'s state is restored at the start from the committed position.',
  fields,
  examples: ['source: { type: memory, channel: users, records: [{ id: 1 }, { id: 2 }], finite: true }'],
  create: (config, ctx) => memorySource(config, ctx.topology, () => ctx.scheduler.now()),
});
