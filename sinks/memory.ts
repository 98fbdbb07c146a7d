/**
 * memory — appends records to an in-process channel (testing/memory-channels.ts), whose fault hooks
 * make writes slow or fail: what tests use to prove commit-after-ack and backpressure.
 *
 * ```yaml
 * sink: { type: memory, channel: out }
 * ```
 * See also: the `memory` source, the `console` sink.
 */
import { firstValueFrom, timer } from 'rxjs';
import { defineComponent } from '../topology/registry.ts';
import { required } from '../topology/spec.ts';
import { NonEmptyString } from '../topology/codecs.ts';
import { memoryStore } from '../testing/memory-channels.ts';
import type { SchedulerLike, Sink } from '../topology/types.ts';

export function memorySink(config: { channel: string }, topology: string, scheduler: SchedulerLike): Sink {
  const channel = memoryStore.channel(topology, config.channel);
  return {
    async start() {},
    async write(records) {
      const b = channel.behaviour;
      channel.writeCalls.push(records.length);
      const delay = b.delayOf ? b.delayOf(records) : b.delayMs;
      if (delay) await firstValueFrom(timer(delay, scheduler));
      if (b.failNextWrites && b.failNextWrites > 0) {
        b.failNextWrites--;
        throw b.error?.() ?? new Error(`memory sink ${config.channel}: injected write failure`);
      }
      if (b.failOn) {
        const bad = records.findIndex(b.failOn);
        if (bad >= 0) {
          channel.append(...records.slice(0, bad));
          throw b.error?.() ?? new Error(`memory sink ${config.channel}: injected failure at record ${bad} of ${records.length}`);
        }
      }
      channel.append(...records);
    },
    async close() {},
    describe: () => `memory channel ${config.channel}`,
  };
}

defineComponent({
  kind: 'sink',
  type: 'memory',
  summary: 'Appends records to an in-process channel (tests, the test driver).',
  description: 'Appends every acknowledged record to an in-process channel, which a `memory` source or a test can read.',
  fields: { channel: required(NonEmptyString, 'Name of the in-process channel to append to.') },
  examples: ['sink: { type: memory, channel: out }'],
  create: (config, ctx) => memorySink(config, ctx.topology, ctx.scheduler),
});
