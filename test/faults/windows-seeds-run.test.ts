/**
 * The seeds' run, as the original demo ran: the whole user pipeline (ingest, process, nat_minute) in
 * one process, 1 user a second for 2 minutes (RESULTS_PER_REQUEST=1, POLL_INTERVAL=1s,
 * INGEST_DURATION=2m: the ingest stops by itself), the window settings as shipped (idle timeout 1 min,
 * lateness 30 s). Once the stream has stopped, every minute it covered — the last ones too, which only
 * the idle timeout closes — is written with its exact count within idleTimeout + lateness (+ a batch)
 * of the last message; the test measures how long after the last message the last row appeared.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compare, pipelineEnv, rowIds, runNames, startPipeline, stopGracefully, topicKeys, until, useFaultFixtures } from './helpers.ts';
import { assertEveryWindowExact, compareWindows, lateRecords, reportWindows, trueCounts, untilWindowsWritten, windowRows } from './windows.ts';

const IDLE_TIMEOUT_MS = 60_000;
const LATENESS_MS = 30_000;
/** A trigger (1 s), the batch's writes and commit, and slack for the shared 2-core machine. */
const BATCH_MS = 15_000;
const names = runNames('wseeds');
const fx = useFaultFixtures(names);


test('the seeds run: 1 user/s for 2 minutes, settings as shipped: every minute written with its exact count within idleTimeout + lateness of the last message', { timeout: 480_000 }, async () => {
  const started = Date.now();
  const run = startPipeline('seeds', [], pipelineEnv(names, { RANDOMUSER_URL: fx.server.url, RESULTS_PER_REQUEST: '1', POLL_INTERVAL: '1s', INGEST_DURATION: '2m' }));
  const ingestStopped = () => run.log().find((e) => e.pipeline === 'ingest' && e.message.startsWith('stopped:'));
  await until(() => ingestStopped() !== undefined, 'the ingest to stop by itself after 2 minutes', 240_000, () => run.tail());
  const inputStoppedAt = Date.parse(ingestStopped()!.timestamp);
  const reader = await fx.offsetReader(`${names.group}-nat-minute`);
  await untilWindowsWritten(reader, names.topic, run, inputStoppedAt, (IDLE_TIMEOUT_MS + LATENESS_MS + BATCH_MS) * 2);

  const truth = await trueCounts(names.topic);
  const verdict = compareWindows(truth, await windowRows(fx.client, names.keyspace));
  const lastRowAfterMs = verdict.lastWrittenAt - truth.last;
  const late = lateRecords([run]);
  reportWindows({
    fault: 'none: the seeds run (1 user/s for 2 min, idle timeout 1 min, lateness 30 s)',
    truth,
    verdict,
    late,
    recovery: `last row ${(lastRowAfterMs / 1000).toFixed(1)} s after the last message`,
    seconds: Math.round((Date.now() - started) / 1000),
  });
  assertEveryWindowExact(verdict, run.tail());
  assert.equal(late, 0, 'no record was late');
  assert.ok(truth.messages >= 100 && truth.messages <= 130, `about 120 users in 2 minutes: ${truth.messages}`);
  assert.ok(truth.minutes.length >= 2, `the stream covered ${truth.minutes.length} minutes`);
  assert.ok(lastRowAfterMs <= IDLE_TIMEOUT_MS + LATENESS_MS + BATCH_MS, `the last row ${lastRowAfterMs} ms after the last message`);

  // The process pipeline ran alongside: every user has its row.
  const { lost, doubled } = compare(await topicKeys(names.topic), await rowIds(fx.client, names.keyspace));
  assert.deepEqual([lost.length, doubled], [0, 0], 'every user once in created_users');
  assert.equal(await stopGracefully(run), 0, `the pipeline stops cleanly\n${run.tail()}`);
});
