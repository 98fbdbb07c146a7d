/**
 * window — aggregates records per event-time window (tumbling or sliding) and group, with a watermark
 * (Spark Structured Streaming's `withWatermark(...).groupBy(window(...), ...).agg(...)`).
 *
 * ```yaml
 * - type: window
 *   kind: tumbling
 *   size: 1m
 *   eventTime: timestamp
 *   groupBy: [nat, gender]
 *   aggregations: { users: { fn: count } }
 *   allowedLateness: 10s
 * ```
 * See also: docs/windows.md (watermarks, output modes, restarts), the `dedupe` operator (the other
 * stateful one); config.ts (the spec's fields and check), operator.ts, state.ts.
 */
import { defineComponent } from '../../topology/registry.ts';
import { fields, windowProblems } from './config.ts';
import { windowOperator } from './operator.ts';
import { repartitionSteps } from '../repartition.ts';

export { windowOperator };
export type { WindowConfig } from './config.ts';

defineComponent({
  kind: 'operator',
  type: 'window',
  summary: 'Aggregates records per event-time window (tumbling or sliding) and group, with a watermark for late records (Spark withWatermark + window).',
  description:
    'Puts each record, by its event time, in a tumbling window of `size` or in every sliding window (one per `slide`) that contains it — windows aligned to the Unix epoch, end excluded — and aggregates it with the others of its `groupBy` values. ' +
    'The watermark is the largest event time seen (by the process, or with `watermarkPer: task` by the record\'s task) minus `allowedLateness` and moves at the end of each micro-batch (within a batch, lateness is judged against the watermark the batch started with); a window closes when the watermark reaches its end, and its state is then dropped, so memory is bounded by the lateness. ' +
    'A record whose windows are all closed is late: counted, and dropped or dead-lettered. `append` emits each window once, final, when it closes; `update` emits after each batch every window that changed in it. ' +
    'A row is `{ window_start, window_end, <group fields>, <aggregations> }` (ISO-8601 UTC times), keyed by window start and group values, timestamped with the window end: upsert it by (window_start, group fields). ' +
    'State is kept per task (input partition), and merged over the tasks when a window is written: snapshotted before each batch and restored when a batch fails (no double counting); with the pipeline\'s `state` backend, each batch\'s changes go to the store `windows`\' changelog before its offsets are committed, and a task\'s windows, event time and watermark come back when the task is assigned — a restart, a crash or a swap loses nothing and counts nothing twice (docs/windows.md). Without one, a restart starts empty. ' +
    'With `idleTimeout`, an input that stops still gets its last windows written; with `closeAtEnd`, an availableNow run writes every window it holds before it ends. ' +
    'Metrics: windowsInState, tasks, lateRecordsDropped, lateRecordsDeadLettered, windowsEmitted.',
  fields,
  examples: [
    'type: window\nkind: tumbling\nsize: 1m\neventTime: timestamp\ngroupBy: [nat, gender]\naggregations: { users: { fn: count } }\nallowedLateness: 10s\nidleTimeout: 1m',
    'type: window\nkind: sliding\nsize: 10m\nslide: 1m\neventTime: { field: created_at }\ngroupBy: [{ path: location.country, name: country }]\naggregations:\n  users: { fn: count }\n  mean_age: { fn: avg, path: dob.age }\nallowedLateness: 1m\nlateRecords: deadLetter\noutputMode: update',
  ],
  check: windowProblems,
  // Through the repartition topic every group lives in one task: each task keeps its own watermark.
  repartition: (config) => ({ ...repartitionSteps(config.groupBy), operatorFields: { watermarkPer: 'task' } }),
  keepsValues: true,
  create: windowOperator,
});
