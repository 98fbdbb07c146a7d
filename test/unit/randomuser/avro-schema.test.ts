/**
 * The RandomUser user's Avro schema is derived from its io-ts codec (RandomUserRecord): generated users,
 * quirks included, go through Avro unchanged; every field `validate` (RandomUser) reads is in the
 * schema with a type that carries it; and the derivation refuses codecs it has no Avro type for.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import avro from 'avsc';
import * as t from 'io-ts';
import { isRight } from 'fp-ts/lib/Either.js';
import { RandomUser, RandomUserRecord } from '../../../randomuser/codec.ts';
import { generateUsers } from '../../../randomuser/generator.ts';
import { RANDOMUSER_USER_AVRO } from '../../../schemas/randomuser-user.ts';
import { avroSchemaOf, withAvroType } from '../../../schemas/avro-schema.ts';
import { lookupSchema } from '../../../topology/functions.ts';

const type = avro.Type.forSchema(RANDOMUSER_USER_AVRO);
const users = generateUsers({ seed: 'avro-schema-test', page: 1, results: 2000 }).users;

test('every generated user decodes with RandomUserRecord and comes back from Avro unchanged', () => {
  for (const user of users) {
    assert.ok(isRight(RandomUserRecord.decode(user)), `RandomUserRecord decodes ${user.login.uuid}`);
    const back = JSON.parse(JSON.stringify(type.fromBuffer(type.toBuffer(user))));
    assert.deepEqual(back, JSON.parse(JSON.stringify(user)));
  }
});

test('the quirks are among them and survive: numeric and text postcodes, a null id.value', () => {
  const numeric = users.find((u) => typeof u.location.postcode === 'number');
  const text = users.find((u) => typeof u.location.postcode === 'string');
  const nullId = users.find((u) => u.id.value === null);
  assert.ok(numeric && text && nullId, 'the sample has each quirk');
  for (const user of [numeric, text, nullId]) {
    const back = type.fromBuffer(type.toBuffer(user)) as typeof user;
    assert.equal(back.location.postcode, user.location.postcode);
    assert.equal(typeof back.location.postcode, typeof user.location.postcode);
    assert.equal(back.id.value, user.id.value);
  }
});

test('every field the validate codec reads is in the Avro schema, with a type that carries what it accepts', () => {
  const fieldsOf = (schema: any, prefix = ''): Map<string, unknown> => {
    const out = new Map<string, unknown>();
    for (const field of schema.fields) {
      out.set(`${prefix}${field.name}`, field.type);
      if (typeof field.type === 'object' && field.type.type === 'record') for (const [k, v] of fieldsOf(field.type, `${prefix}${field.name}.`)) out.set(k, v);
    }
    return out;
  };
  const avroFields = fieldsOf(RANDOMUSER_USER_AVRO);
  const walk = (codec: t.Mixed, prefix: string): void => {
    for (const [name, prop] of Object.entries((codec as unknown as t.InterfaceType<t.Props>).props)) {
      const path = `${prefix}${name}`;
      assert.ok(avroFields.has(path), `the Avro schema has ${path}`);
      if ((prop as { _tag?: string })._tag === 'InterfaceType') walk(prop, `${path}.`);
    }
  };
  walk(RandomUser, '');
  assert.deepEqual(avroFields.get('location.postcode'), ['string', 'double']);
  assert.deepEqual(avroFields.get('id.value'), ['null', 'string']);
  // What validate accepts, Avro carries: a user decoded by RandomUser is valid in the schema when complete.
  for (const user of users.slice(0, 50)) assert.ok(isRight(RandomUser.decode(type.fromBuffer(type.toBuffer(user)))));
});

test('the randomuser-user named schema carries the derived Avro schema', async () => {
  await import('../../../schemas/randomuser-user.ts');
  assert.equal(lookupSchema('randomuser-user').avro, RANDOMUSER_USER_AVRO);
});

test('derivation: records by path, longs for t.Int, nullable unions with a null default, custom types, refusals naming the path', () => {
  const Code = withAvroType(new t.Type<string, string, unknown>('code', t.string.is, t.string.validate, t.identity), { type: 'string' });
  const schema = avroSchemaOf(t.type({ a: t.type({ n: t.Int, x: t.number }), b: t.union([t.string, t.null]), c: t.array(t.boolean), d: Code }), { name: 'Thing', namespace: 'test' });
  assert.deepEqual(schema, {
    type: 'record',
    name: 'Thing',
    namespace: 'test',
    fields: [
      { name: 'a', type: { type: 'record', name: 'ThingA', fields: [{ name: 'n', type: 'long' }, { name: 'x', type: 'double' }] } },
      { name: 'b', type: ['null', 'string'], default: null },
      { name: 'c', type: { type: 'array', items: 'boolean' } },
      { name: 'd', type: { type: 'string' } },
    ],
  });
  assert.doesNotThrow(() => avro.Type.forSchema(schema));
  assert.throws(() => avroSchemaOf(t.type({ when: t.type({ at: t.unknown }) }), { name: 'X' }), /X\.when\.at: no Avro type for the io-ts codec "unknown"/);
  assert.throws(() => avroSchemaOf(t.string, { name: 'X' }), /derived from a t.type codec/);
});
