/** The cassandra sink's config: its fields, the codecs of CQL names, types, primary keys and replication, and its `check`. */
import * as t from 'io-ts';
import { problem, type ConfigProblem } from '../../topology/registry.ts';
import { objectCodec, optional, required, withDefault, type ConfigOf } from '../../topology/spec.ts';
import { BooleanFromAny, Identifier, isPlainObject, mapOf, oneOf, parseDuration, PositiveInt, resolveReplicationFactor } from '../../topology/codecs.ts';
import { cassandraConnectionFields, credentialProblems } from '../../clients/cassandra.ts';

/** Column types the sink converts values to. Collections, tuples and UDTs have no converter; counters cannot be INSERTed. */
export const CQL_TYPES = ['ascii', 'bigint', 'blob', 'boolean', 'date', 'decimal', 'double', 'float', 'inet', 'int', 'smallint', 'text', 'time', 'timestamp', 'timeuuid', 'tinyint', 'uuid', 'varchar', 'varint'] as const;
export type CqlType = (typeof CQL_TYPES)[number];

/** Cassandra 5.0's reserved words (org/apache/cassandra/cql3/reserved_keywords.txt): unquoted, they are syntax errors as names. */
const RESERVED = new Set(
  'add allow alter and apply asc authorize batch begin by columnfamily create delete desc describe drop entries execute from full grant if in index infinity insert into is keyspace limit materialized modify nan norecursive not null of on or order primary rename revoke schema select set table to token truncate unlogged update use using view where with'.split(
    ' ',
  ),
);

const CQL_NAME = 'a CQL name (a letter, then letters, digits or _; at most 48 characters)';

/**
 * Why `name` cannot be a keyspace, table or column name used unquoted in CQL, or undefined when it
 * can: it must be an Identifier, in lower case (CQL folds unquoted names to lower case, so `firstName`
 * would become column `firstname` and no longer match the record's field), and not a reserved word.
 */
function cqlNameProblem(name: unknown): string | undefined {
  if (!Identifier.is(name)) return `expected ${CQL_NAME}`;
  if (name !== name.toLowerCase()) return `"${name}" has upper-case letters, which CQL folds to lower case: write "${name.toLowerCase()}" (and name the record's field so)`;
  if (RESERVED.has(name)) return `"${name}" is a reserved CQL word; choose another name`;
  return undefined;
}

/** A keyspace, table or column name (see cqlNameProblem). */
export const CqlName = new t.Type<string, unknown, unknown>(
  CQL_NAME,
  (u): u is string => cqlNameProblem(u) === undefined,
  (u, c) => {
    const why = cqlNameProblem(u);
    return why === undefined && typeof u === 'string' ? t.success(u) : t.failure(u, c, why);
  },
  (a) => a,
);

const CqlTypeCodec = new t.Type<CqlType, unknown, unknown>(
  `a CQL type: ${CQL_TYPES.join(', ')}`,
  (u): u is CqlType => typeof u === 'string' && (CQL_TYPES as readonly string[]).includes(u),
  (u, c) => {
    const type = typeof u === 'string' ? u.trim().toLowerCase() : undefined;
    if (type !== undefined && (CQL_TYPES as readonly string[]).includes(type)) return t.success(type as CqlType);
    if (type === 'counter') return t.failure(u, c, 'counter columns are not supported: a counter can only be incremented, not INSERTed (use bigint)');
    return t.failure(u, c, `unsupported CQL type ${JSON.stringify(u)}; supported: ${CQL_TYPES.join(', ')}`);
  },
  (a) => a,
);

/** `{ column: type }`, in order; every name and every type checked, each error at its own path. */
const Columns = mapOf('a map of column names to CQL types, e.g. { id: uuid, email: text }', CqlTypeCodec, { nonEmpty: true, refuseName: cqlNameProblem });

export interface PrimaryKey {
  partition: string[];
  clustering: string[];
}

/** One name or a list of names. */
const NameList = new t.Type<string[], unknown, unknown>(
  'a column name or a list of column names',
  (u): u is string[] => Array.isArray(u) && u.every(CqlName.is),
  (u, c) => {
    const names = typeof u === 'string' ? [u] : u;
    if (!Array.isArray(names)) return t.failure(u, c);
    const errors: t.Errors = [];
    names.forEach((name, i) => {
      const result = CqlName.validate(name, [...c, { key: String(i), type: CqlName, actual: name }]);
      if (result._tag === 'Left') errors.push(...result.left);
    });
    return errors.length > 0 ? t.failures(errors) : t.success(names as string[]);
  },
  (a) => a,
);

const primaryKeyObject = objectCodec('primary key', {
  partition: required(NameList, 'Partition key column(s): rows with the same partition key live together on the same replicas.'),
  clustering: withDefault(NameList, [], 'Clustering column(s), ordering rows within a partition.'),
});

/**
 * `id`, `[id, created]` (CQL's PRIMARY KEY (id, created): the first is the partition key, the rest
 * clustering columns), or `{ partition: [a, b], clustering: [c] }`. Every name must be in `columns`.
 */
