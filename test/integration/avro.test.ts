/**
 * The user pipeline in Avro on the real Kafka, the real schema registry and Cassandra
 * (USERS_FORMAT=avro): the users are written in the Confluent wire format with the schema registered
 * under `<topic>-value`, read back by schema id, and land in Cassandra as exactly the same rows as the
 * same users through JSON. Messages that are not Avro of a known schema are dead-lettered with the
 * reason. Schema evolution at the sink's start: an added optional field is accepted; an added
 * required field (BACKWARD, the registry's level) and a removed required field (FULL) are refused
 * with one line naming the subject and the field.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import avro from 'avsc';
import * as t from 'io-ts';
import cassandra from 'cassandra-driver';
import { asyncScheduler } from 'rxjs';
import '../../components.ts';
import { loadTopology } from '../../topology/load.ts';
import { createTopologyLogger, silentLogger } from '../../operations/logger.ts';
import { registry, type ComponentConfig } from '../../topology/registry.ts';
import { registerSchema } from '../../topology/functions.ts';
import { TopologyRuntime } from '../../topology/runtime.ts';
import type { ProgressEvent } from '../../topology/progress.ts';
import { toCreatedUserRow } from '../../randomuser/row.ts';
import { RANDOMUSER_USER_AVRO } from '../../schemas/randomuser-user.ts';
import { wireHeader } from '../../clients/avro.ts';
import { componentContext } from '../../testing/component-context.ts';
import { DEFAULT_SCHEMA_REGISTRY_URL } from '../../services/settings.ts';
import { createTopic, deleteTopics, headersOf, produce, readTopic } from './read-topic.ts';
import { servedUsers, useFixtures } from './helpers.ts';

const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const REGISTRY = process.env.SCHEMA_REGISTRY_URL || DEFAULT_SCHEMA_REGISTRY_URL;
const RESULTS = 500;
const PAGES = 4;
const N = RESULTS * PAGES;

const run = randomUUID().slice(0, 8);
const seed = `it-avro-${run}`;
const avroTopic = `it_avro_users_${run}`;
const jsonTopic = `it_avro_json_users_${run}`;
const avroKeyspace = `it_avro_${run}`;
const jsonKeyspace = `it_avro_json_${run}`;
const evolutionTopic = `it_avro_evolution_${run}`;

const fixtures = useFixtures(avroKeyspace);
let client: cassandra.Client;

before(async () => {
  client = new cassandra.Client({ contactPoints: (process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042').split(','), localDataCenter: process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1' });
  await client.connect();
});

after(async () => {
  await client.execute(`DROP KEYSPACE IF EXISTS ${jsonKeyspace}`);
  await client.shutdown();
  await deleteTopics(BROKERS, [avroTopic, `${avroTopic}_dead`, jsonTopic, `${jsonTopic}_dead`, evolutionTopic]);
  for (const subject of [`${avroTopic}-value`, `${jsonTopic}-value`, `${evolutionTopic}-value`]) {
    await registryCall('DELETE', `/subjects/${subject}`).catch(() => undefined);
    await registryCall('DELETE', `/subjects/${subject}?permanent=true`).catch(() => undefined);
  }
});

async function registryCall(method: string, pathname: string, body?: unknown): Promise<any> {
  const response = await fetch(`${REGISTRY}${pathname}`, { method, headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  assert.ok(response.ok, `${method} ${pathname}: ${response.status} ${await response.clone().text()}`);
  return response.json();
}

/** Runs ingest and process of config/user-pipeline.yaml in `format` until process has consumed `expected` messages. */
async function runPipeline(format: 'avro' | 'json', topic: string, keyspace: string, expected: number): Promise<ProgressEvent[]> {
  const env = {
    ...process.env,
    RANDOMUSER_URL: fixtures.server.url,
    RANDOMUSER_SEED: seed,
    RESULTS_PER_REQUEST: String(RESULTS),
    POLL_INTERVAL: '0',
    INGEST_MAX_REQUESTS: String(PAGES),
    USERS_TOPIC: topic,
    CASSANDRA_KEYSPACE: keyspace,
    CONSUMER_GROUP: `it-avro-${format}-${run}`,
    USERS_FORMAT: format,
    SCHEMA_REGISTRY_URL: REGISTRY,
  };
  const { config } = loadTopology('user-pipeline', { env });
  const { logger, close } = createTopologyLogger(config.name, { ...config.logging, dir: mkdtempSync(path.join(tmpdir(), 'avro-it-')), console: 'off' });
  const runtime = new TopologyRuntime(config, { logger, pipelines: ['ingest', 'process'] });
  const events: ProgressEvent[] = [];
  runtime.progress$.subscribe((e) => events.push(e));
  await runtime.start();
  try {
    await runtime.runners.get('ingest')!.wait();
    const consumed = () => events.filter((e) => e.pipeline === 'process').reduce((n, e) => n + e.numInputRows, 0);
    const deadline = Date.now() + 180_000;
    while (consumed() < expected) {
      assert.ok(Date.now() < deadline, `process (${format}) consumed ${consumed()} of ${expected} messages within 180 s`);
      assert.equal(runtime.runners.get('process')!.summary.failures, 0, `no failed batch in process (${format})`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await runtime.stop();
    await close();
  }
  return events;
}

async function rowsById(keyspace: string): Promise<Map<string, Record<string, unknown>>> {
  const rows = new Map<string, Record<string, unknown>>();
  for await (const row of client.stream(`SELECT * FROM ${keyspace}.created_users`, [], { prepare: true, fetchSize: 2000 }) as unknown as AsyncIterable<cassandra.types.Row>) {
    const plain: Record<string, unknown> = {};
    for (const column of row.keys()) plain[column] = row.get(column);
    plain.id = String(plain.id);
    rows.set(plain.id as string, plain);
  }
  return rows;
}

test(`${N} users through Kafka in Avro land in Cassandra as the same rows as through JSON; messages not Avro of a known schema are dead-lettered with the reason`, { timeout: 420_000 }, async (t) => {
  // The poisons go first, into the topic the Avro run then writes to (so one partition each, before the users).
  await createTopic(BROKERS, avroTopic, 3);
  const poisons = [
    { key: 'json-not-avro', value: Buffer.from('{"gender":"female"}'), reason: /^not Avro in the Confluent wire format: the first byte is 0x7b, not the magic byte 0 \(it looks like JSON\)$/ },
    { key: 'unknown-schema-id', value: Buffer.concat([wireHeader(987_654_321), Buffer.from([2, 97])]), reason: /^Avro schema id 987654321 is unknown to the schema registry at / },
    { key: 'truncated-header', value: Buffer.from([0, 0, 1]), reason: /shorter than the 5-byte header/ },
  ];
  await produce(BROKERS, avroTopic, poisons);

  const avroEvents = await runPipeline('avro', avroTopic, avroKeyspace, N + poisons.length);
  const jsonEvents = await runPipeline('json', jsonTopic, jsonKeyspace, N);
  const users = await servedUsers(fixtures.server, seed, RESULTS, PAGES);
  assert.equal(new Set(users.map((u) => u.login.uuid)).size, N);
  assert.ok(users.some((u) => typeof u.location.postcode === 'number') && users.some((u) => (u as { id?: { value: unknown } }).id?.value === null), 'the quirks are among the users');

  // Every message of the users is the magic byte, the id of the subject's schema, then the Avro body of the user served.
  const latest = await registryCall('GET', `/subjects/${avroTopic}-value/versions/latest`);
  assert.deepEqual(JSON.parse(latest.schema), JSON.parse(JSON.stringify(RANDOMUSER_USER_AVRO)), 'the registered schema is the one derived from the codec');
  const type = avro.Type.forSchema(JSON.parse(latest.schema) as avro.Schema);
  const byUuid = new Map(users.map((u) => [u.login.uuid, u]));
  const messages = (await readTopic(BROKERS, avroTopic)).filter((m) => byUuid.has(String(m.key)));
  assert.equal(messages.length, N);
  for (const message of messages) {
    assert.equal(message.value![0], 0, 'magic byte');
    assert.equal(message.value!.readUInt32BE(1), latest.id, 'the schema id');
    assert.deepEqual(JSON.parse(JSON.stringify(type.fromBuffer(message.value!.subarray(5)))), JSON.parse(JSON.stringify(byUuid.get(String(message.key)))));
  }
  const jsonMessages = await readTopic(BROKERS, jsonTopic);
  const bytes = (list: typeof messages) => list.reduce((n, m) => n + (m.value?.length ?? 0), 0) / list.length;
  t.diagnostic(`bytes per user message: Avro ${bytes(messages).toFixed(0)}, JSON ${bytes(jsonMessages).toFixed(0)}`);

  const avroRows = await rowsById(avroKeyspace);
  const jsonRows = await rowsById(jsonKeyspace);
  assert.equal(avroRows.size, N);
  assert.equal(jsonRows.size, N);
  for (const user of users) {
    assert.deepEqual(avroRows.get(user.login.uuid), { ...toCreatedUserRow(user) }, `Avro row ${user.login.uuid}`);
    assert.deepEqual(avroRows.get(user.login.uuid), jsonRows.get(user.login.uuid), `Avro and JSON rows of ${user.login.uuid}`);
  }

  const process = avroEvents.filter((e) => e.pipeline === 'process');
  assert.equal(process.reduce((n, e) => n + e.sink.numOutputRows, 0), N);
  assert.equal(process.reduce((n, e) => n + e.numDeadLetterRows, 0), poisons.length, 'the poisons, and only they, were dead-lettered');
  assert.equal(jsonEvents.filter((e) => e.pipeline === 'process').reduce((n, e) => n + e.numDeadLetterRows, 0), 0);
  const dead = new Map((await readTopic(BROKERS, `${avroTopic}_dead`)).map((m) => [String(m.key), m]));
  assert.equal(dead.size, poisons.length);
  for (const poison of poisons) {
    const letter = dead.get(poison.key);
    assert.ok(letter, `dead letter ${poison.key}`);
    assert.deepEqual(letter.value, poison.value, `${poison.key}: the original bytes`);
    assert.match(headersOf(letter)['dead-letter.reason'], poison.reason, poison.key);
    assert.equal(headersOf(letter)['dead-letter.stage'], 'source');
  }
});

/** A kafka sink writing `schema` to the evolution topic in Avro: started (so its schema registered) and closed again. */
async function startSink(schema: string): Promise<void> {
  const decoded = registry.codec('sink').decode({ type: 'kafka', brokers: BROKERS, topic: evolutionTopic, createTopic: { partitions: 1 }, format: 'avro', schema, schemaRegistry: { url: REGISTRY } });
  assert.equal(decoded._tag, 'Right', JSON.stringify(decoded));
  const sink = await registry.create('sink', (decoded as { right: ComponentConfig }).right, componentContext({ topology: 't', pipeline: 'p', path: 'pipelines.p.sink', logger: silentLogger(), scheduler: asyncScheduler }));
  try {
    await sink.start();
  } finally {
    await sink.close();
  }
}

function userSchema(change: (fields: avro.schema.RecordType['fields']) => avro.schema.RecordType['fields']): object {
  return { ...RANDOMUSER_USER_AVRO, fields: change([...RANDOMUSER_USER_AVRO.fields]) };
}

test('evolution at the sink\'s start: an added optional field is accepted; an added required field (BACKWARD) and a removed required field (FULL) are refused in one line naming subject and field', { timeout: 120_000 }, async () => {
  const subject = `${evolutionTopic}-value`;
  registerSchema(`it-avro-user-${run}`, { summary: 'v1', codec: t.unknown, avro: RANDOMUSER_USER_AVRO });
  registerSchema(`it-avro-user-optional-${run}`, { summary: 'v2: an optional field', codec: t.unknown, avro: userSchema((f) => [...f, { name: 'favourite_colour', type: ['null', 'string'], default: null }]) });
  registerSchema(`it-avro-user-required-${run}`, { summary: 'v3: a required field', codec: t.unknown, avro: userSchema((f) => [...f, { name: 'shoe_size', type: 'long' }]) });
  registerSchema(`it-avro-user-no-email-${run}`, { summary: 'v3: email removed', codec: t.unknown, avro: userSchema((f) => f.filter((field) => field.name !== 'email')) });

  await startSink(`it-avro-user-${run}`);
  await startSink(`it-avro-user-optional-${run}`);
  assert.deepEqual(await registryCall('GET', `/subjects/${subject}/versions`), [1, 2], 'the optional field made version 2');

  await assert.rejects(startSink(`it-avro-user-required-${run}`), (error: Error) => {
    const [line] = error.message.split('\n');
    assert.match(line, new RegExp(`refuses this schema for subject ${subject} \\(compatibility BACKWARD, latest version 2\\): field "shoe_size" added without a default`));
    return true;
  });

  await registryCall('PUT', `/config/${subject}`, { compatibility: 'FULL' });
  await assert.rejects(startSink(`it-avro-user-no-email-${run}`), (error: Error) => {
    const [line] = error.message.split('\n');
    assert.match(line, new RegExp(`refuses this schema for subject ${subject} \\(compatibility FULL, latest version 2\\): required field "email" removed`));
    return true;
  });
  assert.deepEqual(await registryCall('GET', `/subjects/${subject}/versions`), [1, 2], 'nothing refused was registered');
});
