/**
 * The Kafka broker stopped for 20 s mid-stream and started again (services/local.ts down/up; its data
 * survives). The user pipeline runs on as one process throughout: its producer (ingest) and consumer
 * (process) reconnect by themselves, nothing is committed while the broker is away, and at the end
 * every id in the topic has exactly one row in Cassandra.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type cassandra from 'cassandra-driver';
import type Kafka from 'node-rdkafka';
import { startRandomUserServer, type RandomUserServer } from '../../randomuser/server.ts';
import {
  assertEveryIdOnce,
  assertOwnLocalServices,
  cassandraClient,
  committedAt,
  dropRun,
  offsetReader,
  partitionsOf,
  pipelineEnv,
  report,
  runNames,
  servedIds,
  sleep,
  startPipeline,
  startService,
  stopAll,
  stopGracefully,
  stopService,
  until,
  untilGroupCommittedEnd,
  USER_PIPELINES,
  writesApplied,
} from './helpers.ts';

const OUTAGE_MS = 20_000;
const RESULTS = 100;
const PAGES = 300;
const names = runNames('kafka');

let server: RandomUserServer;
let client: cassandra.Client;
let reader: Kafka.KafkaConsumer | undefined;
let kafkaDown = false;

before(async () => {
  await assertOwnLocalServices(['kafka']);
  server = await startRandomUserServer({ host: '127.0.0.1', port: 0 });
  client = await cassandraClient();
});

after(async () => {
  await stopAll();
  // A failed test must not leave the broker down for the tests after it.
  if (kafkaDown) await startService('kafka');
  reader?.disconnect();
  await dropRun(names, client);
  await client?.shutdown();
  await server?.close();
});

test(`Kafka stopped for ${OUTAGE_MS / 1000} s mid-stream: producer and consumer recover by themselves; no loss`, { timeout: 600_000 }, async () => {
  const started = Date.now();
  const run = startPipeline('kafka-outage', USER_PIPELINES, pipelineEnv(names, { RANDOMUSER_URL: server.url, RESULTS_PER_REQUEST: String(RESULTS), POLL_INTERVAL: '200ms', INGEST_MAX_REQUESTS: String(PAGES) }));
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
  reader = await offsetReader(names.group);
  const partitions = await partitionsOf(reader, names.topic);
  await untilGroupCommittedEnd(reader!, names.topic, partitions, () => run.tail());
  assert.equal(await stopGracefully(run), 0, `the pipeline stops cleanly\n${run.tail()}`);
  const failures = run.log().filter((e) => (e.level === 'warn' || e.level === 'error') && Date.parse(e.timestamp) >= down && Date.parse(e.timestamp) <= up + 60_000);
  assert.ok(failures.length > 0, 'the outage was noticed (warnings or failed batches in the log)');

  const { keys, ids, produced, lost, doubled } = await assertEveryIdOnce(client, names, await servedIds(server.url, names.seed, RESULTS, PAGES));
  const writes = await writesApplied(client, names.keyspace);
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
