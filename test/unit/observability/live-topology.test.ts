/**
 * A real topology in this process (memory source, flat-map, memory sinks; no Kafka or Cassandra) with
 * a real log file (operations/logger.ts), one failed batch and one hot swap; then:
 * - /metrics, scraped before and after, moved by exactly the figures of the progress events the runtime
 *   emitted (collected from runtime.progress$), and the server listens on 127.0.0.1 only;
 * - the tail view of the log file (the function, and `npm run tail -- --once --json` as a process)
 *   shows those same figures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import '../../../components.ts';
import { loadTopology, parseTopology } from '../../../topology/load.ts';
import { createTopologyLogger, logFileOf } from '../../../operations/logger.ts';
import { TopologyRuntime } from '../../../topology/runtime.ts';
import { metricsEndpoint, startMetrics } from '../../../operations/metrics.ts';
import { LogFollower } from '../../../operations/log-follower.ts';
import { percentile, snapshotOf } from '../../../operations/tail.ts';
import type { ProgressEvent } from '../../../topology/progress.ts';
import { memoryStore } from '../../../testing/memory-channels.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = mkdtempSync(path.join(tmpdir(), 'observability-'));
const NAME = 'observed';

const topologyText = (maxRecords: number) => `
name: ${NAME}
pipelines:
  main:
    source: { type: memory, channel: in }
    operators: [{ type: flat-map, path: items }]
    sink: { type: memory, channel: out, retry: { maxAttempts: 1 } }
    deadLetter: { type: memory, channel: dead }
    trigger: { interval: 100ms, maxRecordsPerTrigger: ${maxRecords} }
    onFailure: { initialBackoff: 50ms, maxBackoff: 50ms }
logging: { dir: ${JSON.stringify(dir)}, console: "off" }
`;

/** Samples of a Prometheus text exposition. */
function samples(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [, name, labelText = '', value] = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)!;
      const labels = Object.fromEntries([...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
      return { name, labels, value: Number(value) };
    });
}

function sample(scrape: ReturnType<typeof samples>, name: string, labels: Record<string, string> = {}): number {
  const found = scrape.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.equal(found.length, 1, `one series ${name} ${JSON.stringify(labels)}, found ${found.length}`);
  return found[0].value;
}

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Values for the memory source: most with 1 to 3 items (one record out each), every 5th without (a dead letter). */
const values = (n: number, from: number) => Array.from({ length: n }, (_, i) => ((from + i) % 5 === 4 ? { n: from + i } : { n: from + i, items: Array.from({ length: ((from + i) % 3) + 1 }, (_, k) => ({ n: from + i, k })) }));

