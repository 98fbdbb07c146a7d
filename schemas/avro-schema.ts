/**
 * An Avro schema derived from an io-ts codec, so that a record's shape is written once (the codec)
 * and the schema registered for its topic cannot drift from what `validate` accepts.
 *
 * `t.type` → record (nested records named after their path: `User`, `UserLocation`, `UserLocationStreet`),
 * `t.string` → string, `t.Int` → long, `t.number` → double, `t.boolean` → boolean, `t.null` → null,
 * `t.array` → array, `t.union` → union (null first, so that a nullable field may default to null), and a
 * custom codec → the Avro type given with `withAvroType`. Anything else is refused, naming the path.
 *
 * ```ts
 * const Postcode = withAvroType(new t.Type(...), ['string', 'double']);
 * const schema = avroSchemaOf(t.type({ postcode: Postcode }), { name: 'Address', namespace: 'app' });
 * ```
 * See also: randomuser/codec.ts (RandomUserRecord, the user's codec), clients/avro.ts.
 */
import type * as avro from 'avsc';
import * as t from 'io-ts';

type AvroType = avro.Schema;

const customTypes = new WeakMap<t.Mixed, AvroType>();

/** Declares the Avro type of a custom io-ts codec (one that is not built from io-ts's combinators). */
export function withAvroType<C extends t.Mixed>(codec: C, type: AvroType): C {
  customTypes.set(codec, type);
  return codec;
}

/** The Avro record schema of `codec`, which must be a `t.type`. */
export function avroSchemaOf(codec: t.Mixed, opts: { name: string; namespace?: string; doc?: string }): avro.schema.RecordType {
  const schema = typeOf(codec, opts.name, opts.name);
  if (typeof schema !== 'object' || Array.isArray(schema) || (schema as { type?: string }).type !== 'record') {
    throw new Error(`${opts.name}: an Avro schema is derived from a t.type codec (a record), not from ${codec.name}`);
  }
  return { ...(schema as avro.schema.RecordType), ...(opts.namespace ? { namespace: opts.namespace } : {}), ...(opts.doc ? { doc: opts.doc } : {}) };
}

function typeOf(codec: t.Mixed, path: string, recordName: string): AvroType {
  const custom = customTypes.get(codec);
  if (custom !== undefined) return custom;
  const tagged = codec as t.Mixed & { _tag?: string };
  switch (tagged._tag) {
    case 'StringType':
      return 'string';
    case 'NumberType':
      return 'double';
    case 'BooleanType':
      return 'boolean';
    case 'NullType':
      return 'null';
    case 'RefinementType': {
      // t.Int is the one refinement with an Avro type of its own; others keep their base type.
      if (codec.name === 'Int') return 'long';
      return typeOf((codec as unknown as t.RefinementType<t.Mixed>).type, path, recordName);
    }
    case 'ReadonlyType':
      return typeOf((codec as unknown as t.ReadonlyType<t.Mixed>).type, path, recordName);
    case 'ArrayType':
    case 'ReadonlyArrayType':
      return { type: 'array', items: typeOf((codec as unknown as t.ArrayType<t.Mixed>).type, `${path}[]`, recordName) };
    case 'UnionType': {
      const members = (codec as unknown as t.UnionType<t.Mixed[]>).types.map((member, i) => typeOf(member, `${path}|${i}`, `${recordName}${i}`));
      if (members.some((member) => Array.isArray(member))) throw new Error(`${path}: a union inside a union has no Avro type`);
      // null first: Avro takes a union field's default from its first branch.
      return [...members.filter((m) => m === 'null'), ...members.filter((m) => m !== 'null')] as AvroType;
    }
    case 'InterfaceType': {
      const props = (codec as unknown as t.InterfaceType<t.Props>).props;
      return {
        type: 'record',
        name: recordName,
        fields: Object.entries(props).map(([name, prop]) => {
          const type = typeOf(prop, `${path}.${name}`, `${recordName}${name[0].toUpperCase()}${name.slice(1)}`);
          return Array.isArray(type) && type[0] === 'null' ? { name, type, default: null } : { name, type };
        }),
      };
    }
    default:
      throw new Error(`${path}: no Avro type for the io-ts codec "${codec.name}"; declare one with withAvroType`);
  }
}
