/**
 * The user pipeline end to end on the real Kafka and Cassandra: 10,000 users from the bundled
 * RandomUser-compatible server → Kafka → validate + mapping → Cassandra. Every row is compared with
 * the reference mapping of the user that was really served; running the same seed again adds no row.
 * The topology under test is config/user-pipeline.yaml itself, pointed at a fresh topic and keyspace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type cassandra from 'cassandra-driver';
import '../../components.ts';
import { loadTopology } from '../../topology/load.ts';
import { createTopologyLogger } from '../../operations/logger.ts';
import { TopologyRuntime } from '../../topology/runtime.ts';
import type { ProgressEvent } from '../../topology/progress.ts';
import { toCreatedUserRow } from '../../randomuser/row.ts';
import { servedUsers, useFixtures } from './helpers.ts';

const RESULTS = 1000;
const PAGES = 10;
const N = RESULTS * PAGES;

const run = randomUUID().slice(0, 8);
const keyspace = `it_users_${run}`;
const topic = `it_users_created_${run}`;
const seed = `it-${run}`;

const fixtures = useFixtures(keyspace);

function environment(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    RANDOMUSER_URL: fixtures.server.url,
    RANDOMUSER_SEED: seed,
    RESULTS_PER_REQUEST: String(RESULTS),
    POLL_INTERVAL: '0',
    POLL_CONCURRENCY: '2',
    INGEST_MAX_REQUESTS: String(PAGES),
    USERS_TOPIC: topic,
    CASSANDRA_KEYSPACE: keyspace,
    CONSUMER_GROUP: `it-${run}`,
  };
}

/** Run both pipelines until ingest has finished and process has consumed `expected` records. */
async function runPipeline(expected: number): Promise<ProgressEvent[]> {
  const { config } = loadTopology('user-pipeline', { env: environment() });
  const logDir = mkdtempSync(path.join(tmpdir(), 'user-pipeline-it-'));
  const { logger, close } = createTopologyLogger(config.name, { ...config.logging, dir: logDir, console: 'off' });
  const runtime = new TopologyRuntime(config, { logger });
  const events: ProgressEvent[] = [];
  runtime.progress$.subscribe((e) => events.push(e));
  await runtime.start();
  try {
    await runtime.runners.get('ingest')!.wait();
    const consumed = () => events.filter((e) => e.pipeline === 'process').reduce((n, e) => n + e.numInputRows, 0);
    const deadline = Date.now() + 180_000;
    while (consumed() < expected) {
      assert.ok(Date.now() < deadline, `process consumed ${consumed()} of ${expected} records within 180 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await runtime.stop();
    await close();
  }
  return events;
}


async function rowsById(): Promise<Map<string, Record<string, unknown>>> {
  const rows = new Map<string, Record<string, unknown>>();
  for await (const row of fixtures.client.stream(`SELECT * FROM ${keyspace}.created_users`, [], { prepare: true, fetchSize: 2000 }) as unknown as AsyncIterable<cassandra.types.Row>) {
    const plain: Record<string, unknown> = {};
    for (const column of row.keys()) plain[column] = row.get(column);
    plain.id = String(plain.id);
    rows.set(plain.id as string, plain);
  }
  return rows;
}

test(`${N} users go through both pipelines; every row equals the mapping of the user served`, { timeout: 300_000 }, async () => {
  const events = await runPipeline(N);
  const users = await servedUsers(fixtures.server, seed, RESULTS, PAGES);
  assert.equal(new Set(users.map((u) => u.login.uuid)).size, N, 'the server served N distinct users');

  // The data set really contains the quirks the pipeline must survive.
  assert.ok(users.some((u) => typeof u.location.postcode === 'number'), 'numeric postcodes');
  assert.ok(users.some((u) => (u as { id?: { value: unknown } }).id?.value === null), 'null id.value');
  assert.ok(users.some((u) => /[\u0400-\u04FF]/.test(u.name.first + u.name.last)), 'Cyrillic names');
  assert.ok(users.some((u) => /[\u0600-\u06FF]/.test(u.name.first + u.name.last)), 'Persian names');
  assert.ok(users.some((u) => /'/.test(u.name.first + u.name.last + u.location.street.name)), 'apostrophes');

  const rows = await rowsById();
  assert.equal(rows.size, N, 'exactly N rows');
  let compared = 0;
  for (const user of users) {
    const row = rows.get(user.login.uuid);
    assert.ok(row, `row for ${user.login.uuid}`);
    assert.deepEqual(row, { ...toCreatedUserRow(user) }, `row ${user.login.uuid}`);
    compared++;
  }
  assert.equal(compared, N);

  const ingest = events.filter((e) => e.pipeline === 'ingest');
  const processEvents = events.filter((e) => e.pipeline === 'process');
  assert.equal(ingest.reduce((n, e) => n + e.sink.numOutputRows, 0), N, 'ingest published N messages');
  assert.equal(processEvents.reduce((n, e) => n + e.sink.numOutputRows, 0), N, 'process wrote N rows');
  assert.equal(processEvents.reduce((n, e) => n + e.numDeadLetterRows, 0), 0, 'no valid user was dead-lettered');
});

test('running the same seed again adds no row (upsert by primary key)', { timeout: 300_000 }, async () => {
  const events = await runPipeline(N);
  assert.equal(events.filter((e) => e.pipeline === 'process').reduce((n, e) => n + e.sink.numOutputRows, 0), N, 'the second run wrote N rows again');
  const count = await fixtures.client.execute(`SELECT COUNT(*) FROM ${keyspace}.created_users`);
  assert.equal(Number(count.first().get('count')), N);
});

test('npm run inspect shows what the two runs left: the rows, the messages, the group caught up', { timeout: 120_000 }, () => {
  const repo = path.resolve(import.meta.dirname, '../..');
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'bin/inspect.ts', '--topology', 'user-pipeline', '--rows', '3'], { cwd: repo, env: environment(), encoding: 'utf8', timeout: 90_000 });
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.split('\n');
  const messages = (2 * N).toLocaleString('en-US').replace(',', ',?');
  assert.ok(lines.some((l) => new RegExp(`^Kafka ${topic} \\(.+\\): ${messages} messages, group it-${run} lag 0$`).test(l)), `the topic's two runs of N messages, the group caught up\n${result.stdout}`);
  const table = lines.findIndex((l) => new RegExp(`^Cassandra ${keyspace}\\.created_users \\(.+\\): ${N.toLocaleString('en-US').replace(',', ',?')} rows$`).test(l));
  assert.ok(table >= 0, `N rows in created_users\n${result.stdout}`);
  const shown = lines.slice(table + 1, table + 4);
  assert.equal(shown.length, 3);
  for (const line of shown) assert.match(line, /^ {2}id=[0-9a-f-]{36} {2}first_name=.+ {2}dob=\d{4}-\d{2}-\d{2}T/, 'a row per line, with its columns');
});
