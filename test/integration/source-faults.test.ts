/**
 * Source faults, on the real Kafka: the `ingest` pipeline of config/user-pipeline.yaml polls the bundled
 * RandomUser server while about 20 % of its answers are faults — 503 (with Retry-After), 500, a hang, an
 * `{"error": …}` body, truncated JSON, a connection reset mid-body, a slow answer. The source must retry
 * each failed page (same page number) with backoff, count the failures by kind in the progress events,
 * never fail a batch, and publish exactly the users of the seeded pages: each once, nothing half-parsed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import http, { type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import '../../components.ts';
import { loadTopology } from '../../topology/load.ts';
import { createTopologyLogger } from '../../operations/logger.ts';
import { TopologyRuntime } from '../../topology/runtime.ts';
import type { ProgressEvent } from '../../topology/progress.ts';
import { startRandomUserServer, type RandomUserServer } from '../../randomuser/server.ts';
import type { FaultKind } from '../../randomuser/faults.ts';
import type { RandomUser } from '../../randomuser/codec.ts';
import { CaptureTransport, type LogEntry } from '../../testing/capture.ts';
import { deleteTopics, readTopic } from './read-topic.ts';

const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const RESULTS = 100;
const PAGES = 60;
const TIMEOUT_MS = 4000;
const KINDS: FaultKind[] = ['503', '500', 'hang', 'error-body', 'truncated', 'reset', 'latency'];
// With this seed the 78 requests that 60 pages take meet every kind at least twice (20 faults in all).
const FAULT_SEED = 'source-faults-32';

const run = randomUUID().slice(0, 8);
const topic = `it_source_faults_${run}`;
const seed = `faults-${run}`;

let server: RandomUserServer;
/** Arrival times of the requests for each page, in ms since the epoch. */
const arrivals = new Map<number, number[]>();
const onRequest = (message: unknown) => {
  const { request, server: at } = message as { request: IncomingMessage; server: Server };
  if ((at.address() as AddressInfo | null)?.port !== server?.port) return;
  const page = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('page'));
  arrivals.set(page, [...(arrivals.get(page) ?? []), Date.now()]);
};

before(async () => {
  server = await startRandomUserServer({ host: '127.0.0.1', port: 0, faults: { errorRate: 0.2, kinds: KINDS, seed: FAULT_SEED, latencyMs: [200, 1500], retryAfterSeconds: 1 } });
  dc.subscribe('http.server.request.start', onRequest);
});

after(async () => {
  dc.unsubscribe('http.server.request.start', onRequest);
  await server.close();
  await deleteTopics(BROKERS, [topic]);
});

async function servedUsers(): Promise<RandomUser[]> {
  const users: RandomUser[] = [];
  for (let page = 1; page <= PAGES; page++) {
    const response = await fetch(`${server.url}?results=${RESULTS}&seed=${seed}&page=${page}`);
    users.push(...((await response.json()) as { results: RandomUser[] }).results);
  }
  return users;
}

