/**
 * Shared by the fault tests of the `nat_minute` pipeline (test/faults/windows-*.test.ts): the ground
 * truth of its windows, computed from the users topic itself, and the comparison with every row of
 * users_by_nat_minute.
 *
 * The truth: every message of the run's users topic, placed in the minute of its Kafka timestamp (the
 * window operator's `eventTime: timestamp`), counted per (minute, nat, gender). Once the input has
 * stopped and the idle timeout has written the last windows, every minute the stream covered must have
 * a row per (nat, gender) that has users, with `users` equal to the true count, and no other row.
 */
import assert from 'node:assert/strict';
import type cassandra from 'cassandra-driver';
import type Kafka from 'node-rdkafka';
import { readTopic } from '../integration/read-topic.ts';
import { brokers, groupOffsets, partitionsOf, sleep, until, type PipelineChild } from './helpers.ts';

export const MINUTE = 60_000;
const iso = (ms: number): string => new Date(ms).toISOString();

/** `window start (ISO)|nat|gender`: one window row. */
type Cell = string;
const cellOf = (start: number, nat: string, gender: string): Cell => `${iso(start)}|${nat}|${gender}`;

export interface Truth {
  /** Messages in the topic (each one is a user the window counts). */
  messages: number;
  /** True count per window row. */
  counts: Map<Cell, number>;
  /** The minutes the stream covered, in order (ms). */
  minutes: number[];
  /** Kafka time of the first and the last message (ms). */
  first: number;
  last: number;
}

/** The true counts, from every message of `topic`. */
export async function trueCounts(topic: string): Promise<Truth> {
  const messages = await readTopic(brokers, topic, 120_000);
  assert.ok(messages.length > 0, `topic ${topic} holds messages`);
  const counts = new Map<Cell, number>();
  const minutes = new Set<number>();
  let first = Infinity;
  let last = -Infinity;
  for (const message of messages) {
    const time = message.timestamp;
    assert.ok(typeof time === 'number' && time > 0, `message ${message.partition}/${message.offset} has a timestamp`);
    const user = JSON.parse(message.value!.toString('utf8')) as { nat?: unknown; gender?: unknown };
    assert.ok(typeof user.nat === 'string' && typeof user.gender === 'string', `message ${message.partition}/${message.offset} has nat and gender`);
    const start = Math.floor(time / MINUTE) * MINUTE;
    minutes.add(start);
    const cell = cellOf(start, user.nat, user.gender);
    counts.set(cell, (counts.get(cell) ?? 0) + 1);
    first = Math.min(first, time);
    last = Math.max(last, time);
  }
  return { messages: messages.length, counts, minutes: [...minutes].sort((a, b) => a - b), first, last };
}

export interface WindowRow {
  cell: Cell;
  /** The window's start (ms). */
  start: number;
  users: number;
  /** When the row was last written (Cassandra's WRITETIME, ms). */
  writtenAt: number;
}

/** Every row of `keyspace.users_by_nat_minute` (none while the table does not exist). */
export async function windowRows(client: cassandra.Client, keyspace: string): Promise<WindowRow[]> {
  let result: cassandra.types.ResultSet;
  try {
    result = await client.execute(`SELECT window_start, nat, gender, users, WRITETIME(users) AS written FROM ${keyspace}.users_by_nat_minute`, [], { fetchSize: 100_000 });
  } catch {
    return [];
  }
  return result.rows.map((row) => ({
    cell: cellOf((row.get('window_start') as Date).getTime(), String(row.get('nat')), String(row.get('gender'))),
    start: (row.get('window_start') as Date).getTime(),
    users: Number(row.get('users')),
    writtenAt: Number(row.get('written')) / 1000,
  }));
}

export interface WindowVerdict {
  /** Window rows the truth calls for (one per minute, nat and gender with users). */
  expected: number;
  rows: number;
  /** Rows the truth calls for that are not in the table. */
  missing: string[];
  /** Rows whose `users` is not the true count (a row for a cell without users counts too). */
  wrong: string[];
  /** The latest write of any row (ms). */
  lastWrittenAt: number;
}

