/**
 * The `cassandra` sink against a real Cassandra: CASSANDRA_CONTACT_POINTS (default 127.0.0.1:9042)
 * and CASSANDRA_LOCAL_DC (default datacenter1). Every run works in its own keyspace and drops it at
 * the end. The last test prints rows/s at a few concurrency levels, next to raw driver writes.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import cassandra from 'cassandra-driver';
import winston from 'winston';
import { registry } from '../../topology/registry.ts';
import { formatErrors, UserFacingError } from '../../topology/errors.ts';
import type { Sink, StreamRecord } from '../../topology/types.ts';
import '../../sinks/cassandra/index.ts';
import type { CassandraSinkConfig } from '../../sinks/cassandra/config.ts';
import { cassandraSink } from '../../sinks/cassandra/sink.ts';
import { CassandraValueError } from '../../sinks/cassandra/values.ts';
import { checkCassandra } from '../../clients/cassandra.ts';

const contactPoints = process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042';
const localDataCenter = process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1';
const keyspace = `sink_it_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
const logger = winston.createLogger({ silent: true });

const USER_COLUMNS = {
  id: 'uuid',
  first_name: 'text',
  last_name: 'text',
  gender: 'text',
  address: 'text',
  post_code: 'text',
  email: 'text',
  username: 'text',
  dob: 'text',
  registered_date: 'text',
  phone: 'text',
  picture: 'text',
};

/** A sink config as a topology would give it, decoded (defaults filled in) through the registry. */
function sinkConfig(fields: Record<string, unknown>): CassandraSinkConfig {
  const result = registry.codec('sink').decode({ type: 'cassandra', contactPoints, localDataCenter, keyspace, ...fields });
  if (result._tag === 'Left') throw new Error(formatErrors(result.left).join('\n'));
  return result.right as unknown as CassandraSinkConfig;
}

const NAMES = ['Zoë', 'Ава', 'محمد', "O'Brien", 'Jean-Luc', '李', 'Ødegård', ''];

function userRow(i: number): Record<string, string> {
  const name = NAMES[i % NAMES.length];
  return {
    id: randomUUID(),
    first_name: `${name}${i}`,
    last_name: `Last ${i}`,
    gender: i % 2 ? 'female' : 'male',
    address: `${i} Rue de l'Église, Zürich, ZH, Switzerland`,
    post_code: String(10_000 + i),
    email: `user${i}@example.com`,
    username: `user_${i}`,
    dob: new Date(Date.UTC(1960, 0, 1) + i * 86_400_000).toISOString(),
    registered_date: new Date(Date.UTC(2010, 0, 1) + i * 3_600_000).toISOString(),
    phone: `(0${i % 10}) ${i}`,
    picture: `https://randomuser.me/api/portraits/med/${i % 2 ? 'women' : 'men'}/${i % 100}.jpg`,
  };
}

const asRecords = (values: unknown[]): StreamRecord[] => values.map((value, i) => ({ key: null, value, timestamp: Date.now(), origin: { topic: 'users_created', partition: 0, offset: i } }));

