/**
 * aggregate — running aggregates per group since the start, no window (Kafka Streams' KTable from
 * groupBy().aggregate()): after each batch, a row for each group that changed in it.
 *
 * ```yaml
 * - type: aggregate
 *   groupBy: [location.nat]
 *   aggregations: { users: { fn: count }, mean_age: { fn: avg, path: dob.age } }
 * ```
 * See also: `window` (per event-time window); grouping.ts (group fields and aggregations, shared with
 * it). What it does: the spec's description below (docs/operators.md).
 */
import type { Subscriber } from 'rxjs';
import { oneOf } from '../topology/codecs.ts';
import { defineComponent, problem, type ConfigProblem } from '../topology/registry.ts';
import { required, withDefault, type ConfigOf } from '../topology/spec.ts';
import { taskOf, type BatchScope, type Operator, type StoreEntries, type StreamRecord, type TaskId } from '../topology/types.ts';
import { perBatch, type BatchHandler } from './per-record.ts';
import { repartitionSteps } from './repartition.ts';
import { AGGREGATIONS_DESCRIPTION, Aggregations, GROUP_BY_DESCRIPTION, GroupFields, Grouping, collidingOutputs, type Aggregates } from './grouping.ts';

const fields = {
  groupBy: required(GroupFields, `${GROUP_BY_DESCRIPTION} At least one.`),
  aggregations: required(Aggregations, AGGREGATIONS_DESCRIPTION),
  emit: withDefault(oneOf(['changes']), 'changes', 'What each batch emits. changes: a row for each group whose aggregates changed in the batch, with its current totals (a KTable\'s changelog, Spark\'s update mode).'),
};

export type AggregateConfig = ConfigOf<typeof fields>;

/** The spec's check: something to group by, and output field names that do not collide. */
function aggregateProblems(config: AggregateConfig): ConfigProblem[] {
  const problems = config.groupBy.length === 0 ? [problem('groupBy', 'name at least one value to group by, e.g. groupBy: [location.nat]')] : [];
  return [...problems, ...collidingOutputs(config.groupBy, config.aggregations, new Map())];
}

/** The operator's one store: per task, group key → the group's aggregates (GroupAggregate, as JSON). */
export const GROUPS_STORE = 'groups';

/** One group's aggregates in one task; the changelog holds exactly these fields. */
interface GroupAggregate extends Aggregates {
  /** The group's values, in `groupBy` order (never changed, so copies share it). */
  readonly group: readonly unknown[];
  /** The latest timestamp of the group's records. */
  time: number;
}

/** What one task holds: group key (grouping.ts `keyOf`) → aggregates. */
type TaskGroups = Map<string, GroupAggregate>;