export function compareWindows(truth: Truth, rows: WindowRow[]): WindowVerdict {
  const found = new Map(rows.map((row) => [row.cell, row.users]));
  const missing = [...truth.counts].filter(([cell]) => !found.has(cell)).map(([cell, count]) => `${cell}: no row, expected ${count}`);
  const wrong = rows.filter((row) => row.users !== (truth.counts.get(row.cell) ?? 0)).map((row) => `${row.cell}: users ${row.users}, expected ${truth.counts.get(row.cell) ?? 0}`);
  return { expected: truth.counts.size, rows: rows.length, missing, wrong, lastWrittenAt: Math.max(...rows.map((row) => row.writtenAt)) };
}

/** Fails with every missing and wrong row listed, by minute. */
export function assertEveryWindowExact(verdict: WindowVerdict, detail = ''): void {
  const listed = (what: string[]) => (what.length > 20 ? [...what.slice(0, 20), `… and ${what.length - 20} more`] : what).join('\n  ');
  assert.ok(
    verdict.missing.length === 0 && verdict.wrong.length === 0,
    `${verdict.missing.length} missing window(s), ${verdict.wrong.length} wrong count(s) among ${verdict.rows} row(s) (${verdict.expected} expected)` +
      `${verdict.missing.length > 0 ? `\nmissing:\n  ${listed(verdict.missing)}` : ''}${verdict.wrong.length > 0 ? `\nwrong:\n  ${listed(verdict.wrong)}` : ''}${detail ? `\n${detail}` : ''}`,
  );
  assert.equal(verdict.rows, verdict.expected, 'one row per (minute, nat, gender) with users, and no other');
}

/**
 * Waits, if need be, until the wall clock is `from`..`to` seconds into a minute: a test that needs a
 * window to close at a given point of its schedule starts its stream there (at most a minute's wait).
 */
export async function untilSecondOfMinute(from: number, to: number): Promise<void> {
  const second = (Date.now() % MINUTE) / 1000;
  if (second >= from && second <= to) return;
  await sleep((((from - second + 60) % 60) * 1000) | 0);
}

/** Windows the operator holds after `event` (the window operator's metrics in a progress event). */
export function windowsInState(event: { stateOperators: Array<{ metrics: Record<string, number> }> }): number {
  return event.stateOperators.reduce((n, op) => n + (op.metrics.windowsInState ?? 0), 0);
}

/**
 * Once the input has stopped (after `inputStoppedAt`): waits until the nat_minute group has committed
 * the end of every partition of `topic` and `run` committed a batch after the input stopped that left
 * no window open — the idle timeout has written the last ones. Fails after `timeoutMs`.
 */
export async function untilWindowsWritten(reader: Kafka.KafkaConsumer, topic: string, run: PipelineChild, inputStoppedAt: number, timeoutMs: number): Promise<void> {
  const partitions = await partitionsOf(reader, topic);
  await until(
    async () => {
      const last = run.progress('nat_minute').at(-1);
      if (!last || Date.parse(last.timestamp) < inputStoppedAt || windowsInState(last) > 0) return false;
      const { end, committed } = await groupOffsets(reader, topic, partitions);
      return end.every((e, i) => committed[i] === e);
    },
    'nat_minute to consume every message and write its last windows (idle timeout)',
    timeoutMs,
    () => run.tail(),
    1000,
  );
}

/** Late records the nat_minute runs dead-lettered (their committed batches). */
export function lateRecords(runs: PipelineChild[]): number {
  return runs.reduce((n, run) => n + run.progress('nat_minute').reduce((m, e) => m + e.numDeadLetterRows, 0), 0);
}

export interface WindowFigures {
  fault: string;
  truth: Truth;
  verdict: WindowVerdict;
  late: number;
  recovery: string;
  seconds: number;
}

/** The figures as one line of the durable-windows table in docs/reliability.md, printed for the test log. */
export function reportWindows(f: WindowFigures): void {
  const n = (x: number) => x.toLocaleString('en-US');
  const { truth, verdict } = f;
  console.log(
    `| ${f.fault} | ${n(truth.messages)} users over ${truth.minutes.length} minutes | ${n(verdict.rows)} of ${n(verdict.expected)} | ${verdict.missing.length} | ${verdict.wrong.length} | ${f.late} | ${f.recovery} | ${f.seconds} s |`,
  );
}
