/**
 * The `window` operator itself: event times, groups and aggregates per record, kept per task (input
 * partition) so that a task's state can be restored and can move with its partition; the watermark,
 * and what each batch emits — merged over the tasks that hold a window — and writes to the changelog.
 * Its config and spec are in config.ts and index.ts.
 */
import type { Subscriber } from 'rxjs';
import { parseIsoTime } from '../../topology/time.ts';
import { taskOf, type BatchScope, type ComponentContext, type Operator, type StoreEntries, type StreamRecord, type TaskId } from '../../topology/types.ts';
import { compilePath } from '../path.ts';
import { perBatch, type BatchHandler } from '../per-record.ts';
import { Grouping, shown, type Aggregates } from '../grouping.ts';
import type { WindowConfig } from './config.ts';
import { WindowState, type WindowAggregate } from './state.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

/** The one store of the operator: per task, its windows' aggregates, and its meta entry. */
export const WINDOWS_STORE = 'windows';
/** The changelog key of a task's event-time progress (the other keys are `<window start>/<group key>`). */
const META_KEY = '~';

interface TaskMeta {
  maxEventTime: number;
  watermark: number;
}

/** A window's aggregates as the changelog holds them. */
interface StoredAggregate extends Aggregates {
  start: number;
  group: unknown[];
}

/** What one task holds. */
interface TaskWindows {
  windows: WindowState;
  maxEventTime: number;
  /** With `watermarkPer: task`: the task's own watermark (the process's otherwise). */
  watermark: number;
}

interface Snapshot {
  tasks: Map<TaskId, TaskWindows>;
  watermark: number;
  lastInputAt: number;
  counters: Counters;
}

interface Counters {
  lateRecordsDropped: number;
  lateRecordsDeadLettered: number;
  windowsEmitted: number;
}

const copyTasks = (tasks: ReadonlyMap<TaskId, TaskWindows>): Map<TaskId, TaskWindows> =>
  new Map([...tasks].map(([task, t]) => [task, { windows: t.windows.clone(), maxEventTime: t.maxEventTime, watermark: t.watermark }]));

const changelogKey = (aggregate: WindowAggregate): string => `${aggregate.start}/${aggregate.key}`;

