/**
 * Hot swap under load on the real Kafka and Cassandra: while up to 4,000 users/s flow through the user
 * pipeline, its topology file is edited three times — a smaller sink batch, a changed field mapping,
 * an added then removed pipeline — and once overwritten with an invalid version. Afterwards every
 * produced id is in Cassandra exactly once, and rows written after the mapping change carry it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import '../../components.ts';
import { loadTopology } from '../../topology/load.ts';
import { createTopologyLogger } from '../../operations/logger.ts';
import { TopologyRuntime, type SwapReport } from '../../topology/runtime.ts';
import { watchTopology } from '../../operations/reload.ts';
import { memoryStore } from '../../testing/memory-channels.ts';
import type { ProgressEvent } from '../../topology/progress.ts';
import { servedUsers, useFixtures } from './helpers.ts';

const RESULTS = 1000;
const REQUESTS = 40;
const N = RESULTS * REQUESTS;

const run = randomUUID().slice(0, 8);
const keyspace = `it_swap_${run}`;
const topic = `it_swap_${run}`;
const seed = `swap-${run}`;
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const fixtures = useFixtures(keyspace);

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function rowCount(): Promise<number> {
  try {
    return Number((await fixtures.client.execute(`SELECT COUNT(*) FROM ${keyspace}.created_users`)).first().get('count'));
  } catch {
    return 0; // not created yet
  }
}

test('batch size, mapping and pipelines change under load; every id lands exactly once; new rows carry the new mapping', { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hot-swap-'));
  const file = path.join(dir, 'user-pipeline.yaml');
  copyFileSync(path.join(repo, 'config/user-pipeline.yaml'), file);
  const edit = (from: string, to: string) => {
    const text = readFileSync(file, 'utf8');
    assert.ok(text.includes(from), `the topology contains ${from}`);
    writeFileSync(file, text.replace(from, to));
  };
  Object.assign(process.env, {
    RANDOMUSER_URL: fixtures.server.url,
    RANDOMUSER_SEED: seed,
    RESULTS_PER_REQUEST: String(RESULTS),
    POLL_INTERVAL: '250ms',
    POLL_CONCURRENCY: '1',
    INGEST_MAX_REQUESTS: String(REQUESTS),
    USERS_TOPIC: topic,
    CASSANDRA_KEYSPACE: keyspace,
    CONSUMER_GROUP: `swap-${run}`,
  });
  const { config } = loadTopology(file);
  const { logger, close } = createTopologyLogger(config.name, { ...config.logging, dir, console: 'off' });
  const runtime = new TopologyRuntime(config, { logger });
  const events: ProgressEvent[] = [];
  runtime.progress$.subscribe((e) => events.push(e));
  const outcomes: Array<{ report?: SwapReport; refused?: string[] }> = [];
  const watcher = watchTopology(file, runtime, logger, { intervalMs: 100, onReload: (o) => outcomes.push(o) });
  const swapped = async (count: number) => until(() => outcomes.length >= count, `reload ${count}`);
  memoryStore.reset(config.name);

  await runtime.start();
  try {
    await until(async () => (await rowCount()) > 2000, 'the first rows');
    // Records published after the first batch, over the time since that batch's trigger.
    const ingest = events.filter((e) => e.pipeline === 'ingest');
    const perSecond = ingest.slice(1).reduce((n, e) => n + e.numInputRows, 0) / ((Date.parse(ingest.at(-1)!.timestamp) - Date.parse(ingest[0].timestamp)) / 1000 || 1);
    assert.ok(perSecond >= 1000, `≥ 1,000 records/s flowing (${Math.round(perSecond)}/s)`);

    // 1. A smaller sink batch.
    edit('batch: { maxRows: 1000, concurrency: 4 }', 'batch: { maxRows: 250, concurrency: 4 }');
    await swapped(1);
    assert.deepEqual(outcomes[0].report?.changed, ['process']);
    assert.deepEqual(outcomes[0].report?.unchanged, ['ingest', 'nat_minute.repartition', 'nat_minute'], 'the other pipelines kept running');

    // 2. A changed mapping: the picture column takes the large picture from now on.
    const mappingChangeStarted = Date.now();
    edit('picture: picture.medium', 'picture: picture.large');
    await swapped(2);
    const mappingChanged = Date.now();
    assert.deepEqual(outcomes[1].report?.changed, ['process']);

    // 3. An invalid version is refused; the running topology goes on.
    const valid = readFileSync(file, 'utf8');
    writeFileSync(file, valid.replace('maxRows: 250', 'maxRows: -5'));
    await swapped(3);
    assert.deepEqual(outcomes[2].refused, ['pipelines.process.sink.batch.maxRows: expected a positive integer, got -5']);
    writeFileSync(file, valid);
    await swapped(4);
    assert.equal(outcomes[3].report?.changed.length, 0, 'restoring the running version changes nothing');

    // 4. A pipeline added, then removed.
    writeFileSync(file, valid.replace('\nlogging:', `\n  audit:\n    source: { type: kafka, brokers: "\${KAFKA_BROKERS:-127.0.0.1:9092}", topics: ["\${USERS_TOPIC}"], groupId: audit-${run}, startingOffsets: earliest }\n    sink: { type: memory, channel: audit }\n\nlogging:`));
    await swapped(5);
    assert.deepEqual(outcomes[4].report?.added, ['audit']);
    await until(() => memoryStore.channel(config.name, 'audit').records.length > 0, 'the added pipeline to consume');
    writeFileSync(file, valid);
    await swapped(6);
    assert.deepEqual(outcomes[5].report?.removed, ['audit']);
    assert.equal(runtime.runners.has('audit'), false);

    await runtime.runners.get('ingest')!.wait();
    await until(async () => (await rowCount()) >= N, `${N} rows`, 300_000);

    const users = await servedUsers(fixtures.server, seed, RESULTS, REQUESTS);
    const byId = new Map(users.map((u) => [u.login.uuid, u]));
    assert.equal(byId.size, N);
    const rows = await fixtures.client.execute(`SELECT id, picture, WRITETIME(picture) AS written FROM ${keyspace}.created_users`, [], { fetchSize: N + 1 });
    assert.equal(rows.rowLength, N, 'every produced id exactly once');
    let newMapping = 0;
    for (const row of rows.rows) {
      const user = byId.get(String(row.get('id')));
      assert.ok(user, `row ${row.get('id')} is a produced user`);
      const writtenMs = Number(row.get('written')) / 1000;
      if (writtenMs > mappingChanged) {
        assert.equal(row.get('picture'), (user.picture as { large?: string }).large, `row ${user.login.uuid} written after the mapping change carries the new mapping`);
        newMapping++;
      } else if (writtenMs < mappingChangeStarted) {
        assert.equal(row.get('picture'), user.picture.medium, `row ${user.login.uuid} written before the change carries the old mapping`);
      }
    }
    assert.ok(newMapping > 1000, `rows written after the mapping change: ${newMapping}`);
    assert.ok(events.some((e) => e.pipeline === 'audit'), 'the added pipeline ran');
  } finally {
    watcher.close();
    await runtime.stop();
    await close();
  }
});
