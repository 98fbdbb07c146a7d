/**
 * State of the form "per task, a number per key" — dedupe's last-seen time per key, replay-filter's
 * highest position per source partition — and the two things both do with it: copy it for a batch's
 * snapshot, and read a task's entries back from its restored store.
 */
import type { StoreEntries, TaskId } from '../topology/types.ts';

export type TaskNumbers = Map<TaskId, Map<string, number>>;

/** A deep copy: a snapshot must not change when the live state does (and may be restored twice). */
export const copyTaskNumbers = (from: TaskNumbers): TaskNumbers => new Map([...from].map(([task, numbers]) => [task, new Map(numbers)]));

/** The numeric entries of `store` among a task's restored stores; any other value is not ours and is skipped. */
export function numberEntries(stores: ReadonlyMap<string, StoreEntries>, store: string): Array<[string, number]> {
  return [...(stores.get(store) ?? new Map<string, unknown>())].filter((e): e is [string, number] => typeof e[1] === 'number');
}