const PrimaryKeyCodec = new t.Type<PrimaryKey, unknown, unknown>(
  'a primary key: a column, a list of columns (the first is the partition key), or { partition: [...], clustering: [...] }',
  (u): u is PrimaryKey => isPlainObject(u) && Array.isArray(u.partition) && Array.isArray(u.clustering),
  (u, c) => {
    let result: t.Validation<PrimaryKey>;
    if (typeof u === 'string' || Array.isArray(u)) {
      const names = NameList.validate(u, c);
      if (names._tag === 'Left') return names;
      result = t.success({ partition: names.right.slice(0, 1), clustering: names.right.slice(1) });
    } else {
      result = primaryKeyObject.validate(u, c);
    }
    if (result._tag === 'Left') return result;
    const all = [...result.right.partition, ...result.right.clustering];
    if (result.right.partition.length === 0) return t.failure(u, c, 'the primary key needs at least one partition key column');
    const repeated = all.find((name, i) => all.indexOf(name) !== i);
    if (repeated) return t.failure(u, c, `column ${repeated} appears twice in the primary key`);
    return result;
  },
  (a) => a,
);

/** The spec's check: every primary key column is among `columns`, and credentials come in pairs. */
export function cassandraSinkProblems(config: CassandraSinkConfig): ConfigProblem[] {
  const known = Object.keys(config.columns);
  const missing = [...config.primaryKey.partition, ...config.primaryKey.clustering].filter((name) => !known.includes(name));
  const key = missing.length > 0 ? [problem('primaryKey', `the primary key names ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not in columns (${known.join(', ')})`)] : [];
  return [...credentialProblems(config), ...key];
}

export type Replication = { class: 'SimpleStrategy'; replicationFactor: number } | { class: 'NetworkTopologyStrategy'; dataCenters: Record<string, number> };

const DataCenterFactors = mapOf('a map of data center names to replication factors, e.g. { dc1: 3 }', PositiveInt, {
  nonEmpty: true,
  // The name goes into the CQL between single quotes, so quotes and the like are refused here.
  refuseName: (dc) => (/^[A-Za-z0-9_.-]{1,64}$/.test(dc) ? undefined : `data center name ${JSON.stringify(dc)} has characters other than letters, digits, ".", "_" and "-"`),
});

const simpleStrategy = objectCodec('SimpleStrategy replication', {
  class: required(oneOf(['SimpleStrategy']), 'SimpleStrategy: replicas on consecutive nodes of the ring, ignoring data centers (one data center only).'),
  replicationFactor: withDefault(PositiveInt, 1, 'Copies of each row.'),
});
const networkTopologyStrategy = objectCodec('NetworkTopologyStrategy replication', {
  class: required(oneOf(['NetworkTopologyStrategy']), 'NetworkTopologyStrategy: a replication factor per data center (production).'),
  dataCenters: required(DataCenterFactors, 'Copies of each row per data center, e.g. { dc1: 3, dc2: 3 }.'),
});

/** `auto`: NetworkTopologyStrategy in the local data center, as many copies as it has nodes, at most 3 (see `resolveKeyspaceReplication`). */
export type KeyspaceReplication = Replication | 'auto';

/** The replication a keyspace is created with: `setting`, or for `auto` the local data center's nodes, at most 3. */
export function resolveKeyspaceReplication(setting: KeyspaceReplication, localDataCenter: string, nodesInLocalDc: number): Replication {
  if (setting !== 'auto') return setting;
  return { class: 'NetworkTopologyStrategy', dataCenters: { [localDataCenter]: resolveReplicationFactor('auto', nodesInLocalDc) } };
}

const ReplicationCodec = new t.Type<KeyspaceReplication, unknown, unknown>(
  'a replication: auto, { class: SimpleStrategy, replicationFactor: 1 } or { class: NetworkTopologyStrategy, dataCenters: { dc1: 3 } }',
  (u): u is KeyspaceReplication => u === 'auto' || (isPlainObject(u) && (u.class === 'SimpleStrategy' || u.class === 'NetworkTopologyStrategy')),
  (u, c) => {
    if (u === 'auto') return t.success('auto' as const);
    if (!isPlainObject(u)) return t.failure(u, c);
    if (u.class === 'SimpleStrategy') return simpleStrategy.validate(u, c) as t.Validation<KeyspaceReplication>;
    if (u.class === 'NetworkTopologyStrategy') return networkTopologyStrategy.validate(u, c) as t.Validation<KeyspaceReplication>;
    const classCodec = oneOf(['SimpleStrategy', 'NetworkTopologyStrategy']);
    return t.failure(u.class, [...c, { key: 'class', type: classCodec, actual: u.class }]);
  },
  (a) => a,
);

/** Cassandra refuses TTLs above 20 years. */
const MAX_TTL_SECONDS = 20 * 365 * 24 * 3600;

