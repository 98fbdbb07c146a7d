/** The sink's CQL: CREATE KEYSPACE / TABLE and INSERT statements, and how a table's schema differs from the config. */
import type { CassandraSinkConfig, PrimaryKey, Replication } from './config.ts';

/** CREATE KEYSPACE with `replication` as resolved (`resolveKeyspaceReplication`: never `auto`). */
export function createKeyspaceCql(keyspace: string, r: Replication): string {
  const options =
    r.class === 'SimpleStrategy'
      ? `'class': 'SimpleStrategy', 'replication_factor': ${r.replicationFactor}`
      : [`'class': 'NetworkTopologyStrategy'`, ...Object.entries(r.dataCenters).map(([dc, factor]) => `'${dc}': ${factor}`)].join(', ');
  return `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {${options}}`;
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
