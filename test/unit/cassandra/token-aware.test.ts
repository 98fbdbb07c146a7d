/**
 * Token-aware batching (sinks/cassandra/token-aware.ts and the sink's `batching: { mode: token-aware }`):
 * rows of different replica sets are never in one batch, a batch stays under its byte and row bounds,
 * every row is written exactly once, and the routing key is the driver's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import cassandra from 'cassandra-driver';
import winston from 'winston';
import type { SchemaColumn } from '../../../sinks/cassandra/cql.ts';
import { cassandraSink } from '../../../sinks/cassandra/sink.ts';
import { CELL_OVERHEAD_BYTES, groupByReplicas, keyPartEncoder, replicaSetNamer, routingKeyOf, rowBytes } from '../../../sinks/cassandra/token-aware.ts';
import type { connectCassandra } from '../../../clients/cassandra.ts';
import { Random } from '../../../randomuser/random.ts';
import type { StreamRecord } from '../../../topology/types.ts';
import { config, errors } from './helpers.ts';
import { CaptureTransport, type LogEntry } from '../../../testing/capture.ts';

const logger = winston.createLogger({ silent: true });

test('groups: one replica set each, at most maxBytes (a larger row alone) and maxRows, every row once and in order', () => {
  const random = Random.fromSeed('token-aware');
  for (let round = 0; round < 200; round++) {
    const count = random.between(0, 300);
    const sets = random.between(1, 6);
    const replicas = Array.from({ length: count }, () => (random.chance(0.05) ? undefined : `set${random.int(sets)}`));
    const bytes = Array.from({ length: count }, () => (random.chance(0.02) ? random.between(5000, 9000) : random.between(50, 1500)));
    const limits = { maxBytes: random.pick([1024, 4096, 5000]), maxRows: random.pick([1, 3, 100]) };
    const groups = groupByReplicas(count, (i) => replicas[i], (i) => bytes[i], limits);
    const seen = groups.flat().sort((a, b) => a - b);
    assert.deepEqual(seen, [...Array(count).keys()], 'every row in exactly one group');
    for (const group of groups) {
      assert.ok(group.length > 0);
      assert.equal(new Set(group.map((i) => replicas[i])).size, 1, `one replica set per group: ${group.map((i) => replicas[i])}`);
      if (replicas[group[0]] === undefined) assert.equal(group.length, 1, 'a row of unknown replicas goes alone');
      const total = group.reduce((n, i) => n + bytes[i], 0);
      assert.ok(group.length === 1 || total <= limits.maxBytes, `a group of ${group.length} rows has ${total} bytes > ${limits.maxBytes}`);
      assert.ok(group.length <= limits.maxRows);
      assert.deepEqual(group, [...group].sort((a, b) => a - b), 'rows keep their order');
    }
  }
});

test('groups are as full as the bounds allow: rows of one set fill a batch before another is started', () => {
  const groups = groupByReplicas(10, (i) => (i % 2 === 0 ? 'a' : 'b'), () => 1000, { maxBytes: 3000, maxRows: 100 });
  assert.deepEqual(groups, [[0, 2, 4], [1, 3, 5], [6, 8], [7, 9]]);
});

test('routing keys: one column is its bytes; several are each length-prefixed and 0-terminated, as the driver lays them out', () => {
  const id = cassandra.types.Uuid.fromString('6f1c1a4e-4a8e-4b43-9a8f-2d1c0e5b7a11');
  assert.deepEqual(keyPartEncoder('uuid')(id), id.getBuffer());
  assert.deepEqual(keyPartEncoder('text')('Zoë'), Buffer.from('Zoë', 'utf8'));
  assert.deepEqual(keyPartEncoder('int')(7), Buffer.from([0, 0, 0, 7]));
  assert.deepEqual(routingKeyOf([Buffer.from('ab')]), Buffer.from('ab'));
  assert.deepEqual(routingKeyOf([Buffer.from('ab'), Buffer.from('c')]), Buffer.from([0, 2, 0x61, 0x62, 0, 0, 1, 0x63, 0]));
});

test('a replica set is named by its sorted addresses, once per array the driver hands out; unknown replicas have no name', () => {
  const ab = [{ address: '10.0.0.2' }, { address: '10.0.0.1' }];
  let lookups = 0;
  const client = {
    getReplicas: (keyspace: string, key: Buffer) => {
      lookups++;
      assert.equal(keyspace, 'ks');
      return key[0] === 0 ? ab : key[0] === 1 ? [{ address: '10.0.0.1' }, { address: '10.0.0.2' }] : null;
    },
  };
  const name = replicaSetNamer(client, 'ks');
  assert.equal(name(Buffer.from([0])), '10.0.0.1,10.0.0.2');
  assert.equal(name(Buffer.from([1])), '10.0.0.1,10.0.0.2', 'the same set in another order has the same name');
  assert.equal(name(Buffer.from([2])), undefined);
  assert.equal(lookups, 3);
});

test('config: batching defaults to single-row; token-aware takes maxBytes and maxRows; anything else is refused', () => {
  assert.deepEqual(config().batching, { mode: 'single-row', maxBytes: 4096, maxRows: 10 });
  assert.deepEqual(config({ batching: { mode: 'token-aware', maxBytes: 2000 } }).batching, { mode: 'token-aware', maxBytes: 2000, maxRows: 10 });
  assert.ok(errors({ batching: { mode: 'logged' } }).some((e) => e.startsWith('batching.mode:')));
  assert.ok(errors({ batching: { mode: 'token-aware', maxBytes: 0 } }).some((e) => e.startsWith('batching.maxBytes:')));
});

/** A three-node ring in a fake client: a row's replicas are two of three nodes, by its key's first byte. */
class FakeRingClient {
  executed: unknown[][] = [];
  batches: Array<{ queries: Array<{ query: string; params: unknown[] }>; options: cassandra.QueryOptions }> = [];
  private readonly sets = [
    [{ address: '10.0.0.1' }, { address: '10.0.0.2' }],
    [{ address: '10.0.0.2' }, { address: '10.0.0.3' }],
    [{ address: '10.0.0.3' }, { address: '10.0.0.1' }],
  ];

