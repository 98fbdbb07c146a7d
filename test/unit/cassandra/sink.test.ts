/**
 * The sink's lifecycle and write path against a fake client: what start() runs, bounded concurrency,
 * a failed row failing the write only once every row in flight has settled, and no secrets in describe().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import cassandra from 'cassandra-driver';
import winston from 'winston';
import type { CassandraSinkConfig } from '../../../sinks/cassandra/config.ts';
import { insertCql, type SchemaColumn } from '../../../sinks/cassandra/cql.ts';
import { cassandraSink, RECONNECT_MAX_DELAY_MS } from '../../../sinks/cassandra/sink.ts';
import { CassandraValueError } from '../../../sinks/cassandra/values.ts';
import type { connectCassandra } from '../../../clients/cassandra.ts';
import { UserFacingError } from '../../../topology/errors.ts';
import type { StreamRecord } from '../../../topology/types.ts';
import { config } from './helpers.ts';

const logger = winston.createLogger({ silent: true });

/** Answers the sink's DDL and schema queries, and holds each INSERT for a few event-loop turns. */
class FakeClient {
  statements: string[] = [];
  inserts: unknown[][] = [];
  insertOptions: cassandra.QueryOptions[] = [];
  inFlight = 0;
  maxInFlight = 0;
  shutdowns = 0;
  failWhen?: (params: unknown[]) => Error | undefined;
  /** The nodes the driver knows, by data center (what `replication: auto` counts). */
  nodes: string[] = ['datacenter1'];
  readonly hosts = { values: () => this.nodes.map((datacenter) => ({ datacenter })) };

  constructor(private readonly schema: SchemaColumn[]) {}

  async execute(query: string, params: unknown[] = [], options: cassandra.QueryOptions = {}): Promise<unknown> {
    this.statements.push(query);
    if (query.startsWith('CREATE')) return {};
    if (query.includes('system_schema.columns')) return { rowLength: this.schema.length, rows: this.schema };
    if (query.includes('system_schema.keyspaces')) return { rowLength: 0, rows: [] };
    this.inserts.push(params);
    this.insertOptions.push(options);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    for (let i = (this.inserts.length * 7) % 5; i >= 0; i--) await new Promise((resolve) => setImmediate(resolve));
    this.inFlight--;
    const error = this.failWhen?.(params);
    if (error) throw error;
    return {};
  }

  async shutdown(): Promise<void> {
    this.shutdowns++;
  }
}

function schemaFor(c: CassandraSinkConfig): SchemaColumn[] {
  return Object.entries(c.columns).map(([name, type]) => ({ column_name: name, type, kind: c.primaryKey.partition.includes(name) ? 'partition_key' : 'regular', position: c.primaryKey.partition.includes(name) ? 0 : -1 }));
}

function withFake(c: CassandraSinkConfig, schema = schemaFor(c)) {
  const client = new FakeClient(schema);
  const calls: Array<Parameters<typeof connectCassandra>> = [];
  const connect: typeof connectCassandra = async (...args) => {
    calls.push(args);
    return client as unknown as cassandra.Client;
  };
  return { sink: cassandraSink(c, logger, connect), client, calls };
}

const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const records = (n: number): StreamRecord[] => Array.from({ length: n }, (_, i) => ({ key: null, value: { id: uuid(i), email: `u${i}@example.com` }, timestamp: 0 }));

test('start creates the keyspace and the table, checks the schema, and turns the driver retries off', async () => {
  const c = config({ columns: { id: 'uuid', email: 'text' } });
  const { sink, client, calls } = withFake(c);
  await sink.start();
  assert.deepEqual(client.statements, [
    "CREATE KEYSPACE IF NOT EXISTS spark_streams WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': 1}",
    'CREATE TABLE IF NOT EXISTS spark_streams.created_users (id uuid, email text, PRIMARY KEY (id))',
    'SELECT column_name, type, kind, position FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?',
  ]);
  assert.ok(calls[0][1]?.retry instanceof cassandra.policies.retry.FallthroughRetryPolicy, 'the framework, not the driver, retries');
  await sink.close();
  assert.equal(client.shutdowns, 1);
});

