/**
 * Avro in the Confluent wire format: a message value is the magic byte 0, the schema's registry id as
 * 4 bytes big-endian, then the Avro binary encoding of the value. What any Confluent serializer writes
 * and reads (Java's KafkaAvroSerializer, @confluentinc/schemaregistry, Kafka Connect's AvroConverter).
 *
 * - `AvroWriter` (the kafka sink): registers or looks up its subject's schema once, at start, and
 *   refuses to start on an incompatible change with a one-line error naming the subject and the fields;
 * - `AvroReader` (the kafka source): decodes by schema id, fetching each id's schema once; an unknown
 *   id, a wrong magic byte or undecodable bytes are a reason to dead-letter the message, not an error.
 *
 * See also: clients/schema-registry.ts, schemas/avro-schema.ts, docs/avro.md.
 */
import avro from 'avsc';
import { SchemaRegistryClient, SchemaRegistryError, registryMessage } from './schema-registry.ts';

export const MAGIC_BYTE = 0;
export const HEADER_BYTES = 5;

/** The header of a value written with schema `id`. */
export function wireHeader(id: number): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(MAGIC_BYTE, 0);
  header.writeUInt32BE(id, 1);
  return header;
}

/** The schema id and Avro body of a message value, or why it is not in the Confluent wire format. */
export function parseWire(value: Buffer | null | undefined): { id: number; body: Buffer } | { invalid: string } {
  if (!value || value.length === 0) return { invalid: 'not Avro in the Confluent wire format: empty message' };
  if (value[0] !== MAGIC_BYTE) {
    const looksLike = value[0] === 0x7b || value[0] === 0x5b ? ' (it looks like JSON)' : '';
    return { invalid: `not Avro in the Confluent wire format: the first byte is 0x${value[0].toString(16).padStart(2, '0')}, not the magic byte 0${looksLike}` };
  }
  if (value.length < HEADER_BYTES) return { invalid: `not Avro in the Confluent wire format: ${value.length} byte(s), shorter than the 5-byte header (magic byte, schema id)` };
  return { id: value.readUInt32BE(1), body: value.subarray(HEADER_BYTES) };
}

/** Avro-decoded values as plain objects and arrays, like JSON.parse gives: avsc decodes records into instances of generated classes. */
function plain(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map(plain);
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) out[key] = plain(field);
  return out;
}

/** Where in `value` it does not fit `type`: the paths avsc's validation reports, e.g. `location.postcode`. */
export function invalidPaths(type: avro.Type, value: unknown): string[] {
  const paths: string[] = [];
  type.isValid(value, { errorHook: (path) => paths.push(path.join('.') || '(the value itself)') });
  return paths;
}

export class AvroWriter {
  private type: avro.Type;
  private id: number | undefined;

  constructor(
    private readonly registry: SchemaRegistryClient,
    readonly subject: string,
    private readonly schema: object,
    private readonly autoRegister: boolean,
  ) {
    this.type = avro.Type.forSchema(schema as avro.Schema);
  }

  /** The schema's id in the registry: registered (or found again) under the subject, or, without autoRegister, looked up. */
  async resolve(): Promise<number> {
    const text = JSON.stringify(this.schema);
    if (!this.autoRegister) {
      const found = await this.registry.lookup(this.subject, text);
      if (!found) throw new Error(`subject ${this.subject} at ${this.registry.url} has no version with this schema, and autoRegister is off: register it first`);
      return (this.id = found.id);
    }
    try {
      return (this.id = await this.registry.register(this.subject, text));
    } catch (error) {
      if (error instanceof SchemaRegistryError && error.status === 409) throw new Error(await this.explainRefusal(error));
      throw error;
    }
  }

