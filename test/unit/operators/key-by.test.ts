import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyByOperator } from '../../../operators/key-by.ts';
import { registry } from '../../../topology/registry.ts';
import { configErrors, decodeOperator, fakeContext, record, run } from './helpers.ts';

test('the value at the field becomes the key; the rest of the record is unchanged', async () => {
  const { deadLetters } = fakeContext();
  const input = record({ login: { uuid: '6f1c1a4e-4a8e-4b43-9a8f-2d1c0e5b7a11' } }, { key: 'old' });
  const output = await run(keyByOperator({ field: 'login.uuid' }), [input]);
  assert.deepEqual(output, [{ ...input, key: '6f1c1a4e-4a8e-4b43-9a8f-2d1c0e5b7a11' }]);
  assert.deepEqual(deadLetters, []);
});

test('numbers and booleans become their text', async () => {
  fakeContext();
  const output = await run(keyByOperator({ field: 'results[0].id' }), [record({ results: [{ id: 69217 }] }), record({ results: [{ id: true }] }), record({ results: [{ id: 'Ёж' }] })]);
  assert.deepEqual(
    output.map((r) => r.key),
    ['69217', 'true', 'Ёж'],
  );
});

test('a missing, null, object or array field dead-letters the original record', async () => {
  const { deadLetters } = fakeContext();
  const inputs = [record({ login: {} }), record({ login: { uuid: null } }), record({ login: { uuid: { v: 1 } } }), record({ login: { uuid: [1] } }), record(null)];
  assert.deepEqual(await run(keyByOperator({ field: 'login.uuid' }), inputs), []);
  assert.deepEqual(
    deadLetters.map((d) => d.reason),
    [
      'key field login.uuid is missing, expected a string, number or boolean',
      'key field login.uuid is null, expected a string, number or boolean',
      'key field login.uuid is an object, expected a string, number or boolean',
      'key field login.uuid is an array, expected a string, number or boolean',
      'key field login.uuid is missing, expected a string, number or boolean',
    ],
  );
  assert.deepEqual(
    deadLetters.map((d) => d.record),
    inputs,
  );
});

test('config: field is a required, valid path', () => {
  assert.deepEqual(configErrors({ type: 'key-by', field: 'login..uuid' }), ['field: "login..uuid" is not a valid path: a field name is missing before the "." at character 7']);
  assert.match(configErrors({ type: 'key-by' })[0], /^field: required field is missing/);
  assert.deepEqual(configErrors({ type: 'key-by', field: 7 }), ['field: expected a path such as name.first or results[0].id, got 7']);
});

test('a decoded config creates a working operator through the registry', async () => {
  const decoded = decodeOperator({ type: 'key-by', field: 'id' });
  assert.ok(decoded.ok);
  const operator = await registry.create('operator', decoded.config as { type: string }, fakeContext().ctx);
  assert.equal(operator.describe(), 'key-by id');
  assert.deepEqual((await run(operator, [record({ id: 5 })])).map((r) => r.key), ['5']);
});
