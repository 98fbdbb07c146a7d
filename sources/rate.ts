/**
 * rate — generates records at a fixed rate, like Spark's rate source: record n carries `{ value: n,
 * timestamp }` and becomes available at startTime + n / rowsPerSecond.
 *
 * For benchmarks and demos: a steady, known offered load with no external system. Its position is the
 * next value; a rollback regenerates the same values.
 *
 * ```yaml
 * source: { type: rate, rowsPerSecond: 1000, totalRows: 60000 }
 * ```
 * See also: the `memory` source.
 */
import { defineComponent } from '../topology/registry.ts';
import { optional, withDefault } from '../topology/spec.ts';
import { PositiveInt } from '../topology/codecs.ts';
import type { Source, StreamRecord } from '../topology/types.ts';

const fields = {
  rowsPerSecond: withDefault(PositiveInt, 1, 'Records made available per second.'),
  totalRows: optional(PositiveInt, 'Stop after this many records (the pipeline then ends); unbounded when absent.'),
};

export function rateSource(config: { rowsPerSecond: number; totalRows?: number }, now: () => number): Source {
  let startTime = 0;
  let position = 0;
  let committed = 0;
  return {
    async start() {
      startTime = now();
    },
    async read(maxRecords) {
      const due = Math.floor(((now() - startTime) * config.rowsPerSecond) / 1000);
      const limit = Math.min(due, config.totalRows ?? Infinity, position + maxRecords);
      const records: StreamRecord[] = [];
      for (let n = position; n < limit; n++) {
        const timestamp = startTime + Math.floor((n * 1000) / config.rowsPerSecond);
        records.push({ key: String(n), value: { value: n, timestamp }, timestamp });
      }
      const start = position;
      position = Math.max(position, limit);
      return {
        records,
        startOffsets: { value: start },
        endOffsets: { value: position },
        caughtUp: position >= due,
        finished: config.totalRows !== undefined && position >= config.totalRows,
      };
    },
    async commit(batch) {
      committed = Number(batch.endOffsets.value);
    },
    async rollback() {
      position = committed;
    },
    async close() {},
    describe: () => `rate ${config.rowsPerSecond}/s${config.totalRows ? ` (${config.totalRows} rows)` : ''}`,
  };
}

defineComponent({
  kind: 'source',
  type: 'rate',
  summary: 'Generates records at a fixed rate (benchmarks, demos).',
  description: "Like Spark's rate source: record n is `{ value: n, timestamp }`, available at start + n / rowsPerSecond, keyed by n.",
  fields,
  examples: ['source: { type: rate, rowsPerSecond: 1000, totalRows: 60000 }'],
  create: (config, ctx) => rateSource(config, () => ctx.scheduler.now()),
});