  /** false: a driver without a token map for the keyspace (getReplicas answers null). */
  ringKnown = true;
  /** The three nodes, in the local data center (what `replication: auto` counts). */
  readonly hosts = { values: () => ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((address) => ({ address, datacenter: 'datacenter1' })) };

  constructor(private readonly schema: SchemaColumn[]) {}

  replicasOf(key: Buffer) {
    return this.ringKnown ? this.sets[key[0] % 3] : null;
  }

  getReplicas(_keyspace: string, key: Buffer) {
    return this.replicasOf(key);
  }

  async execute(query: string, params: unknown[] = []): Promise<unknown> {
    if (query.includes('system_schema.columns')) return { rowLength: this.schema.length, rows: this.schema };
    if (query.startsWith('INSERT')) this.executed.push(params);
    return {};
  }

  async batch(queries: Array<{ query: string; params: unknown[] }>, options: cassandra.QueryOptions): Promise<unknown> {
    this.batches.push({ queries, options });
    return {};
  }

  async shutdown(): Promise<void> {}
}

test('the sink in token-aware mode: unlogged batches of rows that share replicas, routed to them, each row once', async () => {
  const c = config({ columns: { id: 'uuid', email: 'text', bio: 'text' }, batching: { mode: 'token-aware', maxBytes: 1024 } });
  const schema: SchemaColumn[] = Object.entries(c.columns).map(([name, type]) => ({ column_name: name, type, kind: name === 'id' ? 'partition_key' : 'regular', position: name === 'id' ? 0 : -1 }));
  const client = new FakeRingClient(schema);
  const connect: typeof connectCassandra = async () => client as unknown as cassandra.Client;
  const sink = cassandraSink(c, logger, connect);
  await sink.start();
  const random = Random.fromSeed('token-aware-sink');
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  const records: StreamRecord[] = Array.from({ length: 300 }, (_, i) => ({
    key: null,
    // The first byte of the UUID picks the replicas; a few rows have a bio too large to share a batch.
    value: { id: `${hex(random.int(256))}000000-0000-4000-8000-${String(i).padStart(12, '0')}`, email: `u${i}@example.com`, bio: 'x'.repeat(random.chance(0.03) ? 2000 : random.between(10, 300)) },
    timestamp: 0,
  }));
  await sink.write(records);
  const written = [...client.executed, ...client.batches.flatMap((b) => b.queries.map((q) => q.params))].map((params) => String(params[0]));
  assert.deepEqual(written.sort(), records.map((r) => (r.value as { id: string }).id).sort(), 'every row written exactly once');
  assert.ok(client.batches.length > 0 && client.batches.length < 100, `rows went in batches (${client.batches.length})`);
  for (const { queries, options } of client.batches) {
    assert.ok(queries.length > 1, 'a single row goes as an INSERT, not a batch of one');
    assert.ok(queries.length <= 10, 'at most batching.maxRows (10 by default) rows');
    const sets = new Set(queries.map((q) => client.replicasOf((q.params[0] as cassandra.types.Uuid).getBuffer())));
    assert.equal(sets.size, 1, 'never rows of different replica sets in one batch');
    assert.equal(options.logged, false, 'unlogged');
    assert.equal(options.prepare, true);
    assert.equal(options.isIdempotent, true);
    assert.deepEqual(options.routingKey, [(queries[0].params[0] as cassandra.types.Uuid).getBuffer()], "routed by the first row's partition key");
    const bytes = queries.reduce((n, q) => n + rowBytes(q.params), 0);
    assert.ok(bytes <= 1024, `a batch of ${bytes} estimated bytes`);
  }
  // The large rows (2,000 bytes of bio) cannot share a 1,024-byte batch: they went alone.
  assert.ok(client.executed.some((params) => String(params[2]).length === 2000), 'an oversized row is written alone');
  assert.equal(rowBytes(['abc', null]), 3 + 2 * CELL_OVERHEAD_BYTES);
  await sink.close();
});

