/**
 * Two process-pipeline processes (`--pipeline process`) in one consumer group share the three
 * partitions of the users topic, fed by a separate ingest process. One of them is SIGKILLed
 * mid-stream; once the group notices (its session times out) the other takes over the dead member's
 * partitions, re-reads them from the last committed offsets, and at the end every id in the topic has
 * exactly one row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertEveryIdOnce, committedAt, ownedPartitions, partitionsOf, pipelineEnv, prng, report, runNames, servedIds, sleep, startPipeline, stopGracefully, until, untilGroupCommittedEnd, useFaultFixtures, writesApplied } from './helpers.ts';

const RESULTS = 100;
const PAGES = 300;
const SEED = Number(process.env.FAULTS_SEED ?? 20261121);
const names = runNames('group');
const fx = useFaultFixtures(names);


/** The partitions a progress event's batch read from. */
const partitionsIn = (event: { sources: Array<{ endOffset: Record<string, unknown> }> }): string[] => Object.keys(event.sources[0].endOffset);

test('two process pipelines share a group; one is killed, the other takes over its partitions; no loss', { timeout: 600_000 }, async () => {
  const started = Date.now();
  const env = pipelineEnv(names, { RANDOMUSER_URL: fx.server.url, RESULTS_PER_REQUEST: String(RESULTS), POLL_INTERVAL: '200ms', INGEST_MAX_REQUESTS: String(PAGES) });
  const ingest = startPipeline('group-ingest', ['--pipeline', 'ingest'], env);
  await until(() => ingest.progress('ingest').length > 0, 'ingest to publish', 120_000, () => ingest.tail());
  const members = [startPipeline('group-a', ['--pipeline', 'process'], env), startPipeline('group-b', ['--pipeline', 'process'], env)];

  // Both members own partitions and have committed batches from them: the group really is shared.
  await until(
    () => members.every((m) => ownedPartitions(m).size > 0 && m.progress('process').length > 0) && members.reduce((n, m) => n + ownedPartitions(m).size, 0) === 3,
    'both members to own and consume partitions',
    120_000,
    () => members.map((m) => m.tail(10)).join('\n'),
  );
  const [victim, survivor] = prng(SEED)() < 0.5 ? members : [...members].reverse();
  const orphaned = ownedPartitions(victim);
  await sleep(2000);
  assert.ok(ingest.isRunning(), 'the kill lands while ingest is still publishing');
  victim.kill('SIGKILL');
  assert.equal((await victim.exited).signal, 'SIGKILL');
  const killedAt = Date.now();

  // The survivor gets every partition and commits batches from those of the dead member.
  const takenOver = () => survivor.progress('process').find((e) => committedAt(e) > killedAt && partitionsIn(e).some((p) => orphaned.has(p)));
  await until(() => ownedPartitions(survivor).size === 3 && takenOver() !== undefined, `the survivor to take over ${[...orphaned].join(', ')}`, 180_000, () => survivor.tail());
  const recovery = committedAt(takenOver()!) - killedAt;

  assert.equal(await ingest.exited.then((e) => e.code), 0, `ingest publishes every page and ends\n${ingest.tail()}`);
  const reader = await fx.offsetReader(names.group);
  const partitions = await partitionsOf(reader, names.topic);
  assert.equal(partitions.length, 3);
  await untilGroupCommittedEnd(reader!, names.topic, partitions, () => survivor.tail());
  assert.equal(await stopGracefully(survivor), 0, `the survivor stops cleanly\n${survivor.tail()}`);

  const { keys, ids, produced, lost, doubled } = await assertEveryIdOnce(fx.client, names, await servedIds(fx.server.url, names.seed, RESULTS, PAGES));
  const writes = await writesApplied(fx.client, names.keyspace);
  assert.ok(writes >= keys.length, `every message written at least once (${writes} rows written for ${keys.length} messages)`);

  report({
    fault: `group of 2, one kill -9 (it owned ${orphaned.size} of 3 partitions)`,
    messages: keys.length,
    produced: produced.size,
    rows: ids.length,
    lost: lost.length,
    doubled,
    reprocessed: `${(writes - keys.length).toLocaleString('en-US')} (rows written − messages)`,
    recovery: `${(recovery / 1000).toFixed(1)} s from the kill to the survivor's first commit on the orphaned partitions`,
    seconds: Math.round((Date.now() - started) / 1000),
  });
});
