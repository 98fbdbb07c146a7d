/**
 * Poison messages in the users topic, on the real Kafka and Cassandra: invalid JSON, wrong types, an
 * empty value, a 1 MiB value and a user without login.uuid, written straight into the topic with a
 * node-rdkafka producer between valid users. The `process` pipeline of config/user-pipeline.yaml
 * (pointed at a fresh topic, keyspace and group) must dead-letter each poison — original bytes and key,
 * the reason, the source topic/partition/offset — keep going without a single failed batch, and write
 * every valid user to Cassandra exactly; the progress events count the dead letters.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import cassandra from 'cassandra-driver';
import { asyncScheduler } from 'rxjs';
import '../../components.ts';
import { loadTopology } from '../../topology/load.ts';
import { createTopologyLogger, silentLogger } from '../../operations/logger.ts';
import { registry, type ComponentConfig } from '../../topology/registry.ts';
import type { DeadLetterValue, StreamRecord } from '../../topology/types.ts';
import { TopologyRuntime } from '../../topology/runtime.ts';
import type { ProgressEvent } from '../../topology/progress.ts';
import { generateUsers } from '../../randomuser/generator.ts';
import { toCreatedUserRow } from '../../randomuser/row.ts';
import type { RandomUser } from '../../randomuser/codec.ts';
import { createTopic, deleteTopics, headersOf, produce, readTopic } from './read-topic.ts';
import { componentContext } from '../../testing/component-context.ts';

const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const CONTACT_POINTS = process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042';
const LOCAL_DC = process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1';
const MIB = 1024 * 1024;

const run = randomUUID().slice(0, 8);
const topic = `it_poison_${run}`;
const deadTopic = `${topic}_dead`;
const keyspace = `it_poison_${run}`;

interface Poison {
  key: string;
  value: Buffer;
  stage: string;
  reason: RegExp;
  /** Where the producer's delivery report says it landed. */
  partition?: number;
  offset?: number;
}

/** Each kind twice, in different batches (and usually partitions). */
function poisons(template: RandomUser): Poison[] {
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  const { login, ...rest } = template;
  const kinds = (i: number): Poison[] => [
    { key: `invalid-json-${i}`, value: Buffer.from(`{"gender":"female","name":{"first":"Ada"`), stage: 'source', reason: /^invalid JSON: / },
    { key: `wrong-type-${i}`, value: json({ ...template, name: { ...template.name, first: 42 } }), stage: 'operators[0] (validate)', reason: /^name\.first: expected string, got 42$/ },
    { key: `empty-${i}`, value: Buffer.alloc(0), stage: 'source', reason: /^invalid JSON: empty message$/ },
    // Random (incompressible) text: compression cannot shrink it under the usual ~1 MB limits.
    { key: `huge-${i}`, value: json({ padding: randomBytes(MIB * 0.75).toString('base64') }), stage: 'operators[0] (validate)', reason: /^gender: expected string, got nothing; / },
    { key: `no-uuid-${i}`, value: json({ ...rest, login: { ...login, uuid: undefined } }), stage: 'operators[0] (validate)', reason: /^login\.uuid: expected a UUID, got nothing$/ },
  ];
  return [...kinds(1), ...kinds(2)];
}

let client: cassandra.Client;

before(async () => {
  client = new cassandra.Client({ contactPoints: CONTACT_POINTS.split(','), localDataCenter: LOCAL_DC });
  await client.connect();
  // A topic that accepts messages up to 2 MiB (Kafka's default is about 1 MB), as a team taking large
  // records would configure it: the 1 MiB poison gets in, and the pipeline must cope with it.
  await createTopic(BROKERS, topic, 3, { 'max.message.bytes': String(2 * MIB) });
});

after(async () => {
  await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client.shutdown();
  await deleteTopics(BROKERS, [topic, deadTopic]);
});

/** Produce every message in order and wait for each delivery report; poisons learn their partition and offset. */
async function producePoisoned(messages: Array<{ key: string; value: Buffer; poison?: Poison }>): Promise<void> {
  // The producer's own limit (librdkafka: 1,000,000 bytes) must be raised to write the 1 MiB poison at all.
  const reports = await produce(BROKERS, topic, messages, { 'message.max.bytes': 2 * MIB });
  messages.forEach((m, i) => m.poison && Object.assign(m.poison, reports[i]));
}

async function rowsById(): Promise<Map<string, Record<string, unknown>>> {
  const rows = new Map<string, Record<string, unknown>>();
  for await (const row of client.stream(`SELECT * FROM ${keyspace}.created_users`, [], { prepare: true, fetchSize: 2000 }) as unknown as AsyncIterable<cassandra.types.Row>) {
    const plain: Record<string, unknown> = {};
    for (const column of row.keys()) plain[column] = row.get(column);
    plain.id = String(plain.id);
    rows.set(plain.id as string, plain);
  }
  return rows;
}