test('the sink in single-row mode (the default) sends no batch', async () => {
  const c = config({ columns: { id: 'uuid', email: 'text' } });
  const client = new FakeRingClient([
    { column_name: 'id', type: 'uuid', kind: 'partition_key', position: 0 },
    { column_name: 'email', type: 'text', kind: 'regular', position: -1 },
  ]);
  const sink = cassandraSink(c, logger, (async () => client as unknown as cassandra.Client) as typeof connectCassandra);
  await sink.start();
  await sink.write(Array.from({ length: 20 }, (_, i) => ({ key: null, value: { id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, email: 'e' }, timestamp: 0 })));
  assert.equal(client.batches.length, 0);
  assert.equal(client.executed.length, 20);
  await sink.close();
});

test('token-aware without a token map: every row goes alone, and the sink says so once', async () => {
  const c = config({ columns: { id: 'uuid', email: 'text' }, batching: { mode: 'token-aware' } });
  const client = new FakeRingClient([
    { column_name: 'id', type: 'uuid', kind: 'partition_key', position: 0 },
    { column_name: 'email', type: 'text', kind: 'regular', position: -1 },
  ]);
  client.ringKnown = false;
  const logs: LogEntry[] = [];
  const capturing = winston.createLogger({ level: 'debug', transports: [new CaptureTransport(logs)] });
  const sink = cassandraSink(c, capturing, (async () => client as unknown as cassandra.Client) as typeof connectCassandra);
  await sink.start();
  const rows = (from: number) => Array.from({ length: 20 }, (_, i) => ({ key: null, value: { id: `00000000-0000-4000-8000-${String(from + i).padStart(12, '0')}`, email: 'e' }, timestamp: 0 }));
  await sink.write(rows(0));
  await sink.write(rows(20));
  assert.equal(client.batches.length, 0);
  assert.equal(client.executed.length, 40);
  const warnings = logs.filter((l) => l.level === 'warn' && /token-aware batching: the driver knows no replicas for 20 of 20 rows of spark_streams\.created_users/.test(l.message));
  assert.equal(warnings.length, 1, 'warned once, not at every write');
  await sink.close();
});
