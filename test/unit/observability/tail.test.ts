/**
 * The tail view from crafted log lines: rates and batch-duration percentiles over a window, lag,
 * totals of dead letters and failed batches, the last error and the last swap, `since`, and the text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TailAggregator, percentile, renderView, snapshotOf } from '../../../operations/tail.ts';
import { T0, eventLine, failedBatchLine, logLine, progressLine, swapLine } from './helpers.ts';

function aggregate(lines: string[], since?: number): TailAggregator {
  const tail = new TailAggregator({ since });
  for (const line of lines) tail.addLine(line);
  return tail;
}

test('records in and out per second count the batches triggered in the window, over its length', () => {
  const tail = aggregate([
    progressLine({ at: 0, in: 1000, out: 900 }), // before the window
    progressLine({ at: 11_000, in: 100, out: 90, batchId: 1 }),
    progressLine({ at: 15_000, in: 200, out: 150, batchId: 2 }),
    progressLine({ at: 20_000, in: 300, out: 300, batchId: 3 }), // on the window's end: included
    progressLine({ at: 20_001, in: 5000, batchId: 4 }), // after it
  ]);
  const [p] = tail.view({ from: T0 + 10_000, to: T0 + 20_000 }).pipelines;
  assert.equal(p.recordsInPerSecond, 60); // 600 records / 10 s
  assert.equal(p.recordsOutPerSecond, 54);
  assert.equal(p.batchesInWindow, 3);
  assert.deepEqual(p.totals, { batches: 5, recordsIn: 6600, recordsOut: 6440, deadLettered: 0, failedBatches: 0 }, 'totals count every batch');
  assert.deepEqual(p.lastBatch, { batchId: 4, time: new Date(T0 + 20_001).toISOString() });
});

test('batch duration p50 and p99 are nearest-rank percentiles of the window\'s triggerExecution', () => {
  const durations = [7, 3, 100, 5, 1, 9, 2, 8, 4, 6]; // 1..9 and one outlier
  const tail = aggregate(durations.map((d, i) => progressLine({ at: i * 100, in: 1, durationMs: d, batchId: i })));
  const [p] = tail.view({ from: T0, to: T0 + 10_000 }).pipelines;
  assert.deepEqual(p.batchDurationMs, { p50: 5, p99: 100 });
  const [late] = tail.view({ from: T0 + 250, to: T0 + 10_000 }).pipelines;
  assert.deepEqual(late.batchDurationMs, { p50: 5, p99: 9 }, 'only the batches in the window (5, 1, 9, 2, 8, 4, 6): the outlier is out');
  const [none] = tail.view({ from: T0 + 60_000, to: T0 + 70_000 }).pipelines;
  assert.equal(none.batchDurationMs, null);
  assert.equal(none.recordsInPerSecond, 0);
});

test('percentile: nearest rank', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(hundred, 50), 50);
  assert.equal(percentile(hundred, 99), 99);
  assert.equal(percentile([10, 20, 30, 40], 50), 20);
  assert.equal(percentile([10, 20, 30, 40], 99), 40);
  assert.equal(percentile([42], 99), 42);
});

test('lag is the latest batch\'s sources[0].metrics.lag, per pipeline; null when the source reports none', () => {
  const tail = aggregate([
    progressLine({ pipeline: 'process', at: 0, in: 10, sourceMetrics: { lag: 500, assignedPartitions: 3 } }),
    progressLine({ pipeline: 'ingest', at: 50, in: 10, sourceMetrics: { requests: 5 } }),
    progressLine({ pipeline: 'process', at: 100, in: 10, sourceMetrics: { lag: 120, assignedPartitions: 3 } }),
  ]);
  const view = tail.view({ from: T0, to: T0 + 1000 });
  assert.deepEqual(view.pipelines.map((p) => [p.pipeline, p.lag]), [['ingest', null], ['process', 120]]);
});

test('dead letters are summed; failed batches are the `batch N failed` errors; source errors are the latest counts', () => {
  const failures = (network: number, http5xx: number) => ({ network, timeout: 0, http5xx, http429: 0 });
  const tail = aggregate([
    progressLine({ at: 0, in: 10, out: 7, dead: 3, sourceMetrics: { failures: failures(1, 0) } }),
    failedBatchLine(500, 'process', 1, 'memory sink out: injected write failure'),
    logLine(600, 'warn', 'batch 1 failed (a warning, not a failure)', { pipeline: 'process' }),
    failedBatchLine(1500, 'process', 1, 'memory sink out: injected write failure'),
    progressLine({ at: 3000, in: 10, out: 8, dead: 2, batchId: 1, sourceMetrics: { failures: failures(4, 2) } }),
    logLine(3500, 'error', 'rollback of memory channel in failed', { pipeline: 'process', error: 'boom' }),
  ]);
  const [p] = tail.view({ from: T0, to: T0 + 10_000 }).pipelines;
  assert.equal(p.totals.deadLettered, 5);
  assert.equal(p.totals.failedBatches, 2, 'two error lines about failed batches; the warning and the rollback error are not failed batches');
  assert.deepEqual(p.sourceErrors, { network: 4, http5xx: 2 }, 'the kinds seen at least once, at their latest running total');
  assert.deepEqual(p.lastError, { time: new Date(T0 + 3500).toISOString(), message: 'rollback of memory channel in failed — boom' });
});

test('the last error of the topology may have no pipeline; each pipeline keeps its own', () => {
  const tail = aggregate([
    failedBatchLine(100, 'process', 7, 'cassandra: NoHostAvailable'),
    eventLine(200, { event: 'swap-refused', topology: 't', cause: 'invalid', reason: 'config/x.yaml is not a valid topology: pipelines.p.trigger.interval: expected a duration', problems: ['…'] }),
  ]);
  const view = tail.view({ from: T0, to: T0 + 1000 });
  assert.equal(view.lastError?.pipeline, null);
  assert.match(view.lastError!.message, /^reload refused: /);
  assert.equal(view.lastError?.time, new Date(T0 + 200).toISOString());
  assert.match(view.pipelines[0].lastError!.message, /^batch 7 failed; .* — cassandra: NoHostAvailable$/);
});

test('the last swap: its time, outcome and summary, and which pipelines it changed, added or removed', () => {
  const tail = aggregate([
    progressLine({ pipeline: 'a', at: 0, in: 1 }),
    swapLine(1000, { changed: ['a'], removed: ['b'] }, 'changed a; removed b; paused 12 ms; 3 record(s) were in flight and were committed before the switch'),
    swapLine(2000, { added: ['c'] }, 'added c; paused 0 ms; 0 record(s) were in flight and were committed before the switch'),
    swapLine(3000, {}, 'the topology file changed, but no pipeline did; nothing to do'),
  ]);
  const view = tail.view({ from: T0, to: T0 + 5000 });
  assert.deepEqual(view.lastSwap, { time: new Date(T0 + 3000).toISOString(), outcome: 'unchanged', summary: 'the topology file changed, but no pipeline did; nothing to do' });
  const swapOf = (name: string) => view.pipelines.find((p) => p.pipeline === name)?.lastSwap;
  assert.deepEqual(swapOf('a'), { time: new Date(T0 + 1000).toISOString(), change: 'changed' });
  assert.deepEqual(swapOf('b'), { time: new Date(T0 + 1000).toISOString(), change: 'removed' });
  assert.deepEqual(swapOf('c'), { time: new Date(T0 + 2000).toISOString(), change: 'added' });

  const reverted = aggregate([swapLine(0, { changed: ['a'], revertedTo: { a: 'previous config' } }, 'changed a; paused 30 ms; 0 record(s) were in flight and were committed before the switch')]);
  assert.equal(reverted.view({ from: T0, to: T0 }).lastSwap?.outcome, 'reverted');
  const refused = aggregate([eventLine(0, { event: 'swap-refused', topology: 't', cause: 'invalid', reason: 'x is not a valid topology: bad', problems: ['bad'] })]);
  assert.deepEqual(refused.view({ from: T0, to: T0 }).lastSwap, { time: new Date(T0).toISOString(), outcome: 'refused', summary: 'reload refused: x is not a valid topology: bad' });
});

test('since leaves out earlier entries, from totals, errors and swaps too', () => {
  const lines = [
    progressLine({ at: 0, in: 100, dead: 1 }),
    failedBatchLine(100, 'process', 1, 'old'),
    swapLine(200, { changed: ['process'] }, 'changed process; paused 1 ms; 0 record(s) were in flight and were committed before the switch'),
    progressLine({ at: 60_000, in: 30, dead: 2, batchId: 1 }),
  ];
  const view = aggregate(lines, T0 + 30_000).view({ from: T0 + 30_000, to: T0 + 90_000 });
  assert.deepEqual(view.pipelines[0].totals, { batches: 1, recordsIn: 30, recordsOut: 30, deadLettered: 2, failedBatches: 0 });
  assert.equal(view.lastError, null);
  assert.equal(view.lastSwap, null);
  assert.equal(view.pipelines[0].recordsInPerSecond, 0.5);
});

test('dropping old batches keeps the totals and the rates of the window', () => {
  const tail = aggregate([progressLine({ at: 0, in: 100 }), progressLine({ at: 20_000, in: 50, batchId: 1 })]);
  tail.dropBatchesBefore(T0 + 10_000);
  const [p] = tail.view({ from: T0 - 100_000, to: T0 + 30_000 }).pipelines;
  assert.equal(p.batchesInWindow, 1, 'the batch before 10 s is gone from the window…');
  assert.equal(p.totals.recordsIn, 150, '…but not from the totals');
});

test('lines that are not JSON entries are counted, not fatal; blank lines are ignored', () => {
  const tail = aggregate(['', 'Error: something printed by hand', '{"truncated": ', progressLine({ at: 0, in: 4 }), '[1,2]']);
  const view = tail.view({ from: T0, to: T0 + 1000 });
  assert.equal(view.skippedLines, 3);
  assert.equal(view.pipelines[0].totals.recordsIn, 4);
});

test('a snapshot of a whole log averages over the period from the first trigger to the end of the last batch', () => {
  const lines = [progressLine({ at: 0, in: 40, durationMs: 500 }), progressLine({ at: 1000, in: 60, durationMs: 1000, batchId: 1 })];
  const view = snapshotOf(lines, { now: T0 + 3_600_000 });
  assert.deepEqual(view.window, { from: new Date(T0).toISOString(), to: new Date(T0 + 2000).toISOString(), seconds: 2 });
  assert.equal(view.pipelines[0].recordsInPerSecond, 50);
  const last5m = snapshotOf(lines, { since: T0 + 500, now: T0 + 300_500 });
  assert.equal(last5m.window.seconds, 300);
  assert.equal(last5m.pipelines[0].recordsInPerSecond, 0.2, '60 records in 300 s');
  assert.deepEqual(snapshotOf([], { now: T0 }).pipelines, []);
});

test('the text view: a row of numbers per pipeline, then its notes, the last error and the last swap', () => {
  const view = aggregate([
    progressLine({ pipeline: 'ingest', at: 0, in: 1200, out: 1200, durationMs: 12, sourceMetrics: { failures: { network: 2, timeout: 0 } } }),
    progressLine({ pipeline: 'process', at: 0, in: 1000, out: 990, dead: 10, durationMs: 40, sourceMetrics: { lag: 12345 } }),
    failedBatchLine(5000, 'process', 3, 'cassandra: NoHostAvailable'),
    swapLine(6000, { changed: ['process'] }, 'changed process; paused 40 ms; 7 record(s) were in flight and were committed before the switch'),
  ]).view({ from: T0, to: T0 + 10_000 });
  const text = renderView(view, { title: 'user-pipeline', mode: 'live' });
  const lines = text.split('\n');
  assert.match(lines[0], /^user-pipeline — 2026-11-21 12:00:10 UTC — rates and batch durations over the last 10 s$/);
  assert.match(text, /pipeline\s+in\/s\s+out\/s\s+batch p50\s+batch p99\s+lag\s+batches\s+in\s+out\s+dead-lettered\s+failed/);
  assert.match(text, /\ningest\s+120\s+120\s+12 ms\s+12 ms\s+–\s+1\s+1,200\s+1,200\s+0\s+0\n/);
  assert.match(text, /\nprocess\s+100\s+99\s+40 ms\s+40 ms\s+12,345\s+1\s+1,000\s+990\s+10\s+1\n/);
  assert.match(text, /\ningest\s+last batch 0 at 12:00:00 · source errors network 2\n/);
  assert.match(text, /\nprocess\s+last batch 0 at 12:00:00 · changed by a swap at 12:00:06 · last error at 12:00:05: batch 3 failed; .* — cassandra: NoHostAvailable\n/);
  assert.match(text, /\nlast error {2}12:00:05 \[process\] batch 3 failed;/);
  assert.match(text, /\nlast swap {3}12:00:06 applied: changed process; paused 40 ms;/);
  assert.match(renderView(snapshotOf([], { now: T0 }), { title: 'empty', mode: 'period' }), /no pipeline has logged anything yet\n\nlast error {2}none\nlast swap {3}none$/);
});
