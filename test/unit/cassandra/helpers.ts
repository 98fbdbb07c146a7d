/** Shared by the cassandra unit tests: decoding a sink config through the registry. */
import { formatErrors } from '../../../topology/errors.ts';
import { registry } from '../../../topology/registry.ts';
import '../../../sinks/cassandra/index.ts';
import type { CassandraSinkConfig } from '../../../sinks/cassandra/config.ts';

export const USER_COLUMNS = {
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

/** The created_users sink, with `overrides` (a field set to undefined is removed). */
export function sinkFields(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    type: 'cassandra',
    contactPoints: '127.0.0.1:9042',
    keyspace: 'spark_streams',
    table: 'created_users',
    columns: USER_COLUMNS,
    primaryKey: 'id',
    ...overrides,
  };
  for (const key of Object.keys(fields)) if (fields[key] === undefined) delete fields[key];
  return fields;
}

export function decodeSink(fields: Record<string, unknown>): { ok: true; config: CassandraSinkConfig } | { ok: false; errors: string[] } {
  const result = registry.decode('sink', fields);
  return result._tag === 'Right' ? { ok: true, config: result.right as unknown as CassandraSinkConfig } : { ok: false, errors: formatErrors(result.left) };
}

/** A config that must decode. */
export function config(overrides: Record<string, unknown> = {}): CassandraSinkConfig {
  const result = decodeSink(sinkFields(overrides));
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.errors.join('\n')}`);
  return result.config;
}

/** The errors of a config that must be refused. */
export function errors(overrides: Record<string, unknown>): string[] {
  const result = decodeSink(sinkFields(overrides));
  if (result.ok) throw new Error(`expected ${JSON.stringify(overrides)} to be refused, but it decoded`);
  return result.errors;
}
