/**
 * Grouping and aggregating, shared by the `window` and `aggregate` operators: the config of group
 * fields and aggregations, and a compiled Grouping that reads a record's group key and values and
 * keeps running aggregates — count, sum, min, max, avg of numbers, and the latest value. Aggregates
 * are plain arrays, so they go to a changelog as JSON and come back from it, and the aggregates of the
 * same group kept by several tasks merge into one.
 *
 * @see window/ — per event-time window and group
 * @see aggregate.ts — per group, since the start
 */
import * as t from 'io-ts';
import { NonEmptyString, isPlainObject, mapOf, oneOf } from '../topology/codecs.ts';
import { problem, type ConfigProblem } from '../topology/registry.ts';
import { objectCodec, optional, required } from '../topology/spec.ts';
import { compilePath, kindOf, parsePath, PathText, type Accessor } from './path.ts';

export type GroupField = string | { path: string; name?: string };

const groupFieldObject = objectCodec('group field', {
  path: required(PathText, 'Path of the value to group by.'),
  name: optional(NonEmptyString, 'Name of the output field (default: the last field name of the path).'),
});

export const GroupFieldCodec = new t.Type<GroupField, unknown, unknown>(
  'a path, or { path, name }',
  (u): u is GroupField => typeof u === 'string' || (isPlainObject(u) && typeof u.path === 'string'),
  (u, c) => (typeof u === 'string' ? PathText.validate(u, c) : isPlainObject(u) ? groupFieldObject.validate(u, c) : t.failure(u, c)),
  (a) => a,
);

export const GroupFields = t.array(GroupFieldCodec, 'a list of paths or { path, name }');

const FUNCTIONS = ['count', 'sum', 'min', 'max', 'avg', 'latest'] as const;
type AggregateFunction = (typeof FUNCTIONS)[number];

export interface Aggregation {
  fn: AggregateFunction;
  path?: string;
}

const aggregationObject = objectCodec('aggregation', {
  fn: required(oneOf(FUNCTIONS), 'The aggregate function.'),
  path: optional(PathText, 'Path of the value aggregated; count without a path counts records, with one the records where it is not null.'),
});

const AggregationCodec = new t.Type<Aggregation, unknown, unknown>(
  'an aggregation such as { fn: count } or { fn: avg, path: dob.age }',
  (u): u is Aggregation => isPlainObject(u) && typeof u.fn === 'string',
  (u, c) => {
    const result = aggregationObject.validate(u, c);
    if (result._tag === 'Left' || result.right.fn === 'count' || result.right.path !== undefined) return result;
    return t.failure(u, c, `${result.right.fn} needs a path: the value it aggregates, e.g. { fn: ${result.right.fn}, path: dob.age }`);
  },
  (a) => a,
);

export const Aggregations = mapOf('a map of output names to aggregations, e.g. { users: { fn: count } }', AggregationCodec, { nonEmpty: true });

export const AGGREGATIONS_DESCRIPTION =
  'Output name → `{ fn, path }`: `count` (records; with a path, records where it is not null), `sum`, `min`, `max`, `avg` of the numbers (or numeric strings) at `path`, `latest` (the value at `path` of the record with the latest timestamp). A null or missing value is left out, as in SQL (and a result over no values is null); any other non-number sends the record to the dead-letter output.';

export const GROUP_BY_DESCRIPTION =
  'The values to group by, each output under the last field name of its path (`location.country` → `country`) or `{ path, name }`. A record whose value there is missing, null, an object or an array goes to the dead-letter output.';

/** The last field name of a path: `location.country` → `country`, `results[0]` → `results`. */
export function lastName(path: string): string {
  return parsePath(path).findLast((segment): segment is string => typeof segment === 'string')!;
}

const groupNameOf = (g: GroupField): string => (typeof g === 'string' ? lastName(g) : (g.name ?? lastName(g.path)));
export const outputNamesOf = (groupBy: GroupField[]): string[] => groupBy.map(groupNameOf);

