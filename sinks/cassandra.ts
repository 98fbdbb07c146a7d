/**
 * cassandra — upserts each record's value as one row of a Cassandra table.
 *
 * Each record's `value` is an object whose fields are the table's columns. At start the sink connects,
 * creates the keyspace and the table when `createIfMissing` (the default), and checks that the table's
 * columns and primary key match `columns` and `primaryKey`; when they do not, it stops with what
 * differs and what to do. A write converts every value to its column's CQL type first — a value that
 * does not convert fails the write, naming the record, the column and the value, and is not retried —
 * then runs one prepared INSERT per row, at most `concurrency` at a time, and resolves once every row
 * is acknowledged at `consistency`. An INSERT is an upsert by primary key, so a chunk the framework
 * retries, or a batch redelivered after a failure, rewrites the same rows: at-least-once delivery with
 * an idempotent result. Rows go one statement each, never in multi-partition batches, which would
 * funnel every row through one coordinator and its batch log.
 *
 * A missing field is left unset (an existing row keeps its value; no tombstone); `null` clears the
 * column. Primary-key fields are required.
 *
 * ```yaml
 * sink:
 *   type: cassandra
 *   contactPoints: ${CASSANDRA_CONTACT_POINTS:-127.0.0.1:9042}
 *   localDataCenter: ${CASSANDRA_LOCAL_DC:-datacenter1}
 *   keyspace: spark_streams
 *   table: created_users
 *   columns:
 *     id: uuid
 *     first_name: text
 *     last_name: text
 *     gender: text
 *     address: text
 *     post_code: text
 *     email: text
 *     username: text
 *     dob: text
 *     registered_date: text
 *     phone: text
 *     picture: text
 *   primaryKey: id
 *   replication: { class: SimpleStrategy, replicationFactor: 1 }
 * ```
 * See also: clients/cassandra.ts (the connection fields, `checkCassandra`), the `memory` and `console` sinks.
 */
import { isIP } from 'node:net';
import cassandra from 'cassandra-driver';
import * as t from 'io-ts';
import type { Logger } from 'winston';
import { defineComponent, problem, type ConfigProblem } from '../topology/registry.ts';
import { objectCodec, optional, required, withDefault, type ConfigOf } from '../topology/spec.ts';
import { BooleanFromAny, Identifier, oneOf, parseDuration, PositiveInt } from '../topology/codecs.ts';
import { UserFacingError } from '../topology/errors.ts';
import type { Sink, StreamRecord } from '../topology/types.ts';
import { cassandraConnectionFields, connectCassandra, credentialProblems } from '../clients/cassandra.ts';

const { Integer, LocalDate, LocalTime, InetAddress, BigDecimal, Long, TimeUuid, Uuid, consistencies, responseErrorCodes } = cassandra.types;

// ---------------------------------------------------------------------------------------------------
// Config

/** Column types the sink converts values to. Collections, tuples and UDTs have no converter; counters cannot be INSERTed. */
export const CQL_TYPES = ['ascii', 'bigint', 'blob', 'boolean', 'date', 'decimal', 'double', 'float', 'inet', 'int', 'smallint', 'text', 'time', 'timestamp', 'timeuuid', 'tinyint', 'uuid', 'varchar', 'varint'] as const;
export type CqlType = (typeof CQL_TYPES)[number];

/** Cassandra 5.0's reserved words (org/apache/cassandra/cql3/reserved_keywords.txt): unquoted, they are syntax errors as names. */
const RESERVED = new Set(
  'add allow alter and apply asc authorize batch begin by columnfamily create delete desc describe drop entries execute from full grant if in index infinity insert into is keyspace limit materialized modify nan norecursive not null of on or order primary rename revoke schema select set table to token truncate unlogged update use using view where with'.split(
    ' ',
  ),
);

/**
 * A keyspace, table or column name, used unquoted in CQL: an Identifier, in lower case (CQL folds
 * unquoted names to lower case, so `firstName` would become column `firstname` and no longer match
 * the record's field), and not a reserved word.
 */
