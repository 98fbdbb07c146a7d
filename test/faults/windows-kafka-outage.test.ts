/**
 * The Kafka broker stopped for 20 s mid-stream under the window pipeline: an ingest process and a
 * `nat_minute` process (windows kept in the kafka state backend, whose changelog is on the same broker)
 * run on throughout; nothing is committed while the broker is away, both recover by themselves. The
 * stream's first minute is open across the outage and closed by the stream after it. The idle timeout
 * is the shipped 1 minute (FAULTS_WINDOW_IDLE_TIMEOUT sets another). Once the input stops, every row of
 * users_by_nat_minute is compared with the true count from the topic: none missing, none wrong.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { committedAt, pipelineEnv, runNames, sleep, startPipeline, startService, stopGracefully, stopService, until, useFaultFixtures } from './helpers.ts';
import { assertEveryWindowExact, compareWindows, lateRecords, MINUTE, reportWindows, trueCounts, untilSecondOfMinute, untilWindowsWritten, windowRows } from './windows.ts';

const OUTAGE_MS = 20_000;
const RESULTS = 10;
const names = runNames('wkafka');

let kafkaDown = false;
const fx = useFaultFixtures(names, { services: ['kafka'], down: () => (kafkaDown ? 'kafka' : undefined) });

test(`Kafka stopped for ${OUTAGE_MS / 1000} s under the nat_minute pipeline: it recovers by itself; every window row has its true count`, { timeout: 600_000 }, async () => {
  const started = Date.now();
  // WINDOW_IDLE_TIMEOUT as shipped (1m), unless FAULTS_WINDOW_IDLE_TIMEOUT says otherwise.
  const idle = process.env.FAULTS_WINDOW_IDLE_TIMEOUT;
  const env = pipelineEnv(names, { RANDOMUSER_URL: fx.server.url, RESULTS_PER_REQUEST: String(RESULTS), POLL_INTERVAL: '100ms', ...(idle ? { WINDOW_IDLE_TIMEOUT: idle } : {}) });
  // The outage (about 10–45 s after the stream starts, with the recovery) comes before the first minute
  // closes (event time past its end plus the 30 s lateness: 45–80 s after the start), so that minute is
  // open across the outage and closed by the stream afterwards.
  await untilSecondOfMinute(10, 40);
  const ingest = startPipeline('ingest', ['--pipeline', 'ingest'], env);
  await until(() => ingest.progress('ingest').length >= 2, 'ingest to publish (and create the topic)', 120_000, () => ingest.tail());
  const nat = startPipeline('nat', ['--pipeline', 'nat_minute'], env);
  await until(() => nat.progress('nat_minute').filter((e) => e.numInputRows > 0).length >= 5, 'nat_minute to be under way', 120_000, () => nat.tail());

  kafkaDown = true;
  await stopService('kafka');
  const down = Date.now();
  await sleep(OUTAGE_MS);
  const restarting = Date.now();
  await startService('kafka');
  kafkaDown = false;
  const up = Date.now();
  for (const run of [ingest, nat]) assert.ok(run.isRunning(), `${run.name} outlived the outage\n${run.tail()}`);
  const during = nat.progress('nat_minute').filter((e) => committedAt(e) > down + 1000 && committedAt(e) < restarting);
  assert.deepEqual(during.map((e) => e.batchId), [], 'no nat_minute batch is committed while the broker is stopped');
  const firstAfter = (run: typeof nat, pipeline: string) => run.progress(pipeline).find((e) => committedAt(e) > up && e.numInputRows > 0);
  await until(() => firstAfter(ingest, 'ingest') !== undefined && firstAfter(nat, 'nat_minute') !== undefined, 'both pipelines to commit again', 180_000, () => `${ingest.tail()}\n${nat.tail()}`);
  const recovered = { ingest: committedAt(firstAfter(ingest, 'ingest')!) - up, nat: committedAt(firstAfter(nat, 'nat_minute')!) - up };

  // The stream goes on until a window open across the outage is written; then the input stops and the
  // idle timeout writes the last windows.
  await until(() => nat.progress('nat_minute').some((e) => committedAt(e) > up && e.sink.numOutputRows > 0), 'a window written after the outage', 150_000, () => nat.tail());
  assert.equal(await stopGracefully(ingest), 0, `the ingest stops cleanly\n${ingest.tail()}`);
  const inputStoppedAt = Date.now();
  const reader = await fx.offsetReader(`${names.group}-nat-minute`);
  await untilWindowsWritten(reader, names.topic, nat, inputStoppedAt, 240_000);
  const noticed = nat.log().filter((e) => (e.level === 'warn' || e.level === 'error') && Date.parse(e.timestamp) >= down && Date.parse(e.timestamp) <= up + 60_000);
  assert.ok(noticed.length > 0, 'nat_minute noticed the outage (warnings or failed batches in its log)');

  const truth = await trueCounts(names.topic);
  const rows = await windowRows(fx.client, names.keyspace);
  const verdict = compareWindows(truth, rows);
  const late = lateRecords([nat]);
  reportWindows({
    fault: `Kafka down ${OUTAGE_MS / 1000} s under nat_minute (stopped ${Math.round((up - down) / 1000)} s with restart)`,
    truth,
    verdict,
    late,
    recovery: `ingest ${(recovered.ingest / 1000).toFixed(1)} s, nat_minute ${(recovered.nat / 1000).toFixed(1)} s after Kafka answered`,
    seconds: Math.round((Date.now() - started) / 1000),
  });
  assertEveryWindowExact(verdict, nat.tail());
  assert.equal(late, 0, 'no record was late');
  // A minute still open when the broker stopped (the watermark was then at most 30 s behind) was closed by the stream after it.
  assert.ok(rows.some((row) => row.start + MINUTE > down - 30_000 && row.writtenAt > up && row.writtenAt < inputStoppedAt), 'a window open across the outage was written after it, before the input stopped');
  assert.equal(await stopGracefully(nat), 0, `nat_minute stops cleanly\n${nat.tail()}`);
});
