/**
 * Round trips through the real servers: the local ones `npm test` starts (scripts/test.mjs), or
 * existing clusters named by KAFKA_BROKERS / CASSANDRA_CONTACT_POINTS / CASSANDRA_LOCAL_DC.
 * Every run uses its own topic and keyspace, and removes them afterwards.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import cassandra from 'cassandra-driver';
import Kafka from 'node-rdkafka';
import { DEFAULT_CASSANDRA_CONTACT_POINTS, DEFAULT_CASSANDRA_LOCAL_DC, DEFAULT_KAFKA_BROKERS } from '../../services/settings.ts';

const brokers = process.env.KAFKA_BROKERS || DEFAULT_KAFKA_BROKERS;
const contactPoints = (process.env.CASSANDRA_CONTACT_POINTS || DEFAULT_CASSANDRA_CONTACT_POINTS).split(',').map((s) => s.trim());
const localDataCenter = process.env.CASSANDRA_LOCAL_DC || DEFAULT_CASSANDRA_LOCAL_DC;
const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

describe(`Kafka at ${brokers}`, () => {
  const topic = `services-test-${runId}`;
  const admin = Kafka.AdminClient.create({ 'metadata.broker.list': brokers, 'client.id': `services-test-admin-${runId}` });

  after(async () => {
    await new Promise<void>((resolve) => admin.deleteTopic(topic, 10_000, () => resolve()));
    admin.disconnect();
  });

  test('a topic created with the AdminClient carries produced messages back to a consumer, exactly', async () => {
    await new Promise<void>((resolve, reject) =>
      admin.createTopic({ topic, num_partitions: 1, replication_factor: 1 }, 15_000, (error) => (error ? reject(new Error(`createTopic: ${error.message}`)) : resolve())),
    );

    // Distinct payloads, including non-ASCII and empty-ish ones, so a dropped, reordered or mangled message shows.
    const sent = Array.from({ length: 25 }, (_, i) => ({ key: `k${i % 4}`, value: JSON.stringify({ i, name: i % 2 ? 'Ава' : 'Ava', tag: '#'.repeat(i) }) }));

    const producer = new Kafka.Producer({ 'metadata.broker.list': brokers, dr_cb: true, 'enable.idempotence': true });
    await new Promise<void>((resolve, reject) => producer.connect({ timeout: 15_000 }, (error) => (error ? reject(new Error(`producer connect: ${error.message}`)) : resolve())));
    const reports: Array<{ offset: number; key: string }> = [];
    const delivered = new Promise<void>((resolve, reject) => {
      producer.on('delivery-report', (error, report) => {
        if (error) return reject(new Error(`delivery failed: ${error.message}`));
        reports.push({ offset: report.offset, key: String(report.key) });
        if (reports.length === sent.length) resolve();
      });
    });
    producer.setPollInterval(50);
    for (const message of sent) producer.produce(topic, 0, Buffer.from(message.value), message.key);
    await withTimeout(delivered, 20_000, () => `delivery reports (${reports.length} of ${sent.length} arrived)`);
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
    assert.deepEqual(
      reports.map((r) => r.offset),
      sent.map((_, i) => i),
      'one partition, one producer: offsets 0..N-1 in send order',
    );

    const consumer = new Kafka.KafkaConsumer({ 'metadata.broker.list': brokers, 'group.id': `services-test-${runId}`, 'enable.auto.commit': false }, { 'auto.offset.reset': 'earliest' });
    await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 15_000 }, (error) => (error ? reject(new Error(`consumer connect: ${error.message}`)) : resolve())));
    try {
      // Assign rather than subscribe: no group rebalance to wait for.
      consumer.assign([{ topic, partition: 0, offset: 0 }]);
      const received: Array<{ key: string; value: string; offset: number }> = [];
      const deadline = Date.now() + 20_000;
      while (received.length < sent.length && Date.now() < deadline) {
        const batch = await new Promise<Kafka.Message[]>((resolve, reject) => consumer.consume(100, (error, messages) => (error ? reject(error) : resolve(messages))));
        for (const m of batch) received.push({ key: String(m.key), value: m.value?.toString('utf8') ?? '', offset: m.offset });
      }
      assert.deepEqual(
        received.map(({ key, value }) => ({ key, value })),
        sent,
        'consumed exactly what was produced, in order',
      );
      assert.deepEqual(
        received.map((m) => m.offset),
        reports.map((r) => r.offset),
      );
    } finally {
      await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
    }
  });
});

describe(`Cassandra at ${contactPoints.join(',')} (dc ${localDataCenter})`, () => {
  const keyspace = `services_test_${runId}`;
  const client = new cassandra.Client({ contactPoints, localDataCenter });

  before(async () => {
    await client.connect();
  });

  after(async () => {
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
    await client.shutdown();
  });

  test('rows written to a new keyspace and table read back equal, types included', async () => {
    await client.execute(`CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
    await client.execute(`CREATE TABLE ${keyspace}.people (id uuid PRIMARY KEY, name text, age int, born timestamp, tags list<text>)`);

    const rows = Array.from({ length: 20 }, (_, i) => ({
      id: cassandra.types.Uuid.random(),
      name: i % 3 === 0 ? `Мирон ${i}` : `Ava ${i}`,
      age: 18 + i,
      born: new Date(Date.UTC(1990, i % 12, 1 + i)),
      tags: i % 2 ? ['a', `t${i}`] : null,
    }));
    const insert = `INSERT INTO ${keyspace}.people (id, name, age, born, tags) VALUES (?, ?, ?, ?, ?)`;
    for (const row of rows) await client.execute(insert, [row.id, row.name, row.age, row.born, row.tags], { prepare: true });

    const result = await client.execute(`SELECT id, name, age, born, tags FROM ${keyspace}.people`);
    const read = result.rows
      .map((r) => ({ id: r.id.toString(), name: r.name, age: r.age, born: (r.born as Date).toISOString(), tags: r.tags }))
      .sort((a, b) => a.age - b.age);
    assert.deepEqual(
      read,
      rows.map((r) => ({ ...r, id: r.id.toString(), born: r.born.toISOString() })),
    );

    const one = await client.execute(`SELECT name FROM ${keyspace}.people WHERE id = ?`, [rows[3].id], { prepare: true });
    assert.equal(one.first()?.get('name'), rows[3].name, 'lookup by primary key finds the row written');
  });
});

async function withTimeout<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what()}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
