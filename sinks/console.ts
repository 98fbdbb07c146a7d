/**
 * console — prints records to standard output, one JSON line each (Spark's console sink, for demos
 * and debugging). Large batches print their first `maxRows` records and a count of the rest.
 *
 * ```yaml
 * sink: { type: console, maxRows: 20 }
 * ```
 * See also: the `memory` sink.
 */
import { defineComponent } from '../topology/registry.ts';
import { withDefault } from '../topology/spec.ts';
import { BooleanFromAny, PositiveInt } from '../topology/codecs.ts';
import type { Sink } from '../topology/types.ts';

export function consoleSink(config: { maxRows: number; withKey: boolean }, out: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Sink {
  return {
    async start() {},
    async write(records) {
      for (const record of records.slice(0, config.maxRows)) {
        out(config.withKey ? JSON.stringify({ key: record.key, value: record.value }) : JSON.stringify(record.value));
      }
      if (records.length > config.maxRows) out(`… and ${records.length - config.maxRows} more`);
    },
    async close() {},
    describe: () => 'console',
  };
}

defineComponent({
  kind: 'sink',
  type: 'console',
  summary: 'Prints records to standard output as JSON lines.',
  description: 'Prints each written record as one JSON line; at most `maxRows` per write call, then a count of the rest.',
  fields: {
    maxRows: withDefault(PositiveInt, 20, 'Records printed per write call.'),
    withKey: withDefault(BooleanFromAny, false, 'Print `{ key, value }` instead of the value alone.'),
  },
  examples: ['sink: { type: console, maxRows: 5 }'],
  create: (config) => consoleSink(config),
});
