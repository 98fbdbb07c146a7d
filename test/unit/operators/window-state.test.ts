/**
 * The `window` operator's state: its structure (window-state.ts), snapshot and restore, and that it
 * stays bounded by the allowed lateness over a long stream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lastValueFrom, Observable, toArray } from 'rxjs';
import { windowOperator, type WindowConfig } from '../../../operators/window/index.ts';
import { WindowState, type WindowAggregate } from '../../../operators/window/state.ts';
import type { StreamRecord } from '../../../topology/types.ts';
import { fakeContext, run } from './helpers.ts';

const T0 = Date.parse('2026-11-21T10:00:00.000Z');
const at = (s: number): number => T0 + s * 1000;

function config(overrides: Partial<WindowConfig> = {}): WindowConfig {
  return { kind: 'tumbling', size: 10_000, eventTime: 'timestamp', groupBy: ['g'], aggregations: { n: { fn: 'count' } }, allowedLateness: 0, lateRecords: 'drop', outputMode: 'append', watermarkPer: 'process', closeAtEnd: false, ...overrides };
}

const rec = (g: string, s: number): StreamRecord => ({ key: null, value: { g }, timestamp: at(s) });
/** A record of task (input partition) `task`. */
const recIn = (task: number, g: string, s: number): StreamRecord => ({ ...rec(g, s), origin: { topic: 't', partition: task, offset: s } });
/** `<start in seconds from T0> <g> <n>` per row. */
const brief = (records: StreamRecord[]) =>
  records.map((r) => {
    const v = r.value as Record<string, unknown>;
    return `${(Date.parse(v.window_start as string) - T0) / 1000} ${v.g} ${v.n}`;
  });

const aggregateMaker = (group: string) => (start: number): WindowAggregate => ({ start, key: JSON.stringify(group), group: [group], acc: [0, 0], changedIn: 0 });

test('WindowState: eviction takes windows in start order (groups in first-seen order), whatever order they came in', () => {
  const state = new WindowState();
  const starts = [50, 10, 90, 30, 70, 20, 80, 0, 60, 40];
  for (const start of starts) state.aggregate(start, 'b', aggregateMaker('b')).acc[0] += 1;
  for (const start of [...starts].reverse()) state.aggregate(start, 'a', aggregateMaker('a')).acc[0] += 1;
  state.aggregate(50, 'b', aggregateMaker('b')).acc[0] += 1;
  assert.equal(state.size, 20);
  const visited: string[] = [];
  state.evictUpTo(45, (a) => visited.push(`${a.start}${a.group[0]}${a.acc[0]}`));
  assert.deepEqual(visited, ['0b1', '0a1', '10b1', '10a1', '20b1', '20a1', '30b1', '30a1', '40b1', '40a1']);
  assert.equal(state.size, 10);
  visited.length = 0;
  state.evictUpTo(45, (a) => visited.push(`${a.start}`));
  assert.equal(visited.length, 0, 'nothing more at or before 45');
  state.evictUpTo(Infinity, (a) => visited.push(`${a.start}${a.group[0]}${a.acc[0]}`));
  assert.deepEqual(visited, ['50b2', '50a1', '60b1', '60a1', '70b1', '70a1', '80b1', '80a1', '90b1', '90a1']);
  assert.equal(state.size, 0);
});

test('WindowState: a clone shares nothing that changes', () => {
  const state = new WindowState();
  state.aggregate(0, 'a', aggregateMaker('a')).acc[0] = 5;
  state.aggregate(10, 'a', aggregateMaker('a')).acc[0] = 7;
  const copy = state.clone();
  copy.aggregate(0, 'a', aggregateMaker('a')).acc[0] = 99;
  copy.aggregate(20, 'a', aggregateMaker('a'));
  copy.evictUpTo(0, () => undefined);
  assert.equal(state.aggregate(0, 'a', aggregateMaker('a')).acc[0], 5);
  assert.equal(state.size, 2);
  const starts: number[] = [];
  state.evictUpTo(Infinity, (a) => starts.push(a.start));
  assert.deepEqual(starts, [0, 10], 'the original heap is untouched');
  assert.equal(copy.size, 2);
});

