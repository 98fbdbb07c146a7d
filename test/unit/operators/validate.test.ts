import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as t from 'io-ts';
import { validateOperator } from '../../../operators/validate.ts';
import { registerSchema } from '../../../topology/functions.ts';
import { registry } from '../../../topology/registry.ts';
import { configErrors, decodeOperator, fakeContext, record, run, topologyErrors, values } from './helpers.ts';

const Uuid = new t.Type<string, unknown, unknown>(
  'a UUID string',
  (u): u is string => typeof u === 'string',
  (u, c) => (typeof u === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(u) ? t.success(u) : t.failure(u, c)),
  (a) => a,
);
const PostcodeText = new t.Type<string, unknown, unknown>(
  'a postcode',
  (u): u is string => typeof u === 'string',
  (u, c) => (typeof u === 'string' ? t.success(u) : typeof u === 'number' ? t.success(String(u)) : t.failure(u, c)),
  (a) => a,
);
registerSchema('validate-test-user', {
  summary: 'a small user',
  codec: t.type({ login: t.type({ uuid: Uuid }), email: t.string, location: t.type({ postcode: PostcodeText }) }) as t.Type<unknown, unknown, unknown>,
});
registerSchema('validate-test-throws', {
  summary: 'a broken codec',
  codec: new t.Type<unknown, unknown, unknown>(
    'broken',
    (_u): _u is unknown => true,
    () => {
      throw new Error('codec bug');
    },
    (a) => a,
  ),
});

const valid = { login: { uuid: '6f1c1a4e-4a8e-4b43-9a8f-2d1c0e5b7a11' }, email: "o'brien@example.com", location: { postcode: 69217 } };

test('a value that decodes passes, replaced by the decoded value', async () => {
  const { deadLetters } = fakeContext();
  const input = record(valid, { key: 'k' });
  const output = await run(validateOperator({ schema: 'validate-test-user' }), [input]);
  assert.deepEqual(output, [{ ...input, value: { ...valid, location: { postcode: '69217' } } }]);
  assert.deepEqual(deadLetters, []);
});

test('a value that does not decode is dead-lettered unchanged, with every error by path', async () => {
  const { deadLetters } = fakeContext();
  const bad = record({ login: {}, email: 42, location: { postcode: 69217 } });
  const output = await run(validateOperator({ schema: 'validate-test-user' }), [bad, record(valid)]);
  assert.equal(output.length, 1);
  assert.deepEqual(deadLetters, [{ record: bad, reason: 'login.uuid: expected a UUID string, got nothing; email: expected string, got 42' }]);
});

test('a value that is not even an object gets a top-level reason', async () => {
  const { deadLetters } = fakeContext();
  await run(validateOperator({ schema: 'validate-test-user' }), [record('not json')]);
  assert.equal(deadLetters.length, 1);
  assert.match(deadLetters[0].reason, /^\(top level\): expected .*, got "not json"$/);
});

test('a codec that throws dead-letters the record instead of failing the batch', async () => {
  const { deadLetters } = fakeContext();
  const output = await run(validateOperator({ schema: 'validate-test-throws' }), [record(1)]);
  assert.deepEqual(output, []);
  assert.deepEqual(deadLetters.map((d) => d.reason), ['schema "validate-test-throws" threw: codec bug']);
});

test('an unknown schema refuses the topology, listing the known names', () => {
  assert.deepEqual(topologyErrors({ type: 'validate', schema: 'user' }), ['pipelines.main.operators[0].schema: unknown schema "user"; known schemas: validate-test-throws, validate-test-user']);
});

test('config: schema is a required non-empty string; a valid config creates through the registry', async () => {
  assert.match(configErrors({ type: 'validate' })[0], /^schema: required field is missing/);
  assert.deepEqual(configErrors({ type: 'validate', schema: '' }), ['schema: expected a non-empty string, got ""']);
  const decoded = decodeOperator({ type: 'validate', schema: 'validate-test-user' });
  assert.ok(decoded.ok);
  const operator = await registry.create('operator', decoded.config as { type: string }, fakeContext().ctx);
  assert.equal(operator.describe(), 'validate against schema "validate-test-user"');
  assert.equal(values(await run(operator, [record(valid)])).length, 1);
});
