/**
 * filter — keeps the records that satisfy a named function or a declarative `where` comparison.
 *
 * ```yaml
 * - type: filter
 *   where: { path: dob.age, gte: 18 }
 * ```
 * See also: `map`, `validate`, `dedupe`. What it does: the spec's description below (docs/operators.md).
 */
import * as t from 'io-ts';
import { BooleanFromAny, NonEmptyString, acceptedBy, textParsedBy } from '../topology/codecs.ts';
import { defineComponent } from '../topology/registry.ts';
import { optional, objectCodec, required, type ConfigOf } from '../topology/spec.ts';
import type { Operator } from '../topology/types.ts';
import { exactlyOneOf, functionOperator, unknownFunction } from './config.ts';
import { compilePath, PathText, type Accessor } from './path.ts';
import { perRecord } from './per-record.ts';


type Constant = string | number | boolean | null;
const isConstant = (u: unknown): u is Constant => u === null || typeof u === 'string' || typeof u === 'number' || typeof u === 'boolean';
const Constant = acceptedBy('a string, number, boolean or null', isConstant);
const Constants = acceptedBy('a list of strings, numbers, booleans or nulls', (u): u is Constant[] => Array.isArray(u) && u.every(isConstant));
const Bound = acceptedBy('a number or a string', (u): u is number | string => typeof u === 'number' || typeof u === 'string');

const RegularExpression = textParsedBy(
  'a regular expression',
  (text) => new RegExp(text, 'u'),
  (message) => `not a valid regular expression: ${message}`,
);

const whereFields = {
  path: required(PathText, 'Path of the value to test, e.g. `gender` or `results[0].id`.'),
  equals: optional(Constant, 'Keep records whose value is this constant.'),
  notEquals: optional(Constant, 'Keep records whose value is not this constant (a missing value is not equal).'),
  in: optional(Constants, 'Keep records whose value is one of these constants.'),
  notIn: optional(Constants, 'Keep records whose value is none of these constants (a missing value is in none).'),
  exists: optional(BooleanFromAny, 'true: keep records where the path holds a value other than null; false: keep the others.'),
  gt: optional(Bound, 'Keep records whose value is greater than this (numbers with numbers, strings with strings).'),
  gte: optional(Bound, 'Keep records whose value is greater than or equal to this.'),
  lt: optional(Bound, 'Keep records whose value is less than this.'),
  lte: optional(Bound, 'Keep records whose value is less than or equal to this.'),
  matches: optional(RegularExpression, 'Keep records whose value is a string matching this regular expression (Unicode mode).'),
};

const COMPARISONS = ['equals', 'notEquals', 'in', 'notIn', 'exists', 'gt', 'gte', 'lt', 'lte', 'matches'] as const;
type Comparison = (typeof COMPARISONS)[number];

export type WhereConfig = ConfigOf<typeof whereFields>;

function givenComparisons(where: WhereConfig): Comparison[] {
  return COMPARISONS.filter((comparison) => where[comparison] !== undefined);
}

function comparisonProblem(given: Comparison[]): string {
  return `give exactly one comparison (${COMPARISONS.join(', ')}); got ${given.length === 0 ? 'none' : given.join(', ')}`;
}

const whereObject = objectCodec('a condition', whereFields);

/** A `where` condition: its path, and exactly one comparison. */
const Where = new t.Type<WhereConfig, unknown, unknown>(
  'a condition such as { path: gender, equals: female }',
  whereObject.is,
  (u, c) => {
    const result = whereObject.validate(u, c);
    if (result._tag === 'Left') return result;
    const given = givenComparisons(result.right);
    return given.length === 1 ? result : t.failure(u, c, comparisonProblem(given));
  },
  (a) => a,
);

const fields = {
  fn: optional(NonEmptyString, 'Name of a function of (value, record) registered with registerFunction; a record is kept when it returns a truthy value. Give fn or where.'),
  where: optional(Where, 'A condition on the value at a path: { path, <comparison>: constant } with one comparison of equals, notEquals, in, notIn, exists, gt, gte, lt, lte, matches. Give fn or where.'),
};

