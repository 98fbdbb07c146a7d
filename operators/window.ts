/**
 * Aggregates records per event-time window and group: Spark Structured Streaming's
 * `withWatermark(time, lateness).groupBy(window(time, size, slide), fields…).agg(…)`.
 *
 * A record's event time is its `timestamp` (for Kafka records, the message timestamp) or a field
 * holding an ISO-8601 date-time or milliseconds since the epoch. It puts the record in one `tumbling`
 * window of `size`, or in every `sliding` window of `size` (one starts every `slide`) that contains
 * it. Windows are aligned to the Unix epoch — 1-minute windows start at whole UTC minutes — and hold
 * the times from their start up to, not including, their end. Within a window, records are grouped
 * by the `groupBy` values and aggregated: count, sum, min, max, avg.
 *
 * The watermark is the largest event time seen so far minus `allowedLateness`. It moves at the end of
 * each micro-batch; within a batch, lateness is judged against the watermark the batch started with.
 * A window closes when the watermark reaches its end (end ≤ watermark): its state is dropped, so
 * memory is bounded by the lateness, not by the length of the stream. A record whose windows are all
 * closed is late: it is counted, and dropped or dead-lettered (`lateRecords`).
 *
 * `outputMode: append` emits each window once, when it closes, with its final aggregate; `update`
 * emits, at the end of each batch, every window whose aggregate changed in it, open ones included.
 * A row is `{ window_start, window_end, <group fields>, <aggregations> }` with ISO-8601 UTC times,
 * keyed `["<window_start>", <group values>…]` and timestamped with the window's end.
 *
 * State lives in memory. The runtime snapshots it before each batch and restores it when a batch
 * fails, so redelivered records are not counted twice. A restart loses it, and a window that began
 * before the restart would be emitted short of the records before the committed offset: so windows
 * that start at or before the first event time of the run plus `allowedLateness` are never emitted
 * (counted as `windowsSkippedIncomplete`). Records whose origin says `readFromStart` (a Kafka partition
 * this consumer group never committed, read from its first record) cannot follow an earlier run's, so
 * they set no cutoff: a new group writes its first windows too. docs/windows.md explains why.
 *
 * @example
 * ```yaml
 * - type: window
 *   kind: tumbling
 *   size: 1m
 *   eventTime: timestamp
 *   groupBy: [nat, gender]
 *   aggregations: { users: { fn: count } }
 *   allowedLateness: 10s
 * ```
 *
 * @see dedupe — the other stateful operator
 * @see window-state.ts — the state: aggregates by window and group, window starts in a min-heap
 */
import * as t from 'io-ts';
import { Observable, type Subscriber } from 'rxjs';
import { Duration, NonEmptyString, PositiveDuration, isPlainObject, mapOf, oneOf } from '../topology/codecs.ts';
import { parseIsoTime } from '../topology/time.ts';
import { defineComponent, problem, type ConfigProblem } from '../topology/registry.ts';
import { objectCodec, optional, required, withDefault, type ConfigOf } from '../topology/spec.ts';
import type { BatchScope, ComponentContext, Operator, StreamRecord } from '../topology/types.ts';
import { compilePath, kindOf, parsePath, PathText, type Accessor } from './path.ts';
import { WindowState, type WindowAggregate } from './window-state.ts';

// ---------------------------------------------------------------------------------------------------
// Config


export type EventTime = 'timestamp' | { field: string };

const eventTimeField = objectCodec('event time field', {
  field: required(PathText, 'Path of a field holding an ISO-8601 date-time with a zone, or milliseconds since the epoch.'),
});

const EventTimeCodec = new t.Type<EventTime, unknown, unknown>(
  'timestamp (the record timestamp), or { field: <path> }',
  (u): u is EventTime => u === 'timestamp' || (isPlainObject(u) && typeof u.field === 'string'),
  (u, c) => (u === 'timestamp' ? t.success(u) : isPlainObject(u) ? eventTimeField.validate(u, c) : t.failure(u, c)),
  (a) => a,
);

export type GroupField = string | { path: string; name?: string };

