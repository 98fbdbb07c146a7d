/** The CQL the sink runs, built from a config, and the comparison of a table's schema with the config. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKeyspaceCql, createTableCql, insertCql, schemaProblems, type SchemaColumn } from '../../../sinks/cassandra/cql.ts';
import { resolveKeyspaceReplication } from '../../../sinks/cassandra/config.ts';
import { config } from './helpers.ts';

test('CREATE KEYSPACE with SimpleStrategy or NetworkTopologyStrategy', () => {
  assert.equal(createKeyspaceCql('spark_streams', { class: 'SimpleStrategy', replicationFactor: 1 }), "CREATE KEYSPACE IF NOT EXISTS spark_streams WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  assert.equal(
    createKeyspaceCql('spark_streams', { class: 'NetworkTopologyStrategy', dataCenters: { 'eu-west-1': 3, dc2: 2 } }),
    "CREATE KEYSPACE IF NOT EXISTS spark_streams WITH replication = {'class': 'NetworkTopologyStrategy', 'eu-west-1': 3, 'dc2': 2}",
  );
});

test('replication auto (the default): NetworkTopologyStrategy in the local data center, one copy per node there, at most 3; a given replication as it is', () => {
  assert.equal(config().replication, 'auto');
  const auto = (nodes: number) => resolveKeyspaceReplication('auto', 'datacenter1', nodes);
  assert.deepEqual(auto(1), { class: 'NetworkTopologyStrategy', dataCenters: { datacenter1: 1 } });
  assert.deepEqual(auto(2), { class: 'NetworkTopologyStrategy', dataCenters: { datacenter1: 2 } });
  assert.deepEqual(auto(3), { class: 'NetworkTopologyStrategy', dataCenters: { datacenter1: 3 } });
  assert.deepEqual(auto(6), { class: 'NetworkTopologyStrategy', dataCenters: { datacenter1: 3 } });
  // Before the driver knows any node of the data center (it always knows one it connected to): still one copy.
  assert.deepEqual(auto(0), { class: 'NetworkTopologyStrategy', dataCenters: { datacenter1: 1 } });
  const given = { class: 'SimpleStrategy' as const, replicationFactor: 2 };
  assert.equal(resolveKeyspaceReplication(given, 'datacenter1', 3), given);
});

test('CREATE TABLE: columns in config order, then the primary key as Cassandra writes it', () => {
  assert.equal(
    createTableCql(config()),
    'CREATE TABLE IF NOT EXISTS spark_streams.created_users (id uuid, first_name text, last_name text, gender text, address text, post_code text, email text, username text, dob text, registered_date text, phone text, picture text, PRIMARY KEY (id))',
  );
  const columns = { a: 'int', b: 'text', c: 'timestamp', d: 'text' };
  assert.equal(createTableCql(config({ table: 'events', columns, primaryKey: ['a', 'c'] })), 'CREATE TABLE IF NOT EXISTS spark_streams.events (a int, b text, c timestamp, d text, PRIMARY KEY (a, c))');
  assert.equal(
    createTableCql(config({ table: 'events', columns, primaryKey: { partition: ['a', 'b'], clustering: ['c'] } })),
    'CREATE TABLE IF NOT EXISTS spark_streams.events (a int, b text, c timestamp, d text, PRIMARY KEY ((a, b), c))',
  );
});

test('INSERT: one marker per column, USING TTL when ttl is set', () => {
  assert.equal(
    insertCql(config()),
    'INSERT INTO spark_streams.created_users (id, first_name, last_name, gender, address, post_code, email, username, dob, registered_date, phone, picture) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  assert.equal(insertCql(config({ columns: { id: 'uuid', n: 'int' }, ttl: '2h' })), 'INSERT INTO spark_streams.created_users (id, n) VALUES (?, ?) USING TTL 7200');
});

/** system_schema.columns rows for a table created from `config`. */
function schemaOf(columns: Record<string, string>, partition: string[], clustering: string[] = []): SchemaColumn[] {
  return Object.entries(columns).map(([name, type]) => {
    const p = partition.indexOf(name);
    const c = clustering.indexOf(name);
    return { column_name: name, type, kind: p >= 0 ? 'partition_key' : c >= 0 ? 'clustering' : 'regular', position: p >= 0 ? p : c >= 0 ? c : -1 };
  });
}

test('schemaProblems: none when the table matches (varchar reads back as text; extra table columns are fine)', () => {
  const c = config({ columns: { id: 'uuid', name: 'varchar', at: 'timestamp' }, primaryKey: ['id', 'at'] });
  assert.deepEqual(schemaProblems(c, schemaOf({ at: 'timestamp', id: 'uuid', name: 'text', extra: 'int' }, ['id'], ['at'])), []);
});

test('schemaProblems: a missing column, a different type and a different key, each with what to do', () => {
  const c = config({ columns: { id: 'uuid', email: 'text', phone: 'text', at: 'timestamp' }, primaryKey: ['id', 'at'] });
  assert.deepEqual(schemaProblems(c, schemaOf({ id: 'uuid', email: 'int', at: 'timestamp' }, ['id', 'at'])), [
    'column email is int in table spark_streams.created_users but text in columns: make columns.email int, or write to another table (Cassandra cannot change a column\'s type)',
    'column phone is not in table spark_streams.created_users: add it (ALTER TABLE spark_streams.created_users ADD phone text), or remove it from columns',
    'table spark_streams.created_users has PRIMARY KEY ((id, at)) but primaryKey says PRIMARY KEY (id, at): make primaryKey match, or write to another table (a primary key cannot be changed)',
  ]);
});

test('schemaProblems: the order of the key columns matters', () => {
  const c = config({ columns: { a: 'int', b: 'int', c: 'int' }, primaryKey: { partition: ['a', 'b'], clustering: ['c'] } });
  assert.deepEqual(schemaProblems(c, schemaOf({ a: 'int', b: 'int', c: 'int' }, ['a', 'b'], ['c'])), []);
  assert.equal(schemaProblems(c, schemaOf({ a: 'int', b: 'int', c: 'int' }, ['b', 'a'], ['c'])).length, 1);
});