export const CqlName = new t.Type<string, unknown, unknown>(
  'a CQL name (a letter, then letters, digits or _; at most 48 characters)',
  (u): u is string => Identifier.is(u) && u === u.toLowerCase() && !RESERVED.has(u),
  (u, c) => {
    if (!Identifier.is(u)) return t.failure(u, c);
    if (u !== u.toLowerCase()) return t.failure(u, c, `"${u}" has upper-case letters, which CQL folds to lower case: write "${u.toLowerCase()}" (and name the record's field so)`);
    if (RESERVED.has(u)) return t.failure(u, c, `"${u}" is a reserved CQL word; choose another name`);
    return t.success(u);
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

function isPlainObject(u: unknown): u is Record<string, unknown> {
  return typeof u === 'object' && u !== null && !Array.isArray(u) && !Buffer.isBuffer(u);
}

/** `{ column: type }`, in order; every name and every type checked, each error at its own path. */
const Columns = new t.Type<Record<string, CqlType>, unknown, unknown>(
  'a map of column names to CQL types, e.g. { id: uuid, email: text }',
  (u): u is Record<string, CqlType> => isPlainObject(u) && Object.entries(u).every(([k, v]) => CqlName.is(k) && CqlTypeCodec.is(v)),
  (u, c) => {
    if (!isPlainObject(u) || Object.keys(u).length === 0) return t.failure(u, c);
    const errors: t.Errors = [];
    const out: Record<string, CqlType> = {};
    for (const [name, type] of Object.entries(u)) {
      const nameResult = CqlName.validate(name, [...c, { key: name, type: CqlName, actual: name }]);
      const typeResult = CqlTypeCodec.validate(type, [...c, { key: name, type: CqlTypeCodec, actual: type }]);
      if (nameResult._tag === 'Left') errors.push(...nameResult.left);
      if (typeResult._tag === 'Left') errors.push(...typeResult.left);
      else out[name] = typeResult.right;
    }
    return errors.length > 0 ? t.failures(errors) : t.success(out);
  },
  (a) => a,
);

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
function cassandraSinkProblems(config: CassandraSinkConfig): ConfigProblem[] {
  const known = Object.keys(config.columns);
  const missing = [...config.primaryKey.partition, ...config.primaryKey.clustering].filter((name) => !known.includes(name));
  const key = missing.length > 0 ? [problem('primaryKey', `the primary key names ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not in columns (${known.join(', ')})`)] : [];
  return [...credentialProblems(config), ...key];
}

export type Replication = { class: 'SimpleStrategy'; replicationFactor: number } | { class: 'NetworkTopologyStrategy'; dataCenters: Record<string, number> };

const DataCenterFactors = new t.Type<Record<string, number>, unknown, unknown>(
  'a map of data center names to replication factors, e.g. { dc1: 3 }',
  (u): u is Record<string, number> => isPlainObject(u),
  (u, c) => {
    if (!isPlainObject(u) || Object.keys(u).length === 0) return t.failure(u, c);
    const errors: t.Errors = [];
    const out: Record<string, number> = {};
    for (const [dc, factor] of Object.entries(u)) {
      // The name goes into the CQL between single quotes, so quotes and the like are refused here.
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(dc)) errors.push({ value: dc, context: [...c, { key: dc, type: t.string, actual: dc }], message: `data center name ${JSON.stringify(dc)} has characters other than letters, digits, ".", "_" and "-"` });
      const result = PositiveInt.validate(factor, [...c, { key: dc, type: PositiveInt, actual: factor }]);
      if (result._tag === 'Left') errors.push(...result.left);
      else out[dc] = result.right;
    }
    return errors.length > 0 ? t.failures(errors) : t.success(out);
  },
  (a) => a,
);

const simpleStrategy = objectCodec('SimpleStrategy replication', {
  class: required(oneOf(['SimpleStrategy']), 'SimpleStrategy: replicas on consecutive nodes of the ring, ignoring data centers (one data center only).'),
  replicationFactor: withDefault(PositiveInt, 1, 'Copies of each row.'),
});
const networkTopologyStrategy = objectCodec('NetworkTopologyStrategy replication', {
  class: required(oneOf(['NetworkTopologyStrategy']), 'NetworkTopologyStrategy: a replication factor per data center (production).'),
  dataCenters: required(DataCenterFactors, 'Copies of each row per data center, e.g. { dc1: 3, dc2: 3 }.'),
});

const ReplicationCodec = new t.Type<Replication, unknown, unknown>(
  'a replication: { class: SimpleStrategy, replicationFactor: 1 } or { class: NetworkTopologyStrategy, dataCenters: { dc1: 3 } }',
  (u): u is Replication => isPlainObject(u) && (u.class === 'SimpleStrategy' || u.class === 'NetworkTopologyStrategy'),
  (u, c) => {
    if (!isPlainObject(u)) return t.failure(u, c);
    if (u.class === 'SimpleStrategy') return simpleStrategy.validate(u, c) as t.Validation<Replication>;
    if (u.class === 'NetworkTopologyStrategy') return networkTopologyStrategy.validate(u, c) as t.Validation<Replication>;
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

const CONSISTENCY_LEVELS = ['LOCAL_QUORUM', 'LOCAL_ONE', 'QUORUM', 'EACH_QUORUM', 'ONE', 'TWO', 'THREE', 'ALL'] as const;
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

const fields = {
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
    { class: 'SimpleStrategy', replicationFactor: 1 } as Replication,
    'Replication of a keyspace the sink creates: `{ class: SimpleStrategy, replicationFactor: 1 }` (one data center; a development node), or `{ class: NetworkTopologyStrategy, dataCenters: { dc1: 3 } }`. Ignored when the keyspace exists.',
  ),
  consistency: withDefault(
    oneOf(CONSISTENCY_LEVELS),
    'LOCAL_QUORUM',
    'How many replicas must acknowledge a row before it counts as written. LOCAL_QUORUM (a majority of the local data center) keeps an acknowledged batch on a majority of replicas even if one fails before its offsets are committed; LOCAL_ONE acknowledges sooner but can lose rows when that one replica fails.',
  ),
  concurrency: withDefault(PositiveInt, 64, 'Rows in flight at once within one write call (one prepared INSERT each). Up to this × batch.concurrency rows are in flight in all.'),
  ttl: optional(TtlSeconds, 'Rows expire this long after they are written (CQL USING TTL), e.g. 720h for 30 days. Without it rows do not expire.'),
};

export type CassandraSinkConfig = ConfigOf<typeof fields>;

// ---------------------------------------------------------------------------------------------------
// CQL

export function createKeyspaceCql(config: Pick<CassandraSinkConfig, 'keyspace' | 'replication'>): string {
  const r = config.replication;
  const options =
    r.class === 'SimpleStrategy'
      ? `'class': 'SimpleStrategy', 'replication_factor': ${r.replicationFactor}`
      : [`'class': 'NetworkTopologyStrategy'`, ...Object.entries(r.dataCenters).map(([dc, factor]) => `'${dc}': ${factor}`)].join(', ');
  return `CREATE KEYSPACE IF NOT EXISTS ${config.keyspace} WITH replication = {${options}}`;
}

/** `PRIMARY KEY (id)`, `PRIMARY KEY ((a, b), c)`: the syntax Cassandra itself prints. */
export function primaryKeyCql(key: PrimaryKey): string {
  const partition = key.partition.length === 1 ? key.partition[0] : `(${key.partition.join(', ')})`;
  return `PRIMARY KEY (${[partition, ...key.clustering].join(', ')})`;
}

export function createTableCql(config: Pick<CassandraSinkConfig, 'keyspace' | 'table' | 'columns' | 'primaryKey'>): string {
  const columns = Object.entries(config.columns).map(([name, type]) => `${name} ${type}`);
  return `CREATE TABLE IF NOT EXISTS ${config.keyspace}.${config.table} (${columns.join(', ')}, ${primaryKeyCql(config.primaryKey)})`;
}

export function insertCql(config: Pick<CassandraSinkConfig, 'keyspace' | 'table' | 'columns' | 'ttl'>): string {
  const names = Object.keys(config.columns);
  const ttl = config.ttl === undefined ? '' : ` USING TTL ${config.ttl}`;
  return `INSERT INTO ${config.keyspace}.${config.table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})${ttl}`;
}

/** A row of `system_schema.columns`. */
export interface SchemaColumn {
  column_name: string;
  type: string;
  kind: string;
  position: number;
}

/** `varchar` is an alias that system_schema reports as `text`. */
const canonicalType = (type: string): string => (type === 'varchar' ? 'text' : type);

/** What differs between the table's schema and the config, each with what to do; empty when they match. */
export function schemaProblems(config: Pick<CassandraSinkConfig, 'keyspace' | 'table' | 'columns' | 'primaryKey'>, schema: SchemaColumn[]): string[] {
  const table = `${config.keyspace}.${config.table}`;
  const byName = new Map(schema.map((column) => [column.column_name, column]));
  const problems: string[] = [];
  for (const [name, type] of Object.entries(config.columns)) {
    const column = byName.get(name);
    if (!column) problems.push(`column ${name} is not in table ${table}: add it (ALTER TABLE ${table} ADD ${name} ${type}), or remove it from columns`);
    else if (column.type !== canonicalType(type)) {
      problems.push(`column ${name} is ${column.type} in table ${table} but ${type} in columns: make columns.${name} ${column.type}, or write to another table (Cassandra cannot change a column's type)`);
    }
  }
  const keyOf = (kind: string): string[] =>
    schema
      .filter((column) => column.kind === kind)
      .sort((a, b) => a.position - b.position)
      .map((column) => column.column_name);
  const tableKey: PrimaryKey = { partition: keyOf('partition_key'), clustering: keyOf('clustering') };
  if (primaryKeyCql(tableKey) !== primaryKeyCql(config.primaryKey)) {
    problems.push(`table ${table} has ${primaryKeyCql(tableKey)} but primaryKey says ${primaryKeyCql(config.primaryKey)}: make primaryKey match, or write to another table (a primary key cannot be changed)`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Values

/** Turns one field of a record into the value the driver encodes for the column's type; throws with why not. */
export type Converter = (value: unknown) => unknown;

/** A value as it appears in an error message: JSON, cut short. */
function show(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function not(value: unknown, what: string): never {
  throw new Error(`${show(value)} is not ${what}`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TIMEUUID = /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INTEGER = /^[-+]?\d+$/;
const DECIMAL = /^([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
const TIME = /^\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?$/;

function isValidDate(year: number, month: number, day: number): boolean {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/**
 * Milliseconds since the epoch from an ISO-8601 date or date-time. A date-time without an offset is
 * UTC (as Cassandra reads one), not this machine's zone; impossible dates (Feb 30) are refused
 * rather than rolled over as Date.parse does.
 */
export function parseTimestamp(text: string): number | undefined {
  const m = DATE_TIME.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', fraction = '', zone = 'Z'] = m;
  if (!isValidDate(Number(y), Number(mo), Number(d)) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  const offset = /^[+-]\d{2}$/.test(zone) ? `${zone}:00` : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone.toUpperCase();
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${fraction.slice(0, 4)}${offset}`);
  return Number.isNaN(ms) ? undefined : ms;
}

/** A whole number in [min, max] from a number, a bigint or a string of digits, as a bigint. */
function wholeNumber(value: unknown, min: bigint, max: bigint, what: string): bigint {
  let n: bigint | undefined;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && INTEGER.test(value.trim())) n = BigInt(value.trim());
  if (n === undefined || n < min || n > max) not(value, what);
  return n;
}

/** A number that fits the JS number range of a 32-bit int or smaller (the driver encodes those from numbers). */
function smallInteger(bits: number, name: string): Converter {
  const max = 2 ** (bits - 1) - 1;
  const min = -(2 ** (bits - 1));
  const what = `${name} (a whole number from ${min} to ${max})`;
  return (value) => (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : Number(wholeNumber(value, BigInt(min), BigInt(max), what)));
}

function finiteNumber(value: unknown, what: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n)) not(value, what);
  return n;
}

function text(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return not(value, what);
}

function timestampMs(value: unknown, what: string): number {
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'number'
        ? value
        : typeof value === 'string'
          ? INTEGER.test(value.trim())
            ? Number(value)
            : parseTimestamp(value)
          : undefined;
  // new Date() holds at most 8.64e15 ms either side of the epoch.
  if (ms === undefined || !(Math.abs(ms) <= 8.64e15)) return not(value, what);
  return Math.trunc(ms);
}

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
const FLOAT_MAX = 3.4028234663852886e38;

const CONVERTERS: Record<CqlType, Converter> = {
  text: (v) => text(v, 'text'),
  varchar: (v) => text(v, 'text'),
  ascii: (v) => {
    const s = text(v, 'ASCII text');
    // eslint-disable-next-line no-control-regex
    return /^[\x00-\x7f]*$/.test(s) ? s : not(v, 'ASCII text (it has non-ASCII characters)');
  },
  uuid: (v) => (typeof v === 'string' && UUID.test(v) ? Uuid.fromString(v) : not(v, 'a UUID (32 hex digits as 8-4-4-4-12)')),
  timeuuid: (v) => (typeof v === 'string' && TIMEUUID.test(v) ? TimeUuid.fromString(v) : not(v, 'a time-based (version 1) UUID')),
  int: smallInteger(32, 'an int'),
  smallint: smallInteger(16, 'a smallint'),
  tinyint: smallInteger(8, 'a tinyint'),
  bigint: (v) => Long.fromString(wholeNumber(v, LONG_MIN, LONG_MAX, `a bigint (a whole number from ${LONG_MIN} to ${LONG_MAX})`).toString()),
  varint: (v) => Integer.fromString(wholeNumber(v, -(2n ** 1024n), 2n ** 1024n, 'a whole number').toString()),
  double: (v) => finiteNumber(v, 'a finite number'),
  float: (v) => {
    const n = finiteNumber(v, 'a finite number');
    return Math.abs(n) <= FLOAT_MAX ? n : not(v, 'a float (its magnitude is above 3.4e38)');
  },
  decimal: (v) => {
    // BigDecimal.fromString misreads exponents (1.5e3 becomes 0.015), so they are expanded here first.
    const m = typeof v === 'string' || typeof v === 'number' ? DECIMAL.exec(String(v).trim()) : null;
    if (!m || (m[2] === '' && (m[3] ?? '') === '') || (typeof v === 'number' && !Number.isFinite(v))) return not(v, 'a decimal number');
    const [, sign, whole, fraction = '', exponent = '0'] = m;
    let scale = fraction.length - Number(exponent);
    let digits = `${whole}${fraction}` || '0';
    if (scale < 0) {
      digits += '0'.repeat(-scale);
      scale = 0;
    }
    const padded = digits.padStart(scale + 1, '0');
    return BigDecimal.fromString(`${sign === '-' ? '-' : ''}${scale === 0 ? padded : `${padded.slice(0, -scale)}.${padded.slice(-scale)}`}`);
  },
  boolean: (v) => (typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : not(v, 'true or false')),
  timestamp: (v) => new Date(timestampMs(v, 'a timestamp (an ISO-8601 date-time such as 2024-05-01T12:00:00Z, or milliseconds since the epoch)')),
  date: (v) => {
    const m = typeof v === 'string' ? DATE.exec(v.trim()) : null;
    if (m && isValidDate(Number(m[1]), Number(m[2]), Number(m[3]))) return new LocalDate(Number(m[1]), Number(m[2]), Number(m[3]));
    // A date-time counts by its UTC calendar day (LocalDate.fromDate would use this machine's zone).
    const day = new Date(timestampMs(v, 'a date (YYYY-MM-DD, or a date-time)'));
    return new LocalDate(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate());
  },
  time: (v) => {
    if (typeof v === 'string' && TIME.test(v.trim())) {
      const [h, m, s = '0'] = v.trim().split(':');
      if (Number(h) <= 23 && Number(m) <= 59 && Number(s) < 60) return LocalTime.fromString(v.trim());
    }
    return not(v, 'a time of day (HH:MM:SS[.fffffffff])');
  },
  inet: (v) => (typeof v === 'string' && isIP(v) !== 0 ? InetAddress.fromString(v) : not(v, 'an IPv4 or IPv6 address')),
  blob: (v) => {
    if (Buffer.isBuffer(v)) return v;
    if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    return typeof v === 'string' && BASE64.test(v) ? Buffer.from(v, 'base64') : not(v, 'a blob (a Buffer, or base64 text)');
  },
};

/**
 * The converter of one column. A missing field is left unset and `null` clears the column, except
 * in the primary key, which every row needs; a partition key of text or bytes cannot be empty either.
 */
export function converterFor(type: CqlType, role: 'partition' | 'clustering' | 'regular'): Converter {
  const convert = CONVERTERS[type];
  if (role === 'regular') return (value) => (value === undefined ? cassandra.types.unset : value === null ? null : convert(value));
  const canBeEmpty = role === 'clustering' || !['text', 'varchar', 'ascii', 'blob'].includes(type);
  return (value) => {
    if (value === undefined || value === null) throw new Error(`${value === undefined ? 'missing' : 'null'}, but a primary key column needs a value`);
    const converted = convert(value);
    if (!canBeEmpty && (converted as string | Buffer).length === 0) throw new Error(`${show(value)}: a partition key cannot be empty`);
    return converted;
  };
}

/** A record whose value cannot become a row. Retrying cannot help. */
export class CassandraValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CassandraValueError';
  }
}

// ---------------------------------------------------------------------------------------------------
// Errors

const RETRYABLE_RESPONSES = new Set<number>([
  responseErrorCodes.unavailableException,
  responseErrorCodes.overloaded,
  responseErrorCodes.isBootstrapping,
  responseErrorCodes.writeTimeout,
  responseErrorCodes.readTimeout,
]);
const RETRYABLE_SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * Whether a failed write may succeed when tried again: timeouts (server- or client-side), unavailable
 * replicas, an overloaded or bootstrapping node, lost connections, no host reachable. Invalid
 * statements, authentication and type errors, and values that do not convert will fail the same way.
 */
export function isRetryableCassandraError(error: unknown): boolean {
  if (error instanceof cassandra.errors.OperationTimedOutError || error instanceof cassandra.errors.BusyConnectionError) return true;
  if (error instanceof cassandra.errors.NoHostAvailableError) {
    const inner = Object.values((error.innerErrors ?? {}) as Record<string, unknown>);
    return inner.length === 0 || inner.some(isRetryableCassandraError);
  }
  if (error instanceof cassandra.errors.ResponseError) return RETRYABLE_RESPONSES.has(error.code);
  if (error instanceof Error) {
    const { isSocketError, code } = error as Error & { isSocketError?: boolean; code?: string };
    return isSocketError === true || (code !== undefined && RETRYABLE_SOCKET_CODES.has(code));
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// The sink

/** `record 3 of 500 (users_created/0@1234)`: which record failed, for the error message. */
function recordName(record: StreamRecord, index: number, count: number): string {
  const o = record.origin;
  const where = o?.topic !== undefined ? ` (${o.topic}${o.partition !== undefined ? `/${o.partition}` : ''}${o.offset !== undefined ? `@${o.offset}` : ''})` : '';
  return `record ${index + 1} of ${count}${where}`;
}

async function ensureTable(client: cassandra.Client, config: CassandraSinkConfig, logger: Logger): Promise<void> {
  const table = `${config.keyspace}.${config.table}`;
  if (config.createIfMissing) {
    for (const cql of [createKeyspaceCql(config), createTableCql(config)]) {
      try {
        await client.execute(cql);
      } catch (error) {
        if (!(error instanceof cassandra.errors.ResponseError)) throw error;
        throw new UserFacingError(
          `cannot create ${cql.startsWith('CREATE KEYSPACE') ? `keyspace ${config.keyspace}` : `table ${table}`} (${(error as Error).message})`,
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
    const missing = keyspace.rowLength === 0 ? { what: `keyspace ${config.keyspace}`, cql: `${createKeyspaceCql(config)}; ${createTableCql(config)}` } : { what: `table ${table}`, cql: createTableCql(config) };
    throw new UserFacingError(`${missing.what} does not exist in Cassandra at ${config.contactPoints}`, `create it (${missing.cql}), or set createIfMissing: true to let the sink create it`);
  }
  const problems = schemaProblems(config, result.rows as unknown as SchemaColumn[]);
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
  let client: cassandra.Client | undefined;

  const toParams = (record: StreamRecord, index: number, count: number): unknown[] => {
    const value = record.value as Record<string, unknown>;
    if (typeof value !== 'object' || value === null || Array.isArray(value) || Buffer.isBuffer(value)) {
      throw new CassandraValueError(`${recordName(record, index, count)}: the value is ${show(value)}, not an object with a field per column`);
    }
    const params = new Array<unknown>(names.length);
    let i = 0;
    try {
      for (; i < names.length; i++) params[i] = converters[i](value[names[i]]);
    } catch (error) {
      throw new CassandraValueError(`${recordName(record, index, count)}: column ${names[i]} (${config.columns[names[i]]}): ${(error as Error).message}`);
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
      let next = 0;
      let failure: { error: unknown } | undefined;
      // Each lane sends its next row when the previous one is acknowledged; after a failure no new row
      // starts, and the write settles only once the rows already in flight have, so nothing outlives it.
      const lane = async (): Promise<void> => {
        while (failure === undefined && next < rows.length) {
          const params = rows[next++];
          try {
            await connected.execute(insert, params, options);
          } catch (error) {
            failure ??= { error };
          }
        }
      };
      const lanes: Array<Promise<void>> = [];
      for (let i = Math.min(config.concurrency, rows.length); i > 0; i--) lanes.push(lane());
      await Promise.all(lanes);
      if (failure) throw failure.error;
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

defineComponent({
  kind: 'sink',
  type: 'cassandra',
  summary: 'Upserts each record as one row of a Cassandra table (prepared INSERTs, bounded concurrency).',
  description:
    "Writes each record's value (an object with a field per column) as one row with a prepared INSERT, which upserts by primary key: a retried or redelivered record overwrites its own row, so at-least-once delivery leaves no duplicates. At start it connects, creates the keyspace and table if asked, and checks the table's columns and primary key against `columns` and `primaryKey`, stopping with what differs. Values are converted to the column types first; one that does not convert fails the write (not retried) and names the record, column and value. A write resolves when every row is acknowledged at `consistency`; timeouts, unavailable replicas and lost connections are retryable, the framework's `retry` policy retries them (the driver's own retries are off).",
  fields,
  examples: [
    `sink:
  type: cassandra
  contactPoints: \${CASSANDRA_CONTACT_POINTS:-127.0.0.1:9042}
  localDataCenter: \${CASSANDRA_LOCAL_DC:-datacenter1}
  keyspace: spark_streams
  table: created_users
  columns: { id: uuid, first_name: text, last_name: text, gender: text, address: text, post_code: text, email: text, username: text, dob: text, registered_date: text, phone: text, picture: text }
  primaryKey: id
  replication: { class: SimpleStrategy, replicationFactor: 1 }`,
  ],
  endpoints: (config) => [{ service: 'cassandra', address: config.contactPoints }],
  check: cassandraSinkProblems,
  create: (config, ctx) => cassandraSink(config, ctx.logger),
});
