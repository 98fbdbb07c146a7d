/**
 * key-by — sets each record's key from a field of its value.
 *
 * ```yaml
 * - type: key-by
 *   field: login.uuid
 * ```
 * See also: `dedupe`, `mapping`. What it does: the spec's description below (docs/operators.md).
 */
import { defineComponent } from '../topology/registry.ts';
import { required, type ConfigOf } from '../topology/spec.ts';
import type { Operator } from '../topology/types.ts';
import { compilePath, kindOf, PathText, scalarText } from './path.ts';
import { perRecord, recordCopier } from './per-record.ts';

const fields = {
  field: required(PathText, 'Path of the value that becomes the key, e.g. `login.uuid` or `results[0].id`.'),
};

export type KeyByConfig = ConfigOf<typeof fields>;

export function keyByOperator(config: KeyByConfig): Operator {
  const read = compilePath(config.field);
  const withKey = recordCopier('key');
  return {
    apply: perRecord((record, out, batch) => {
      const found = read(record.value);
      const key = scalarText(found);
      if (key === undefined) {
        batch.deadLetter(record, `key field ${config.field} is ${kindOf(found)}, expected a string, number or boolean`);
        return;
      }
      out.next(withKey(record, key));
    }),
    describe: () => `key-by ${config.field}`,
  };
}

defineComponent({
  kind: 'operator',
  type: 'key-by',
  summary: "Sets each record's key to the text of a field of its value.",
  description:
    'The value at `field` becomes the key — what a Kafka sink partitions by and what `dedupe` compares: a string as it is, a number or boolean as its text (69217 becomes "69217"). ' +
    'A record where the field is missing, null, an object or an array goes to the dead-letter output unchanged, with the reason.',
  fields,
  examples: ['type: key-by\nfield: login.uuid'],
  keepsValues: true,
  create: keyByOperator,
});
