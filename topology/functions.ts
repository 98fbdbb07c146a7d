/**
 * Named code that a topology file refers to by name: record functions (for `map`, `filter`,
 * `flat-map`) and record schemas (io-ts codecs, for `validate`; with an Avro schema, for the kafka sink's
 * `format: avro`). An application registers its own
 * next to its topology; the YAML says `fn: to-upper-case` or `schema: randomuser-user`.
 */
import type * as t from 'io-ts';
import type { StreamRecord } from './types.ts';

export interface NamedFunction {
  summary: string;
  /** map: returns the new value; filter: returns whether to keep; flat-map: returns the values to emit. */
  fn: (value: unknown, record: StreamRecord) => unknown;
}

export interface NamedSchema {
  summary: string;
  codec: t.Type<unknown, unknown, unknown>;
  /** The Avro schema of such records on a topic (`format: avro`), when they may be written in Avro. */
  avro?: object;
}

const functions = new Map<string, NamedFunction>();
const schemas = new Map<string, NamedSchema>();

export function registerFunction(name: string, definition: NamedFunction): void {
  if (functions.has(name)) throw new Error(`function "${name}" is registered twice`);
  functions.set(name, definition);
}

export function registerSchema(name: string, definition: NamedSchema): void {
  if (schemas.has(name)) throw new Error(`schema "${name}" is registered twice`);
  schemas.set(name, definition);
}

/** The named function, or an error that lists the known names. */
export function lookupFunction(name: string): NamedFunction {
  const found = functions.get(name);
  if (!found) throw new Error(`unknown function "${name}"; known functions: ${[...functions.keys()].sort().join(', ') || '(none registered)'}`);
  return found;
}

/** The named schema, or an error that lists the known names. */
export function lookupSchema(name: string): NamedSchema {
  const found = schemas.get(name);
  if (!found) throw new Error(`unknown schema "${name}"; known schemas: ${[...schemas.keys()].sort().join(', ') || '(none registered)'}`);
  return found;
}