const groupFieldObject = objectCodec('group field', {
  path: required(PathText, 'Path of the value to group by.'),
  name: optional(NonEmptyString, 'Name of the output field (default: the last field name of the path).'),
});

const GroupFieldCodec = new t.Type<GroupField, unknown, unknown>(
  'a path, or { path, name }',
  (u): u is GroupField => typeof u === 'string' || (isPlainObject(u) && typeof u.path === 'string'),
  (u, c) => (typeof u === 'string' ? PathText.validate(u, c) : isPlainObject(u) ? groupFieldObject.validate(u, c) : t.failure(u, c)),
  (a) => a,
);

const FUNCTIONS = ['count', 'sum', 'min', 'max', 'avg'] as const;
type AggregateFunction = (typeof FUNCTIONS)[number];

export interface Aggregation {
  fn: AggregateFunction;
  path?: string;
}

const aggregationObject = objectCodec('aggregation', {
  fn: required(oneOf(FUNCTIONS), 'The aggregate function.'),
  path: optional(PathText, 'Path of the value aggregated; count without a path counts records, with one the records where it is not null.'),
});

const AggregationCodec = new t.Type<Aggregation, unknown, unknown>(
  'an aggregation such as { fn: count } or { fn: avg, path: dob.age }',
  (u): u is Aggregation => isPlainObject(u) && typeof u.fn === 'string',
  (u, c) => {
    const result = aggregationObject.validate(u, c);
    if (result._tag === 'Left' || result.right.fn === 'count' || result.right.path !== undefined) return result;
    return t.failure(u, c, `${result.right.fn} needs a path: the value it aggregates, e.g. { fn: ${result.right.fn}, path: dob.age }`);
  },
  (a) => a,
);

const Aggregations = mapOf('a map of output names to aggregations, e.g. { users: { fn: count } }', AggregationCodec, { nonEmpty: true });

const fields = {
  kind: required(oneOf(['tumbling', 'sliding']), 'tumbling: back-to-back windows of `size`; sliding: windows of `size` starting every `slide`, a record counting in each one that contains it.'),
  size: required(PositiveDuration, 'Length of a window, e.g. 1m. Windows are aligned to the Unix epoch (UTC) and exclude their end.'),
  slide: optional(
    PositiveDuration,
    'Sliding windows only (required there): time between window starts, at most `size`. It need not divide `size`; when it does not, a record is in ⌊size/slide⌋ or ⌈size/slide⌉ windows.',
  ),
  eventTime: required(
    EventTimeCodec,
    '`timestamp`: the record timestamp (for Kafka records, the message timestamp); or `{ field: <path> }`: an ISO-8601 date-time with a zone (Z or ±hh:mm; a date alone is UTC midnight) or milliseconds since the epoch. A record without a usable event time goes to the dead-letter output.',
  ),
  groupBy: withDefault(
    t.array(GroupFieldCodec, 'a list of paths or { path, name }'),
    [] as GroupField[],
    'The values to group by, each output under the last field name of its path (`location.country` → `country`) or `{ path, name }`. A record whose value there is missing, null, an object or an array goes to the dead-letter output.',
  ),
  aggregations: required(
    Aggregations,
    'Output name → `{ fn, path }`: `count` (records; with a path, records where it is not null), `sum`, `min`, `max`, `avg` of the numbers (or numeric strings) at `path`. A null or missing value is left out, as in SQL (and a result over no values is null); any other non-number sends the record to the dead-letter output.',
  ),
  allowedLateness: required(Duration, 'How far behind the largest event time seen a record may be and still be counted (Spark\'s withWatermark delay); the watermark is the largest event time minus this.'),
  lateRecords: withDefault(oneOf(['drop', 'deadLetter']), 'drop', 'A record whose windows the watermark has closed: dropped, or sent to the dead-letter output. Counted either way.'),
  outputMode: withDefault(oneOf(['append', 'update']), 'append', 'append: each window once, when the watermark closes it, final; update: after each batch, every window that changed in it.'),
};

export type WindowConfig = ConfigOf<typeof fields>;

// ---------------------------------------------------------------------------------------------------
// Event time

const iso = (ms: number): string => new Date(ms).toISOString();

