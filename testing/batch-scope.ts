/**
 * A batch scope for running an operator outside a pipeline (unit tests, benchmarks): what it
 * dead-letters and the state changes it notes go to the given functions.
 */
import type { BatchScope, StreamRecord, TaskId } from '../topology/types.ts';

export interface ScopeHooks {
  deadLetter?(record: StreamRecord, reason: string): void;
  changed?(store: string, task: TaskId, key: string, value: unknown): void;
  now?(): number;
  endOfInput?: boolean;
}

export function batchScope(hooks: ScopeHooks = {}): BatchScope {
  return {
    deadLetter: (record, reason) => hooks.deadLetter?.(record, reason),
    changed: (store, task, key, value) => hooks.changed?.(store, task, key, value),
    now: () => (hooks.now ? hooks.now() : Date.now()),
    endOfInput: hooks.endOfInput ?? false,
  };
}
