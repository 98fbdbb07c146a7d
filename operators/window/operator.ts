/**
 * The `window` operator itself: event times, group keys and aggregates per record; the watermark,
 * the restart cutoff and what each batch emits. Its config and spec are in config.ts and index.ts.
 */
import { Observable, type Subscriber } from 'rxjs';
import { parseIsoTime } from '../../topology/time.ts';
import type { BatchScope, ComponentContext, Operator, StreamRecord } from '../../topology/types.ts';
import { compilePath, kindOf, type Accessor } from '../path.ts';
import { outputNamesOf, type WindowConfig } from './config.ts';
import { WindowState, type WindowAggregate } from './state.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

const NUMERIC_TEXT = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

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
