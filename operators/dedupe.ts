/**
 * dedupe — drops records whose key was seen recently (bounded memory: `maxKeys`, `ttl`).
 *
 * ```yaml
 * - type: dedupe
 *   field: login.uuid
 *   maxKeys: 100000
 *   ttl: 1h
 * ```
 * See also: `key-by` (sets the key dedupe compares by default), `filter`. What it does: the spec's
 * description below (docs/operators.md).
 */
import { Observable, type Subscriber } from 'rxjs';
import { PositiveDuration, PositiveInt } from '../topology/codecs.ts';
import { defineComponent } from '../topology/registry.ts';
import { optional, withDefault, type ConfigOf } from '../topology/spec.ts';
import { taskOf, type BatchScope, type ComponentContext, type Operator, type StreamRecord, type TaskId } from '../topology/types.ts';
import { copyTaskNumbers, numberEntries, type TaskNumbers } from './task-numbers.ts';
import { compilePath, kindOf, PathText, scalarText } from './path.ts';
import { repartitionSteps } from './repartition.ts';


const fields = {
  field: optional(PathText, 'Path of the value to compare, e.g. `login.uuid`; by default the record key is compared.'),
  maxKeys: withDefault(PositiveInt, 100_000, 'Most keys remembered per task (input partition); beyond it the least recently seen key is forgotten.'),
  ttl: optional(PositiveDuration, 'How long a key is remembered after it was last seen (e.g. 10m, 1h); by default until maxKeys evicts it.'),
};

export type DedupeConfig = ConfigOf<typeof fields>;

/** The one store: per task, each remembered key with when it was last seen. */
const KEYS_STORE = 'keys';

export function dedupeOperator(config: DedupeConfig, ctx: ComponentContext): Operator {
  const { maxKeys, ttl, field } = config;
  const read = field === undefined ? undefined : compilePath(field);
  // Per task: key → when it was last seen (ctx.scheduler time). A Map iterates in insertion order;
  // re-inserting a key on every sighting keeps it ordered from least to most recently seen, so
  // eviction and expiry both take from the front.
  let tasks = new Map<TaskId, Map<string, number>>();
  let duplicatesDropped = 0;

  const keysOf = (task: TaskId): Map<string, number> => {
    let found = tasks.get(task);
    if (!found) tasks.set(task, (found = new Map()));
    return found;
  };

  function keyOf(record: StreamRecord): string | undefined {
    if (read === undefined) return record.key ?? undefined;
    return scalarText(read(record.value));
  }

  /** Forgets the keys of one task not seen for `ttl`; each forgotten key is noted in `gone`. */
  function forgetExpired(lastSeen: Map<string, number>, now: number, gone?: Set<string>): void {
    if (ttl === undefined) return;
    for (const [key, seenAt] of lastSeen) {
      if (now - seenAt < ttl) break;
      lastSeen.delete(key);
      gone?.add(key);
    }
  }

  function processBatch(source: Observable<StreamRecord>, out: Subscriber<StreamRecord>, scope: BatchScope) {
    // Per task, the keys this batch saw and those it forgot: the changelog's entries at the end of the batch.
    const touched = new Map<TaskId, Set<string>>();
    const touchedIn = (task: TaskId): Set<string> => {
      let found = touched.get(task);
      if (!found) touched.set(task, (found = new Set()));
      return found;
    };

    function handle(record: StreamRecord): void {
      const key = keyOf(record);
      if (key === undefined) {
        scope.deadLetter(record, read === undefined ? 'the record has no key to compare' : `dedupe field ${field} is ${kindOf(read(record.value))}, expected a string, number or boolean`);
        return;
      }
      const task = taskOf(record);
      const lastSeen = keysOf(task);
      const changed = touchedIn(task);
      const now = ctx.scheduler.now();
      forgetExpired(lastSeen, now, changed);
      const seenAt = lastSeen.get(key);
      // The front-only sweep assumes a clock that never goes back; the ttl check here covers one that does.
      const isDuplicate = seenAt !== undefined && (ttl === undefined || now - seenAt < ttl);
      lastSeen.delete(key);
      lastSeen.set(key, now);
      changed.add(key);
      if (isDuplicate) {
        duplicatesDropped += 1;
        return;
      }
      if (lastSeen.size > maxKeys) {
        const oldest = lastSeen.keys().next().value!;
        lastSeen.delete(oldest);
        changed.add(oldest);
      }
      out.next(record);
    }

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
        for (const [task, keys] of touched) {
          const lastSeen = tasks.get(task);
          for (const key of keys) scope.changed(KEYS_STORE, task, key, lastSeen?.get(key));
        }
        out.complete();
      },
    });
  }

  const keysInState = () => [...tasks.values()].reduce((n, keys) => n + keys.size, 0);

  return {
    apply: (source, scope) => new Observable<StreamRecord>((out) => processBatch(source, out, scope)),
    snapshot: () => ({ tasks: copyTaskNumbers(tasks), duplicatesDropped }),
    restore(snapshot) {
      const saved = snapshot as { tasks: TaskNumbers; duplicatesDropped: number };
      // A copy again: the same snapshot is restored again if the redelivered batch fails too.
      tasks = copyTaskNumbers(saved.tasks);
      duplicatesDropped = saved.duplicatesDropped;
    },
    stores: [KEYS_STORE],
    loadTask(task, stores) {
      // Least recently seen first, as the Map keeps them.
      const entries = numberEntries(stores, KEYS_STORE).sort((a, b) => a[1] - b[1]);
      tasks.set(task, new Map(entries));
    },
    dropTask(task) {
      tasks.delete(task);
    },
    metrics: () => {
      const now = ctx.scheduler.now();
      for (const keys of tasks.values()) forgetExpired(keys, now);
      return { duplicatesDropped, keysInState: keysInState(), tasks: tasks.size };
    },
    describe: () => `dedupe by ${field ?? 'record key'} (at most ${maxKeys} keys per task${ttl === undefined ? '' : `, forgotten ${ttl} ms after last seen`})`,
  };
}

defineComponent({
  kind: 'operator',
  type: 'dedupe',
  summary: 'Drops records whose key (the record key, or a field) was seen recently.',
  description:
    'Remembers the keys it has seen and drops a record whose key it remembers. Every sighting, dropped duplicates included, refreshes the key. ' +
    'Memory is bounded by `maxKeys` per task (least recently seen keys are forgotten first) and, with `ttl`, keys not seen for that long are forgotten (by the runtime clock). ' +
    'Keys are kept per task (input partition): a duplicate is found when it comes through the same partition — the case of a topic keyed by what is compared. ' +
    'The runtime snapshots the state before each batch (a copy of the remembered keys, O(keysInState) per batch) and restores it when a batch fails, so redelivered records are not dropped as duplicates of themselves; with the pipeline\'s `state` backend, the keys a batch saw or forgot go to the store `keys`\' changelog in its checkpoint and come back when the task is assigned — a restart forgets nothing. Without one, a restart starts with no keys. ' +
    'A record without a key (null record key; missing, null or non-scalar field) goes to the dead-letter output. Metrics: duplicatesDropped, keysInState, tasks.',
  fields,
  examples: ['type: dedupe', 'type: dedupe\nfield: login.uuid\nmaxKeys: 100000\nttl: 1h'],
  // Compared by the record key, records are in the partition of their key already.
  repartition: (config) => (config.field === undefined ? undefined : repartitionSteps([config.field])),
  keepsValues: true,
  create: dedupeOperator,
});
