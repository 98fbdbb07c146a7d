/**
 * Names from the topology (and from the environment, through its `${VAR}` knobs) end up unquoted in CQL
 * statements, so anything but a plain identifier must be refused at validation, by path — before a
 * statement is built, let alone run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import '../../../components.ts';
import { ConfigError } from '../../../topology/errors.ts';
import { parseTopology } from '../../../topology/load.ts';
import { resolveKeyspaceReplication, type CassandraSinkConfig } from '../../../sinks/cassandra/config.ts';
import { createKeyspaceCql, createTableCql, insertCql } from '../../../sinks/cassandra/cql.ts';

const USER_PIPELINE = readFileSync(new URL('../../../config/user-pipeline.yaml', import.meta.url), 'utf8');

const HOSTILE = [
  'spark_streams; DROP KEYSPACE system_auth',
  'users"; DROP TABLE x; --',
  "users'",
  'created users',
  'drop table',
  'users--',
  'users/*',
  'users\nDROP',
  'ks.users',
  'usérs',
  'drop',
  '',
];

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseTopology(yaml, 'hostile.yaml', { env });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail('the topology should be refused');
}

test('CASSANDRA_KEYSPACE of the user pipeline: a hostile value is refused at pipelines.process.sink.keyspace', () => {
  for (const keyspace of HOSTILE.filter((k) => k !== '')) {
    const found = problems(USER_PIPELINE, { CASSANDRA_KEYSPACE: keyspace });
    assert.ok(found.some((p) => p.startsWith('pipelines.process.sink.keyspace: ')), `${JSON.stringify(keyspace)}: ${found.join('\n')}`);
    // Every Cassandra sink of the topology that takes the variable refuses it, and nothing else is wrong.
    for (const p of found) assert.match(p, /^pipelines\.\w+\.sink\.keyspace: /, JSON.stringify(keyspace));
  }
});

const sink = (fields: string) => `
pipelines:
  p:
    source: { type: memory, channel: a }
    sink: { type: cassandra, contactPoints: 127.0.0.1:9042, ${fields} }
`;

test('every identifier position — keyspace, table, column, primary key, data center — and column types refuse injection, by path', () => {
  for (const name of HOSTILE) {
    const quoted = JSON.stringify(name);
    const cases: Array<[string, RegExp]> = [
      [`keyspace: ${quoted}, table: t, columns: { id: uuid }, primaryKey: id`, /^pipelines\.p\.sink\.keyspace: /],
      [`keyspace: ks, table: ${quoted}, columns: { id: uuid }, primaryKey: id`, /^pipelines\.p\.sink\.table: /],
      [`keyspace: ks, table: t, columns: { id: uuid, ${quoted}: text }, primaryKey: id`, /^pipelines\.p\.sink\.columns(\.|: )/],
      [`keyspace: ks, table: t, columns: { id: uuid }, primaryKey: { partition: [id], clustering: [${quoted}] }`, /^pipelines\.p\.sink\.primaryKey\.clustering\[0\]: /],
      [`keyspace: ks, table: t, columns: { id: uuid }, primaryKey: id, replication: { class: NetworkTopologyStrategy, dataCenters: { ${quoted}: 3 } }`, /^pipelines\.p\.sink\.replication\.dataCenters/],
      [`keyspace: ks, table: t, columns: { id: ${quoted} }, primaryKey: id`, /^pipelines\.p\.sink\.columns\.id: /],
    ];
    for (const [fields, where] of cases) {
      // Some names are harmless in one position (a dotted or accented data-center name is fine in quotes).
      if (where.source.includes('dataCenters') && /^[A-Za-z0-9_.-]+$/.test(name)) continue;
      const found = problems(sink(fields));
      assert.ok(found.some((p) => where.test(p)), `${quoted} in ${fields}:\n${found.join('\n')}`);
    }
  }
});

test('what does validate is all a statement is made of: identifiers, known types and numbers', () => {
  const config = parseTopology(
    sink('keyspace: spark_streams, table: created_users, columns: { id: uuid, first_name: text, n: bigint }, primaryKey: { partition: [id], clustering: [n] }, replication: { class: NetworkTopologyStrategy, dataCenters: { dc-1.eu: 3 } }, ttl: 1h'),
    'ok.yaml',
  ).pipelines.p.sink as unknown as CassandraSinkConfig;
  const name = '[a-z][a-z0-9_]*';
  assert.match(createKeyspaceCql(config.keyspace, resolveKeyspaceReplication(config.replication, config.localDataCenter, 1)), new RegExp(`^CREATE KEYSPACE IF NOT EXISTS ${name} WITH replication = \\{'class': 'NetworkTopologyStrategy', '[A-Za-z0-9_.-]+': \\d+\\}$`));
  assert.match(createTableCql(config), new RegExp(`^CREATE TABLE IF NOT EXISTS ${name}\\.${name} \\((${name} [a-z]+, )+PRIMARY KEY \\(${name}(, ${name})*\\)\\)$`));
  assert.match(insertCql(config), new RegExp(`^INSERT INTO ${name}\\.${name} \\(${name}(, ${name})*\\) VALUES \\(\\?(, \\?)*\\) USING TTL \\d+$`));
});