test('metrics and the tail view of a real run agree with its progress events', async () => {
  const file = path.join(dir, `${NAME}.yaml`);
  writeFileSync(file, topologyText(7));
  const { config } = loadTopology(file, { env: {} });
  const { logger, close: closeLogger } = createTopologyLogger(config.name, config.logging);
  const runtime = new TopologyRuntime(config, { logger });
  const events: ProgressEvent[] = [];
  runtime.progress$.subscribe((event) => events.push(event));
  const at = metricsEndpoint(config.metrics, { port: 0 })!;
  const metrics = await startMetrics(runtime, at);
  const input = memoryStore.channel(NAME, 'in');
  const output = memoryStore.channel(NAME, 'out');
  try {
    assert.equal(metrics.address.address, '127.0.0.1', 'bound to the loopback address by default');
    const elsewhere = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal);
    if (elsewhere) await assert.rejects(fetch(`http://${elsewhere.address}:${metrics.address.port}/metrics`), `not reachable at ${elsewhere.address}`);

    await runtime.start();
    const before = samples(await (await fetch(metrics.url)).text());
    assert.equal(sample(before, 'userstream_records_in_total', { pipeline: 'main', component: 'source' }), 0);

    output.behaviour.failNextWrites = 1; // the first batch fails once (retry.maxAttempts: 1), then is read again
    input.append(...values(30, 0));
    await until(() => input.committed === 30, 'the first 30 records to be committed');
    await runtime.apply(parseTopology(topologyText(11), 'next version', { env: {} }));
    input.append(...values(20, 30));
    await until(() => input.committed === 50, 'the next 20 records to be committed');
    const after = samples(await (await fetch(metrics.url)).text());

    const total = (pick: (e: ProgressEvent) => number) => events.reduce((n, e) => n + pick(e), 0);
    const moved = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    const main = { pipeline: 'main' };
    assert.equal(total((e) => e.numInputRows), 50, 'every record read once in a committed batch');
    assert.ok(total((e) => e.sink.numOutputRows) > 50 && total((e) => e.numDeadLetterRows) === 10, 'flat-map: more out than in; every 5th dead-lettered');
    assert.equal(moved('userstream_records_in_total', { ...main, component: 'source' }), total((e) => e.numInputRows));
    assert.equal(moved('userstream_records_out_total', { ...main, component: 'sink' }), total((e) => e.sink.numOutputRows));
    assert.equal(moved('userstream_dead_letters_total', main), total((e) => e.numDeadLetterRows));
    assert.equal(moved('userstream_batches_total', main), events.length);
    assert.equal(moved('userstream_batch_duration_seconds_count', main), events.length);
    assert.ok(Math.abs(moved('userstream_batch_duration_seconds_sum', main) - total((e) => e.durationMs.triggerExecution) / 1000) < 1e-9);
    assert.equal(sample(after, 'userstream_consumer_lag', main), events.at(-1)!.sources[0].metrics!.lag);
    assert.equal(moved('userstream_failed_batches_total', main), 1);
    assert.equal(moved('userstream_swaps_total', { outcome: 'applied' }), 1);
    assert.equal(moved('userstream_swaps_total', { outcome: 'refused' }), 0);
    assert.equal(sample(after, 'userstream_records_in_total', { ...main, component: 'source' }) > 0 && after.every((s) => s.labels.topology === NAME || !s.name.startsWith('userstream_')), true, 'labelled with the topology');
  } finally {
    await runtime.stop();
    await metrics.close();
    await closeLogger();
  }

  const logFile = logFileOf(config.logging.dir, config.name);
  const follower = await LogFollower.open(logFile);
  const lines = await follower.readAll().finally(() => follower.close());
  const tailView = snapshotOf(lines, { now: Date.now() });
  const [main] = tailView.pipelines;
  const times = events.map((e) => Date.parse(e.timestamp));
  const seconds = (Math.max(...events.map((e, i) => times[i] + e.durationMs.triggerExecution)) - Math.min(...times)) / 1000;
  const durations = events.map((e) => e.durationMs.triggerExecution).sort((a, b) => a - b);
  assert.deepEqual(
    tailView.pipelines.map((p) => p.pipeline),
    ['main'],
  );
  assert.deepEqual(main.totals, {
    batches: events.length,
    recordsIn: 50,
    recordsOut: events.reduce((n, e) => n + e.sink.numOutputRows, 0),
    deadLettered: 10,
    failedBatches: 1,
  });
  assert.equal(tailView.window.seconds, seconds);
  assert.ok(Math.abs(main.recordsInPerSecond - 50 / seconds) < 1e-9);
  assert.deepEqual(main.batchDurationMs, { p50: percentile(durations, 50), p99: percentile(durations, 99) });
  assert.equal(main.lag, events.at(-1)!.sources[0].metrics!.lag);
  assert.deepEqual(main.lastBatch, { batchId: events.at(-1)!.batchId, time: events.at(-1)!.timestamp });
  assert.match(main.lastError!.message, /^batch 0 failed; \d+ record\(s\) rolled back to the last committed position, retrying in \d+ ms — memory sink out: injected write failure$/);
  assert.equal(tailView.lastSwap?.outcome, 'applied');
  assert.match(tailView.lastSwap!.summary, /^changed main; paused \d+ ms; \d+ record\(s\) were in flight/);
  assert.equal(main.lastSwap?.change, 'changed');
  assert.equal(tailView.skippedLines, 0);

  // The command, as a script would run it: the log found through the topology file's logging.dir.
  const cli = spawnSync(process.execPath, ['--import', 'tsx', 'bin/tail.ts', '--topology', file, '--once', '--json'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  assert.equal(cli.status, 0, cli.stderr);
  assert.deepEqual(JSON.parse(cli.stdout), tailView);

  const text = spawnSync(process.execPath, ['--import', 'tsx', 'bin/tail.ts', '--file', logFile, '--once'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^${NAME} — ${logFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} — .* — averages over `));
  assert.match(text.stdout, new RegExp(`\\nmain\\s+[\\d.,]+\\s+[\\d.,]+\\s+[\\d,]+ ms\\s+[\\d,]+ ms\\s+0\\s+${events.length}\\s+50\\s+${main.totals.recordsOut}\\s+10\\s+1\\n`), 'the row: rates, p50, p99, lag 0, then the totals');
});

test('the command without a log: says how to start the topology; a bad option: exit 2', () => {
  const missing = spawnSync(process.execPath, ['--import', 'tsx', 'bin/tail.ts', '--file', path.join(dir, 'nothing-yet.log'), '--once'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr.trim(), `error: no log at ${path.join(dir, 'nothing-yet.log')}: start the topology first with npm start -- --topology nothing-yet`);
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'bin/tail.ts', '--file', 'x.log', '--since', 'yesterday'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--since: expected a duration such as 30s, 5m or 2h, got "yesterday"/);
  const help = spawnSync(process.execPath, ['--import', 'tsx', 'bin/tail.ts', '--help'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: npm run tail -- --topology NAME\|PATH \| --file PATH/);
});
