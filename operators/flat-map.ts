/**
 * flat-map — one record per element of an array, returned by a named function or found at a path.
 *
 * ```yaml
 * - type: flat-map
 *   path: results
 * ```
 * See also: `map` (one record in, one out), `key-by`. What it does: the spec's description below
 * (docs/operators.md).
 */
import type { Subscriber } from 'rxjs';
import { NonEmptyString } from '../topology/codecs.ts';
import { defineComponent } from '../topology/registry.ts';
import { optional, type ConfigOf } from '../topology/spec.ts';
import type { BatchScope, Operator, StreamRecord } from '../topology/types.ts';
import { errorMessage } from '../topology/errors.ts';
import { exactlyOneOf, unknownFunction, userFunction } from './config.ts';
import { compilePath, kindOf, PathText } from './path.ts';
import { perRecord, recordCopier } from './per-record.ts';

const fields = {
  fn: optional(NonEmptyString, 'Name of a function of (value, record), registered with registerFunction, that returns the array of values to emit. Give fn or path.'),
  path: optional(PathText, 'Path of an array in the value whose elements are emitted, e.g. `results`. Give fn or path.'),
};

export type FlatMapConfig = ConfigOf<typeof fields>;

export function flatMapOperator(config: FlatMapConfig): Operator {
  const by = config.fn !== undefined ? 'fn' : 'path';
  let elementsOf: (record: StreamRecord) => unknown;
  let source: string;
  if (by === 'fn') {
    const fn = userFunction(config.fn!);
    elementsOf = (record) => fn(record.value, record);
    source = `function ${JSON.stringify(config.fn)}`;
  } else {
    const read = compilePath(config.path!);
    elementsOf = (record) => read(record.value);
    source = `path ${config.path}`;
  }

  const withValue = recordCopier('value');

  function handle(record: StreamRecord, out: Subscriber<StreamRecord>, batch: BatchScope): void {
    let elements: unknown;
    try {
      elements = elementsOf(record);
    } catch (error) {
      batch.deadLetter(record, `${source} threw: ${errorMessage(error)}`);
      return;
    }
    if (!Array.isArray(elements)) {
      batch.deadLetter(record, `${source} ${by === 'fn' ? 'returned' : 'is'} ${kindOf(elements)}, expected an array`);
      return;
    }
    for (const value of elements) out.next(withValue(record, value));
  }

  return {
    apply: perRecord(handle),
    describe: () => `flat-map the array of ${source}`,
  };
}

defineComponent({
  kind: 'operator',
  type: 'flat-map',
  summary: 'Emits one record per element of an array: returned by a named function, or found at a path.',
  description:
    'Give exactly one of `fn` (a function registered with registerFunction that returns an array) or `path` (an array field of the value, e.g. `results`). ' +
    'Each element becomes a record with the original key, timestamp, origin, raw bytes and headers (so a dead-lettered element still carries the bytes it came from); an empty array emits nothing. ' +
    'A record whose array is missing, null or not an array, or for which the function throws, goes to the dead-letter output unchanged.',
  fields,
  examples: ['type: flat-map\npath: results', 'type: flat-map\nfn: split-batch'],
  check: (config) => [...exactlyOneOf(config, 'fn', 'path'), ...unknownFunction(config.fn)],
  // A registered function is handed the value, and could modify it; a `path` only reads it.
  keepsValues: (config) => config.fn === undefined,
  create: flatMapOperator,
});