test(`${PAGES} pages through ~20 % faults: every failure retried and counted by kind, the topic holds exactly the seeded users`, { timeout: 300_000 }, async (t) => {
  const env = {
    ...process.env,
    KAFKA_BROKERS: BROKERS,
    RANDOMUSER_URL: server.url,
    RANDOMUSER_SEED: seed,
    RESULTS_PER_REQUEST: String(RESULTS),
    POLL_INTERVAL: '0',
    POLL_CONCURRENCY: '2',
    INGEST_MAX_REQUESTS: String(PAGES),
    USERS_TOPIC: topic,
  };
  const { config } = loadTopology('user-pipeline', { env });
  // A hang costs the whole request timeout (10 s by default, no knob in the topology): shorten it.
  Object.assign(config.pipelines.ingest.source, { timeout: TIMEOUT_MS });
  const logDir = mkdtempSync(path.join(tmpdir(), 'source-faults-it-'));
  const { logger, file, close } = createTopologyLogger(config.name, { ...config.logging, dir: logDir, console: 'off' });
  const runtime = new TopologyRuntime(config, { logger, pipelines: ['ingest'] });
  const events: ProgressEvent[] = [];
  runtime.progress$.subscribe((e) => events.push(e));
  const startedAt = Date.now();
  await runtime.start();
  const runner = runtime.runners.get('ingest')!;
  let elapsed: number;
  try {
    // maxRequests: the pipeline ends by itself once every page is published; a crash rejects here.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([runner.wait(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('ingest did not finish within 180 s')), 180_000)))]).finally(() => clearTimeout(timer));
    elapsed = Date.now() - startedAt;
  } finally {
    await runtime.stop();
    await close();
  }

  const stats = server.stats();
  const failures = stats.requests - PAGES;
  const recoveries = [...arrivals.values()].filter((times) => times.length > 1).map((times) => times.at(-1)! - times[0]);
  t.diagnostic(
    `${stats.requests} requests for ${PAGES} pages in ${elapsed} ms; faults ${JSON.stringify(stats.faults)}; ${recoveries.length} pages recovered, ` +
      `first failed attempt → success: max ${Math.max(...recoveries)} ms, median ${recoveries.sort((a, b) => a - b)[Math.floor(recoveries.length / 2)]} ms`,
  );

  // The faults really happened, each kind at least twice.
  for (const kind of KINDS) assert.ok(stats.faults[kind] >= 2, `${kind} injected ${stats.faults[kind]} times`);
  assert.equal(runner.state, 'stopped', 'the pipeline ended normally');
  assert.equal(runner.summary.failures, 0, 'no batch failed: the source absorbed every fault');
  const errors = readFileSync(file, 'utf8').split('\n').filter((line) => line.includes('"level":"error"'));
  assert.deepEqual(errors, [], 'nothing logged as an error');

  // Counted by kind: the last batch's figures cover every request (each page's failures precede its records).
  const metrics = events.at(-1)!.sources[0].metrics as { requests: number; failures: Record<string, number> };
  assert.equal(metrics.requests, stats.requests, 'the source counted every request the server saw');
  assert.deepEqual(metrics.failures, {
    network: stats.faults.reset,
    timeout: stats.faults.hang,
    http5xx: stats.faults['503'] + stats.faults['500'],
    http429: 0,
    http4xx: 0,
    invalidJson: stats.faults.truncated,
    errorBody: stats.faults['error-body'],
    unexpectedShape: 0,
  });
  assert.equal(failures, stats.faults.reset + stats.faults.hang + stats.faults['503'] + stats.faults['500'] + stats.faults.truncated + stats.faults['error-body'], 'a slow answer is not a failure');

  // Retried with the same page number, each within its timeout, backoff and Retry-After.
  assert.deepEqual([...arrivals.keys()].sort((a, b) => a - b), Array.from({ length: PAGES }, (_, i) => i + 1), 'every page requested');
  assert.equal([...arrivals.values()].reduce((n, times) => n + times.length - 1, 0), failures, 'one more request per failure, for the same page');
  for (const [page, times] of arrivals) {
    const failed = times.length - 1;
    // Per failed attempt: at most the timeout, then a backoff below 500 ms × 2^(n-1), or the 1 s Retry-After.
    const bound = Array.from({ length: failed }, (_, n) => TIMEOUT_MS + Math.max(500 * 2 ** n, 1000)).reduce((a, b) => a + b, 0) + 3000;
    assert.ok(times.at(-1)! - times[0] <= bound, `page ${page}: ${failed} failure(s) recovered in ${times.at(-1)! - times[0]} ms (bound ${bound} ms)`);
  }

  // Exactly the seeded users, each once, nothing half-parsed: a fault never yields a record.
  server.setFaults({ errorRate: 0 });
  const served = await servedUsers();
  const messages = await readTopic(BROKERS, topic);
  assert.equal(messages.length, PAGES * RESULTS, 'one message per served user');
  const byKey = new Map<string, unknown>();
  for (const message of messages) {
    const key = String(message.key);
    assert.ok(!byKey.has(key), `${key} published twice`);
    byKey.set(key, JSON.parse(message.value!.toString('utf8')));
  }
  for (const user of served) assert.deepEqual(byKey.get(user.login.uuid), user, `user ${user.login.uuid}`);
  assert.equal(events.reduce((n, e) => n + e.sink.numOutputRows, 0), PAGES * RESULTS, 'the progress events count every user once');
});

test('a source that gave up (HTTP 401) does not hold up a graceful stop, even in a long failure backoff', { timeout: 120_000 }, async (t) => {
  const denied = http.createServer((_req, res) => res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"missing api key"}'));
  await new Promise<void>((resolve) => denied.listen(0, '127.0.0.1', resolve));
  const env = { ...process.env, KAFKA_BROKERS: BROKERS, RANDOMUSER_URL: `http://127.0.0.1:${(denied.address() as AddressInfo).port}/api/`, USERS_TOPIC: `${topic}_denied` };
  const { config } = loadTopology('user-pipeline', { env });
  // Every failed batch is followed by a 5–10 s backoff: a stop that waited it out (or the 30 s stopTimeout) shows.
  Object.assign(config.pipelines.ingest.onFailure, { initialBackoff: 10_000, maxBackoff: 10_000 });
  const entries: LogEntry[] = [];
  const { logger, close } = createTopologyLogger(config.name, { ...config.logging, dir: mkdtempSync(path.join(tmpdir(), 'source-denied-it-')), console: 'off' });
  logger.add(new CaptureTransport(entries));
  const runtime = new TopologyRuntime(config, { logger, pipelines: ['ingest'] });
  await runtime.start();
  const runner = runtime.runners.get('ingest')!;
  let stoppedIn: number;
  try {
    const deadline = Date.now() + 30_000;
    while (runner.summary.failures === 0) {
      assert.ok(Date.now() < deadline, 'the 401 failed a batch within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const stopping = Date.now();
    await runtime.stop();
    stoppedIn = Date.now() - stopping;
  } finally {
    await close();
    denied.close();
    await deleteTopics(BROKERS, [`${topic}_denied`]);
  }
  t.diagnostic(`stopped in ${stoppedIn} ms after ${runner.summary.failures} failed batch(es)`);
  assert.ok(entries.some((e) => /answered HTTP 401: \{"error":"missing api key"\}; polling has stopped/.test(e.message)), 'the 401 was reported');
  assert.equal(runner.state, 'stopped');
  assert.ok(stoppedIn < 3000, `stopped in ${stoppedIn} ms, not after the backoff or the stop timeout`);
});
