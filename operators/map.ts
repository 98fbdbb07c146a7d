/**
 * map — replaces each record's value with what a named function returns.
 *
 * ```yaml
 * - type: map
 *   fn: add-full-name
 * ```
 * See also: `filter`, `flat-map`, `mapping` (without code); `registerFunction` in topology/functions.ts.
 * What it does: the spec's description below (docs/operators.md).
 */
import type { Subscriber } from 'rxjs';
import { NonEmptyString } from '../topology/codecs.ts';
import { defineComponent } from '../topology/registry.ts';
import { required, type ConfigOf } from '../topology/spec.ts';
import type { BatchScope, Operator, StreamRecord } from '../topology/types.ts';
import { DEAD_LETTERED, callFunction, unknownFunction, userFunction } from './config.ts';
import { perRecord, recordCopier } from './per-record.ts';

const fields = {
  fn: required(NonEmptyString, 'Name of the function that computes the new value from (value, record); registered with registerFunction.'),
};

export type MapConfig = ConfigOf<typeof fields>;

export function mapOperator(config: MapConfig): Operator {
  const fn = userFunction(config.fn);
  const name = JSON.stringify(config.fn);
  const withValue = recordCopier('value');

  function handle(record: StreamRecord, out: Subscriber<StreamRecord>, batch: BatchScope): void {
    const value = callFunction(fn, name, record, batch, { undefinedIsError: true });
    if (value !== DEAD_LETTERED) out.next(withValue(record, value));
  }

  return {
    apply: perRecord(handle),
    describe: () => `map with function ${name}`,
  };
}

defineComponent({
  kind: 'operator',
  type: 'map',
  summary: 'Replaces each value with what a named function returns.',
  description:
    'Calls the function registered under `fn` with (value, record) and emits the record with the returned value; key, timestamp, origin, raw bytes and headers are kept. ' +
    'A record for which the function throws, or returns undefined or a Promise (functions must be synchronous), goes to the dead-letter output unchanged, with the reason. ' +
    'An unknown function name refuses the topology when it is loaded, listing the registered names. Costs one function call and one shallow record copy per record.',
  fields,
  examples: ['type: map\nfn: add-full-name'],
  check: (config) => unknownFunction(config.fn),
  create: mapOperator,
});