test('replication auto counts the nodes of the local data center the driver knows: three copies on a cluster, never more', async () => {
  for (const [nodes, copies] of [
    [['datacenter1', 'datacenter1', 'datacenter1'], 3],
    [['datacenter1', 'datacenter1', 'datacenter1', 'datacenter1', 'datacenter1'], 3],
    [['datacenter1', 'datacenter1', 'eu-west', 'eu-west'], 2],
  ] as const) {
    const { sink, client } = withFake(config({ columns: { id: 'uuid', email: 'text' } }));
    client.nodes = [...nodes];
    await sink.start();
    assert.equal(client.statements[0], `CREATE KEYSPACE IF NOT EXISTS spark_streams WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': ${copies}}`, nodes.join(', '));
    await sink.close();
  }
  const given = withFake(config({ columns: { id: 'uuid', email: 'text' }, replication: { class: 'SimpleStrategy', replicationFactor: 2 } }));
  given.client.nodes = ['datacenter1', 'datacenter1', 'datacenter1'];
  await given.sink.start();
  assert.equal(given.client.statements[0], "CREATE KEYSPACE IF NOT EXISTS spark_streams WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}");
  await given.sink.close();
});

test('a node that went away is tried again at least every 10 s, not after up to 10 minutes (the driver\'s default)', async () => {
  const { sink, calls } = withFake(config({ columns: { id: 'uuid', email: 'text' } }));
  await sink.start();
  const policy = calls[0][1]?.reconnection;
  assert.ok(policy, 'the sink sets a reconnection policy');
  const schedule = policy.newSchedule();
  const delays = Array.from({ length: 20 }, () => schedule.next().value as number);
  assert.ok(delays[0] >= 1000 && delays[0] <= 1150, `the first attempt after about 1 s (${delays[0]} ms)`);
  assert.ok(delays.every((d) => d <= RECONNECT_MAX_DELAY_MS), `no pause above ${RECONNECT_MAX_DELAY_MS} ms: ${delays.join(', ')}`);
  assert.equal(RECONNECT_MAX_DELAY_MS, 10_000);
  await sink.close();
});

test('with createIfMissing: false start only checks; a missing table is a clear error and the client is shut down', async () => {
  const c = config({ columns: { id: 'uuid', email: 'text' }, createIfMissing: false });
  const { sink, client } = withFake(c, []);
  await assert.rejects(sink.start(), (error: Error) => {
    assert.ok(error instanceof UserFacingError);
    assert.match(error.message, /^keyspace spark_streams does not exist in Cassandra at 127\.0\.0\.1:9042\n {2}→ create it \(CREATE KEYSPACE IF NOT EXISTS spark_streams .*; CREATE TABLE IF NOT EXISTS spark_streams\.created_users .*\), or set createIfMissing: true/);
    return true;
  });
  assert.ok(!client.statements.some((s) => s.startsWith('CREATE')), 'nothing created');
  assert.equal(client.shutdowns, 1);
});

test('a table that does not match the config fails start, listing each difference', async () => {
  const c = config({ columns: { id: 'uuid', email: 'text' } });
  const { sink, client } = withFake(c, [{ column_name: 'id', type: 'uuid', kind: 'partition_key', position: 0 }, { column_name: 'email', type: 'blob', kind: 'regular', position: -1 }]);
  await assert.rejects(sink.start(), {
    name: 'UserFacingError',
    message:
      "table spark_streams.created_users does not match the sink's columns:\n  - column email is blob in table spark_streams.created_users but text in columns: make columns.email blob, or write to another table (Cassandra cannot change a column's type)\n  → nothing was written or changed; fix the table or the topology, then start again",
  });
  assert.equal(client.shutdowns, 1);
});

