/** The cassandra sink's config: defaults, and every kind of mistake reported at its path. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../../sinks/cassandra/index.ts';
import { config, errors } from './helpers.ts';

test('the created_users config decodes with its defaults', () => {
  const c = config({ contactPoints: ['10.0.0.1:9042', '10.0.0.2:9042'] });
  assert.equal(c.contactPoints, '10.0.0.1:9042,10.0.0.2:9042');
  assert.equal(c.localDataCenter, 'datacenter1');
  assert.deepEqual(c.primaryKey, { partition: ['id'], clustering: [] });
  assert.equal(c.replication, 'auto');
  assert.equal(c.consistency, 'LOCAL_QUORUM');
  assert.equal(c.concurrency, 64);
  assert.equal(c.createIfMissing, true);
  assert.equal(c.ttl, undefined);
  assert.equal(c.connectTimeout, 5000);
  assert.equal(c.requestTimeout, 12_000);
});

test('keyspace, table and column names must be plain lower-case CQL names', () => {
  assert.deepEqual(errors({ keyspace: 'spark-streams', table: 'drop table' }), [
    'keyspace: expected a CQL name (a letter, then letters, digits or _; at most 48 characters), got "spark-streams"',
    'table: expected a CQL name (a letter, then letters, digits or _; at most 48 characters), got "drop table"',
  ]);
  assert.deepEqual(errors({ table: 'Users' }), ['table: "Users" has upper-case letters, which CQL folds to lower case: write "users" (and name the record\'s field so)']);
  assert.deepEqual(errors({ columns: { id: 'uuid', 'first name': 'text', select: 'text' } }), [
    'columns.first name: expected a CQL name (a letter, then letters, digits or _; at most 48 characters), got "first name"',
    'columns.select: "select" is a reserved CQL word; choose another name',
  ]);
});

test('column types: the supported list, case-insensitive; counters and collections are refused with the reason', () => {
  assert.deepEqual(config({ columns: { id: 'UUID', n: ' BigInt ' } }).columns, { id: 'uuid', n: 'bigint' });
  const problems = errors({ columns: { id: 'uuid', hits: 'counter', tags: 'list<text>', name: 'string', age: 3 } });
  assert.equal(problems[0], 'columns.hits: counter columns are not supported: a counter can only be incremented, not INSERTed (use bigint)');
  assert.match(problems[1], /^columns\.tags: unsupported CQL type "list<text>"; supported: ascii, bigint, blob, boolean, date, decimal, double, float, inet, int, smallint, text, time, timestamp, timeuuid, tinyint, uuid, varchar, varint$/);
  assert.match(problems[2], /^columns\.name: unsupported CQL type "string"/);
  assert.match(problems[3], /^columns\.age: unsupported CQL type 3/);
  assert.equal(problems.length, 4);
  assert.deepEqual(errors({ columns: {} }), ['columns: expected a map of column names to CQL types, e.g. { id: uuid, email: text }, got {}']);
});

test('primaryKey: a column, a CQL-style list, or partition and clustering columns, all among columns', () => {
  const columns = { a: 'int', b: 'text', c: 'timestamp', d: 'text' };
  assert.deepEqual(config({ columns, primaryKey: ['a', 'b', 'c'] }).primaryKey, { partition: ['a'], clustering: ['b', 'c'] });
  assert.deepEqual(config({ columns, primaryKey: { partition: ['a', 'b'], clustering: 'c' } }).primaryKey, { partition: ['a', 'b'], clustering: ['c'] });
  assert.deepEqual(config({ columns, primaryKey: { partition: 'd' } }).primaryKey, { partition: ['d'], clustering: [] });

  assert.deepEqual(errors({ primaryKey: 'ids' }), [
    'primaryKey: the primary key names ids, which is not in columns (id, first_name, last_name, gender, address, post_code, email, username, dob, registered_date, phone, picture)',
  ]);
  assert.deepEqual(errors({ columns, primaryKey: { partition: ['a', 'x'], clustering: ['y'] } }), ['primaryKey: the primary key names x, y, which are not in columns (a, b, c, d)']);
  assert.deepEqual(errors({ columns, primaryKey: ['a', 'a'] }), ['primaryKey: column a appears twice in the primary key']);
  assert.deepEqual(errors({ columns, primaryKey: [] }), ['primaryKey: the primary key needs at least one partition key column']);
  assert.deepEqual(errors({ columns, primaryKey: { partition: ['a'], order: 'desc' } }), ['primaryKey.order: unknown field "order"; known fields: partition, clustering']);
  assert.deepEqual(errors({ columns, primaryKey: ['a', 'B-1'] }), ['primaryKey[1]: expected a CQL name (a letter, then letters, digits or _; at most 48 characters), got "B-1"']);
});

test('replication: SimpleStrategy or NetworkTopologyStrategy with safe data center names', () => {
  assert.deepEqual(config({ replication: { class: 'SimpleStrategy', replicationFactor: '3' } }).replication, { class: 'SimpleStrategy', replicationFactor: 3 });
  assert.deepEqual(config({ replication: { class: 'NetworkTopologyStrategy', dataCenters: { 'eu-west-1': 3, dc2: 2 } } }).replication, {
    class: 'NetworkTopologyStrategy',
    dataCenters: { 'eu-west-1': 3, dc2: 2 },
  });
  assert.deepEqual(errors({ replication: { class: 'LocalStrategy' } }), ['replication.class: expected one of "SimpleStrategy", "NetworkTopologyStrategy", got "LocalStrategy"']);
  assert.deepEqual(errors({ replication: { class: 'SimpleStrategy', replicationFactor: 0 } }), ['replication.replicationFactor: expected a positive integer, got 0']);
  assert.deepEqual(errors({ replication: { class: 'SimpleStrategy', dataCenters: { dc1: 3 } } }), ['replication.dataCenters: unknown field "dataCenters"; known fields: class, replicationFactor']);
  assert.deepEqual(errors({ replication: { class: 'NetworkTopologyStrategy', dataCenters: { "dc1': 9}; DROP": 3, dc2: -1 } } }), [
    `replication.dataCenters.dc1': 9}; DROP: data center name "dc1': 9}; DROP" has characters other than letters, digits, ".", "_" and "-"`,
    'replication.dataCenters.dc2: expected a positive integer, got -1',
  ]);
});

test('consistency, concurrency and ttl', () => {
  assert.equal(config({ consistency: 'LOCAL_ONE' }).consistency, 'LOCAL_ONE');
  assert.match(errors({ consistency: 'SERIAL' })[0], /^consistency: expected one of "LOCAL_QUORUM", "LOCAL_ONE", .*, got "SERIAL"$/);
  assert.deepEqual(errors({ concurrency: 0 }), ['concurrency: expected a positive integer, got 0']);
  assert.equal(config({ ttl: '720h' }).ttl, 2_592_000);
  assert.equal(config({ ttl: 90_500 }).ttl, 90, 'milliseconds, rounded down to whole seconds');
  assert.deepEqual(errors({ ttl: '500ms' }), ['ttl: expected a duration from 1s to 20 years, such as 90s, 30m or 720h, got "500ms"']);
  assert.deepEqual(errors({ ttl: '200000h' }), ['ttl: expected a duration from 1s to 20 years, such as 90s, 30m or 720h, got "200000h"']);
});

test('connection fields: host:port contact points, credentials given together, the password never printed', () => {
  assert.deepEqual(errors({ contactPoints: 'localhost:9042:1' }), ['contactPoints: expected host:port addresses (a comma-separated string or a list), got "localhost:9042:1"']);
  assert.deepEqual(errors({ username: 'app' }), ['username: username is set but password is not; give both, or neither']);
  assert.deepEqual(errors({ password: 's3cret-pw' }), ['password: password is set but username is not; give both, or neither']);
  assert.deepEqual(errors({ username: 'app', password: 42 }), ['password: expected string, got "***"']);
  // `${CASSANDRA_USERNAME:-}` with the variable unset: no authentication.
  assert.equal(config({ username: '', password: '' }).username, '');
  assert.deepEqual(errors({ ssl: { caFile: '' } }), ['ssl.caFile: expected a non-empty string, got ""']);
  assert.deepEqual(config({ ssl: {} }).ssl, { rejectUnauthorized: true });
  assert.deepEqual(errors({ keyspcae: 'x' }), [
    'keyspcae: unknown field "keyspcae"; known fields: contactPoints, localDataCenter, username, password, ssl, connectTimeout, requestTimeout, keyspace, table, columns, primaryKey, createIfMissing, replication, consistency, concurrency, batching, ttl, batch, retry',
  ]);
});
