/**
 * kill -9 of the window pipeline mid-stream: an ingest process publishes users without pause while the
 * `nat_minute` pipeline (`--pipeline nat_minute`, a process of its own, windows kept in the kafka state
 * backend) is SIGKILLed five times at seeded random moments and restarted each time. Each restart
 * restores the windows as of the committed offsets and reads the rest again. Once the input stops,
 * the idle timeout writes the last windows; then every row of users_by_nat_minute is compared with the
 * true count from the topic: none missing, none wrong.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type PipelineChild, pipelineEnv, prng, runNames, sleep, startPipeline, stopGracefully, until, useFaultFixtures } from './helpers.ts';
import { assertEveryWindowExact, compareWindows, lateRecords, reportWindows, trueCounts, untilSecondOfMinute, untilWindowsWritten, windowRows } from './windows.ts';

const KILLS = 5;
/** 10 users every 100 ms: about 100 users/s. */
const RESULTS = 10;
const SEED = Number(process.env.FAULTS_SEED ?? 20261121);
/** Longer than a restart takes to get its partitions back (the dead member's 10 s session, plus start-up). */
const IDLE_TIMEOUT = process.env.FAULTS_WINDOW_IDLE_TIMEOUT ?? '20s';
const names = runNames('wkill');
const fx = useFaultFixtures(names);

/** When `run`'s nat_minute pipeline got its partitions (it restores their windows, then consumes). */
async function assignedAt(run: PipelineChild): Promise<number> {
  const assignment = () => run.log().find((e) => e.pipeline === 'nat_minute' && /: assigned .+; owns [1-9]\d* partition\(s\)$/.test(e.message));
  await until(() => assignment() !== undefined, `${run.name} to get its partitions`, 150_000, () => run.tail());
  return Date.parse(assignment()!.timestamp);
}


test(`kill -9 of the nat_minute process ${KILLS} times mid-stream, restarted each time: every window row has its true count`, { timeout: 600_000 }, async () => {
  const started = Date.now();
  const random = prng(SEED);
  const env = pipelineEnv(names, { RANDOMUSER_URL: fx.server.url, RESULTS_PER_REQUEST: String(RESULTS), POLL_INTERVAL: '100ms', WINDOW_IDLE_TIMEOUT: IDLE_TIMEOUT });
  // The stream's first minute closes (event time past its end plus the 30 s lateness) 30–70 s after
  // the stream starts: amid the kills, which take about 90 s, never after them.
  await untilSecondOfMinute(20, 55);
  const ingest = startPipeline('ingest', ['--pipeline', 'ingest'], env);
  await until(() => ingest.progress('ingest').length >= 2, 'ingest to publish (and create the topic)', 120_000, () => ingest.tail());

  const runs: PipelineChild[] = [];
  const recoveries: number[] = [];
  let killedAt: number | undefined;
  for (let kill = 1; kill <= KILLS; kill++) {
    const run = startPipeline(`nat-${kill}`, ['--pipeline', 'nat_minute'], env);
    runs.push(run);
    const assigned = await assignedAt(run);
    if (killedAt !== undefined) recoveries.push(assigned - killedAt);
    // Mid-stream, at a random moment of its batches: often between a changelog write and its commit.
    const delay = 1000 + Math.round(random() * 9000);
    await sleep(delay);
    assert.ok(run.isRunning(), `run ${kill} still running before its kill\n${run.tail()}`);
    run.kill('SIGKILL');
    assert.equal((await run.exited).signal, 'SIGKILL');
    killedAt = Date.now();
    const batches = run.progress('nat_minute');
    console.log(
      `run ${kill}: killed ${delay} ms after it got its partitions; ${batches.length} batch(es) committed, ${batches.reduce((n, e) => n + e.numInputRows, 0)} records, ` +
        `${batches.reduce((n, e) => n + e.sink.numOutputRows, 0)} window rows written; restore: ${batches.find((e) => e.stateRestore)?.stateRestore?.keys ?? 'none'} key(s)`,
    );
  }

  // The last run goes on with the input for a while, then the input stops and the idle timeout writes the last windows.
  const last = startPipeline('nat-final', ['--pipeline', 'nat_minute'], env);
  runs.push(last);
  const lastStartedAt = Date.now();
  recoveries.push((await assignedAt(last)) - killedAt!);
  await until(() => last.progress('nat_minute').filter((e) => e.numInputRows > 0).length >= 5, 'the final run to consume', 120_000, () => last.tail());
  assert.equal(await stopGracefully(ingest), 0, `the ingest stops cleanly\n${ingest.tail()}`);
  const inputStoppedAt = Date.now();
  const reader = await fx.offsetReader(`${names.group}-nat-minute`);
  await untilWindowsWritten(reader, names.topic, last, inputStoppedAt, 180_000);

  const truth = await trueCounts(names.topic);
  const rows = await windowRows(fx.client, names.keyspace);
  const verdict = compareWindows(truth, rows);
  const late = lateRecords(runs);
  const seconds = recoveries.map((ms) => ms / 1000).sort((a, b) => a - b);
  reportWindows({
    fault: `kill -9 × ${KILLS} of nat_minute (seed ${SEED})`,
    truth,
    verdict,
    late,
    recovery: `kill → partitions back: median ${seconds[Math.floor(seconds.length / 2)].toFixed(1)} s, max ${seconds.at(-1)!.toFixed(1)} s`,
    seconds: Math.round((Date.now() - started) / 1000),
  });
  assertEveryWindowExact(verdict, last.tail());
  assert.equal(late, 0, 'no record was late');
  assert.ok(runs.slice(1).every((run) => run.log().some((e) => /^restored task\(s\) .*: [1-9]\d* key\(s\)/.test(e.message))), 'every restart restored windows');
  assert.ok(truth.minutes.length >= 2, `the stream covered ${truth.minutes.length} minutes`);
  // The kills hit a pipeline that had windows to write, not only open ones.
  assert.ok(rows.some((row) => row.writtenAt < lastStartedAt), 'a window was written (closed) before the final run');
});