test('write sends every row through the prepared INSERT, converted, at most `concurrency` at a time', async () => {
  const c = config({ columns: { id: 'uuid', email: 'text' }, concurrency: 8, consistency: 'LOCAL_ONE' });
  const { sink, client } = withFake(c);
  await sink.start();
  client.statements = [];
  await sink.write(records(1000));
  assert.equal(client.inserts.length, 1000);
  assert.equal(client.inFlight, 0);
  assert.equal(client.maxInFlight, 8);
  assert.ok(client.statements.every((s) => s === insertCql(c)));
  assert.deepEqual(client.insertOptions[0], { prepare: true, isIdempotent: true, consistency: cassandra.types.consistencies.localOne });
  const ids = client.inserts.map(([id]) => {
    assert.ok(id instanceof cassandra.types.Uuid);
    return id.toString();
  });
  assert.deepEqual(new Set(ids), new Set(Array.from({ length: 1000 }, (_, i) => uuid(i))), 'each row exactly once');
});

test('a write has exactly min(concurrency, rows) rows in flight at its busiest: never more, and as many as that', async () => {
  for (const [concurrency, rows] of [
    [8, 1000],
    [8, 3],
    [1, 20],
    [3, 3],
    [64, 100],
  ]) {
    const { sink, client } = withFake(config({ columns: { id: 'uuid', email: 'text' }, concurrency }));
    await sink.start();
    client.maxInFlight = 0;
    await sink.write(records(rows));
    assert.equal(client.inserts.length, rows);
    assert.equal(client.maxInFlight, Math.min(concurrency, rows), `concurrency ${concurrency}, ${rows} rows`);
    await sink.close();
  }
});

test('a row the server refuses fails the write, but only after the rows in flight settled, and no new row starts', async () => {
  const c = config({ columns: { id: 'uuid', email: 'text' }, concurrency: 16 });
  const { sink, client } = withFake(c);
  await sink.start();
  const timeout = new cassandra.errors.ResponseError(cassandra.types.responseErrorCodes.writeTimeout, 'Operation timed out - received only 0 responses.');
  client.failWhen = (params) => (String(params[0]) === uuid(100) ? timeout : undefined);
  let inFlightAtRejection = -1;
  await assert.rejects(
    sink.write(records(1000)).catch((error) => {
      inFlightAtRejection = client.inFlight;
      throw error;
    }),
    (error) => error === timeout,
  );
  assert.equal(inFlightAtRejection, 0, 'nothing of this write was still running when it rejected');
  assert.ok(client.inserts.length < 200, `stopped sending after the failure (${client.inserts.length} of 1000 sent)`);
  assert.equal(sink.isRetryable!(timeout), true);
});

test('a record that cannot be converted fails the write before any row is sent, naming record, column and value', async () => {
  const c = config({ columns: { id: 'uuid', email: 'text' } });
  const { sink, client } = withFake(c);
  await sink.start();
  const batch = records(5);
  batch[3] = { ...batch[3], value: { id: uuid(3), email: { nested: true } }, origin: { topic: 'users_created', partition: 2, offset: 41 } };
  await assert.rejects(sink.write(batch), (error: Error) => {
    assert.ok(error instanceof CassandraValueError);
    assert.equal(error.message, 'record 4 of 5 (users_created/2@41): column email (text): {"nested":true} is not text');
    assert.equal(sink.isRetryable!(error), false);
    return true;
  });
  await assert.rejects(sink.write([{ key: null, value: 'a string', timestamp: 0 }]), { message: 'record 1 of 1: the value is "a string", not an object with a field per column' });
  await assert.rejects(sink.write([{ key: null, value: { email: 'x' }, timestamp: 0 }]), { message: 'record 1 of 1: column id (uuid): missing, but a primary key column needs a value' });
  assert.equal(client.inserts.length, 0);
});

test('describe names the table and the contact points, never the credentials', () => {
  const { sink } = withFake(config({ username: 'app', password: 'hunter2-secret' }));
  assert.equal(sink.describe(), 'cassandra spark_streams.created_users (127.0.0.1:9042)');
  assert.doesNotMatch(sink.describe(), /hunter2|app/);
});

test('write before start is a programming error, said plainly', async () => {
  const { sink } = withFake(config());
  await assert.rejects(sink.write(records(1)), { message: 'cassandra sink spark_streams.created_users: write before start' });
});