// ---------------------------------------------------------------------------------------------------
// The operator

const NUMERIC_TEXT = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

/** The last field name of a path: `location.country` → `country`, `results[0]` → `results`. */
function lastName(path: string): string {
  return parsePath(path).findLast((segment): segment is string => typeof segment === 'string')!;
}

/** A value as a dead-letter reason shows it: short scalars as JSON, other values by kind. */
function shown(value: unknown): string {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return kindOf(value);
  const text = typeof value === 'number' && !Number.isFinite(value) ? String(value) : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

interface Snapshot {
  state: WindowState;
  watermark: number;
  maxEventTime: number;
  cutoff: number | undefined;
  counters: Counters;
}

interface Counters {
  lateRecordsDropped: number;
  lateRecordsDeadLettered: number;
  windowsEmitted: number;
  windowsSkippedIncomplete: number;
}

const groupNameOf = (g: GroupField): string => (typeof g === 'string' ? lastName(g) : (g.name ?? lastName(g.path)));
const outputNamesOf = (groupBy: GroupField[]): string[] => groupBy.map(groupNameOf);

/** The spec's check: the slide against the kind and size, and output field names that collide. */
function windowProblems(config: WindowConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (config.kind === 'sliding' && config.slide === undefined) problems.push(problem('slide', 'a sliding window needs slide, the time between window starts (e.g. slide: 10s)'));
  if (config.kind === 'tumbling' && config.slide !== undefined) problems.push(problem('slide', 'only sliding windows have a slide; remove it, or make kind: sliding'));
  if (config.slide !== undefined && config.slide > config.size) {
    problems.push(problem('slide', `${config.slide} ms is longer than size (${config.size} ms), which would leave records between windows in none`));
  }
  const taken = new Map<string, string>([
    ['window_start', 'the window'],
    ['window_end', 'the window'],
  ]);
  const outputs: Array<[string, string, string]> = [
    ...outputNamesOf(config.groupBy).map((name, i): [string, string, string] => [name, `groupBy.${i}`, `groupBy[${i}]`]),
    ...Object.keys(config.aggregations).map((name): [string, string, string] => [name, `aggregations.${name}`, `aggregations.${name}`]),
  ];
  for (const [name, path, shown] of outputs) {
    const other = taken.get(name);
    if (other !== undefined) problems.push(problem(path, `output field "${name}" is already ${other}'s; name it differently (a group field as { path, name })`));
    else taken.set(name, shown);
  }
  return problems;
}

export function windowOperator(config: WindowConfig, ctx: ComponentContext): Operator {
  const { kind, size, allowedLateness: lateness, outputMode, lateRecords } = config;
  const step = config.slide ?? size;
  const groupPaths = config.groupBy.map((g) => (typeof g === 'string' ? g : g.path));
  const groupNames = outputNamesOf(config.groupBy);
  const aggregationNames = Object.keys(config.aggregations);
  const aggregations = Object.values(config.aggregations);

  const readGroup = groupPaths.map(compilePath);
  const readAggregated = aggregations.map((a): Accessor | undefined => (a.path === undefined ? undefined : compilePath(a.path)));
  const readEventField = config.eventTime === 'timestamp' ? undefined : compilePath(config.eventTime.field);
  const eventTimeName = config.eventTime === 'timestamp' ? 'the record timestamp' : `event time field ${config.eventTime.field}`;
  const append = outputMode === 'append';
  // Window ends must stay within what a Date can hold (±8.64e15 ms), so that they can be written.
  const maxTime = 8.64e15 - 2 * size;

  // Reused for every record: the group values and the aggregated numbers read from it (NaN = none).
  const groupValues: unknown[] = new Array(readGroup.length);
  const numbers = new Float64Array(aggregations.length);

  let state = new WindowState();
  let watermark = -Infinity;
  let maxEventTime = -Infinity;
  /**
   * Windows starting at or before this are not written (the restart rule): undefined before the first
   * record, -Infinity while every record came from a partition read from its start, then the first
   * other record's event time + allowedLateness.
   */
  let cutoff: number | undefined;
  let counters: Counters = { lateRecordsDropped: 0, lateRecordsDeadLettered: 0, windowsEmitted: 0, windowsSkippedIncomplete: 0 };
  // Stamps aggregates with the batch that changed them; never restored, so stamps stay unique.
  let batches = 0;

  /** The event time in ms, or why the record has none. */
  function eventTimeOf(record: StreamRecord): number | string {
    const found = readEventField === undefined ? record.timestamp : readEventField(record.value);
    const ms = typeof found === 'string' ? parseIsoTime(found, { withoutZone: 'refuse' }) : found;
    if (typeof ms === 'number' && ms >= -maxTime && ms <= maxTime) return ms;
    return `${eventTimeName} is ${shown(found)}, expected an ISO-8601 date-time with a zone or milliseconds since the epoch`;
  }

  /** The group key (the JSON of each value, comma-separated), filling `groupValues`; or why there is none. */
  function groupKeyOf(value: unknown): string | { reason: string } {
    let key = '';
    for (let i = 0; i < readGroup.length; i++) {
      const found = readGroup[i](value);
      if (typeof found !== 'string' && typeof found !== 'boolean' && !(typeof found === 'number' && Number.isFinite(found))) {
        return { reason: `group field ${groupPaths[i]} is ${shown(found)}, expected a string, number or boolean` };
      }
      groupValues[i] = found;
      key = i === 0 ? JSON.stringify(found) : `${key},${JSON.stringify(found)}`;
    }
    return key;
  }

  /** Fills `numbers` from the record; or says which value is not a number. */
  function readNumbers(value: unknown): string | undefined {
    for (let i = 0; i < aggregations.length; i++) {
      const read = readAggregated[i];
      if (read === undefined) {
        numbers[i] = 1;
        continue;
      }
      const found = read(value);
      if (found === undefined || found === null) numbers[i] = Number.NaN;
      else if (aggregations[i].fn === 'count') numbers[i] = 1;
      else if (typeof found === 'number' && Number.isFinite(found)) numbers[i] = found;
      else if (typeof found === 'string' && NUMERIC_TEXT.test(found)) numbers[i] = Number(found);
      else return `aggregation ${aggregationNames[i]} (${aggregations[i].fn} of ${aggregations[i].path}) is ${shown(found)}, expected a number`;
    }
    return undefined;
  }

  const newAggregate = (start: number): WindowAggregate => ({ start, group: groupValues.slice(), acc: new Array<number>(2 * aggregations.length).fill(0), changedIn: 0 });

  /** acc[2i] is the count, sum, min or max of aggregation i; acc[2i + 1] how many values it has seen. */
  function accumulate(acc: number[]): void {
    for (let i = 0; i < aggregations.length; i++) {
      const n = numbers[i];
      if (Number.isNaN(n)) continue;
      const j = 2 * i;
      switch (aggregations[i].fn) {
        case 'count':
          acc[j] += 1;
          break;
        case 'sum':
        case 'avg':
          acc[j] += n;
          break;
        case 'min':
          if (acc[j + 1] === 0 || n < acc[j]) acc[j] = n;
          break;
        case 'max':
          if (acc[j + 1] === 0 || n > acc[j]) acc[j] = n;
          break;
      }
      acc[j + 1] += 1;
    }
  }

  function result(i: number, acc: number[]): number | null {
    const j = 2 * i;
    if (aggregations[i].fn === 'count') return acc[j];
    if (acc[j + 1] === 0) return null;
    return aggregations[i].fn === 'avg' ? acc[j] / acc[j + 1] : acc[j];
  }

  function row(aggregate: WindowAggregate): StreamRecord {
    const windowStart = iso(aggregate.start);
    const value: Record<string, unknown> = { window_start: windowStart, window_end: iso(aggregate.start + size) };
    for (let i = 0; i < groupNames.length; i++) value[groupNames[i]] = aggregate.group[i];
    for (let i = 0; i < aggregations.length; i++) value[aggregationNames[i]] = result(i, aggregate.acc);
    return { key: JSON.stringify([windowStart, ...aggregate.group]), value, timestamp: aggregate.start + size };
  }

  // Not part of the snapshot: a failed batch's restore clears the cutoff, and the retry must not say it again.
  let announcedFromStart = false;
  let announcedCutoff = false;
  /**
   * Says once per run which windows it will not write, and when the first row is due: otherwise the
   * sink's table stays empty for a minute or two after every start with nothing to say why.
   */
  function announceCutoff(first: number): void {
    if (announcedCutoff) return;
    announcedCutoff = true;
    const cutoff = first + lateness;
    // Window starts are multiples of the step: the first one after the cutoff is the first complete window.
    const firstWritten = (Math.floor(cutoff / step) + 1) * step;
    const due = append ? `is written once event time reaches ${iso(firstWritten + size + lateness)} (its end + allowed lateness)` : 'is written from its first record on';
    const before = announcedFromStart ? ' (earlier windows of this run, already written, are not rewritten)' : '';
    ctx.logger.info(
      `windows starting at or before ${iso(cutoff)} (this run's first event time ${iso(first)} + allowed lateness) are not written by this run${before}: ` +
        `they may hold records an earlier run committed (docs/windows.md, "Restarts"); the first window written, [${iso(firstWritten)}, ${iso(firstWritten + size)}), ${due}`,
    );
  }

  function announceFromStart(): void {
    if (announcedFromStart || announcedCutoff) return;
    announcedFromStart = true;
    ctx.logger.info(
      `the first record comes from a partition read from its start, never committed by this consumer group: no earlier run can have written its windows, so every window is written (docs/windows.md, "Restarts")`,
    );
  }

  /** Sets the restart cutoff from the first record that could follow an earlier run's committed ones. */
  function noteFirst(record: StreamRecord, time: number): void {
    if (record.origin?.readFromStart === true) {
      if (cutoff === undefined) {
        cutoff = -Infinity;
        announceFromStart();
      }
      return;
    }
    cutoff = time + lateness;
    announceCutoff(time);
  }

  /** Whether every record of a window starting at `start` was seen by this run (see the restart rule above). */
  const complete = (start: number): boolean => cutoff !== undefined && start > cutoff;

  function late(record: StreamRecord, time: number, lastStart: number, scope: BatchScope): void {
    if (lateRecords === 'drop') {
      counters.lateRecordsDropped++;
      return;
    }
    counters.lateRecordsDeadLettered++;
    const windows = kind === 'tumbling' ? `its window [${iso(lastStart)}, ${iso(lastStart + size)})` : `all its windows, the last [${iso(lastStart)}, ${iso(lastStart + size)})`;
    scope.deadLetter(record, `late: event time ${iso(time)} is before the watermark ${iso(watermark)}, which has closed ${windows}`);
  }

  function processBatch(source: Observable<StreamRecord>, out: Subscriber<StreamRecord>, scope: BatchScope) {
    const batch = ++batches;
    const changed: WindowAggregate[] = [];

    function handle(record: StreamRecord): void {
      const time = eventTimeOf(record);
      if (typeof time === 'string') return scope.deadLetter(record, time);
      const lastStart = Math.floor(time / step) * step;
      if (lastStart + size <= watermark) return late(record, time, lastStart, scope);
      const key = groupKeyOf(record.value);
      if (typeof key !== 'string') return scope.deadLetter(record, key.reason);
      const notNumber = readNumbers(record.value);
      if (notNumber !== undefined) return scope.deadLetter(record, notNumber);
      if (time > maxEventTime) maxEventTime = time;
      if (cutoff === undefined || cutoff === -Infinity) noteFirst(record, time);
      // Every window containing the record that the watermark has not closed (tumbling: just one).
      for (let start = lastStart; start > time - size && start + size > watermark; start -= step) {
        const aggregate = state.aggregate(start, key, newAggregate);
        accumulate(aggregate.acc);
        if (!append && aggregate.changedIn !== batch) {
          aggregate.changedIn = batch;
          changed.push(aggregate);
        }
      }
    }

    function emit(aggregate: WindowAggregate): void {
      counters.windowsEmitted++;
      out.next(row(aggregate));
    }

    function endBatch(): void {
      if (maxEventTime - lateness > watermark) watermark = maxEventTime - lateness;
      if (!append) {
        changed.sort((a, b) => a.start - b.start);
        for (const aggregate of changed) if (complete(aggregate.start)) emit(aggregate);
      }
      state.evictUpTo(watermark - size, (aggregate) => {
        if (!complete(aggregate.start)) counters.windowsSkippedIncomplete++;
        else if (append) emit(aggregate);
      });
    }

    // An exception here is a bug, not a bad record: it fails the batch (whose state is then restored).
    return source.subscribe({
      next(record) {
        try {
          handle(record);
        } catch (error) {
          out.error(error);
        }
      },
      error: (error: unknown) => out.error(error),
      complete() {
        try {
          endBatch();
          out.complete();
        } catch (error) {
          out.error(error);
        }
      },
    });
  }

  const slideText = kind === 'sliding' ? ` every ${step} ms` : '';
  const aggregationText = aggregations.map((a, i) => `${aggregationNames[i]} = ${a.fn}(${a.path ?? '*'})`).join(', ');
  return {
    apply: (source, scope) => new Observable<StreamRecord>((out) => processBatch(source, out, scope)),
    watermark: () => (watermark === -Infinity ? undefined : watermark),
    metrics: () => ({ windowsInState: state.size, ...counters }),
    snapshot: (): Snapshot => ({ state: state.clone(), watermark, maxEventTime, cutoff, counters: { ...counters } }),
    restore(snapshot) {
      const saved = snapshot as Snapshot;
      // A copy again: the same snapshot is restored again if the redelivered batch fails too.
      state = saved.state.clone();
      ({ watermark, maxEventTime, cutoff } = saved);
      counters = { ...saved.counters };
    },
    describe: () =>
      `${kind} windows of ${size} ms${slideText} by ${config.eventTime === 'timestamp' ? 'record timestamp' : config.eventTime.field}` +
      `${groupNames.length > 0 ? `, grouped by ${groupPaths.join(', ')}` : ''}: ${aggregationText} (allowed lateness ${lateness} ms, ${outputMode} mode)`,
  };
}

defineComponent({
  kind: 'operator',
  type: 'window',
  summary: 'Aggregates records per event-time window (tumbling or sliding) and group, with a watermark for late records (Spark withWatermark + window).',
  description:
    'Puts each record, by its event time, in a tumbling window of `size` or in every sliding window (one per `slide`) that contains it — windows aligned to the Unix epoch, end excluded — and aggregates it with the others of its `groupBy` values. ' +
    'The watermark is the largest event time seen minus `allowedLateness` and moves at the end of each micro-batch; a window closes when the watermark reaches its end, and its state is then dropped, so memory is bounded by the lateness. ' +
    'A record whose windows are all closed is late: counted, and dropped or dead-lettered. `append` emits each window once, final, when it closes; `update` emits after each batch every window that changed in it. ' +
    'A row is `{ window_start, window_end, <group fields>, <aggregations> }` (ISO-8601 UTC times), keyed by window start and group values, timestamped with the window end: upsert it by (window_start, group fields). ' +
    'State is in memory: snapshotted before each batch and restored when a batch fails (no double counting), lost on a restart — so windows starting at or before the first event time of a run plus `allowedLateness`, which may hold records from before the committed offset, are never emitted; records from a Kafka partition the group never committed, read from its start, set no such cutoff (see docs/windows.md). ' +
    'Metrics: windowsInState, lateRecordsDropped, lateRecordsDeadLettered, windowsEmitted, windowsSkippedIncomplete.',
  fields,
  examples: [
    'type: window\nkind: tumbling\nsize: 1m\neventTime: timestamp\ngroupBy: [nat, gender]\naggregations: { users: { fn: count } }\nallowedLateness: 10s',
    'type: window\nkind: sliding\nsize: 10m\nslide: 1m\neventTime: { field: created_at }\ngroupBy: [{ path: location.country, name: country }]\naggregations:\n  users: { fn: count }\n  mean_age: { fn: avg, path: dob.age }\nallowedLateness: 1m\nlateRecords: deadLetter\noutputMode: update',
  ],
  check: windowProblems,
  create: windowOperator,
});