export function aggregateOperator(config: AggregateConfig): Operator {
  const grouping = new Grouping(config.groupBy, config.aggregations);
  const copyOf = (a: GroupAggregate): GroupAggregate => ({ group: a.group, ...grouping.copy(a), time: a.time });
  const copyTasks = (from: ReadonlyMap<TaskId, TaskGroups>): Map<TaskId, TaskGroups> => new Map([...from].map(([task, groups]) => [task, new Map([...groups].map(([key, a]) => [key, copyOf(a)]))]));

  let tasks = new Map<TaskId, TaskGroups>();

  const groupsOf = (task: TaskId): TaskGroups => {
    let found = tasks.get(task);
    if (!found) tasks.set(task, (found = new Map()));
    return found;
  };

  /** The row of group `key`: its aggregates merged over every task that holds it. */
  function row(key: string): StreamRecord {
    let merged: GroupAggregate | undefined;
    for (const groups of tasks.values()) {
      const a = groups.get(key);
      if (!a) continue;
      if (!merged) merged = copyOf(a);
      else {
        grouping.merge(merged, a);
        if (a.time > merged.time) merged.time = a.time;
      }
    }
    // Only keys this batch changed come here, so some task holds it.
    if (!merged) throw new Error(`aggregate: no task holds group ${key}, which changed in this batch`);
    const value: Record<string, unknown> = {};
    grouping.write(value, merged.group, merged);
    return { key: JSON.stringify(merged.group), value, timestamp: merged.time };
  }

  /** What one batch's records go through; an exception is a bug, not a bad record: it fails the batch (whose state is then restored). */
  function processBatch(out: Subscriber<StreamRecord>, scope: BatchScope): BatchHandler {
    /** Per task, the groups this batch changed: written to the changelog at its end. */
    const dirty = new Map<TaskId, Map<string, GroupAggregate>>();
    /** Every group key this batch changed, in the order first changed: the rows it emits. */
    const changedKeys = new Set<string>();

    function handle(record: StreamRecord): void {
      const key = grouping.keyAndValues(record.value);
      if (typeof key !== 'string') return scope.deadLetter(record, key.reason);
      const task = taskOf(record);
      const groups = groupsOf(task);
      let aggregate = groups.get(key);
      if (!aggregate) groups.set(key, (aggregate = { group: grouping.group(), ...grouping.empty(), time: record.timestamp }));
      grouping.add(aggregate, record.timestamp);
      if (record.timestamp > aggregate.time) aggregate.time = record.timestamp;
      let changed = dirty.get(task);
      if (!changed) dirty.set(task, (changed = new Map()));
      changed.set(key, aggregate);
      changedKeys.add(key);
    }

    function endBatch(): void {
      for (const key of changedKeys) out.next(row(key));
      // Each task's own aggregates (not the merged ones): a task restored alone must not hold another's counts.
      // The scope copies the value at once, so the live aggregate can be handed over.
      for (const [task, changed] of dirty) for (const [key, aggregate] of changed) scope.changed(GROUPS_STORE, task, key, aggregate);
    }

    return { handle, end: endBatch };
  }

  return {
    apply: perBatch(processBatch),
    metrics() {
      let held = 0;
      for (const groups of tasks.values()) held += groups.size;
      return { groupsInState: held, tasks: tasks.size };
    },
    snapshot: () => copyTasks(tasks),
    restore(snapshot) {
      // A copy again: the same snapshot is restored again if the redelivered batch fails too.
      tasks = copyTasks(snapshot as Map<TaskId, TaskGroups>);
    },
    stores: [GROUPS_STORE],
    loadTask(task, stores) {
      const groups: TaskGroups = new Map();
      // Values as endBatch wrote them; copied, so that the entries handed over are not kept.
      for (const [key, value] of stores.get(GROUPS_STORE) ?? (new Map() as StoreEntries)) groups.set(key, copyOf(value as GroupAggregate));
      tasks.set(task, groups);
    },
    dropTask(task) {
      tasks.delete(task);
    },
    describe: () => `running aggregates by ${grouping.groupPaths.join(', ')}: ${grouping.describe()} (a row per changed group after each batch)`,
  };
}

defineComponent({
  kind: 'operator',
  type: 'aggregate',
  summary: 'Running aggregates per group since the start, no window (a Kafka Streams KTable): after each batch, a row for each group that changed.',
  description:
    'Aggregates every record with the others of its `groupBy` values since the start, without a window, so its state grows with the number of groups (Kafka Streams\' groupBy().aggregate() into a KTable). ' +
    'After each micro-batch it emits, for each group whose aggregates changed in it, a row `{ <group fields>, <aggregations> }` with the current totals (Spark\'s update mode), keyed by the JSON array of the group values and timestamped with the group\'s latest record timestamp: upsert it by the group fields. ' +
    'A record with an unusable group value, or a non-number for sum, min, max or avg, goes to the dead-letter output with the reason. ' +
    'State is kept per task (input partition) and merged over the tasks when a row is written; a failed batch is rolled back, so a redelivered one is not counted twice. ' +
    'With the pipeline\'s `state` backend, each batch\'s changed groups go to the store `groups`\' changelog before its offsets are committed and come back when the task is assigned, so a restart or a swap continues the totals (`groupBy` and `aggregations` must then stay the same: the stored aggregates are laid out by them); without one, a restart starts from zero. ' +
    'Metrics: groupsInState (one per group and task that holds it), tasks.',
  fields,
  examples: ['type: aggregate\ngroupBy: [{ path: location.nat, name: nat }]\naggregations:\n  users: { fn: count }\n  mean_age: { fn: avg, path: dob.age }\n  last_seen: { fn: latest, path: registered.date }'],
  check: aggregateProblems,
  repartition: (config) => repartitionSteps(config.groupBy),
  keepsValues: true,
  create: aggregateOperator,
});
