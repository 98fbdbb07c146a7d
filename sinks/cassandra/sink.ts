/** The cassandra sink itself: start (connect, create and check the table), write (convert, then one prepared INSERT per row), close. */
import cassandra from 'cassandra-driver';
import type { Logger } from 'winston';
import { forEachBounded } from '../../topology/bounded.ts';
import { isPlainObject } from '../../topology/codecs.ts';
import { errorMessage, UserFacingError } from '../../topology/errors.ts';
import type { Sink, StreamRecord } from '../../topology/types.ts';
import { connectCassandra } from '../../clients/cassandra.ts';
import { CONSISTENCY_LEVELS, resolveKeyspaceReplication, type CassandraSinkConfig } from './config.ts';
import { createKeyspaceCql, createTableCql, insertCql, schemaProblems, type SchemaColumn } from './cql.ts';
import { isRetryableCassandraError } from './errors.ts';
import { show } from '../column-values.ts';
import { CassandraValueError, converterFor } from './values.ts';
import { groupByReplicas, keyPartEncoder, replicaSetNamer, routingKeyOf, rowBytes, type ReplicaLookup } from './token-aware.ts';

const { consistencies } = cassandra.types;

const CONSISTENCY: Record<(typeof CONSISTENCY_LEVELS)[number], cassandra.types.consistencies> = {
  LOCAL_QUORUM: consistencies.localQuorum,
  LOCAL_ONE: consistencies.localOne,
  QUORUM: consistencies.quorum,
  EACH_QUORUM: consistencies.eachQuorum,
  ONE: consistencies.one,
  TWO: consistencies.two,
  THREE: consistencies.three,
  ALL: consistencies.all,
};

/** `record 3 of 500 (users_created/0@1234)`: which record failed, for the error message. */
function recordName(record: StreamRecord, index: number, count: number): string {
  const o = record.origin;
  const where = o?.topic !== undefined ? ` (${o.topic}${o.partition !== undefined ? `/${o.partition}` : ''}${o.offset !== undefined ? `@${o.offset}` : ''})` : '';
  return `record ${index + 1} of ${count}${where}`;
}

/** The nodes of `dc` the driver knows of (up or not): what an `auto` replication counts. */
function nodesIn(client: cassandra.Client, dc: string): number {
  return client.hosts.values().filter((host) => host.datacenter === dc).length;
}

async function ensureTable(client: cassandra.Client, config: CassandraSinkConfig, logger: Logger): Promise<void> {
  const table = `${config.keyspace}.${config.table}`;
  const createKeyspace = createKeyspaceCql(config.keyspace, resolveKeyspaceReplication(config.replication, config.localDataCenter, nodesIn(client, config.localDataCenter)));
  if (config.createIfMissing) {
    for (const cql of [createKeyspace, createTableCql(config)]) {
      try {
        await client.execute(cql);
      } catch (error) {
        if (!(error instanceof cassandra.errors.ResponseError)) throw error;
        throw new UserFacingError(
          `cannot create ${cql.startsWith('CREATE KEYSPACE') ? `keyspace ${config.keyspace}` : `table ${table}`} (${error.message})`,
          'create it yourself and set createIfMissing: false, or give the sink a user allowed to create it',
        );
      }
    }
  }
  const result = await client.execute('SELECT column_name, type, kind, position FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?', [config.keyspace, config.table], {
    prepare: true,
  });
  if (result.rowLength === 0) {
    const keyspace = await client.execute('SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?', [config.keyspace], { prepare: true });
    const missing = keyspace.rowLength === 0 ? { what: `keyspace ${config.keyspace}`, cql: `${createKeyspace}; ${createTableCql(config)}` } : { what: `table ${table}`, cql: createTableCql(config) };
    throw new UserFacingError(`${missing.what} does not exist in Cassandra at ${config.contactPoints}`, `create it (${missing.cql}), or set createIfMissing: true to let the sink create it`);
  }
  const schema = result.rows.map((row): SchemaColumn => ({ column_name: row.column_name, type: row.type, kind: row.kind, position: row.position }));
  const problems = schemaProblems(config, schema);
  if (problems.length > 0) {
    throw new UserFacingError(`table ${table} does not match the sink's columns:\n${problems.map((p) => `  - ${p}`).join('\n')}`, 'nothing was written or changed; fix the table or the topology, then start again');
  }
  logger.info(`cassandra: table ${table} has the ${Object.keys(config.columns).length} configured columns`);
}

/** Longest pause between two attempts to reconnect to a node that went away. */
export const RECONNECT_MAX_DELAY_MS = 10_000;