export type FilterConfig = ConfigOf<typeof fields>;

/** Whether a value satisfies `where`, compiled once into a plain function. */
function compileWhere(where: WhereConfig): (value: unknown) => boolean {
  const given = givenComparisons(where);
  if (given.length !== 1) throw new Error(comparisonProblem(given));
  const read = compilePath(where.path);
  const comparison = given[0];
  switch (comparison) {
    case 'equals': {
      const constant = where.equals;
      return (value) => read(value) === constant;
    }
    case 'notEquals': {
      const constant = where.notEquals;
      return (value) => read(value) !== constant;
    }
    case 'in': {
      const constants = new Set<unknown>(where.in);
      return (value) => constants.has(read(value));
    }
    case 'notIn': {
      const constants = new Set<unknown>(where.notIn);
      return (value) => !constants.has(read(value));
    }
    case 'exists': {
      const wanted = where.exists;
      return (value) => (read(value) != null) === wanted;
    }
    case 'matches': {
      const pattern = new RegExp(where.matches!, 'u');
      return (value) => {
        const found = read(value);
        return typeof found === 'string' && pattern.test(found);
      };
    }
    case 'gt':
      return ordered(read, where.gt!, (order) => order > 0);
    case 'gte':
      return ordered(read, where.gte!, (order) => order >= 0);
    case 'lt':
      return ordered(read, where.lt!, (order) => order < 0);
    case 'lte':
      return ordered(read, where.lte!, (order) => order <= 0);
  }
}

/** Compares the value at a path with a bound of the same type; a value of another type does not match. */
function ordered(read: Accessor, bound: number | string, accepts: (order: number) => boolean): (value: unknown) => boolean {
  return (value) => {
    const found = read(value) as typeof bound;
    if (typeof found !== typeof bound) return false;
    return accepts(found < bound ? -1 : found > bound ? 1 : 0);
  };
}

function describeWhere(where: WhereConfig): string {
  const comparison = givenComparisons(where)[0];
  return `${where.path} ${comparison} ${JSON.stringify(where[comparison])}`;
}

export function filterOperator(config: FilterConfig): Operator {
  if (config.where !== undefined) {
    const where = config.where;
    const test = compileWhere(where);
    return {
      apply: perRecord((record, out) => {
        if (test(record.value)) out.next(record);
      }),
      describe: () => `filter where ${describeWhere(where)}`,
    };
  }

  return functionOperator(config.fn!, 'filter', { undefinedIsError: false }, (record, keep, out) => {
    if (keep) out.next(record);
  });
}

defineComponent({
  kind: 'operator',
  type: 'filter',
  summary: 'Keeps the records that satisfy a condition: a named function, or a declarative comparison.',
  description:
    'Give exactly one of `fn` (a function registered with registerFunction; a record is kept when it returns a truthy value) or `where` (a path and one comparison with a constant). ' +
    '`equals`/`notEquals`/`in`/`notIn` compare with ===, so 18 and "18" differ; a missing value equals nothing. `exists: true` keeps values other than null and missing. ' +
    '`gt`/`gte`/`lt`/`lte` compare numbers with numbers and strings with strings (ISO dates compare correctly as strings); other values do not match. `matches` tests strings against a regular expression. ' +
    'Dropped records are simply not emitted; a record for which the function throws (or returns a Promise: functions must be synchronous) goes to the dead-letter output.',
  fields,
  examples: ['type: filter\nwhere: { path: gender, equals: female }', 'type: filter\nwhere: { path: dob.age, gte: 18 }', 'type: filter\nfn: is-adult'],
  check: (config) => [...exactlyOneOf(config, 'fn', 'where'), ...unknownFunction(config.fn)],
  // A registered function is handed the value, and could modify it; a `where` only reads it.
  keepsValues: (config) => config.fn === undefined,
  create: filterOperator,
});
