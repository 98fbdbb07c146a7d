/**
 * kill -9 mid-stream: the user pipeline (`npm start -- --topology user-pipeline`, ingest and process in
 * one process) is SIGKILLed five times at seeded random moments while users flow, and restarted each
 * time. Whatever was written but not committed is redelivered, nothing is skipped: at the end every
 * id in the topic has exactly one row.
 *
 * A run is killed at a random moment after its process pipeline got its partitions, so every kill
 * lands mid-stream for both pipelines, often between a batch's writes and its commit. The http-poll
 * source cannot resume, so a restarted ingest fetches the seeded pages from page 1 again: the topic
 * holds ids more than once, which the upsert by primary key absorbs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertEveryIdOnce, committedRecords, partitionsOf, type PipelineChild, pipelineEnv, prng, report, rowCount, runNames, servedIds, sleep, startPipeline, stopGracefully, until, untilGroupCommittedEnd, useFaultFixtures, USER_PIPELINES, writesApplied } from './helpers.ts';

const KILLS = 5;
const RESULTS = 100;
const PAGES = 100;
const SEED = Number(process.env.FAULTS_SEED ?? 20261121);
const names = runNames('kill');
const fx = useFaultFixtures(names);

/** When `run`'s process pipeline got its partitions (it consumes from then on). */
async function resumedAt(run: PipelineChild): Promise<number> {
  const assignment = () => run.log().find((e) => e.pipeline === 'process' && /: assigned .+; owns [1-9]\d* partition\(s\)$/.test(e.message));
  await until(() => assignment() !== undefined, `${run.name} to get its partitions`, 150_000, () => run.tail());
  return Date.parse(assignment()!.timestamp);
}


test(`kill -9 of the pipeline process ${KILLS} times mid-stream, restarted each time: every produced id in Cassandra exactly once`, { timeout: 720_000 }, async () => {
  const started = Date.now();
  const random = prng(SEED);
  const env = pipelineEnv(names, { RANDOMUSER_URL: fx.server.url, RESULTS_PER_REQUEST: String(RESULTS), POLL_INTERVAL: '50ms', INGEST_MAX_REQUESTS: String(PAGES) });
  const runs: PipelineChild[] = [];
  const recoveries: number[] = [];
  let killedAt: number | undefined;

  for (let kill = 1; kill <= KILLS; kill++) {
    const run = startPipeline(`kill-${kill}`, USER_PIPELINES, env);
    runs.push(run);
    // Mid-stream: once this run consumes (after a kill, the group first waits for the dead member's
    // session to time out before it hands the partitions over), at a random moment of its batches.
    const resumed = await resumedAt(run);
    if (killedAt !== undefined) recoveries.push(resumed - killedAt);
    const delay = Math.round(random() * 8000);
    await sleep(delay);
    assert.ok(run.isRunning(), `run ${kill} still running before its kill\n${run.tail()}`);
    run.kill('SIGKILL');
    const { signal } = await run.exited;
    assert.equal(signal, 'SIGKILL');
    killedAt = Date.now();
    console.log(`run ${kill}: killed ${delay} ms after it got its partitions; ${committedRecords([run])} records committed by process, ${run.progress('ingest').length} ingest batch(es)`);
  }

  // The last run goes on until ingest has published every page and process has caught up.
  const last = startPipeline('final', USER_PIPELINES, env);
  runs.push(last);
  recoveries.push((await resumedAt(last)) - killedAt!);
  await until(() => last.log().some((e) => e.pipeline === 'ingest' && e.message.startsWith('stopped:')), 'ingest to publish every page', 180_000, () => last.tail());
  const reader = await fx.offsetReader(names.group);
  const partitions = await partitionsOf(reader, names.topic);
  await untilGroupCommittedEnd(reader!, names.topic, partitions, () => last.tail());
  assert.equal(await stopGracefully(last), 0, `the final run stops cleanly\n${last.tail()}`);

  const { keys, ids, produced, lost, doubled } = await assertEveryIdOnce(fx.client, names, await servedIds(fx.server.url, names.seed, RESULTS, PAGES));
  assert.ok(keys.length > produced.size, `restarted ingests published ids again (${keys.length} messages, ${produced.size} ids)`);
  assert.equal(await rowCount(fx.client, names.keyspace), PAGES * RESULTS);
  // Every message was written at least once: a commit never ran ahead of its write.
  const writes = await writesApplied(fx.client, names.keyspace);
  assert.ok(writes >= keys.length, `${writes} rows written for ${keys.length} messages`);

  const seconds = recoveries.map((ms) => ms / 1000).sort((a, b) => a - b);
  report({
    fault: `kill -9 × ${KILLS} (seed ${SEED})`,
    messages: keys.length,
    produced: produced.size,
    rows: ids.length,
    lost: lost.length,
    doubled,
    reprocessed: `${(writes - keys.length).toLocaleString('en-US')} (rows written − messages)`,
    recovery: `kill → partitions back: median ${seconds[Math.floor(seconds.length / 2)].toFixed(1)} s, max ${seconds.at(-1)!.toFixed(1)} s`,
    seconds: Math.round((Date.now() - started) / 1000),
  });
});