test('snapshot and restore: a batch run again after a restore is counted once, however often it is restored', async () => {
  const op = windowOperator(config(), fakeContext().ctx);
  await run(op, [rec('a', 1), rec('a', 2)]);
  const before = op.snapshot!();
  const metricsBefore = op.metrics!();
  const batch = [rec('a', 3), rec('a', 11), rec('b', 12)];
  assert.deepEqual(brief(await run(op, batch)), ['0 a 3']);
  for (let attempt = 0; attempt < 2; attempt++) {
    op.restore!(before);
    assert.deepEqual(op.metrics!(), metricsBefore);
    assert.equal(op.watermark!(), at(2));
    assert.deepEqual(brief(await run(op, batch)), ['0 a 3']);
  }
  assert.equal(op.watermark!(), at(12));
  assert.deepEqual(brief(await run(op, [rec('a', 20)])), ['10 a 1', '10 b 1'], 'the records of [10,20) were counted once');
  assert.deepEqual(op.metrics!(), { windowsInState: 1, tasks: 1, lateRecordsDropped: 0, lateRecordsDeadLettered: 0, windowsEmitted: 3 });
});

test('restore goes back to an operator that had seen nothing: no watermark, no window', async () => {
  const op = windowOperator(config(), fakeContext().ctx);
  const empty = op.snapshot!();
  assert.equal(op.watermark!(), undefined);
  await run(op, [rec('a', 100)]);
  op.restore!(empty);
  assert.equal(op.watermark!(), undefined);
  assert.equal(op.metrics!().windowsInState, 0);
  // Records that the watermark of 100 s would have made late are counted again.
  assert.deepEqual(brief(await run(op, [rec('a', 1), rec('a', 11)])), ['0 a 1']);
  assert.deepEqual(brief(await run(op, [rec('a', 25)])), ['10 a 1']);
});

test('watermarkPer: a task read behind another is judged late by the process watermark, not by a watermark of its own', async () => {
  // Task 0 is read up to 25 s first (a backlog read unevenly, or a task moved here with its backlog); then task 1's records of 2 s and 15 s.
  const perProcess = windowOperator(config(), fakeContext().ctx);
  assert.deepEqual(brief(await run(perProcess, [recIn(0, 'a', 1), recIn(0, 'a', 25)])), ['0 a 1']);
  assert.deepEqual(brief(await run(perProcess, [recIn(1, 'b', 2), recIn(1, 'b', 15)])), []);
  assert.equal(perProcess.metrics!().lateRecordsDropped, 2, 'both of task 1\'s records are behind the process watermark (25 s)');

  const perTask = windowOperator(config({ watermarkPer: 'task' }), fakeContext().ctx);
  assert.deepEqual(brief(await run(perTask, [recIn(0, 'a', 1), recIn(0, 'a', 25)])), ['0 a 1'], 'task 0 closes its own windows');
  assert.equal(perTask.watermark!(), at(25));
  assert.deepEqual(brief(await run(perTask, [recIn(1, 'b', 2), recIn(1, 'b', 15)])), ['0 b 1'], 'task 1 counts its records; its watermark (15 s) closes [0,10)');
  assert.equal(perTask.metrics!().lateRecordsDropped, 0);
  assert.equal(perTask.watermark!(), at(15), 'progress shows the lowest task watermark');
  // Late is still late within a task.
  await run(perTask, [recIn(1, 'b', 3)]);
  assert.equal(perTask.metrics!().lateRecordsDropped, 1);
});

test('watermarkPer task: a restored task gets its own watermark back, the others keep theirs; a snapshot restores every task\'s', async () => {
  const op = windowOperator(config({ watermarkPer: 'task' }), fakeContext().ctx);
  op.loadTask!(0, new Map([['windows', new Map([['~', { maxEventTime: at(40), watermark: at(40) }]])]]));
  op.loadTask!(1, new Map([['windows', new Map([['~', { maxEventTime: at(5), watermark: at(5) }]])]]));
  const before = op.snapshot!();
  for (let attempt = 0; attempt < 2; attempt++) {
    assert.deepEqual(brief(await run(op, [recIn(0, 'a', 30), recIn(1, 'b', 6), recIn(1, 'b', 21)])), ['0 b 1']);
    assert.equal(op.metrics!().lateRecordsDropped, 1, 'only task 0\'s record of 30 s is late (its watermark is 40 s)');
    op.restore!(before);
  }
});

