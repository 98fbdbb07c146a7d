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
import { NonEmptyString } from '../topology/codecs.ts';
import { defineComponent } from '../topology/registry.ts';
import { required, type ConfigOf } from '../topology/spec.ts';
import type { Operator } from '../topology/types.ts';
import { functionOperator, unknownFunction } from './config.ts';
import { recordCopier } from './per-record.ts';

const fields = {
  fn: required(NonEmptyString, 'Name of the function that computes the new value from (value, record); registered with registerFunction.'),
};

export type MapConfig = ConfigOf<typeof fields>;

export function mapOperator(config: MapConfig): Operator {
  const withValue = recordCopier('value');
  return functionOperator(config.fn, 'map', { undefinedIsError: true }, (record, value, out) => out.next(withValue(record, value)));
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