/** A duration of whole seconds (the unit of CQL's USING TTL), decoded to seconds. */
const TtlSeconds = new t.Type<number, unknown, unknown>(
  'a duration from 1s to 20 years, such as 90s, 30m or 720h',
  (u): u is number => typeof u === 'number' && Number.isInteger(u) && u >= 1 && u <= MAX_TTL_SECONDS,
  (u, c) => {
    const ms = parseDuration(u);
    const seconds = ms === undefined ? undefined : Math.floor(ms / 1000);
    return seconds !== undefined && seconds >= 1 && seconds <= MAX_TTL_SECONDS ? t.success(seconds) : t.failure(u, c);
  },
  (a) => a,
);

/**
 * Cassandra's batch_size_warn_threshold (5 KiB by default): a batch above it is logged as a warning on
 * every write. The default bound stays under it with room for what the estimate leaves out.
 */
export const BATCH_WARN_THRESHOLD_BYTES = 5 * 1024;

const batchingFields = {
  mode: withDefault(
    oneOf(['single-row', 'token-aware']),
    'single-row',
    '`single-row`: one prepared INSERT per row. `token-aware`: rows whose partition keys have the same replicas (by the driver\'s view of the ring and the keyspace\'s replication) go together in UNLOGGED batches sent to one of those replicas; rows of different replica sets are never in one batch, and a row whose replicas the driver does not know goes alone.',
  ),
  maxBytes: withDefault(
    PositiveInt,
    4 * 1024,
    `Upper bound of a token-aware batch's estimated size in bytes (the rows' values, plus a per-column allowance for cell metadata). Keep it under Cassandra's batch_size_warn_threshold (${BATCH_WARN_THRESHOLD_BYTES} bytes by default). A row larger than this goes alone.`,
  ),
  maxRows: withDefault(
    PositiveInt,
    10,
    'Upper bound of the rows in one token-aware batch. Cassandra logs a warning for an unlogged batch of more partitions than its unlogged_batch_across_partitions_warn_threshold (10 by default); rows of one partition each, as here, count one each.',
  ),
};

export type BatchingConfig = ConfigOf<typeof batchingFields>;

export const CONSISTENCY_LEVELS = ['LOCAL_QUORUM', 'LOCAL_ONE', 'QUORUM', 'EACH_QUORUM', 'ONE', 'TWO', 'THREE', 'ALL'] as const;

export const fields = {
  ...cassandraConnectionFields,
  keyspace: required(CqlName, 'Keyspace of the table.'),
  table: required(CqlName, 'Table the rows go to.'),
  columns: required(
    Columns,
    `The columns written, in order: column name → CQL type (${CQL_TYPES.join(', ')}). Each record's value has a field of the same name per column. The table may have more columns; these must exist in it with these types.`,
  ),
  primaryKey: required(
    PrimaryKeyCodec,
    'The primary key: `id`; a list as in CQL\'s PRIMARY KEY (the first column is the partition key, the rest clustering columns); or `{ partition: [a, b], clustering: [c] }`. Rows with the same key overwrite each other, which is what makes a replayed record harmless.',
  ),
  createIfMissing: withDefault(BooleanFromAny, true, 'At start, create the keyspace (with `replication`) and the table when they do not exist. An existing table is never altered.'),
  replication: withDefault(
    ReplicationCodec,
    'auto' as KeyspaceReplication,
    'Replication of a keyspace the sink creates: `auto` (NetworkTopologyStrategy in `localDataCenter`, with as many copies as that data center has nodes, at most 3: 1 on a development node, 3 on a cluster), `{ class: SimpleStrategy, replicationFactor: 1 }`, or `{ class: NetworkTopologyStrategy, dataCenters: { dc1: 3 } }`. Ignored when the keyspace exists.',
  ),
  consistency: withDefault(
    oneOf(CONSISTENCY_LEVELS),
    'LOCAL_QUORUM',
    'How many replicas must acknowledge a row before it counts as written. LOCAL_QUORUM (a majority of the local data center: 2 of 3 copies, 1 of 1) keeps an acknowledged batch on a majority of replicas even if one fails before its offsets are committed, and goes on writing with one of three replicas down; LOCAL_ONE acknowledges sooner but can lose rows when that one replica fails.',
  ),
  concurrency: withDefault(PositiveInt, 64, 'Statements in flight at once within one write call (a prepared INSERT of one row, or with token-aware batching a batch of rows). Up to this × batch.concurrency statements are in flight in all.'),
  batching: withDefault(
    objectCodec('cassandra batching', batchingFields),
    { mode: 'single-row', maxBytes: 4 * 1024, maxRows: 10 },
    'How rows go to Cassandra: one INSERT each (`single-row`), or several rows that share their replicas in one UNLOGGED batch (`token-aware`), e.g. `{ mode: token-aware, maxBytes: 4096 }`. `concurrency` then counts statements in flight (a batch is one).',
  ),
  ttl: optional(TtlSeconds, 'Rows expire this long after they are written (CQL USING TTL), e.g. 720h for 30 days. Without it rows do not expire.'),
};

export type CassandraSinkConfig = ConfigOf<typeof fields>;