test('poison messages are dead-lettered with their bytes, reason and origin; every valid user lands exactly once; no batch fails', { timeout: 300_000 }, async (t) => {
  const users = generateUsers({ seed: `poison-${run}`, page: 1, results: 400 }).users as unknown as RandomUser[];
  const poison = poisons(users[0]);
  // Interleaved: a poison after every 40 valid users.
  const messages: Array<{ key: string; value: Buffer; poison?: Poison }> = [];
  users.forEach((user, i) => {
    messages.push({ key: user.login.uuid, value: Buffer.from(JSON.stringify(user)) });
    if (i % 40 === 39) {
      const p = poison[(i - 39) / 40];
      messages.push({ key: p.key, value: p.value, poison: p });
    }
  });
  assert.equal(messages.filter((m) => m.poison).length, poison.length);
  await producePoisoned(messages);

  const env = {
    ...process.env,
    KAFKA_BROKERS: BROKERS,
    CASSANDRA_CONTACT_POINTS: CONTACT_POINTS,
    CASSANDRA_LOCAL_DC: LOCAL_DC,
    USERS_TOPIC: topic,
    CASSANDRA_KEYSPACE: keyspace,
    CONSUMER_GROUP: `it-poison-${run}`,
    // Batches of 50: the poisons are spread over several batches, each of which must commit.
    MAX_RECORDS_PER_TRIGGER: '50',
  };
  const { config } = loadTopology('user-pipeline', { env });
  const { logger, close } = createTopologyLogger(config.name, { ...config.logging, dir: mkdtempSync(path.join(tmpdir(), 'poison-it-')), console: 'off' });
  const runtime = new TopologyRuntime(config, { logger, pipelines: ['process'] });
  const events: ProgressEvent[] = [];
  runtime.progress$.subscribe((e) => events.push(e));
  const startedAt = Date.now();
  let elapsed: number;
  await runtime.start();
  const runner = runtime.runners.get('process')!;
  try {
    const consumed = () => events.reduce((n, e) => n + e.numInputRows, 0);
    const deadline = Date.now() + 180_000;
    // A failed batch is already a failure of this test: stop waiting at the first one.
    while (consumed() < messages.length && runner.summary.failures === 0) {
      assert.ok(Date.now() < deadline, `process consumed ${consumed()} of ${messages.length} messages within 180 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    elapsed = Date.now() - startedAt;
  } finally {
    await runtime.stop();
    await close();
  }
  t.diagnostic(`${events.reduce((n, e) => n + e.numInputRows, 0)} of ${messages.length} messages (${users.length} users, ${poison.length} poisons) consumed in ${elapsed} ms over ${events.length} batches; ${runner.summary.failures} failed batches`);

  assert.equal(runner.summary.failures, 0, 'no batch failed: the poisons were set aside, not retried');
  assert.equal(events.reduce((n, e) => n + e.numInputRows, 0), messages.length, 'every message counts as input, poisons included');
  assert.equal(events.reduce((n, e) => n + e.numDeadLetterRows, 0), poison.length, 'numDeadLetterRows sums to the poison count');
  assert.equal(events.reduce((n, e) => n + e.sink.numOutputRows, 0), users.length, 'every valid user was written once');

  const rows = await rowsById();
  assert.equal(rows.size, users.length, 'exactly the valid users are in Cassandra');
  for (const user of users) assert.deepEqual(rows.get(user.login.uuid), { ...toCreatedUserRow(user) }, `row ${user.login.uuid}`);

  const dead = await readTopic(BROKERS, deadTopic);
  assert.equal(dead.length, poison.length, 'the dead-letter topic holds one message per poison, no more');
  const byKey = new Map(dead.map((m) => [String(m.key), m]));
  const input = new Map((await readTopic(BROKERS, topic)).map((m) => [`${m.partition}@${m.offset}`, m]));
  for (const p of poison) {
    const letter = byKey.get(p.key);
    assert.ok(letter, `dead letter for ${p.key}`);
    const original = input.get(`${p.partition}@${p.offset}`)!;
    assert.ok((original.value ?? Buffer.alloc(0)).equals(p.value), `${p.key} as produced`);
    // Byte for byte what the input topic holds (an empty value stays empty, not null), with its timestamp.
    assert.deepEqual(letter.value, original.value, `${p.key}: the original bytes (${p.value.length}), got ${letter.value?.length ?? 'null'}`);
    assert.equal(letter.timestamp, original.timestamp, `${p.key}: the original timestamp`);
    const headers = headersOf(letter);
    assert.match(headers['dead-letter.reason'], p.reason, p.key);
    assert.equal(headers['dead-letter.stage'], p.stage, p.key);
    assert.equal(headers['dead-letter.topology'], 'user-pipeline');
    assert.equal(headers['dead-letter.pipeline'], 'process');
    assert.deepEqual(
      [headers['dead-letter.origin.topic'], headers['dead-letter.origin.partition'], headers['dead-letter.origin.offset']],
      [topic, String(p.partition), String(p.offset)],
      `${p.key}: where it was read`,
    );
  }
});

test('a dead letter above maxMessageBytes fails its write with the size and the limit, not retried', { timeout: 60_000 }, async () => {
  const decoded = registry.codec('sink').decode({ type: 'dead-letter', brokers: BROKERS, topic: deadTopic, maxMessageBytes: 1_000_000, deliveryTimeout: '10s' });
  assert.equal(decoded._tag, 'Right');
  const sink = await registry.create('sink', (decoded as { right: ComponentConfig }).right, componentContext({ topology: 't', pipeline: 'p', path: 'pipelines.p.deadLetter', logger: silentLogger(), scheduler: asyncScheduler}));
  await sink.start();
  try {
    const raw = Buffer.alloc(1_000_000, 'x');
    const letter: StreamRecord<DeadLetterValue> = { key: 'big', value: { reason: 'r', stage: 'source', topology: 't', pipeline: 'p', value: null, failedAt: 0 }, timestamp: 0, raw };
    await assert.rejects(sink.write([letter]), (error: Error) => {
      assert.match(error.message, /record 1 of 1 could not be produced: .*Message size too large \(1000003 bytes of key and value; this producer's message\.max\.bytes is 1000000\)$/);
      assert.equal(sink.isRetryable?.(error), false, 'retrying cannot make it fit');
      return true;
    });
  } finally {
    await sink.close();
  }
});
