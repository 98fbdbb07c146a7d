import { test } from 'node:test';
import assert from 'node:assert/strict';
import { from } from 'rxjs';
import { parse } from 'yaml';
import { flatMapOperator } from '../../../operators/flat-map.ts';
import { mappingOperator, type MappingConfig } from '../../../operators/mapping.ts';
import { perRecord } from '../../../operators/per-record.ts';
import { randomUserJson } from '../../../randomuser/generator.ts';
import { toCreatedUserRow } from '../../../randomuser/row.ts';
import { registry } from '../../../topology/registry.ts';
import type { Operator, StreamRecord } from '../../../topology/types.ts';
import { configErrors, decodeOperator, fakeContext, record, run, values } from './helpers.ts';
import { randomUser, referenceRow, USER_MAPPING_YAML } from './randomuser-fixture.ts';

async function userMapping(ctx = fakeContext().ctx): Promise<Operator> {
  const decoded = decodeOperator(parse(USER_MAPPING_YAML));
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.errors.join('\n'));
  return registry.create('operator', decoded.config as { type: string }, ctx);
}

async function mapOne(config: MappingConfig, value: unknown): Promise<{ output: unknown[]; reasons: string[] }> {
  const { deadLetters } = fakeContext();
  const output = await run(mappingOperator(config), [record(value)]);
  return { output: values(output), reasons: deadLetters.map((d) => d.reason) };
}

test("the user pipeline's mapping matches the reference row for every kind of user", async () => {
  const { ctx, deadLetters } = fakeContext();
  const mapping = await userMapping(ctx);
  // Through JSON, as users arrive from Kafka.
  const users = Array.from({ length: 60 }, (_, i) => JSON.parse(JSON.stringify(randomUser(i))));
  const inputs = users.map((user) => record(user, { key: user.login.uuid }));
  const output = await run(mapping, inputs);
  assert.deepEqual(deadLetters, []);
  assert.equal(output.length, users.length);
  output.forEach((row, i) => {
    assert.deepEqual(row.value, referenceRow(users[i]), `user ${i} (${users[i].nat})`);
    assert.deepEqual(Object.keys(row.value as object), Object.keys(referenceRow(users[i])), 'fields in the declared order');
    assert.deepEqual({ ...row, value: null }, { ...inputs[i], value: null }, 'key, timestamp, origin and raw are kept');
  });
});

test("flat-map of a generated RandomUser response, then the mapping, gives the project's reference rows", async () => {
  const { ctx, deadLetters } = fakeContext();
  const { json } = randomUserJson({ seed: 'operators-mapping', results: 500 });
  const response = JSON.parse(json);
  const rows = await run(await userMapping(ctx), await run(flatMapOperator({ path: 'results' }), [record(response, { raw: json })]));
  assert.deepEqual(deadLetters, []);
  assert.equal(rows.length, 500);
  assert.deepEqual(values(rows), response.results.map(toCreatedUserRow));
  assert.ok(response.results.some((user: { location: { postcode: unknown } }) => typeof user.location.postcode === 'number'), 'the sample has numeric postcodes');
});