/** Output fields that collide: `reserved` names (e.g. window_start) first, then the group fields, then the aggregations. */
export function collidingOutputs(groupBy: GroupField[], aggregations: Record<string, Aggregation>, reserved: ReadonlyMap<string, string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const taken = new Map(reserved);
  const outputs: Array<[string, string, string]> = [
    ...outputNamesOf(groupBy).map((name, i): [string, string, string] => [name, `groupBy.${i}`, `groupBy[${i}]`]),
    ...Object.keys(aggregations).map((name): [string, string, string] => [name, `aggregations.${name}`, `aggregations.${name}`]),
  ];
  for (const [name, path, shown] of outputs) {
    const other = taken.get(name);
    if (other !== undefined) problems.push(problem(path, `output field "${name}" is already ${other}'s; name it differently (a group field as { path, name })`));
    else taken.set(name, shown);
  }
  return problems;
}

/** A value as a dead-letter reason shows it: short scalars as JSON, other values by kind. */
export function shown(value: unknown): string {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return kindOf(value);
  const text = typeof value === 'number' && !Number.isFinite(value) ? String(value) : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const NUMERIC_TEXT = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

/**
 * The running aggregates of one group: `acc[2i]` is the count, sum, min or max of aggregation i (for
 * `latest`: the timestamp of the latest value), `acc[2i + 1]` how many values it has seen; `latest[i]`
 * the latest value, for `latest` aggregations.
 */
export interface Aggregates {
  acc: number[];
  latest?: unknown[];
}

export class Grouping {
  readonly groupPaths: string[];
  readonly groupNames: string[];
  readonly aggregationNames: string[];
  readonly aggregations: Aggregation[];
  private readonly readGroup: Accessor[];
  private readonly readAggregated: Array<Accessor | undefined>;
  private readonly hasLatest: boolean;
  // Reused for every record: the group values, and the values read for each aggregation (NaN = none).
  private readonly groupValues: unknown[];
  private readonly numbers: Float64Array;
  private readonly values: unknown[];

  constructor(groupBy: GroupField[], aggregations: Record<string, Aggregation>) {
    this.groupPaths = groupBy.map((g) => (typeof g === 'string' ? g : g.path));
    this.groupNames = outputNamesOf(groupBy);
    this.aggregationNames = Object.keys(aggregations);
    this.aggregations = Object.values(aggregations);
    this.readGroup = this.groupPaths.map(compilePath);
    this.readAggregated = this.aggregations.map((a) => (a.path === undefined ? undefined : compilePath(a.path)));
    this.hasLatest = this.aggregations.some((a) => a.fn === 'latest');
    this.groupValues = new Array(this.readGroup.length);
    this.numbers = new Float64Array(this.aggregations.length);
    this.values = new Array(this.aggregations.length);
  }

  /** The group key (the JSON of each value, comma-separated), keeping the values for `group()`; or why there is none. */
  keyOf(value: unknown): string | { reason: string } {
    let key = '';
    for (let i = 0; i < this.readGroup.length; i++) {
      const found = this.readGroup[i](value);
      if (typeof found !== 'string' && typeof found !== 'boolean' && !(typeof found === 'number' && Number.isFinite(found))) {
        return { reason: `group field ${this.groupPaths[i]} is ${shown(found)}, expected a string, number or boolean` };
      }
      this.groupValues[i] = found;
      key = i === 0 ? JSON.stringify(found) : `${key},${JSON.stringify(found)}`;
    }
    return key;
  }

  /** The group values of the last `keyOf`, copied. */
  group(): unknown[] {
    return this.groupValues.slice();
  }

  /** Reads the aggregated values from a record's value; or says which one is not a number. */
  read(value: unknown): string | undefined {
    const { aggregations, numbers } = this;
    for (let i = 0; i < aggregations.length; i++) {
      const read = this.readAggregated[i];
      if (read === undefined) {
        numbers[i] = 1;
        continue;
      }
      const found = read(value);
      const fn = aggregations[i].fn;
      if (found === undefined || found === null) numbers[i] = Number.NaN;
      else if (fn === 'count') numbers[i] = 1;
      else if (fn === 'latest') {
        numbers[i] = 1;
        this.values[i] = found;
      } else if (typeof found === 'number' && Number.isFinite(found)) numbers[i] = found;
      else if (typeof found === 'string' && NUMERIC_TEXT.test(found)) numbers[i] = Number(found);
      else return `aggregation ${this.aggregationNames[i]} (${fn} of ${aggregations[i].path}) is ${shown(found)}, expected a number`;
    }
    return undefined;
  }

  /** `keyOf` then `read`: the group key, the values read for `add`; or why the record cannot be aggregated. */
  keyAndValues(value: unknown): string | { reason: string } {
    const key = this.keyOf(value);
    if (typeof key !== 'string') return key;
    const notNumber = this.read(value);
    return notNumber === undefined ? key : { reason: notNumber };
  }

  empty(): Aggregates {
    const acc = new Array<number>(2 * this.aggregations.length).fill(0);
    return this.hasLatest ? { acc, latest: new Array(this.aggregations.length).fill(null) } : { acc };
  }

  /** Adds the values of the last `read` (a record with this timestamp) to `into`. */
  add(into: Aggregates, timestamp: number): void {
    const { aggregations, numbers, values } = this;
    const { acc } = into;
    for (let i = 0; i < aggregations.length; i++) {
      const n = numbers[i];
      if (Number.isNaN(n)) continue;
      const j = 2 * i;
      switch (aggregations[i].fn) {
        case 'count':
          acc[j] += 1;
          break;
        case 'sum':
        case 'avg':
          acc[j] += n;
          break;
        case 'min':
          if (acc[j + 1] === 0 || n < acc[j]) acc[j] = n;
          break;
        case 'max':
          if (acc[j + 1] === 0 || n > acc[j]) acc[j] = n;
          break;
        case 'latest':
          if (acc[j + 1] === 0 || timestamp >= acc[j]) {
            acc[j] = timestamp;
            into.latest![i] = values[i];
          }
          break;
      }
      acc[j + 1] += 1;
    }
  }

  /** Adds `from`'s aggregates (of the same group, kept by another task) to `into`. */
  merge(into: Aggregates, from: Aggregates): void {
    for (let i = 0; i < this.aggregations.length; i++) {
      const j = 2 * i;
      if (from.acc[j + 1] === 0) continue;
      const first = into.acc[j + 1] === 0;
      switch (this.aggregations[i].fn) {
        case 'count':
        case 'sum':
        case 'avg':
          into.acc[j] += from.acc[j];
          break;
        case 'min':
          if (first || from.acc[j] < into.acc[j]) into.acc[j] = from.acc[j];
          break;
        case 'max':
          if (first || from.acc[j] > into.acc[j]) into.acc[j] = from.acc[j];
          break;
        case 'latest':
          if (first || from.acc[j] >= into.acc[j]) {
            into.acc[j] = from.acc[j];
            into.latest![i] = from.latest![i];
          }
          break;
      }
      into.acc[j + 1] += from.acc[j + 1];
    }
  }

  /** A copy that does not share its arrays. */
  copy(aggregates: Aggregates): Aggregates {
    return aggregates.latest ? { acc: aggregates.acc.slice(), latest: aggregates.latest.slice() } : { acc: aggregates.acc.slice() };
  }

  /** Writes the group fields and the results into `row`. */
  write(row: Record<string, unknown>, group: readonly unknown[], aggregates: Aggregates): void {
    for (let i = 0; i < this.groupNames.length; i++) row[this.groupNames[i]] = group[i];
    for (let i = 0; i < this.aggregations.length; i++) row[this.aggregationNames[i]] = this.result(i, aggregates);
  }

  private result(i: number, { acc, latest }: Aggregates): unknown {
    const j = 2 * i;
    const fn = this.aggregations[i].fn;
    if (fn === 'count') return acc[j];
    if (acc[j + 1] === 0) return null;
    if (fn === 'latest') return latest![i];
    return fn === 'avg' ? acc[j] / acc[j + 1] : acc[j];
  }

  /** `users = count(*), age = avg(dob.age)` for --describe. */
  describe(): string {
    return this.aggregations.map((a, i) => `${this.aggregationNames[i]} = ${a.fn}(${a.path ?? '*'})`).join(', ');
  }
}
