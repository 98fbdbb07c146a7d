/**
 * Cassandra stopped for 30 s mid-stream and started again, while ingest keeps publishing to Kafka.
 * The sink retries with backoff, failed batches roll back, and consumption pauses: the group's
 * committed position stands still, the lag grows, and the process's memory stays bounded (nothing is
 * read ahead of what the sink can take). Once Cassandra answers again the pipeline resumes on its own,
 * and every id in the topic has exactly one row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertEveryIdOnce, committedAt, groupOffsets, partitionsOf, pipelineEnv, report, rolledBackRecords, runNames, servedIds, sleep, startPipeline, startService, stopGracefully, stopService, until, untilGroupCommittedEnd, useFaultFixtures, USER_PIPELINES } from './helpers.ts';

const OUTAGE_MS = 30_000;
const RESULTS = 100;
const PAGES = 400;
/** Records per micro-batch; the pipeline holds at most one batch (maxInFlight 1) while its sink fails. */
const MAX_RECORDS_PER_TRIGGER = 10_000;
/**
 * What the process may add to its resident memory while Cassandra is away: librdkafka's prefetch queue
 * (queued.max.messages.kbytes, 64 MiB), the batch it holds and retries (10,000 users, parsed and mapped),
 * and the garbage of the earlier attempts until V8 collects it. Measured: +150 to +330 MiB over outages
 * of 30 to 150 s, levelling off; a reader that ran ahead of the sink would grow with the lag instead.
 */
const RSS_GROWTH_BOUND_MIB = 512;
const names = runNames('cassandra');

let cassandraDown = false;
const fx = useFaultFixtures(names, { services: ['cassandra'], down: () => (cassandraDown ? 'cassandra' : undefined), connectCassandraFirst: false });

interface Sample {
  at: number;
  rssKiB: number | undefined;
  committed: number;
  end: number;
}

