/**
 * The `window` operator's config: the event time, the group fields, the aggregations, and the rules
 * between them that its spec's check enforces (a slide only for sliding windows, no colliding output names).
 */
import * as t from 'io-ts';
import { Duration, NonEmptyString, PositiveDuration, isPlainObject, mapOf, oneOf } from '../../topology/codecs.ts';
import { problem, type ConfigProblem } from '../../topology/registry.ts';
import { objectCodec, optional, required, withDefault, type ConfigOf } from '../../topology/spec.ts';
import { parsePath, PathText } from '../path.ts';



export type EventTime = 'timestamp' | { field: string };

const eventTimeField = objectCodec('event time field', {
  field: required(PathText, 'Path of a field holding an ISO-8601 date-time with a zone, or milliseconds since the epoch.'),
});

const EventTimeCodec = new t.Type<EventTime, unknown, unknown>(
  'timestamp (the record timestamp), or { field: <path> }',
  (u): u is EventTime => u === 'timestamp' || (isPlainObject(u) && typeof u.field === 'string'),
  (u, c) => (u === 'timestamp' ? t.success(u) : isPlainObject(u) ? eventTimeField.validate(u, c) : t.failure(u, c)),
  (a) => a,
);

export type GroupField = string | { path: string; name?: string };

const groupFieldObject = objectCodec('group field', {
  path: required(PathText, 'Path of the value to group by.'),
  name: optional(NonEmptyString, 'Name of the output field (default: the last field name of the path).'),
});

const GroupFieldCodec = new t.Type<GroupField, unknown, unknown>(
  'a path, or { path, name }',
  (u): u is GroupField => typeof u === 'string' || (isPlainObject(u) && typeof u.path === 'string'),
  (u, c) => (typeof u === 'string' ? PathText.validate(u, c) : isPlainObject(u) ? groupFieldObject.validate(u, c) : t.failure(u, c)),
  (a) => a,
);

const FUNCTIONS = ['count', 'sum', 'min', 'max', 'avg'] as const;
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

const Aggregations = mapOf('a map of output names to aggregations, e.g. { users: { fn: count } }', AggregationCodec, { nonEmpty: true });

export const fields = {
  kind: required(oneOf(['tumbling', 'sliding']), 'tumbling: back-to-back windows of `size`; sliding: windows of `size` starting every `slide`, a record counting in each one that contains it.'),
  size: required(PositiveDuration, 'Length of a window, e.g. 1m. Windows are aligned to the Unix epoch (UTC) and exclude their end.'),
  slide: optional(
    PositiveDuration,
    'Sliding windows only (required there): time between window starts, at most `size`. It need not divide `size`; when it does not, a record is in ⌊size/slide⌋ or ⌈size/slide⌉ windows.',
  ),
  eventTime: required(
    EventTimeCodec,
    '`timestamp`: the record timestamp (for Kafka records, the message timestamp); or `{ field: <path> }`: an ISO-8601 date-time with a zone (Z or ±hh:mm; a date alone is UTC midnight) or milliseconds since the epoch. A record without a usable event time goes to the dead-letter output.',
  ),
  groupBy: withDefault(
    t.array(GroupFieldCodec, 'a list of paths or { path, name }'),
    [] as GroupField[],
    'The values to group by, each output under the last field name of its path (`location.country` → `country`) or `{ path, name }`. A record whose value there is missing, null, an object or an array goes to the dead-letter output.',
  ),
  aggregations: required(
    Aggregations,
    'Output name → `{ fn, path }`: `count` (records; with a path, records where it is not null), `sum`, `min`, `max`, `avg` of the numbers (or numeric strings) at `path`. A null or missing value is left out, as in SQL (and a result over no values is null); any other non-number sends the record to the dead-letter output.',
  ),
  allowedLateness: required(Duration, 'How far behind the largest event time seen a record may be and still be counted (Spark\'s withWatermark delay); the watermark is the largest event time minus this.'),
  lateRecords: withDefault(oneOf(['drop', 'deadLetter']), 'drop', 'A record whose windows the watermark has closed: dropped, or sent to the dead-letter output. Counted either way.'),
  outputMode: withDefault(oneOf(['append', 'update']), 'append', 'append: each window once, when the watermark closes it, final; update: after each batch, every window that changed in it.'),
};

export type WindowConfig = ConfigOf<typeof fields>;

/** The last field name of a path: `location.country` → `country`, `results[0]` → `results`. */
export function lastName(path: string): string {
  return parsePath(path).findLast((segment): segment is string => typeof segment === 'string')!;
}

const groupNameOf = (g: GroupField): string => (typeof g === 'string' ? lastName(g) : (g.name ?? lastName(g.path)));
export const outputNamesOf = (groupBy: GroupField[]): string[] => groupBy.map(groupNameOf);

/** The spec's check: the slide against the kind and size, and output field names that collide. */
export function windowProblems(config: WindowConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (config.kind === 'sliding' && config.slide === undefined) problems.push(problem('slide', 'a sliding window needs slide, the time between window starts (e.g. slide: 10s)'));
  if (config.kind === 'tumbling' && config.slide !== undefined) problems.push(problem('slide', 'only sliding windows have a slide; remove it, or make kind: sliding'));
  if (config.slide !== undefined && config.slide > config.size) {
    problems.push(problem('slide', `${config.slide} ms is longer than size (${config.size} ms), which would leave records between windows in none`));
  }
  const taken = new Map<string, string>([
    ['window_start', 'the window'],
    ['window_end', 'the window'],
  ]);
  const outputs: Array<[string, string, string]> = [
    ...outputNamesOf(config.groupBy).map((name, i): [string, string, string] => [name, `groupBy.${i}`, `groupBy[${i}]`]),
    ...Object.keys(config.aggregations).map((name): [string, string, string] => [name, `aggregations.${name}`, `aggregations.${name}`]),
  ];
  for (const [name, path, shown] of outputs) {
    const other = taken.get(name);
    if (other !== undefined) problems.push(problem(path, `output field "${name}" is already ${other}'s; name it differently (a group field as { path, name })`));
    else taken.set(name, shown);
  }
  return problems;
}

