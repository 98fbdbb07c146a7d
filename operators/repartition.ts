/**
 * The two operators around a repartition topic (topology/stages.ts puts them there; a topology file
 * does not need to name them):
 *
 * - `repartition-key`, the last step before the topic: keys each record by its group values, so the
 *   topic's partitioner puts every record of a group in one partition — one task — and stamps the
 *   record's source position in a header;
 * - `replay-filter`, the first step after it: at-least-once writing into the topic repeats records
 *   when a batch is retried or a process dies between its writes and its commit; each task remembers,
 *   per source partition, the highest position it has seen, and drops a record at or below it. The
 *   writer keeps the order of each source partition's records (one batch in flight, one write at a
 *   time), so a record at or below that mark is one already counted.
 *
 * See also: window/, aggregate.ts, dedupe.ts, which ask for them (their spec's `repartition`).
 */
import { defineComponent, type RepartitionSteps } from '../topology/registry.ts';
import { withDefault, type ConfigOf } from '../topology/spec.ts';
import { taskOf, type BatchScope, type Operator, type StreamRecord, type TaskId } from '../topology/types.ts';
import { GroupFields, type GroupField } from './grouping.ts';
import { copyTaskNumbers, numberEntries, type TaskNumbers } from './task-numbers.ts';
import { compilePath } from './path.ts';
import { perBatch, perRecord } from './per-record.ts';

/** The header a repartitioned record carries its source position in: `<topic>/<partition>/<offset>`. */
export const ORIGIN_HEADER = 'user-stream-origin';

/** The steps a stateful operator grouping by `groupBy` asks for (ComponentDefinition.repartition). */
export function repartitionSteps(groupBy: GroupField[]): RepartitionSteps {
  return { before: [{ type: 'repartition-key', groupBy }], after: [{ type: 'replay-filter' }] };
}

const keyFields = {
  groupBy: withDefault(GroupFields, [] as GroupField[], 'The values whose combination becomes the key: the stateful operator\'s `groupBy` (none: every record gets the same key).'),
};

export type RepartitionKeyConfig = ConfigOf<typeof keyFields>;

const isGroupValue = (v: unknown): boolean => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

export function repartitionKeyOperator(config: RepartitionKeyConfig): Operator {
  const read = config.groupBy.map((g) => compilePath(typeof g === 'string' ? g : g.path));
  /** The JSON of the group values; null when one is unusable (the stateful operator dead-letters the record, with the reason). */
  const keyOf = (value: unknown): string | null => {
    const values: unknown[] = [];
    for (const path of read) {
      const found = path(value);
      if (!isGroupValue(found)) return null;
      values.push(found);
    }
    return JSON.stringify(values);
  };
  return {
    apply: perRecord((record, out) => {
      const origin = record.origin;
      const headers = origin === undefined ? record.headers : { ...record.headers, [ORIGIN_HEADER]: `${origin.topic}/${origin.partition}/${origin.offset}` };
      out.next({ ...record, key: keyOf(record.value), ...(headers === undefined ? {} : { headers }) });
    }),
    describe: () => `repartition-key by ${config.groupBy.length > 0 ? config.groupBy.map((g) => (typeof g === 'string' ? g : g.path)).join(', ') : '(one key for all)'}, with each record's source position`,
  };
}

/** The one store: per task, the highest source position seen of each source partition (`<topic>/<partition>` → offset). */
const ORIGINS_STORE = 'origins';

/** `<topic>/<partition>/<offset>` → [`<topic>/<partition>`, offset]; undefined when it is not one. */
function parseOrigin(header: string | undefined): [string, number] | undefined {
  if (header === undefined) return undefined;
  const cut = header.lastIndexOf('/');
  const offset = Number(header.slice(cut + 1));
  return cut > 0 && Number.isSafeInteger(offset) ? [header.slice(0, cut), offset] : undefined;
}

export function replayFilterOperator(): Operator {
  let tasks = new Map<TaskId, Map<string, number>>();
  let replaysDropped = 0;

  const marksOf = (task: TaskId): Map<string, number> => {
    let found = tasks.get(task);
    if (!found) tasks.set(task, (found = new Map()));
    return found;
  };


  return {
    apply: perBatch((out, scope: BatchScope) => {
      const changed = new Map<TaskId, Set<string>>();
      return {
        handle(record: StreamRecord) {
          const origin = parseOrigin(record.headers?.[ORIGIN_HEADER]);
          if (origin === undefined) {
            out.next(record);
            return;
          }
          const [from, offset] = origin;
          const task = taskOf(record);
          const marks = marksOf(task);
          if ((marks.get(from) ?? -1) >= offset) {
            replaysDropped++;
            return;
          }
          marks.set(from, offset);
          let set = changed.get(task);
          if (!set) changed.set(task, (set = new Set()));
          set.add(from);
          out.next(record);
        },
        end() {
          for (const [task, froms] of changed) for (const from of froms) scope.changed(ORIGINS_STORE, task, from, tasks.get(task)?.get(from));
        },
      };
    }),
    snapshot: () => ({ tasks: copyTaskNumbers(tasks), replaysDropped }),
    restore(snapshot) {
      const saved = snapshot as { tasks: TaskNumbers; replaysDropped: number };
      tasks = copyTaskNumbers(saved.tasks);
      replaysDropped = saved.replaysDropped;
    },
    stores: [ORIGINS_STORE],
    loadTask(task, stores) {
      const entries = numberEntries(stores, ORIGINS_STORE);
      tasks.set(task, new Map(entries));
    },
    dropTask(task) {
      tasks.delete(task);
    },
    metrics: () => ({ replaysDropped, sourcePartitionsTracked: [...tasks.values()].reduce((n, marks) => n + marks.size, 0) }),
    describe: () => 'replay-filter: drops records at or below the source position each task has seen (repeats of an at-least-once write)',
  };
}

defineComponent({
  kind: 'operator',
  type: 'repartition-key',
  summary: 'Keys each record by its group values and stamps its source position: the last step before a repartition topic.',
  description:
    'Put before a repartition topic by the runtime (docs/scaling.md), from the `groupBy` of the stateful operator after it: the record key becomes the JSON array of the group values, so every record of a group goes to the same partition of the topic, and so to one task. ' +
    `A record whose group value is missing, null, an object or an array gets a null key (a partition at random): the stateful operator after the topic dead-letters it, with the reason. The record's source position (topic/partition/offset) goes into the header \`${ORIGIN_HEADER}\`, for the replay-filter after the topic.`,
  fields: keyFields,
  examples: ['type: repartition-key\ngroupBy: [nat, gender]'],
  keepsValues: true,
  create: repartitionKeyOperator,
});

defineComponent({
  kind: 'operator',
  type: 'replay-filter',
  summary: 'Drops the repeats an at-least-once write into a repartition topic makes: the first step after the topic.',
  description:
    'Put after a repartition topic by the runtime (docs/scaling.md). The stage that writes the topic is at-least-once: a batch retried, or a process killed between its writes and its commit, writes some records again. ' +
    `Each task remembers, per source partition, the highest source position (header \`${ORIGIN_HEADER}\`) it has seen and drops a record at or below it — the writer keeps each source partition's records in order, so such a record is a repeat. Records without the header pass. ` +
    'The positions are state (store `origins`, per task): with the pipeline\'s `state` backend they are durable with the rest, so counts stay exact across restarts and rebalances. Metrics: replaysDropped, sourcePartitionsTracked.',
  fields: {},
  examples: ['type: replay-filter'],
  keepsValues: true,
  create: () => replayFilterOperator(),
});