test('1,000,000 records over 10,000 windows: state stays bounded by the lateness, and every record not late is emitted once', async (t) => {
  const SIZE = 1000;
  const LATENESS = 3000;
  const GROUPS = ['g0', 'g1', 'g2', 'g3'];
  const BATCH = 10_000;
  const TOTAL = 1_000_000;
  const { ctx, batch: scope } = fakeContext();
  const op = windowOperator(config({ size: SIZE, allowedLateness: LATENESS, aggregations: { n: { fn: 'count' }, total: { fn: 'sum', path: 'v' } } }), ctx);
  // Record i is 10 ms after record i-1 (100 a window), moved by up to ±1 s (less than the lateness,
  // so it is never late); every 997th one from the second batch on is 250 s behind, which is more
  // than a batch spans (100 s) plus the lateness: always late.
  let seed = 42;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  const isLate = (i: number) => i >= BATCH && i % 997 === 500;
  const times = new Float64Array(TOTAL);
  for (let i = 0; i < TOTAL; i++) times[i] = T0 + i * 10 + (isLate(i) ? -250_000 : Math.round((random() - 0.5) * 2000));
  let lateExpected = 0;
  let expectedSum = 0;
  for (let i = 0; i < TOTAL; i++) {
    if (isLate(i)) lateExpected++;
    else expectedSum += i % 7;
  }

  const started = process.hrtime.bigint();
  let maxWindowsInState = 0;
  let peakWithinBatch = 0;
  let emittedCount = 0;
  let emittedSum = 0;
  const keys = new Set<string>();
  for (let from = 0; from <= TOTAL; from += BATCH) {
    // The last "batch" is one record an hour later, which closes every window.
    const batch: StreamRecord[] =
      from === TOTAL ? [{ key: null, value: { g: 'g0', v: 0 }, timestamp: T0 + 3_600_000 * 4 }] : Array.from({ length: BATCH }, (_, j) => ({ key: null, value: { g: GROUPS[(from + j) % 4], v: (from + j) % 7 }, timestamp: times[from + j] }));
    // Within a batch the state also holds the windows its records opened; look at it every 1,000 records.
    const source = new Observable<StreamRecord>((subscriber) => {
      batch.forEach((record, j) => {
        subscriber.next(record);
        if (j % 1000 === 999) peakWithinBatch = Math.max(peakWithinBatch, op.metrics!().windowsInState);
      });
      subscriber.complete();
    });
    for (const row of await lastValueFrom(op.apply(source, scope).pipe(toArray()))) {
      const value = row.value as { n: number; total: number };
      emittedCount += value.n;
      emittedSum += value.total;
      assert.ok(!keys.has(row.key!), `${row.key} emitted twice`);
      keys.add(row.key!);
    }
    maxWindowsInState = Math.max(maxWindowsInState, op.metrics!().windowsInState);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const metrics = op.metrics!();
  // After a batch, the windows held end after the watermark (largest time - lateness) and start at or
  // before the largest time: (lateness + size) / size window starts per group.
  const bound = GROUPS.length * ((LATENESS + SIZE) / SIZE);
  assert.ok(maxWindowsInState <= bound, `at most ${bound} windows in state after a batch, saw ${maxWindowsInState}`);
  assert.equal(metrics.lateRecordsDropped, lateExpected);
  assert.ok(lateExpected > 900);
  assert.equal(emittedCount, TOTAL - lateExpected);
  assert.equal(emittedSum, expectedSum);
  assert.equal(metrics.windowsEmitted, keys.size);
  assert.ok(metrics.windowsEmitted >= 4 * 9_990, `${metrics.windowsEmitted} window rows`);
  assert.equal(metrics.windowsInState, 1, 'only the last record\'s window is left');
  // Plus, within a batch, the windows of the 100 s it spans.
  assert.ok(peakWithinBatch <= bound + GROUPS.length * (BATCH * 10) / SIZE, `within a batch: ${peakWithinBatch}`);
  t.diagnostic(
    `1M records: ${seconds.toFixed(2)} s in the operator (${Math.round(TOTAL / seconds).toLocaleString('en')} records/s); windows in state: at most ${maxWindowsInState} after a batch (bound ${bound}), ${peakWithinBatch} within one; ${lateExpected} late; ${metrics.windowsEmitted} rows`,
  );
});
