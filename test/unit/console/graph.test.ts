/**
 * The console's graph and live bookkeeping: config/user-pipeline.yaml's stages (created, nothing
 * connected) as one graph joined through their topics and tables; the rates, versions and refused
 * files kept from runtime events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../../components.ts';
import { loadTopology } from '../../../topology/load.ts';
import { silentLogger } from '../../../operations/logger.ts';
import { TopologyRuntime } from '../../../topology/runtime.ts';
import { topologyGraph } from '../../../operations/console/graph.ts';
import { ConsoleLive } from '../../../operations/console/live.ts';
import { progressEvent, T0 } from '../observability/helpers.ts';

test('the user pipeline: every stage, joined through users_created, the repartition topic, the tables, the dead letters and the window store', async () => {
  const { config } = loadTopology('user-pipeline', { env: {} });
  const runtime = new TopologyRuntime(config, { logger: silentLogger() });
  await runtime.create();
  const graph = topologyGraph(runtime.runners.values());
  const ids = new Set(graph.nodes.map((n) => n.id));
  assert.deepEqual([...new Set(graph.nodes.map((n) => n.pipeline).filter(Boolean))], ['ingest', 'process', 'nat_minute.repartition', 'nat_minute']);
  for (const id of ['topic:users_created', 'topic:users_created_dead', 'table:spark_streams.created_users', 'table:spark_streams.users_by_nat_minute']) assert.ok(ids.has(id), id);
  const into = (id: string) => graph.edges.filter((e) => e.to === id).map((e) => e.pipeline);
  const outOf = (id: string) => graph.edges.filter((e) => e.from === id).map((e) => e.pipeline);
  assert.deepEqual(into('topic:users_created'), ['ingest'], 'ingest writes users_created');
  assert.deepEqual(outOf('topic:users_created'), ['process', 'nat_minute.repartition'], 'two stages read it');
  const repartition = graph.nodes.find((n) => n.kind === 'topic' && n.label.endsWith('.repartition'));
  assert.ok(repartition, 'the repartition topic');
  assert.deepEqual([into(repartition.id), outOf(repartition.id)], [['nat_minute.repartition'], ['nat_minute']]);
  assert.deepEqual(into('topic:users_created_dead').sort(), ['nat_minute', 'nat_minute.repartition', 'process']);
  // Each store hangs off the operator that keeps it: the window's windows, and the replay filter's origins.
  const stores = graph.nodes.filter((n) => n.kind === 'store');
  const keeperOf = (id: string) => graph.nodes.find((n) => n.id === graph.edges.find((e) => e.to === id)!.from)!;
  assert.deepEqual(stores.map((s) => [s.pipeline, keeperOf(s.id).label, s.label]).sort(), [['nat_minute', 'replay-filter', 'state: origins'], ['nat_minute', 'window', 'state: windows']].sort());
  for (const store of stores) assert.match(store.detail ?? '', /changelog/);
  await runtime.stop();
});

test('live: totals, rates over the last 10 s, failing until the next batch, versions and the last refused file', () => {
  let now = T0 + 20_000;
  const live = new ConsoleLive('t', ['process'], () => now);
  live.observe(progressEvent({ batchId: 0, at: 0, in: 100, out: 90, dead: 10 }));
  live.observe(progressEvent({ batchId: 1, at: 12_000, in: 30, out: 30 }));
  live.observe(progressEvent({ batchId: 2, at: 19_000, in: 20, out: 18, dead: 2 }));
  assert.deepEqual(live.pipelines.get('process')!.summary, { batches: 3, inputRows: 150, outputRows: 138, deadLetters: 12, failures: 0 });
  assert.deepEqual(live.rates('process'), { inputRowsPerSecond: 5, outputRowsPerSecond: 4.8, deadLettersPerSecond: 0.2 });
  live.observe({ event: 'batch-failed', topology: 't', pipeline: 'process', batchId: 3, error: 'boom', uncommittedRows: 5, consecutiveFailures: 1, action: 'retry', retryInMs: 1000 });
  assert.equal(live.pipelines.get('process')!.status, 'failing');
  assert.equal(live.pipelines.get('process')!.lastError?.error, 'boom');
  now += 1000;
  live.observe(progressEvent({ batchId: 3, at: 21_000, in: 5 }));
  assert.equal(live.pipelines.get('process')!.status, 'running');
  live.observe({ event: 'state-restoring', topology: 't', pipeline: 'process', tasks: [0, 1] });
  assert.equal(live.pipelines.get('process')!.status, 'restoring');
  live.observe({ event: 'state-restored', topology: 't', pipeline: 'process', tasks: [0, 1], entriesRead: 10, keys: 4, ms: 20 });
  assert.equal(live.pipelines.get('process')!.status, 'running');
  assert.equal(live.pipelines.get('process')!.lastRestore?.keys, 4);
  const swap = { event: 'swap' as const, topology: 't', summary: '', changed: ['process'], added: [], removed: [], unchanged: [], pauseMs: 5, inFlightRecords: {} };
  live.observe({ ...swap, changed: [] });
  assert.equal(live.version, 1, 'a swap that changed nothing is no new version');
  live.observe(swap);
  live.observe({ event: 'swap-refused', topology: 't', cause: 'invalid', reason: 'pipelines.process.sink.table: required', problems: ['pipelines.process.sink.table: required'] });
  assert.equal(live.version, 2);
  assert.deepEqual(live.swaps.map((s) => [s.version, s.event.event]), [[1, 'swap'], [2, 'swap'], [2, 'swap-refused']]);
  assert.equal(live.lastRefused()?.event.event, 'swap-refused');
});
