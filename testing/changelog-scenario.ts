/**
 * A changelog story for tests of state backends: the changes two tasks of two stores made over several
 * batches — tombstones, a key deleted and written again, a batch whose offsets were never committed
 * (which rewrites a committed key, deletes one and adds one) — with the committed positions to restore
 * at, and what the `memory` state backend restores from them: every backend must give the same answers.
 */
import { registry } from '../topology/registry.ts';
import type { Offsets, StateBackend, StoreChanges, TaskId } from '../topology/types.ts';
import { memoryStore } from './memory-channels.ts';
import '../state/memory.ts';
import { componentContext } from './component-context.ts';

/** Input partitions of the story: task 0 reads `in/0`; task 1 reads `in/1` and `side/1`. */
export const SCENARIO_PARTITIONS = 2;

function change(store: string, task: TaskId, position: Offsets, entries: Record<string, unknown>): StoreChanges {
  return { store, task, position, entries: new Map(Object.entries(entries).map(([key, value]) => [key, value === undefined ? undefined : JSON.stringify(value)])) };
}

/** The batches, in the order they were written: each is one `write` call, over both tasks and stores. */
export function scenarioBatches(counts: string, windows: string): StoreChanges[][] {
  return [
    [
      change(counts, 0, { 'in/0': 10 }, { a: 1, b: 1, c: 1, 'ключ ✓': { n: 1 } }),
      change(windows, 0, { 'in/0': 10 }, { '2024-01-01T00:00|fr': { count: 3, ids: ['x', 'y'] } }),
      change(counts, 1, { 'in/1': 5, 'side/1': 2 }, { x: 10, y: 'text', z: null }),
    ],
    [
      change(counts, 0, { 'in/0': 20 }, { a: 2, c: undefined, d: 1 }),
      change(windows, 0, { 'in/0': 20 }, { '2024-01-01T00:00|fr': { count: 5, ids: ['x', 'y', 'z'] }, '2024-01-01T00:01|de': { count: 1, ids: [] } }),
    ],
    [
      change(counts, 0, { 'in/0': 30 }, { b: undefined, c: 3, e: [1, 2, 3] }),
      change(windows, 0, { 'in/0': 30 }, { '2024-01-01T00:00|fr': undefined }),
      change(counts, 1, { 'in/1': 8, 'side/1': 2 }, { x: 11 }),
    ],
    // Offsets never committed for either task: a restore at the committed positions below leaves these out.
    [
      change(counts, 0, { 'in/0': 40 }, { a: 99, d: undefined, f: 1 }),
      change(windows, 0, { 'in/0': 40 }, { '2024-01-01T00:01|de': { count: 2, ids: ['w'] }, '2024-01-01T00:02|it': { count: 1, ids: [] } }),
      change(counts, 1, { 'in/1': 9, 'side/1': 3 }, { x: undefined, y: 'later' }),
    ],
  ];
}

/** Committed positions to restore at: where the story's offsets were committed, and a few others. */
export const SCENARIO_COMMITTED: Record<string, Record<TaskId, Offsets>> = {
  'at the last commit': { 0: { 'in/0': 30 }, 1: { 'in/1': 8, 'side/1': 2 } },
  'never committed': { 0: { 'in/0': -1 }, 1: { 'in/1': -1, 'side/1': -1 } },
  'an earlier commit': { 0: { 'in/0': 20 }, 1: { 'in/1': 5, 'side/1': 2 } },
  'everything committed': { 0: { 'in/0': 40 }, 1: { 'in/1': 9, 'side/1': 3 } },
  // One of task 1's partitions committed past the last batch, the other not: the batch is left out.
  'one partition behind': { 0: { 'in/0': 39 }, 1: { 'in/1': 9, 'side/1': 2 } },
};

/** A fresh `memory` backend of its own topology, holding `batches`. */
export async function memoryBackendWith(batches: readonly StoreChanges[][], topology = `changelog-scenario-${Math.random().toString(36).slice(2)}`): Promise<StateBackend> {
  memoryStore.reset(topology);
  const config = registry.codec('state').decode({ type: 'memory' });
  if (config._tag === 'Left') throw new Error('the memory state backend config did not decode');
  const backend = await registry.create('state', config.right, componentContext({ topology, pipeline: 'p', path: 'state' }));
  await backend.start([]);
  for (const batch of batches) await backend.write(batch);
  return backend;
}