export function windowOperator(config: WindowConfig, ctx: ComponentContext): Operator {
  const { kind, size, allowedLateness: lateness, outputMode, lateRecords, idleTimeout, closeAtEnd } = config;
  const step = config.slide ?? size;
  const grouping = new Grouping(config.groupBy, config.aggregations);
  const readEventField = config.eventTime === 'timestamp' ? undefined : compilePath(config.eventTime.field);
  const eventTimeName = config.eventTime === 'timestamp' ? 'the record timestamp' : `event time field ${config.eventTime.field}`;
  const append = outputMode === 'append';
  const perTask = config.watermarkPer === 'task';
  // Window ends must stay within what a Date can hold (±8.64e15 ms), so that they can be written.
  const maxTime = 8.64e15 - 2 * size;

  let tasks = new Map<TaskId, TaskWindows>();
  /** The largest event time seen in any task, minus the lateness; never moves back. Per task instead with `watermarkPer: task`. */
  let watermark = -Infinity;
  const watermarkOf = (t: TaskWindows): number => (perTask ? t.watermark : watermark);
  /** Moves the watermark (the task's or the process's) up to `to`, never back. */
  const raiseWatermark = (t: TaskWindows, to: number): void => {
    if (perTask) t.watermark = Math.max(t.watermark, to);
    else watermark = Math.max(watermark, to);
  };
  /** What progress events show: the process's watermark, or the lowest of its tasks' (every window before it is closed). */
  const shownWatermark = (): number => {
    if (!perTask) return watermark;
    let lowest = Infinity;
    for (const t of tasks.values()) if (t.watermark > -Infinity) lowest = Math.min(lowest, t.watermark);
    return lowest === Infinity ? -Infinity : lowest;
  };
  /** When a record last came (processing time): the idle timeout counts from here. */
  let lastInputAt = ctx.scheduler.now();
  let counters: Counters = { lateRecordsDropped: 0, lateRecordsDeadLettered: 0, windowsEmitted: 0 };
  // Stamps aggregates with the batch that changed them; never restored, so stamps stay unique.
  let batches = 0;

  const taskWindows = (task: TaskId): TaskWindows => {
    let found = tasks.get(task);
    if (!found) tasks.set(task, (found = { windows: new WindowState(), maxEventTime: -Infinity, watermark: -Infinity }));
    return found;
  };

  const openWindows = (): number => {
    let n = 0;
    for (const t of tasks.values()) n += t.windows.size;
    return n;
  };

  /** The event time in ms, or why the record has none. */
  function eventTimeOf(record: StreamRecord): number | string {
    const found = readEventField === undefined ? record.timestamp : readEventField(record.value);
    const ms = typeof found === 'string' ? parseIsoTime(found, { withoutZone: 'refuse' }) : found;
    if (typeof ms === 'number' && ms >= -maxTime && ms <= maxTime) return ms;
    return `${eventTimeName} is ${shown(found)}, expected an ISO-8601 date-time with a zone or milliseconds since the epoch`;
  }

  function row(start: number, group: readonly unknown[], aggregates: Aggregates): StreamRecord {
    const windowStart = iso(start);
    const value: Record<string, unknown> = { window_start: windowStart, window_end: iso(start + size) };
    grouping.write(value, group, aggregates);
    return { key: JSON.stringify([windowStart, ...group]), value, timestamp: start + size };
  }

  /** The window `start` of group `key`, merged over every task that holds it (undefined when none does). */
  function merged(start: number, key: string): { group: readonly unknown[]; aggregates: Aggregates } | undefined {
    let result: { group: readonly unknown[]; aggregates: Aggregates } | undefined;
    for (const t of tasks.values()) {
      const aggregate = t.windows.get(start, key);
      if (!aggregate) continue;
      if (!result) result = { group: aggregate.group, aggregates: grouping.copy(aggregate) };
      else grouping.merge(result.aggregates, aggregate);
    }
    return result;
  }

  function late(record: StreamRecord, time: number, lastStart: number, watermark: number, scope: BatchScope): void {
    if (lateRecords === 'drop') {
      counters.lateRecordsDropped++;
      return;
    }
    counters.lateRecordsDeadLettered++;
    const windows = kind === 'tumbling' ? `its window [${iso(lastStart)}, ${iso(lastStart + size)})` : `all its windows, the last [${iso(lastStart)}, ${iso(lastStart + size)})`;
    scope.deadLetter(record, `late: event time ${iso(time)} is before the watermark ${iso(watermark)}, which has closed ${windows}`);
  }

  function processBatch(out: Subscriber<StreamRecord>, scope: BatchScope): BatchHandler {
    const batch = ++batches;
    let sawInput = false;
    /** Per task, the aggregates this batch changed (written to the changelog at its end). */
    const dirty = new Map<TaskId, Set<WindowAggregate>>();
    const metaBefore = new Map([...tasks].map(([task, t]): [TaskId, TaskMeta] => [task, { maxEventTime: t.maxEventTime, watermark: watermarkOf(t) }]));

    function handle(record: StreamRecord): void {
      sawInput = true;
      const time = eventTimeOf(record);
      if (typeof time === 'string') return scope.deadLetter(record, time);
      const lastStart = Math.floor(time / step) * step;
      const task = taskOf(record);
      const t = taskWindows(task);
      const watermark = watermarkOf(t);
      if (lastStart + size <= watermark) return late(record, time, lastStart, watermark, scope);
      const key = grouping.keyAndValues(record.value);
      if (typeof key !== 'string') return scope.deadLetter(record, key.reason);
      if (time > t.maxEventTime) t.maxEventTime = time;
      let changed = dirty.get(task);
      if (!changed) dirty.set(task, (changed = new Set()));
      // Every window containing the record that the watermark has not closed (tumbling: just one).
      for (let start = lastStart; start > time - size && start + size > watermark; start -= step) {
        const aggregate = t.windows.aggregate(start, key, (s) => ({ start: s, key, group: grouping.group(), ...grouping.empty(), changedIn: 0 }));
        grouping.add(aggregate, record.timestamp);
        aggregate.changedIn = batch;
        changed.add(aggregate);
      }
    }

    function emit(start: number, group: readonly unknown[], aggregates: Aggregates): void {
      counters.windowsEmitted++;
      out.next(row(start, group, aggregates));
    }

    /** The watermark after this batch: event time less the lateness; past every open window when the input is idle or ended. */
    function advanceWatermark(): void {
      for (const t of tasks.values()) raiseWatermark(t, t.maxEventTime - lateness);
      const idle = !sawInput && idleTimeout !== undefined && scope.now() - lastInputAt >= idleTimeout;
      if (idle || (closeAtEnd && scope.endOfInput)) {
        for (const t of tasks.values()) {
          const latest = t.windows.latestStart();
          if (latest !== undefined) raiseWatermark(t, latest + size);
        }
      }
    }

    function endBatch(): void {
      if (sawInput) lastInputAt = scope.now();
      advanceWatermark();
      if (!append) {
        // Every window that changed in this batch and is still open or closes now, in start order, merged over tasks.
        const changed = new Map<string, { start: number; key: string }>();
        for (const set of dirty.values()) for (const a of set) changed.set(changelogKey(a), { start: a.start, key: a.key });
        for (const { start, key } of [...changed.values()].sort((a, b) => a.start - b.start)) {
          const window = merged(start, key);
          if (window) emit(start, window.group, window.aggregates);
        }
      }
      // Windows the watermark has closed leave every task; append mode writes them now, merged, in start order.
      const closed = new Map<string, { start: number; group: readonly unknown[]; aggregates: Aggregates }>();
      const evicted = new Map<TaskId, WindowAggregate[]>();
      for (const [task, t] of tasks) {
        t.windows.evictUpTo(watermarkOf(t) - size, (aggregate) => {
          let list = evicted.get(task);
          if (!list) evicted.set(task, (list = []));
          list.push(aggregate);
          const id = changelogKey(aggregate);
          const window = closed.get(id);
          if (!window) closed.set(id, { start: aggregate.start, group: aggregate.group, aggregates: grouping.copy(aggregate) });
          else grouping.merge(window.aggregates, aggregate);
        });
      }
      if (append) for (const window of [...closed.values()].sort((a, b) => a.start - b.start)) emit(window.start, window.group, window.aggregates);
      writeChanges(scope, dirty, evicted, metaBefore);
    }

    // An exception here is a bug, not a bad record: it fails the batch (whose state is then restored).
    return { handle, end: endBatch };
  }

  /** The batch's changes for the changelog: changed windows, closed ones deleted, and each task's event-time progress. */
  function writeChanges(scope: BatchScope, dirty: Map<TaskId, Set<WindowAggregate>>, evicted: Map<TaskId, WindowAggregate[]>, metaBefore: Map<TaskId, TaskMeta>): void {
    for (const [task, set] of dirty) {
      for (const a of set) {
        const stored: StoredAggregate = { start: a.start, group: [...a.group], acc: a.acc, ...(a.latest ? { latest: a.latest } : {}) };
        scope.changed(WINDOWS_STORE, task, changelogKey(a), stored);
      }
    }
    // After the changed ones: a window changed and closed in the same batch ends deleted.
    for (const [task, list] of evicted) for (const a of list) scope.changed(WINDOWS_STORE, task, changelogKey(a), undefined);
    for (const [task, t] of tasks) {
      const before = metaBefore.get(task);
      if (t.maxEventTime !== before?.maxEventTime || watermarkOf(t) !== before.watermark) {
        const meta: TaskMeta = { maxEventTime: t.maxEventTime, watermark: watermarkOf(t) };
        scope.changed(WINDOWS_STORE, task, META_KEY, meta);
      }
    }
  }

  const slideText = kind === 'sliding' ? ` every ${step} ms` : '';
  return {
    apply: perBatch(processBatch),
    watermark: () => {
      const shown = shownWatermark();
      return shown === -Infinity ? undefined : shown;
    },
    metrics: () => ({ windowsInState: openWindows(), tasks: tasks.size, ...counters }),
    snapshot: (): Snapshot => ({ tasks: copyTasks(tasks), watermark, lastInputAt, counters: { ...counters } }),
    restore(snapshot) {
      const saved = snapshot as Snapshot;
      // A copy again: the same snapshot is restored again if the redelivered batch fails too.
      tasks = copyTasks(saved.tasks);
      ({ watermark, lastInputAt } = saved);
      counters = { ...saved.counters };
    },
    stores: [WINDOWS_STORE],
    loadTask(task, stores) {
      const t: TaskWindows = { windows: new WindowState(), maxEventTime: -Infinity, watermark: -Infinity };
      for (const [key, value] of stores.get(WINDOWS_STORE) ?? (new Map() as StoreEntries)) {
        if (key === META_KEY) {
          const meta = value as TaskMeta;
          t.maxEventTime = meta.maxEventTime ?? -Infinity;
          raiseWatermark(t, meta.watermark ?? -Infinity);
          continue;
        }
        const stored = value as StoredAggregate;
        const groupKey = key.slice(key.indexOf('/') + 1);
        t.windows.aggregate(stored.start, groupKey, () => ({ start: stored.start, key: groupKey, group: stored.group, acc: stored.acc, ...(stored.latest ? { latest: stored.latest } : {}), changedIn: 0 }));
      }
      tasks.set(task, t);
    },
    dropTask(task) {
      tasks.delete(task);
    },
    idleWork: (now, endOfInput) => openWindows() > 0 && ((idleTimeout !== undefined && now - lastInputAt >= idleTimeout) || (closeAtEnd && endOfInput)),
    describe: () =>
      `${kind} windows of ${size} ms${slideText} by ${config.eventTime === 'timestamp' ? 'record timestamp' : config.eventTime.field}` +
      `${grouping.groupNames.length > 0 ? `, grouped by ${grouping.groupPaths.join(', ')}` : ''}: ${grouping.describe()} (allowed lateness ${lateness} ms, ${outputMode} mode${perTask ? ', a watermark per task' : ''})`,
  };
}
