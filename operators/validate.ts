/**
 * validate — passes the values a named io-ts schema decodes (decoded), and dead-letters the others
 * with every problem listed by path.
 *
 * ```yaml
 * - type: validate
 *   schema: randomuser-user
 * ```
 * See also: `filter`, `mapping`; `registerSchema` in topology/functions.ts. What it does: the spec's
 * description below (docs/operators.md).
 */
import { NonEmptyString } from '../topology/codecs.ts';
import { errorMessage, formatErrors } from '../topology/errors.ts';
import { lookupSchema } from '../topology/functions.ts';
import { defineComponent, problem } from '../topology/registry.ts';
import { required, type ConfigOf } from '../topology/spec.ts';
import type { Operator } from '../topology/types.ts';
import { perRecord, recordCopier } from './per-record.ts';
import { compileSchemaCheck } from './schema-check.ts';

const fields = {
  schema: required(NonEmptyString, 'Name of an io-ts codec registered with registerSchema; values that it decodes pass, decoded, the others are dead-lettered.'),
};

export type ValidateConfig = ConfigOf<typeof fields>;

export function validateOperator(config: ValidateConfig): Operator {
  const codec = lookupSchema(config.schema).codec;
  const name = JSON.stringify(config.schema);
  const withValue = recordCopier('value');
  const certainlyValid = compileSchemaCheck(codec);
  return {
    apply: perRecord((record, out, batch) => {
      // Most values are valid and decode to themselves: the compiled check says so without io-ts's
      // allocations. Whatever it is not sure of (or throws on) io-ts decodes, for the verdict and messages.
      let valid = false;
      try {
        valid = certainlyValid(record.value);
      } catch {
        valid = false;
      }
      if (valid) {
        out.next(record);
        return;
      }
      let result;
      try {
        result = codec.decode(record.value);
      } catch (error) {
        batch.deadLetter(record, `schema ${name} threw: ${errorMessage(error)}`);
        return;
      }
      if (result._tag === 'Left') batch.deadLetter(record, formatErrors(result.left).join('; '));
      // Most codecs decode a valid value to itself: the record then passes as it is, without a copy.
      else out.next(result.right === record.value ? record : withValue(record, result.right));
    }),
    describe: () => `validate against schema ${name}`,
  };
}

defineComponent({
  kind: 'operator',
  type: 'validate',
  summary: 'Passes the values that a named schema decodes (decoded), and dead-letters the others.',
  description:
    'Decodes each value with the io-ts codec registered under `schema` with registerSchema. On success the decoded value replaces the value (so a codec that converts, e.g. a numeric postcode to a string, converts here); the codec must not modify the value it is given (io-ts codecs do not: one that converts returns a new value). ' +
    'On failure the record goes to the dead-letter output unchanged, its reason listing every problem by path, joined with "; " ' +
    '(e.g. `login.uuid: expected a UUID string, got nothing`). An unknown schema name refuses the topology when it is loaded, listing the registered names.',
  fields,
  examples: ['type: validate\nschema: randomuser-user'],
  check(config) {
    try {
      lookupSchema(config.schema);
      return [];
    } catch (error) {
      return [problem('schema', errorMessage(error))];
    }
  },
  // A schema's codec decodes without modifying its input, as io-ts codecs do (the description says so).
  keepsValues: true,
  create: validateOperator,
});
