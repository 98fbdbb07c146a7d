/**
 * The windowed aggregate end to end on the real Kafka and Cassandra: users with Kafka timestamps spread
 * over ten minutes (a little out of order) go through the `process` and `nat_minute` pipelines of
 * config/user-pipeline.yaml, the first half in one run, the second in a restarted one that restores the
 * windows from their changelog. Every window the watermark has closed is written, and for every window
 * in users_by_nat_minute, `users` equals the number of created_users rows of that nationality and gender
 * whose Kafka time falls in the window.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Kafka from 'node-rdkafka';
import '../../components.ts';
import { loadTopology } from '../../topology/load.ts';
import { createTopologyLogger } from '../../operations/logger.ts';
import { TopologyRuntime } from '../../topology/runtime.ts';
import type { ProgressEvent } from '../../topology/progress.ts';
import { generateUsers } from '../../randomuser/generator.ts';
import { CaptureTransport, type LogEntry } from '../../testing/capture.ts';
import { useFixtures } from './helpers.ts';
import { produce } from './read-topic.ts';

const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const N = 6000;
const MINUTE = 60_000;
const run = randomUUID().slice(0, 8);
const keyspace = `it_windows_${run}`;
const topic = `it_windows_${run}`;
const fixtures = useFixtures(keyspace);

/** Run the process and nat_minute pipelines until each consumed `count` more records, then stop them; their log lines. */
async function runUntilConsumed(count: number): Promise<{ events: ProgressEvent[]; logs: string[] }> {
  const { config } = loadTopology('user-pipeline', { env: { ...process.env, USERS_TOPIC: topic, CASSANDRA_KEYSPACE: keyspace, CONSUMER_GROUP: `windows-${run}` } });
  const logs: LogEntry[] = [];
  const { logger, close } = createTopologyLogger(config.name, { ...config.logging, dir: mkdtempSync(path.join(tmpdir(), 'windows-it-')), console: 'off' });
  logger.add(new CaptureTransport(logs));
  const runtime = new TopologyRuntime(config, { logger, pipelines: ['process', 'nat_minute'] });
  const events: ProgressEvent[] = [];
  runtime.progress$.subscribe((e) => events.push(e));
  await runtime.start();
  try {
    const consumed = (pipeline: string) => events.filter((e) => e.pipeline === pipeline).reduce((n, e) => n + e.numInputRows, 0);
    const deadline = Date.now() + 180_000;
    while (consumed('process') < count || consumed('nat_minute') < count) {
      assert.ok(Date.now() < deadline, `consumed ${consumed('process')} and ${consumed('nat_minute')} of ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await runtime.stop();
    await close();
  }
  return { events, logs: logs.map((l) => l.message) };
}

test('every closed window is written, and users equals the created_users rows of its window, nationality and gender, across a restart', { timeout: 400_000 }, async () => {
  // Ten minutes of event time, ending an hour ago; each record up to 10 s out of order (lateness is 30 s).
  const start = Math.floor(Date.now() / MINUTE) * MINUTE - 70 * MINUTE;
  // A page holds at most 5,000 users, like the real API.
  const users = [1, 2].flatMap((page) => generateUsers({ seed: `windows-${run}`, page, results: N / 2 }).users);
  const messages = users.map((user, i) => ({
    key: user.login.uuid,
    value: JSON.stringify(user),
    timestamp: start + Math.floor((i * 10 * MINUTE) / N) + ((i * 7919) % 20_000) - 10_000,
  }));
  const admin = Kafka.AdminClient.create({ 'metadata.broker.list': BROKERS });
  await new Promise<void>((resolve, reject) => admin.createTopic({ topic, num_partitions: 1, replication_factor: 1 }, (e) => (e ? reject(e) : resolve())));
  admin.disconnect();

  // The first five minutes, one run; then the next five, a second run of the same consumer groups.
  const half = N / 2;
  await produce(BROKERS, topic, messages.slice(0, half));
  const first = await runUntilConsumed(half);
  await produce(BROKERS, topic, messages.slice(half));
  const second = await runUntilConsumed(N - half);
  const events = [...first.events, ...second.events];
  const restores = second.logs.filter((m) => m.startsWith('restored task(s)'));
  assert.ok(restores.some((m) => !/: 0 key\(s\)/.test(m)), `the second run restored the windows of the first: ${restores.join(' | ')}`);

  // The second run reads a backlog spread over the repartition topic's 6 partitions, unevenly: each task
  // judges lateness by its own event time, so none of it is late (a watermark over the whole process
  // dropped some here).
  const late = events.filter((e) => e.pipeline === 'nat_minute').reduce((n, e) => n + e.numDeadLetterRows, 0);
  assert.equal(late, 0, 'no record was later than the allowed lateness');

  // created_users rows, each placed in its window by the Kafka time of its message.
  const timeOf = new Map(messages.map((m) => [m.key, m.timestamp]));
  const rows = await fixtures.client.execute(`SELECT id FROM ${keyspace}.created_users`, [], { fetchSize: N + 1 });
  assert.equal(rows.rowLength, N);
  const userById = new Map(users.map((u) => [u.login.uuid, u]));
  const rowsPerCell = new Map<string, number>();
  for (const row of rows.rows) {
    const id = String(row.get('id'));
    const user = userById.get(id)!;
    const windowStart = Math.floor(timeOf.get(id)! / MINUTE) * MINUTE;
    const cell = `${windowStart}|${user.nat}|${user.gender}`;
    rowsPerCell.set(cell, (rowsPerCell.get(cell) ?? 0) + 1);
  }

  // Every row written has its true count: none was written short by either run, none overwritten short by the second.
  const windows = await fixtures.client.execute(`SELECT window_start, nat, gender, users FROM ${keyspace}.users_by_nat_minute`);
  const written = new Set<number>();
  let usersInWritten = 0;
  for (const row of windows.rows) {
    const windowStart = (row.get('window_start') as Date).getTime();
    written.add(windowStart);
    const cell = `${windowStart}|${row.get('nat')}|${row.get('gender')}`;
    assert.equal(Number(row.get('users')), rowsPerCell.get(cell) ?? 0, `window ${new Date(windowStart).toISOString()} ${row.get('nat')} ${row.get('gender')}`);
    usersInWritten += Number(row.get('users'));
  }
  const rowsInWritten = [...rowsPerCell].filter(([cell]) => written.has(Number(cell.split('|')[0]))).reduce((n, [, count]) => n + count, 0);
  assert.equal(usersInWritten, rowsInWritten, 'the sum of users over the written windows equals the created_users rows from those windows');

  // Which windows: every one the watermark has closed, the ones open across the restart included; the
  // last ones are still open.
  const firstWindow = Math.floor(Math.min(...messages.map((m) => m.timestamp)) / MINUTE) * MINUTE;
  const lastWatermark = Math.max(...messages.map((m) => m.timestamp)) - 30_000;
  const expected: number[] = [];
  for (let w = firstWindow; w + MINUTE <= lastWatermark; w += MINUTE) expected.push(w);
  assert.deepEqual([...written].sort((a, b) => a - b).map(iso), expected.map(iso));
  assert.ok(expected.length >= 9, `closed windows written: ${expected.length}`);
});

const iso = (ms: number) => new Date(ms).toISOString();