  /** The message value of `value`: the header, then the Avro body. Throws naming the fields that do not fit the schema. */
  encode(value: unknown): Buffer {
    if (this.id === undefined) throw new Error(`subject ${this.subject}: the schema id is not resolved yet`);
    try {
      return Buffer.concat([wireHeader(this.id), this.type.toBuffer(value)]);
    } catch (error) {
      const paths = invalidPaths(this.type, value);
      throw new Error(`the value does not fit the Avro schema of subject ${this.subject}${paths.length > 0 ? ` at ${paths.join(', ')}` : ''}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** One line: the subject, the level, the fields that make the change incompatible, and the registry's own words. */
  private async explainRefusal(error: SchemaRegistryError): Promise<string> {
    const [level, latest] = await Promise.all([this.registry.compatibility(this.subject).catch(() => 'unknown'), this.registry.latest(this.subject).catch(() => undefined)]);
    const fields = latest ? incompatibleFields(this.schema, JSON.parse(latest.schema) as object, level) : [];
    const which = fields.length > 0 ? fields.join('; ') : 'see the registry\'s message';
    return `the schema registry at ${this.registry.url} refuses this schema for subject ${this.subject} (compatibility ${level}${latest?.version === undefined ? '' : `, latest version ${latest.version}`}): ${which} (registry: ${registryMessage(error.body)})`;
  }
}

/**
 * The fields that break `level` between `next` (the schema to register) and `previous` (the latest
 * registered): BACKWARD (next reads previous data) breaks on a field added without a default;
 * FORWARD (previous reads next's data) on a field removed that has no default; FULL on both; and any
 * level on a field whose type cannot be read as the other's. Record fields, recursively, by path.
 */
export function incompatibleFields(next: object, previous: object, level: string): string[] {
  const backward = /BACKWARD|FULL/.test(level);
  const forward = /FORWARD|FULL/.test(level);
  const problems: string[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    const ra = recordOf(a);
    const rb = recordOf(b);
    if (!ra || !rb) return;
    const before = new Map(rb.fields.map((f) => [f.name, f]));
    const after = new Map(ra.fields.map((f) => [f.name, f]));
    for (const field of ra.fields) {
      const at = path ? `${path}.${field.name}` : field.name;
      const old = before.get(field.name);
      if (!old) {
        if (backward && !('default' in field)) problems.push(`field "${at}" added without a default`);
        continue;
      }
      if (recordOf(field.type) && recordOf(old.type)) walk(field.type, old.type, at);
      else if (!readable(field.type, old.type, backward, forward)) problems.push(`field "${at}" changed type from ${JSON.stringify(old.type)} to ${JSON.stringify(field.type)}`);
    }
    for (const field of rb.fields) {
      if (!after.has(field.name) && forward && !('default' in field)) problems.push(`required field "${path ? `${path}.` : ''}${field.name}" removed`);
    }
  };
  walk(next, previous, '');
  return problems;
}

type RecordSchema = { type: 'record'; fields: Array<{ name: string; type: unknown; default?: unknown }> };

function recordOf(schema: unknown): RecordSchema | undefined {
  return typeof schema === 'object' && schema !== null && (schema as { type?: unknown }).type === 'record' ? (schema as RecordSchema) : undefined;
}

/** Whether data of one type can be read as the other, in the directions `level` needs (avsc's schema resolution). */
function readable(next: unknown, previous: unknown, backward: boolean, forward: boolean): boolean {
  try {
    const a = avro.Type.forSchema(next as avro.Schema);
    const b = avro.Type.forSchema(previous as avro.Schema);
    if (backward) a.createResolver(b);
    if (forward) b.createResolver(a);
    return true;
  } catch {
    return false;
  }
}

export class AvroReader {
  private readonly types = new Map<number, avro.Type>();

  constructor(private readonly registry: SchemaRegistryClient) {}

  /**
   * Fetches the schemas of the ids not seen yet. An id the registry does not know stays unknown (its
   * messages are dead-lettered); an unreachable registry throws, so the read fails and is retried.
   */
  async prepare(ids: Iterable<number>): Promise<void> {
    for (const id of new Set(ids)) {
      if (this.types.has(id)) continue;
      const schema = await this.registry.schemaById(id);
      if (schema === undefined) continue;
      this.types.set(id, avro.Type.forSchema(JSON.parse(schema) as avro.Schema));
    }
  }

  /** The value of a message, or why it cannot be decoded. Only ids `prepare` was given are known. */
  decode(value: Buffer | null | undefined): { value: unknown } | { invalid: string } {
    const wire = parseWire(value);
    if ('invalid' in wire) return wire;
    const type = this.types.get(wire.id);
    if (!type) return { invalid: `Avro schema id ${wire.id} is unknown to the schema registry at ${this.registry.url}` };
    try {
      return { value: plain(type.fromBuffer(wire.body)) };
    } catch (error) {
      return { invalid: `undecodable Avro body for schema id ${wire.id} (${wire.body.length} bytes): ${(error as Error).message}` };
    }
  }

  /** The schema ids of messages in the wire format, for `prepare`. */
  static idsOf(values: ReadonlyArray<Buffer | null | undefined>): number[] {
    const ids: number[] = [];
    for (const value of values) {
      const wire = parseWire(value);
      if (!('invalid' in wire)) ids.push(wire.id);
    }
    return ids;
  }
}
