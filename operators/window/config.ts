/**
 * The `window` operator's config: the event time, the group fields and aggregations (../grouping.ts),
 * lateness, output, when an idle or ended input closes the open windows, and the rules between them
 * that its spec's check enforces (a slide only for sliding windows, no colliding output names).
 */
import * as t from 'io-ts';
import { BooleanFromAny, Duration, PositiveDuration, isPlainObject, oneOf } from '../../topology/codecs.ts';
import { problem, type ConfigProblem } from '../../topology/registry.ts';
import { objectCodec, optional, required, withDefault, type ConfigOf } from '../../topology/spec.ts';
import { AGGREGATIONS_DESCRIPTION, Aggregations, GROUP_BY_DESCRIPTION, GroupFields, collidingOutputs, type GroupField } from '../grouping.ts';
import { PathText } from '../path.ts';

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
  groupBy: withDefault(GroupFields, [] as GroupField[], GROUP_BY_DESCRIPTION),
  aggregations: required(Aggregations, AGGREGATIONS_DESCRIPTION),
  allowedLateness: required(Duration, 'How far behind the largest event time seen a record may be and still be counted (Spark\'s withWatermark delay); the watermark is the largest event time minus this.'),
  lateRecords: withDefault(oneOf(['drop', 'deadLetter']), 'drop', 'A record whose windows the watermark has closed: dropped, or sent to the dead-letter output. Counted either way.'),
  outputMode: withDefault(oneOf(['append', 'update']), 'append', 'append: each window once, when the watermark closes it, final; update: after each batch, every window that changed in it.'),
  idleTimeout: optional(
    PositiveDuration,
    'When no record has come for this long (processing time), the watermark moves past every open window: they close and are written — a stream that stops still gets its last windows. A record that comes later for one of them is late. Longer than any pause the input may take in normal running (a broker restart). Without it, windows close only as event time moves on.',
  ),
  watermarkPer: withDefault(
    oneOf(['process', 'task']),
    'process',
    'process: one watermark over every task (input partition) the process holds — needed when a group\'s records are spread over partitions, as in a topic keyed by something else. task: each task has its own, from its own event time, as Kafka Streams\' stream time — exact only when every group lives in one partition, and then a task read with a backlog, or moved from another process, is not judged late by the others\' event time. A pipeline that repartitions by the group sets `task` after the repartition topic itself.',
  ),
  closeAtEnd: withDefault(
    BooleanFromAny,
    false,
    'true: when an availableNow run (or a finite source) ends, every open window closes and is written. Later records for those windows are then late, so leave it off for runs that resume where the last one stopped.',
  ),
};

export type WindowConfig = ConfigOf<typeof fields>;

const RESERVED: ReadonlyMap<string, string> = new Map([
  ['window_start', 'the window'],
  ['window_end', 'the window'],
]);

/** The spec's check: the slide against the kind and size, and output field names that collide. */
export function windowProblems(config: WindowConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (config.kind === 'sliding' && config.slide === undefined) problems.push(problem('slide', 'a sliding window needs slide, the time between window starts (e.g. slide: 10s)'));
  if (config.kind === 'tumbling' && config.slide !== undefined) problems.push(problem('slide', 'only sliding windows have a slide; remove it, or make kind: sliding'));
  if (config.slide !== undefined && config.slide > config.size) {
    problems.push(problem('slide', `${config.slide} ms is longer than size (${config.size} ms), which would leave records between windows in none`));
  }
  return [...problems, ...collidingOutputs(config.groupBy, config.aggregations, RESERVED)];
}
