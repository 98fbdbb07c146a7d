/**
 * What a pipeline knows of its tasks (topology/types.ts, TaskId): which source partitions each one
 * has, and how far it has read them — the position a batch's state changes are tagged with, so that
 * a restore can leave out the changes of batches whose offsets were never committed.
 */
import type { Offsets, TaskId } from './types.ts';

export class TaskPositions {
  private readonly taskOfKey = new Map<string, TaskId>();
  private readonly keysOf = new Map<TaskId, string[]>();
  /** Offset key (`users_created/0`) → the position after the last batch read. */
  private position = new Map<string, number | string>();

  /** A task was assigned: its partitions, read from `committed` on. */
  assign(task: TaskId, committed: Offsets): void {
    this.revoke(task);
    const keys = Object.keys(committed);
    this.keysOf.set(task, keys);
    for (const key of keys) {
      this.taskOfKey.set(key, task);
      this.position.set(key, committed[key]);
    }
  }

  revoke(task: TaskId): void {
    for (const key of this.keysOf.get(task) ?? []) {
      this.taskOfKey.delete(key);
      this.position.delete(key);
    }
    this.keysOf.delete(task);
  }

  /** Whether the task was assigned (and not revoked since). */
  has(task: TaskId): boolean {
    return this.keysOf.has(task);
  }

  /** A batch was read up to `endOffsets` (positions of partitions of no known task are ignored). */
  advance(endOffsets: Offsets): void {
    for (const [key, offset] of Object.entries(endOffsets)) if (this.taskOfKey.has(key)) this.position.set(key, offset);
  }

  /** The task's position: each of its partitions' offset after the last batch read. */
  of(task: TaskId): Offsets {
    const out: Record<string, number | string> = {};
    for (const key of this.keysOf.get(task) ?? []) out[key] = this.position.get(key)!;
    return out;
  }

  /** Every position, to go back to when the batches read since fail (`rewind`). */
  snapshot(): ReadonlyMap<string, number | string> {
    return new Map(this.position);
  }

  rewind(snapshot: ReadonlyMap<string, number | string>): void {
    for (const key of this.position.keys()) if (snapshot.has(key)) this.position.set(key, snapshot.get(key)!);
  }
}

/** Whether a change tagged with `position` was committed: every partition of it at or before `committed`. */
export function committedAt(position: Offsets, committed: Offsets): boolean {
  return Object.entries(position).every(([key, offset]) => committed[key] !== undefined && Number(offset) <= Number(committed[key]));
}