describe(`cassandra sink against ${contactPoints} (keyspace ${keyspace})`, () => {
  let admin: cassandra.Client;
  const sinks: Sink[] = [];
  const started = async (fields: Record<string, unknown>): Promise<Sink> => {
    const sink = cassandraSink(sinkConfig(fields), logger);
    sinks.push(sink);
    await sink.start();
    return sink;
  };
  const count = async (table: string): Promise<number> => Number((await admin.execute(`SELECT COUNT(*) FROM ${keyspace}.${table}`)).first().get(0));

  before(async () => {
    admin = new cassandra.Client({ contactPoints: contactPoints.split(','), localDataCenter, socketOptions: { readTimeout: 30_000 } });
    await admin.connect();
  });

  after(async () => {
    await Promise.all(sinks.map((sink) => sink.close()));
    await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
    await admin.shutdown();
  });

  test('checkCassandra answers with the server version', async () => {
    assert.match(await checkCassandra(sinkConfig({ table: 'x', columns: { id: 'int' }, primaryKey: 'id' })), /^\d+\.\d+\.\d+/);
  });

  const users = Array.from({ length: 5000 }, (_, i) => userRow(i));

  test('creates the keyspace and table, writes 5,000 rows, and every field reads back as written', async () => {
    const sink = await started({ table: 'created_users', columns: USER_COLUMNS, primaryKey: 'id' });
    assert.equal(sink.describe(), `cassandra ${keyspace}.created_users (${contactPoints})`);
    const schema = await admin.execute('SELECT column_name, type, kind FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?', [keyspace, 'created_users'], { prepare: true });
    assert.deepEqual(
      Object.fromEntries(schema.rows.map((r) => [r.column_name, r.type])),
      USER_COLUMNS,
      'the table was created with exactly the configured columns',
    );
    assert.equal(schema.rows.find((r) => r.kind === 'partition_key')?.column_name, 'id');

    await sink.write(asRecords(users));

    const read = new Map<string, Record<string, string>>();
    for await (const row of await admin.execute(`SELECT * FROM ${keyspace}.created_users`, [], { fetchSize: 1000 })) {
      const fields = Object.fromEntries(Object.keys(USER_COLUMNS).map((c) => [c, c === 'id' ? row.id.toString() : row[c]]));
      read.set(fields.id, fields);
    }
    assert.equal(read.size, users.length, 'every row is there');
    for (const user of users) assert.deepEqual(read.get(user.id), user, `row ${user.id}`);
  });

  test('writing the same rows again upserts: the count stays 5,000 and changed fields are overwritten', async () => {
    const sink = await started({ table: 'created_users', columns: USER_COLUMNS, primaryKey: 'id' });
    const again = users.map((user, i) => (i < 10 ? { ...user, email: `changed${i}@example.com` } : user));
    await sink.write(asRecords(again));
    assert.equal(await count('created_users'), 5000);
    const changed = await admin.execute(`SELECT email FROM ${keyspace}.created_users WHERE id = ?`, [users[3].id], { prepare: true });
    assert.equal(changed.first().get('email'), 'changed3@example.com');
  });

  test('every supported CQL type round-trips through its converter', async () => {
    const columns = {
      k: 'text',
      c: 'int',
      a: 'ascii',
      big: 'bigint',
      bin: 'blob',
      flag: 'boolean',
      day: 'date',
      money: 'decimal',
      d: 'double',
      f: 'float',
      ip: 'inet',
      small: 'smallint',
      tod: 'time',
      at: 'timestamp',
      tid: 'timeuuid',
      tiny: 'tinyint',
      u: 'uuid',
      vc: 'varchar',
      vi: 'varint',
    };
    const sink = await started({ table: 'all_types', columns, primaryKey: { partition: ['k'], clustering: ['c'] }, ttl: '1h' });
    const value = {
      k: 'key',
      c: '-7',
      a: 'plain ascii',
      big: '9223372036854775807',
      bin: Buffer.from('héllo').toString('base64'),
      flag: 'true',
      day: '2024-02-29',
      money: '-1.5e3',
      d: 0.1,
      f: '2.5',
      ip: '::1',
      small: -32768,
      tod: '23:59:59.123456789',
      at: '2024-05-01T12:00:00.250+02:00',
      tid: '50554d6e-29bb-11e5-b345-feff819cdc9f',
      tiny: 127,
      u: '7ac2b5d8-4f0f-4f55-9a35-5b8a0b1a3e47',
      vc: 'Ünïcode',
      vi: '-123456789012345678901234567890',
    };
    await sink.write(asRecords([value, { k: 'key', c: 8 }]));
    const row = (await admin.execute(`SELECT * FROM ${keyspace}.all_types WHERE k = 'key' AND c = -7`)).first();
    assert.deepEqual(
      {
        k: row.k,
        c: row.c,
        a: row.a,
        big: row.big.toString(),
        bin: row.bin.toString(),
        flag: row.flag,
        day: row.day.toString(),
        money: row.money.toString(),
        d: row.d,
        f: row.f,
        ip: row.ip.toString(),
        small: row.small,
        tod: row.tod.toString(),
        at: row.at.toISOString(),
        tid: row.tid.toString(),
        tiny: row.tiny,
        u: row.u.toString(),
        vc: row.vc,
        vi: row.vi.toString(),
      },
      { ...value, c: -7, bin: 'héllo', flag: true, money: '-1500', f: 2.5, at: '2024-05-01T10:00:00.250Z' },
    );
    const sparse = (await admin.execute(`SELECT a FROM ${keyspace}.all_types WHERE k = 'key' AND c = 8`)).first();
    assert.equal(sparse.get('a'), null, 'a field missing from the record is left unset');
    const ttl = (await admin.execute(`SELECT TTL(a) FROM ${keyspace}.all_types WHERE k = 'key' AND c = -7`)).first().get(0);
    assert.ok(ttl > 3500 && ttl <= 3600, `written with USING TTL 3600, has ${ttl} s left`);
  });

  test('a table that differs from the config stops start() with what differs and what to do', async () => {
    await admin.execute(`CREATE TABLE ${keyspace}.drifted (id uuid PRIMARY KEY, email int, first_name text)`);
    await assert.rejects(
      started({ table: 'drifted', columns: { id: 'uuid', first_name: 'text', email: 'text', phone: 'text' }, primaryKey: 'id' }),
      (error: Error) => {
        assert.ok(error instanceof UserFacingError);
        assert.match(error.message, new RegExp(`table ${keyspace}\\.drifted does not match`));
        assert.match(error.message, /column email is int in table .* but text in columns: make columns\.email int/);
        assert.match(error.message, new RegExp(`column phone is not in table .*ALTER TABLE ${keyspace}\\.drifted ADD phone text`));
        assert.doesNotMatch(error.message, /first_name/, 'matching columns are not reported');
        return true;
      },
    );
    await assert.rejects(started({ table: 'absent', columns: { id: 'uuid' }, primaryKey: 'id', createIfMissing: false }), new RegExp(`table ${keyspace}\\.absent does not exist`));
  });

  test('a value that does not convert fails the write, non-retryably, before any row of the chunk is sent', async () => {
    const sink = await started({ table: 'bad_values', columns: USER_COLUMNS, primaryKey: 'id' });
    const values = [userRow(1), { ...userRow(2), id: 'not-a-uuid' }, userRow(3)];
    const error = await sink.write(asRecords(values)).then(
      () => assert.fail('the write succeeded'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof CassandraValueError);
    assert.equal(error.message, 'record 2 of 3 (users_created/0@1): column id (uuid): "not-a-uuid" is not a UUID (32 hex digits as 8-4-4-4-12)');
    assert.equal(sink.isRetryable!(error), false);
    assert.equal(await count('bad_values'), 0);
  });

  test('an unreachable contact point fails start() quickly with the address and the fix', async () => {
    const sink = cassandraSink({ ...sinkConfig({ table: 'created_users', columns: USER_COLUMNS, primaryKey: 'id' }), contactPoints: '127.0.0.1:1' }, logger);
    const t0 = Date.now();
    await assert.rejects(sink.start(), (error: Error) => {
      assert.ok(error instanceof UserFacingError);
      assert.match(error.message, /^cannot reach Cassandra at 127\.0\.0\.1:1 \(connect ECONNREFUSED 127\.0\.0\.1:1\)\n {2}→ start the local services with "npm run services -- up"/);
      return true;
    });
    assert.ok(Date.now() - t0 < 5000, `failed after ${Date.now() - t0} ms`);
  });
});