test('quirks: a numeric postcode becomes text; Persian, Cyrillic and apostrophes pass through intact', async () => {
  const mapping = await userMapping();
  const [persian, ukrainian, irish] = values(await run(mapping, [record(randomUser(0)), record(randomUser(1)), record(randomUser(2))])) as Record<string, unknown>[];
  assert.equal(persian.post_code, '69217');
  assert.equal(persian.first_name, 'آرمیتا');
  assert.equal(persian.address, `${randomUser(0).location.street.number} میدان امام حسین, اراک, کرمان, Iran`);
  assert.equal(ukrainian.last_name, 'Ковальчук');
  assert.equal(ukrainian.post_code, '12741');
  assert.equal(irish.last_name, "O'Connor");
  assert.equal(irish.post_code, 'A92 F3C8');
  assert.match(irish.address as string, /St\. Patrick's Road, Tralee, Kerry, Ireland$/);
});

test('null and missing values become null; default replaces both; as is not applied to null', async () => {
  const config: MappingConfig = {
    fields: {
      present_null: 'a',
      missing: 'b.c',
      with_default: { path: 'b.c', default: 'n/a' },
      null_with_default: { path: 'a', default: 0, as: 'integer' },
      null_as_string: { path: 'a', as: 'string' },
    },
  };
  assert.deepEqual(await mapOne(config, { a: null }), { output: [{ present_null: null, missing: null, with_default: 'n/a', null_with_default: 0, null_as_string: null }], reasons: [] });
});

test('required: a missing or null path dead-letters the original record, naming field and path', async () => {
  const { deadLetters } = fakeContext();
  const mapping = mappingOperator({ fields: { id: { path: 'login.uuid', required: true }, name: 'name' } });
  const inputs = [record({ login: {}, name: 'x' }), record({ login: { uuid: null } }), record({ login: { uuid: 'u' } })];
  assert.deepEqual(values(await run(mapping, inputs)), [{ id: 'u', name: null }]);
  assert.deepEqual(deadLetters, [
    { record: inputs[0], reason: 'id: path login.uuid is missing' },
    { record: inputs[1], reason: 'id: path login.uuid is null' },
  ]);
});

test('templates: missing or null parts insert nothing; numbers as text; objects as JSON', async () => {
  const config: MappingConfig = { fields: { address: '{street.number} {street.name}, {city}, {country}', raw: 'tags={tags} ok={ok}' } };
  assert.deepEqual(await mapOne(config, { street: { number: 12 }, city: null, country: 'Україна', tags: ['a', "b'c"], ok: false }), {
    output: [{ address: '12 , , Україна', raw: 'tags=["a","b\'c"] ok=false' }],
    reasons: [],
  });
});

test('templates: required dead-letters a record with a missing part, naming the first one', async () => {
  const config: MappingConfig = { fields: { address: { template: '{street.number} {street.name}, {city}', required: true } } };
  assert.deepEqual(await mapOne(config, { street: { number: 12, name: 'Main St' }, city: 'Lyon' }), { output: [{ address: '12 Main St, Lyon' }], reasons: [] });
  assert.deepEqual(await mapOne(config, { street: { number: 12 } }), { output: [], reasons: ['address: path street.name is missing'] });
});

test('as: conversions, and the reason when a value cannot be converted', async () => {
  const config: MappingConfig = {
    fields: {
      s: { path: 'n', as: 'string' },
      n: { path: 'text', as: 'number' },
      i: { path: 'whole', as: 'integer' },
      b: { path: 'flag', as: 'boolean' },
      j: { path: 'obj', as: 'json' },
    },
  };
  assert.deepEqual(await mapOne(config, { n: 1.5, text: ' -12.5e1 ', whole: '42', flag: 'true', obj: { a: ["é'"] } }), {
    output: [{ s: '1.5', n: -125, i: 42, b: true, j: '{"a":["é\'"]}' }],
    reasons: [],
  });
  const cases: [MappingConfig, unknown, string][] = [
    [{ fields: { i: { path: 'v', as: 'integer' } } }, { v: '12.5' }, 'i: path v is "12.5", which cannot be read as an integer'],
    [{ fields: { n: { path: 'v', as: 'number' } } }, { v: '' }, 'n: path v is "", which cannot be read as a number'],
    [{ fields: { n: { path: 'v', as: 'number' } } }, { v: '0x10' }, 'n: path v is "0x10", which cannot be read as a number'],
    [{ fields: { b: { path: 'v', as: 'boolean' } } }, { v: 1 }, 'b: path v is 1, which cannot be read as a boolean'],
    [{ fields: { s: { path: 'v', as: 'string' } } }, { v: { city: 'x' } }, 's: path v is an object, which cannot be read as a string'],
  ];
  for (const [caseConfig, value, reason] of cases) assert.deepEqual(await mapOne(caseConfig, value), { output: [], reasons: [reason] });
});

test('constants: the same frozen value in every record', async () => {
  fakeContext();
  const output = values(await run(mappingOperator({ fields: { source: { value: 'randomuser' }, tags: { value: ['a'] }, none: { value: null } } }), [record({}), record({})])) as Record<string, unknown>[];
  assert.deepEqual(output, [
    { source: 'randomuser', tags: ['a'], none: null },
    { source: 'randomuser', tags: ['a'], none: null },
  ]);
  assert.throws(() => (output[0].tags as string[]).push('b'), TypeError);
});

test('keep: true merges the mapped fields over the original value', async () => {
  const { output } = await mapOne({ keep: true, fields: { name: 'name.first', age: { path: 'age', as: 'integer' } } }, { name: { first: 'Ива' }, age: '30', nat: 'RU' });
  assert.deepEqual(output, [{ name: 'Ива', age: 30, nat: 'RU' }]);
});

test('a value that is not an object is dead-lettered', async () => {
  const { deadLetters } = fakeContext();
  const mapping = mappingOperator({ fields: { id: 'id' } });
  assert.deepEqual(await run(mapping, [record('text'), record(Buffer.from('{}')), record([{ id: 1 }])]), []);
  assert.deepEqual(
    deadLetters.map((d) => d.reason),
    ['the value is a string, expected an object to map fields from', 'the value is a Buffer, expected an object to map fields from', 'the value is an array, expected an object to map fields from'],
  );
});

test('config errors name the output field and the part of its spec', () => {
  const errors = configErrors({
    type: 'mapping',
    fields: {
      id: '',
      name: 'name..first',
      address: '{street.number} {street.name',
      post_code: { path: 'location.postcode', as: 'float' },
      both: { path: 'a', template: '{b}' },
      neither: { paht: 'a' },
      age: { path: 'dob.age', as: 'integer', default: 'unknown' },
      strict: { path: 'x', required: true, default: 1 },
      // Computed, so it is an own key as YAML makes it (a plain `__proto__:` would set the prototype).
      ['__proto__']: 'x',
      constant: { value: 1, as: 'string' },
    },
  });
  assert.deepEqual(errors, [
    'fields.id: a path cannot be empty',
    'fields.name: "name..first" is not a valid path: a field name is missing before the "." at character 6',
    'fields.address: "{street.number} {street.name" is not a valid template: "{" at character 17 is not closed',
    'fields.post_code.as: expected one of "string", "number", "integer", "boolean", "json", got "float"',
    'fields.both: give exactly one of path, template or value; got path, template',
    'fields.neither: give exactly one of path, template or value; got none',
    'fields.age.default: "unknown" cannot be read as an integer',
    'fields.strict.default: give default or required: true, not both',
    'fields.__proto__: "__proto__" cannot be an output field name',
    'fields.constant.as: unknown field "as"; known fields: value',
  ]);
  assert.deepEqual(configErrors({ type: 'mapping', fields: {} }), ['fields: map at least one field']);
  assert.deepEqual(configErrors({ type: 'mapping', fields: { a: 'a' }, keep: 'yes' }), ['keep: expected true or false, got "yes"']);
});

test('creation refuses what the config codec refuses, naming the field', () => {
  assert.throws(() => mappingOperator({ fields: { id: 'login..uuid' } }), { message: '"login..uuid" is not a valid path: a field name is missing before the "." at character 7' });
  assert.throws(() => mappingOperator({ fields: { ['__proto__']: 'x' } }), { message: '"__proto__" cannot be an output field name' });
  assert.throws(() => mappingOperator({ fields: { age: { path: 'age', as: 'integer', default: 'n/a' } } }), { message: 'default "n/a" cannot be read as an integer' });
});

test('names and text that look like code stay data in the compiled mapping', async () => {
  const name = 'we"ird\\name`${1}`*/\u2028';
  const key = "odd\"key\\`+exit(1)+`*/'";
  const config: MappingConfig = { fields: { [name]: `${key}.x`, line: `"quoted" \\{${key}.x}\n*/` }, keep: true };
  const { output, reasons } = await mapOne(config, { [key]: { x: 'ok' } });
  assert.deepEqual(reasons, []);
  assert.deepEqual(output, [{ [key]: { x: 'ok' }, [name]: 'ok', line: '"quoted" \\ok\n*/' }]);
});

test('describe names the output fields', async () => {
  assert.equal((await userMapping()).describe(), 'mapping to 12 fields (id, first_name, last_name, gender, address, post_code, email, username, dob, registered_date, phone, picture)');
});

// bench/mapping-cost.ts times this over 200,000 records; here, what it relies on, on a few thousand.
test("the user pipeline's mapping delivers a batch synchronously, every record the reference row of its user", async () => {
  const users = Array.from({ length: 500 }, (_, i) => JSON.parse(JSON.stringify(randomUser(i))));
  const inputs: StreamRecord[] = Array.from({ length: 2000 }, (_, i) => ({ key: null, value: users[i % users.length], timestamp: i, origin: { topic: 'users_created', partition: 0, offset: i } }));
  const { ctx, batch, deadLetters } = fakeContext();
  const mapping = await userMapping(ctx);
  const mapped: unknown[] = [];
  const passed: unknown[] = [];
  mapping.apply(from(inputs), batch).subscribe((r) => mapped.push(r.value));
  perRecord((r, out) => out.next(r))(from(inputs), batch).subscribe((r) => passed.push(r.value));
  // Counted right after subscribe, as the benchmark counts them.
  assert.deepEqual(mapped, inputs.map((_, i) => referenceRow(users[i % users.length])));
  assert.deepEqual(passed, inputs.map((r) => r.value));
  assert.deepEqual(deadLetters, []);
});