/** The sink. `connect` is replaceable so that unit tests can hand it a fake client. */
export function cassandraSink(config: CassandraSinkConfig, logger: Logger, connect: typeof connectCassandra = connectCassandra): Sink {
  const insert = insertCql(config);
  const names = Object.keys(config.columns);
  const roleOf = (name: string) => (config.primaryKey.partition.includes(name) ? 'partition' : config.primaryKey.clustering.includes(name) ? 'clustering' : 'regular');
  const converters = names.map((name) => converterFor(config.columns[name], roleOf(name)));
  // isIdempotent: an upsert may be repeated; prepare: the driver prepares the INSERT on first use and
  // reuses its id for the client's lifetime (cassandra-driver 4 has no public prepare-only call).
  const options: cassandra.QueryOptions = { prepare: true, isIdempotent: true, consistency: CONSISTENCY[config.consistency] };
  const batchOptions: cassandra.QueryOptions = { ...options, logged: false };
  const tokenAware = config.batching.mode === 'token-aware';
  const keyColumns = config.primaryKey.partition.map((name) => ({ index: names.indexOf(name), encode: keyPartEncoder(config.columns[name]) }));
  let client: cassandra.Client | undefined;
  let replicaSetOf: ((routingKey: Buffer) => string | undefined) | undefined;
  let unknownReplicasReported = false;

  const toParams = (record: StreamRecord, index: number, count: number): unknown[] => {
    const value = record.value;
    if (!isPlainObject(value)) throw new CassandraValueError(`${recordName(record, index, count)}: the value is ${show(value)}, not an object with a field per column`);
    const params = new Array<unknown>(names.length);
    let i = 0;
    try {
      for (; i < names.length; i++) params[i] = converters[i](value[names[i]]);
    } catch (error) {
      throw new CassandraValueError(`${recordName(record, index, count)}: column ${names[i]} (${config.columns[names[i]]}): ${errorMessage(error)}`);
    }
    return params;
  };

  return {
    async start() {
      // The framework retries failed chunks (batch, retry); the driver's own retries would multiply them.
      // A node that went away is tried again at least every RECONNECT_MAX_DELAY_MS: the driver's default
      // doubles the pause up to 10 min, so after a long outage the sink would notice the node was back
      // only minutes later (a 5-minute outage: about 4 minutes).
      client = await connect(config, {
        retry: new cassandra.policies.retry.FallthroughRetryPolicy(),
        reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(1000, RECONNECT_MAX_DELAY_MS, false),
      });
      try {
        await ensureTable(client, config, logger);
        if (tokenAware) {
          // A keyspace created just now may not be in the driver's metadata yet: without it no replica is known.
          await client.metadata?.refreshKeyspace?.(config.keyspace);
          replicaSetOf = replicaSetNamer(client as unknown as ReplicaLookup, config.keyspace);
        }
      } catch (error) {
        await client.shutdown().catch(() => undefined);
        client = undefined;
        throw error;
      }
    },

    async write(records) {
      const connected = client;
      if (!connected) throw new Error(`cassandra sink ${config.keyspace}.${config.table}: write before start`);
      // Every value is converted before any row is sent: a bad record fails the chunk with nothing written.
      const rows = new Array<unknown[]>(records.length);
      for (let i = 0; i < records.length; i++) rows[i] = toParams(records[i], i, records.length);
      // At most `concurrency` rows in flight; after a failure no new row starts, and the write settles
      // only once the rows already in flight have, so nothing outlives it.
      if (!replicaSetOf) {
        await forEachBounded(rows.length, config.concurrency, (i) => connected.execute(insert, rows[i], options));
        return;
      }
      const namer = replicaSetOf;
      const routingKeys = rows.map((params) => keyColumns.map(({ index, encode }) => encode(params[index])));
      let unknown = 0;
      const replicasOf = (i: number) => {
        const name = namer(routingKeyOf(routingKeys[i]));
        if (name === undefined) unknown++;
        return name;
      };
      const groups = groupByReplicas(rows.length, replicasOf, (i) => rowBytes(rows[i]), config.batching);
      // Without the driver's token map every row goes alone: token-aware batching would quietly be single-row.
      if (unknown > 0 && !unknownReplicasReported) {
        unknownReplicasReported = true;
        logger.warn(`cassandra: token-aware batching: the driver knows no replicas for ${unknown} of ${rows.length} rows of ${config.keyspace}.${config.table} (no token map for the keyspace?); such rows go one INSERT each`);
      }
      await forEachBounded(groups.length, config.concurrency, (g) => {
        const group = groups[g];
        if (group.length === 1) return connected.execute(insert, rows[group[0]], options);
        // The routing key of the group's first row: the batch's coordinator is one of the replicas they share.
        const queries = group.map((i) => ({ query: insert, params: rows[i] }));
        return connected.batch(queries, { ...batchOptions, routingKey: routingKeys[group[0]] });
      });
    },

    isRetryable: isRetryableCassandraError,

    async close() {
      const connected = client;
      client = undefined;
      await connected?.shutdown();
    },

    describe: () => `cassandra ${config.keyspace}.${config.table} (${config.contactPoints})`,
  };
}
