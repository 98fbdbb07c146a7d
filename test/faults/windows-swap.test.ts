/**
 * Hot swaps of the window pipeline mid-stream: a process runs `process` and `nat_minute` from a copy of
 * config/user-pipeline.yaml while an ingest process publishes users; the copy is edited twice — the
 * nat_minute trigger interval (1 s → 3 s), then, a few batches later, its allowedLateness (30 s →
 * 20 s), both while the stream's first minute is open. Each edit swaps nat_minute alone (the process
 * pipeline runs on), and the swapped pipeline restores its windows from the changelog; the first minute
 * is closed by the stream after both. Once the input stops, every row
 * of users_by_nat_minute is compared with the true count from the topic: none missing, none wrong.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SwapApplied } from '../../topology/events.ts';
import { type LogEntry, type PipelineChild, pipelineEnv, runNames, startPipeline, stopGracefully, until, useFaultFixtures } from './helpers.ts';
import { assertEveryWindowExact, compareWindows, lateRecords, reportWindows, trueCounts, untilSecondOfMinute, untilWindowsWritten, windowRows } from './windows.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RESULTS = 10;
const IDLE_TIMEOUT = '20s';
const names = runNames('wswap');
const fx = useFaultFixtures(names);


const swaps = (run: PipelineChild) => run.log().filter((e): e is LogEntry & SwapApplied => e.event === 'swap');

/** The nat_minute batches `run` committed after `since` that wrote window rows. */
const windowsWritten = (run: PipelineChild, since: number) => run.progress('nat_minute').filter((e) => Date.parse(e.timestamp) > since && e.sink.numOutputRows > 0);

test('the nat_minute trigger interval, then its allowedLateness, changed by hot swaps mid-stream: every window row has its true count', { timeout: 600_000 }, async () => {
  const started = Date.now();
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'windows-swap-')), 'user-pipeline.yaml');
  copyFileSync(path.join(REPO, 'config/user-pipeline.yaml'), file);
  const edit = (from: string, to: string) => {
    const text = readFileSync(file, 'utf8');
    assert.equal(text.split(from).length, 2, `the topology holds ${from} once`);
    writeFileSync(file, text.replace(from, to));
  };
  const env = pipelineEnv(names, { RANDOMUSER_URL: fx.server.url, RESULTS_PER_REQUEST: String(RESULTS), POLL_INTERVAL: '100ms', WINDOW_IDLE_TIMEOUT: IDLE_TIMEOUT });
  // Both swaps (about 10–30 s after the stream starts) come before the first minute closes (its end plus
  // the lateness, 20 s by then: 40–70 s after the start), so that minute is open across both.
  await untilSecondOfMinute(10, 40);
  const ingest = startPipeline('ingest', ['--pipeline', 'ingest'], env);
  await until(() => ingest.progress('ingest').length >= 2, 'ingest to publish (and create the topic)', 120_000, () => ingest.tail());
  const run = startPipeline('swapped', ['--pipeline', 'process', '--pipeline', 'nat_minute'], env, { topology: file });
  await until(() => run.progress('nat_minute').length >= 3, 'nat_minute to be under way', 120_000, () => run.tail());

  // nat_minute runs as two stages (its window reads through a repartition topic): the trigger is both
  // stages', the lateness the window stage's. Runners are listed in no particular order after a swap.
  const stages = (swap: { changed: string[]; unchanged: string[]; added: string[]; removed: string[] }) => [swap.changed, swap.unchanged, swap.added, swap.removed].map((names) => [...names].sort());

  // 1. The trigger interval: only nat_minute is swapped; its open windows come back from the changelog.
  edit('interval: ${WINDOW_TRIGGER_INTERVAL:-1s}', 'interval: 3s');
  await until(() => swaps(run).length >= 1, 'the first swap', 60_000, () => run.tail());
  const first = swaps(run)[0];
  const firstAt = Date.parse(first.timestamp);
  assert.deepEqual(stages(first), [['nat_minute', 'nat_minute.repartition'], ['process'], [], []], `the first swap changed nat_minute's stages only: ${first.summary}`);

  // 2. A few batches later, the lateness.
  await until(() => run.progress('nat_minute').filter((e) => Date.parse(e.timestamp) > firstAt).length >= 4, 'nat_minute batches after the first swap', 60_000, () => run.tail());
  edit('allowedLateness: ${WINDOW_LATENESS:-30s}', 'allowedLateness: 20s');
  await until(() => swaps(run).length >= 2, 'the second swap', 60_000, () => run.tail());
  const second = swaps(run)[1];
  const secondAt = Date.parse(second.timestamp);
  assert.deepEqual(stages(second), [['nat_minute'], ['nat_minute.repartition', 'process'], [], []], `the second swap changed nat_minute's window stage only: ${second.summary}`);

  // A window open across both swaps is closed by the stream under the new lateness; then the input
  // stops and the idle timeout writes the rest.
  await until(() => windowsWritten(run, secondAt).length > 0, 'a window written after the second swap', 150_000, () => run.tail());
  assert.equal(windowsWritten(run, 0).filter((e) => Date.parse(e.timestamp) < secondAt).length, 0, 'no window was written before the second swap');
  assert.equal(await stopGracefully(ingest), 0, `the ingest stops cleanly\n${ingest.tail()}`);
  const inputStoppedAt = Date.now();
  const reader = await fx.offsetReader(`${names.group}-nat-minute`);
  await untilWindowsWritten(reader, names.topic, run, inputStoppedAt, 180_000);
  assert.equal(swaps(run).length, 2, 'no other swap');

  // The swaps took effect: batches 3 s apart between them, and the new lateness in the operator.
  const between = run.progress('nat_minute').filter((e) => Date.parse(e.timestamp) > firstAt && Date.parse(e.timestamp) < secondAt);
  const gaps = between.slice(1).map((e, i) => Date.parse(e.timestamp) - Date.parse(between[i].timestamp));
  assert.ok(gaps.length > 0 && gaps.every((ms) => ms >= 2900), `nat_minute triggers every 3 s after the first swap: ${gaps.join(', ')} ms`);
  const lateness = (e: { stateOperators: Array<{ operator: string }> }) => /allowed lateness (\d+) ms/.exec(e.stateOperators.map((op) => op.operator).join(' '))?.[1];
  assert.equal(lateness(between.at(-1)!), '30000');
  assert.equal(lateness(run.progress('nat_minute').at(-1)!), '20000');
  const restores = run.log().filter((e) => e.pipeline === 'nat_minute' && /^restored task\(s\) .*: [1-9]\d* key\(s\)/.test(e.message));
  assert.equal(restores.length, 2, `each swap restored the windows: ${restores.map((e) => e.message).join(' | ')}`);

  const truth = await trueCounts(names.topic);
  const verdict = compareWindows(truth, await windowRows(fx.client, names.keyspace));
  const late = lateRecords([run]);
  reportWindows({
    fault: 'hot swap × 2 of nat_minute (trigger interval, then allowedLateness)',
    truth,
    verdict,
    late,
    recovery: `nat_minute paused ${first.pauseMs} ms and ${second.pauseMs} ms (${first.inFlightRecords.nat_minute ?? 0} and ${second.inFlightRecords.nat_minute ?? 0} records in flight, committed first)`,
    seconds: Math.round((Date.now() - started) / 1000),
  });
  assertEveryWindowExact(verdict, run.tail());
  assert.equal(late, 0, 'no record was late');
});
