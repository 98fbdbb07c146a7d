/**
 * memory — keeps each store's changelog in the process (testing/memory-channels.ts): it outlives a
 * pipeline's restart or swap within the process, not the process. For tests and the test driver, which
 * prove restores in virtual time with it.
 *
 * ```yaml
 * state: { type: memory }
 * ```
 * See also: the `kafka` state backend.
 */
import { defineComponent } from '../topology/registry.ts';
import { committedAt } from '../topology/tasks.ts';
import type { StateBackend } from '../topology/types.ts';
import { memoryStore } from '../testing/memory-channels.ts';

export function memoryStateBackend(topology: string): StateBackend {
  return {
    async start() {},
    async restore(store, task, committed) {
      const entries = new Map<string, unknown>();
      let read = 0;
      for (const entry of memoryStore.changelog(topology, store).entries) {
        if (entry.task !== task) continue;
        read++;
        if (!committedAt(entry.position, committed)) continue;
        if (entry.value === undefined) entries.delete(entry.key);
        else entries.set(entry.key, JSON.parse(entry.value));
      }
      return { entries, read };
    },
    async write(changes) {
      for (const { store } of changes) {
        const changelog = memoryStore.changelog(topology, store);
        if (changelog.failNextWrites > 0) {
          changelog.failNextWrites--;
          throw new Error(`memory changelog ${store}: injected write failure`);
        }
      }
      for (const { store, task, position, entries } of changes) {
        const log = memoryStore.changelog(topology, store).entries;
        for (const [key, value] of entries) log.push({ task, key, value, position: { ...position } });
      }
    },
    async close() {},
    describe: (store) => `in-process changelog ${store}`,
  };
}

defineComponent({
  kind: 'state',
  type: 'memory',
  summary: 'Keeps each store\'s changelog in the process (tests, the test driver): state survives a restart or a swap of the pipeline, not of the process.',
  description:
    "Each batch's state changes are appended to an in-process changelog per store, tagged with the source position they reflect; a task assigned again (after a restart or a hot swap of its pipeline, in the same process) gets back, for each key, the latest value written at or before its committed position. Tests use it to prove restores and exactly-once counts in virtual time.",
  fields: {},
  examples: ['state: { type: memory }'],
  create: (_config, ctx) => memoryStateBackend(ctx.topology),
});
