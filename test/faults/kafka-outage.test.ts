/**
 * The Kafka broker stopped for 20 s mid-stream and started again (services/local.ts down/up; its data
 * survives). The user pipeline runs on as one process throughout: its producer (ingest) and consumer
 * (process) reconnect by themselves, nothing is committed while the broker is away, and at the end
 * every id in the topic has exactly one row in Cassandra.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertEveryIdOnce, committedAt, partitionsOf, pipelineEnv, report, runNames, servedIds, sleep, startPipeline, startService, stopGracefully, stopService, until, untilGroupCommittedEnd, useFaultFixtures, USER_PIPELINES, writesApplied } from './helpers.ts';

const OUTAGE_MS = 20_000;
const RESULTS = 100;
const PAGES = 300;
const names = runNames('kafka');

let kafkaDown = false;
const fx = useFaultFixtures(names, { services: ['kafka'], down: () => (kafkaDown ? 'kafka' : undefined) });

test(`Kafka stopped for ${OUTAGE_MS / 1000} s mid-stream: producer and consumer recover by themselves; no loss`, { timeout: 600_000 }, async () => {
  const started = Date.now();
  const run = startPipeline('kafka-outage', USER_PIPELINES, pipelineEnv(names, { RANDOMUSER_URL: fx.server.url, RESULTS_PER_REQUEST: String(RESULTS), POLL_INTERVAL: '200ms', INGEST_MAX_REQUESTS: String(PAGES) }));
  await until(() => run.progress('process').length >= 2, 'both pipelines to be under way', 120_000, () => run.tail());

  kafkaDown = true;
  await stopService('kafka');
  const down = Date.now();
  await sleep(OUTAGE_MS);
  // From here on Kafka may answer before startService returns (it polls for readiness once a second).
  const restarting = Date.now();
  await startService('kafka');
  kafkaDown = false;
  const up = Date.now();
  assert.ok(run.isRunning(), `the pipeline process outlived the outage\n${run.tail()}`);
  for (const pipeline of ['ingest', 'process']) {
    const during = run.progress(pipeline).filter((e) => committedAt(e) > down + 1000 && committedAt(e) < restarting);
    assert.deepEqual(during.map((e) => e.batchId), [], `no ${pipeline} batch is acknowledged while the broker is stopped`);
  }
  const firstAfter = (pipeline: string) => run.progress(pipeline).find((e) => committedAt(e) > up);
  await until(() => firstAfter('ingest') !== undefined && firstAfter('process') !== undefined, 'both pipelines to commit again', 180_000, () => run.tail());
  const recovered = { ingest: committedAt(firstAfter('ingest')!) - up, process: committedAt(firstAfter('process')!) - up };

  await until(() => run.log().some((e) => e.pipeline === 'ingest' && e.message.startsWith('stopped:')), 'ingest to publish every page', 240_000, () => run.tail());
  const reader = await fx.offsetReader(names.group);
  const partitions = await partitionsOf(reader, names.topic);
  await untilGroupCommittedEnd(reader!, names.topic, partitions, () => run.tail());
  assert.equal(await stopGracefully(run), 0, `the pipeline stops cleanly\n${run.tail()}`);
  const failures = run.log().filter((e) => (e.level === 'warn' || e.level === 'error') && Date.parse(e.timestamp) >= down && Date.parse(e.timestamp) <= up + 60_000);
  assert.ok(failures.length > 0, 'the outage was noticed (warnings or failed batches in the log)');

  const { keys, ids, produced, lost, doubled } = await assertEveryIdOnce(fx.client, names, await servedIds(fx.server.url, names.seed, RESULTS, PAGES));
  const writes = await writesApplied(fx.client, names.keyspace);
  assert.ok(writes >= keys.length, `every message written at least once (${writes} rows written for ${keys.length} messages)`);

  report({
    fault: `Kafka down ${OUTAGE_MS / 1000} s (stopped ${Math.round((up - down) / 1000)} s with restart)`,
    messages: keys.length,
    produced: produced.size,
    rows: ids.length,
    lost: lost.length,
    doubled,
    reprocessed: `${(writes - keys.length).toLocaleString('en-US')} (rows written − messages)`,
    recovery: `ingest ${(recovered.ingest / 1000).toFixed(1)} s, process ${(recovered.process / 1000).toFixed(1)} s after Kafka answered`,
    seconds: Math.round((Date.now() - started) / 1000),
  });
});