test(`Cassandra stopped for ${OUTAGE_MS / 1000} s mid-stream: the sink backs off, consumption pauses with bounded memory, the pipeline resumes by itself; no loss`, { timeout: 600_000 }, async () => {
  const started = Date.now();
  const env = pipelineEnv(names, {
    RANDOMUSER_URL: fx.server.url,
    RESULTS_PER_REQUEST: String(RESULTS),
    POLL_INTERVAL: '200ms',
    INGEST_MAX_REQUESTS: String(PAGES),
    MAX_RECORDS_PER_TRIGGER: String(MAX_RECORDS_PER_TRIGGER),
  });
  const run = startPipeline('cassandra-outage', USER_PIPELINES, env);
  await until(() => run.progress('process').length >= 2, 'both pipelines to be under way', 120_000, () => run.tail());
  const reader = await fx.offsetReader(names.group);
  const partitions = await partitionsOf(reader, names.topic);

  // Position, lag and memory every second, from before the outage until the pipeline has resumed.
  const samples: Sample[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const { end, committed } = await groupOffsets(reader!, names.topic, partitions);
      samples.push({ at: Date.now(), rssKiB: run.rssKiB(), committed: committed.reduce((a, b) => a + b, 0), end: end.reduce((a, b) => a + b, 0) });
      await sleep(1000);
    }
  })();
  // A failed sample fails the test where the sampler is awaited, not as an unhandled rejection meanwhile.
  sampler.catch(() => undefined);
  try {
    await sleep(10_000);
    cassandraDown = true;
    const stopping = Date.now();
    await stopService('cassandra');
    const down = Date.now();
    await sleep(OUTAGE_MS);
    // From here on Cassandra may answer before startService returns (it polls for readiness once a second).
    const restarting = Date.now();
    await startService('cassandra');
    cassandraDown = false;
    const up = Date.now();
    assert.ok(run.isRunning(), `the pipeline process outlived the outage\n${run.tail()}`);

    const firstAfter = () => run.progress('process').find((e) => committedAt(e) > up);
    await until(() => firstAfter() !== undefined, 'the process pipeline to commit again', 240_000, () => run.tail());
    const recovered = committedAt(firstAfter()!) - up;
    sampling = false;
    await sampler;

    // While Cassandra was away (after the batch in flight had failed): no commit, a growing lag.
    const outage = samples.filter((s) => s.at >= down + 5000 && s.at <= restarting);
    assert.ok(outage.length >= 15, `sampled through the outage (${outage.length} samples)`);
    assert.deepEqual(new Set(outage.map((s) => s.committed)).size, 1, 'the committed position stands still while Cassandra is down');
    const lag = (s: Sample) => s.end - s.committed;
    assert.ok(lag(outage.at(-1)!) > lag(outage[0]), `the lag grows while ingest goes on (${lag(outage[0])} → ${lag(outage.at(-1)!)})`);
    assert.deepEqual(run.progress('process').filter((e) => committedAt(e) > down + 1000 && committedAt(e) < restarting).map((e) => e.batchId), [], 'no process batch is acknowledged while Cassandra is down');
    const mib = (kib: number | undefined) => Math.round((kib ?? 0) / 1024);
    const rssBefore = Math.max(...samples.filter((s) => s.at < stopping).map((s) => s.rssKiB ?? 0));
    const peak = Math.max(...outage.map((s) => s.rssKiB ?? 0));
    assert.ok(peak - rssBefore <= RSS_GROWTH_BOUND_MIB * 1024, `RSS stays bounded while Cassandra is down: ${mib(rssBefore)} MiB before, at most ${mib(peak)} MiB during (bound: +${RSS_GROWTH_BOUND_MIB} MiB)`);

    // The sink retried each chunk with backoff; the failed batches were rolled back and retried after a growing pause.
    const log = run.log().filter((e) => e.pipeline === 'process');
    assert.ok(log.some((e) => /^write to cassandra .* failed \(attempt \d+\), retrying in \d+ ms$/.test(e.message)), 'the sink retried failed writes');
    const rollbacks = log.map((e) => /^batch \d+ failed; (\d+) record\(s\) rolled back to the last committed position, retrying in (\d+) ms$/.exec(e.message)).filter((m) => m !== null);
    const pauses = rollbacks.map((m) => Number(m[2]));
    assert.ok(pauses.length >= 2 && Math.max(...pauses) > pauses[0], `failed batches retried after growing pauses (${pauses.join(', ')} ms)`);
    // Backpressure: each failed attempt held one batch at most; nothing was read beyond it.
    const held = rollbacks.map((m) => Number(m[1]));
    assert.ok(held.every((n) => n <= MAX_RECORDS_PER_TRIGGER), `at most ${MAX_RECORDS_PER_TRIGGER} records held per failed batch (${held.join(', ')})`);

    await until(() => run.log().some((e) => e.pipeline === 'ingest' && e.message.startsWith('stopped:')), 'ingest to publish every page', 240_000, () => run.tail());
    await untilGroupCommittedEnd(reader!, names.topic, partitions, () => run.tail());
    assert.equal(await stopGracefully(run), 0, `the pipeline stops cleanly\n${run.tail()}`);

    const client = await fx.cassandra();
    const { keys, ids, produced, lost, doubled } = await assertEveryIdOnce(client, names, await servedIds(fx.server.url, names.seed, RESULTS, PAGES));

    report({
      fault: `Cassandra down ${OUTAGE_MS / 1000} s (stopped ${Math.round((up - stopping) / 1000)} s with stop and restart)`,
      messages: keys.length,
      produced: produced.size,
      rows: ids.length,
      lost: lost.length,
      doubled,
      reprocessed: `${rolledBackRecords([run]).toLocaleString('en-US')} rolled back and re-read; lag ${lag(outage[0]).toLocaleString('en-US')} → ${lag(outage.at(-1)!).toLocaleString('en-US')}, RSS ${mib(rssBefore)} → ≤ ${mib(peak)} MiB`,
      recovery: `${(recovered / 1000).toFixed(1)} s after Cassandra answered`,
      seconds: Math.round((Date.now() - started) / 1000),
    });
  } finally {
    sampling = false;
    await sampler.catch(() => undefined);
  }
});
