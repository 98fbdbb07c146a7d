import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterOperator, type FilterConfig } from '../../../operators/filter.ts';
import { registerFunction } from '../../../topology/functions.ts';
import { registry } from '../../../topology/registry.ts';
import { configErrors, decodeOperator, fakeContext, record, run, topologyErrors, values } from './helpers.ts';

registerFunction('filter-test-even', { summary: 'even numbers', fn: (value) => (value as number) % 2 === 0 });
registerFunction('filter-test-throws', {
  summary: 'throws on 3',
  fn: (value) => {
    if (value === 3) throw new TypeError('cannot judge 3');
    return true;
  },
});

const people = [
  { name: 'Ava', gender: 'female', age: 31, dob: '1994-05-01T00:00:00.000Z', nat: 'FR', email: 'ava@example.com', tags: ['x'] },
  { name: 'Мирон', gender: 'male', age: 17, dob: '2008-02-11T00:00:00.000Z', nat: 'UA', email: null },
  { name: 'آرمیتا', gender: 'female', age: 18, dob: '2007-12-31T00:00:00.000Z', nat: 'IR' },
  { name: 'Noah', gender: 'male', age: '44', dob: '1981-07-07T00:00:00.000Z', nat: 'US', email: 'noah@example.org' },
];

async function namesWhere(where: Record<string, unknown>): Promise<unknown[]> {
  const { deadLetters } = fakeContext();
  const output = await run(filterOperator({ where: where as FilterConfig['where'] }), people.map((p) => record(p)));
  assert.deepEqual(deadLetters, [], 'a declarative filter dead-letters nothing');
  return values(output).map((v) => (v as { name: string }).name);
}

test('where: equals, notEquals, in, notIn', async () => {
  assert.deepEqual(await namesWhere({ path: 'gender', equals: 'female' }), ['Ava', 'آرمیتا']);
  assert.deepEqual(await namesWhere({ path: 'gender', notEquals: 'female' }), ['Мирон', 'Noah']);
  assert.deepEqual(await namesWhere({ path: 'nat', in: ['FR', 'IR'] }), ['Ava', 'آرمیتا']);
  assert.deepEqual(await namesWhere({ path: 'nat', notIn: ['FR', 'IR'] }), ['Мирон', 'Noah']);
  assert.deepEqual(await namesWhere({ path: 'age', equals: 44 }), [], '=== : the number 44 is not the string "44"');
  assert.deepEqual(await namesWhere({ path: 'email', equals: null }), ['Мирон'], 'null matches null, not a missing field');
  assert.deepEqual(await namesWhere({ path: 'email', notEquals: 'ava@example.com' }), ['Мирон', 'آرمیتا', 'Noah'], 'a missing value is not equal');
});

test('where: exists keeps values other than null and missing', async () => {
  assert.deepEqual(await namesWhere({ path: 'email', exists: true }), ['Ava', 'Noah']);
  assert.deepEqual(await namesWhere({ path: 'email', exists: false }), ['Мирон', 'آرمیتا']);
  assert.deepEqual(await namesWhere({ path: 'tags[0]', exists: true }), ['Ava']);
});

test('where: gt/gte/lt/lte compare numbers with numbers and strings with strings only', async () => {
  assert.deepEqual(await namesWhere({ path: 'age', gte: 18 }), ['Ava', 'آرمیتا'], 'the string "44" is not compared with 18');
  assert.deepEqual(await namesWhere({ path: 'age', gt: 18 }), ['Ava']);
  assert.deepEqual(await namesWhere({ path: 'age', lt: 18 }), ['Мирон']);
  assert.deepEqual(await namesWhere({ path: 'age', lte: 18 }), ['Мирон', 'آرمیتا']);
  assert.deepEqual(await namesWhere({ path: 'dob', lt: '2000-01-01' }), ['Ava', 'Noah'], 'ISO dates compare as strings');
});

test('where: matches tests strings against a regular expression', async () => {
  assert.deepEqual(await namesWhere({ path: 'email', matches: '@example\\.com$' }), ['Ava']);
  assert.deepEqual(await namesWhere({ path: 'name', matches: '^\\p{Script=Arabic}+$' }), ['آرمیتا'], 'Unicode mode');
  assert.deepEqual(await namesWhere({ path: 'age', matches: '^4' }), ['Noah'], 'numbers are not strings');
});

test('fn: keeps records for which the function returns a truthy value', async () => {
  const { deadLetters } = fakeContext();
  const output = await run(filterOperator({ fn: 'filter-test-even' }), [1, 2, 3, 4].map((n) => record(n)));
  assert.deepEqual(values(output), [2, 4]);
  assert.deepEqual(deadLetters, [], 'dropped records are not dead letters');
});

test('fn: a record for which the function throws is dead-lettered unchanged', async () => {
  const { deadLetters } = fakeContext();
  const inputs = [1, 3, 5].map((n) => record(n));
  const output = await run(filterOperator({ fn: 'filter-test-throws' }), inputs);
  assert.deepEqual(values(output), [1, 5]);
  assert.deepEqual(deadLetters, [{ record: inputs[1], reason: 'function "filter-test-throws" threw: cannot judge 3' }]);
});

test('loading: exactly one of fn and where, and a known function', () => {
  assert.deepEqual(topologyErrors({ type: 'filter' }), ['pipelines.main.operators[0]: give either fn or where']);
  assert.deepEqual(topologyErrors({ type: 'filter', fn: 'filter-test-even', where: { path: 'a', exists: true } }), ['pipelines.main.operators[0].where: give either fn or where, not both']);
  assert.deepEqual(topologyErrors({ type: 'filter', where: { path: 'a', equals: 1, in: [1] } }), [
    'pipelines.main.operators[0].where: give exactly one comparison (equals, notEquals, in, notIn, exists, gt, gte, lt, lte, matches); got equals, in',
  ]);
  assert.match(topologyErrors({ type: 'filter', where: { path: 'a..b', exists: true } })[0], /^pipelines\.main\.operators\[0\]\.where\.path: "a\.\.b" is not a valid path/);
  assert.deepEqual(topologyErrors({ type: 'filter', fn: 'nope' }), ['pipelines.main.operators[0].fn: unknown function "nope"; known functions: filter-test-even, filter-test-throws']);
});

test('config: both fn and where are refused at where, with the reason', () => {
  assert.deepEqual(configErrors({ type: 'filter', fn: 'filter-test-even', where: { path: 'gender', equals: 'female' } }), ['where: give either fn or where, not both']);
});

test('config: where needs a valid path and exactly one comparison of the right type', () => {
  assert.deepEqual(configErrors({ type: 'filter', where: { path: 'gender' } }), [
    'where: give exactly one comparison (equals, notEquals, in, notIn, exists, gt, gte, lt, lte, matches); got none',
  ]);
  assert.deepEqual(configErrors({ type: 'filter', where: { path: 'gender', equals: 'f', in: ['f'] } }), [
    'where: give exactly one comparison (equals, notEquals, in, notIn, exists, gt, gte, lt, lte, matches); got equals, in',
  ]);
  assert.deepEqual(configErrors({ type: 'filter', where: { path: 'a..b', equals: 1 } }), ['where.path: "a..b" is not a valid path: a field name is missing before the "." at character 3']);
  assert.deepEqual(configErrors({ type: 'filter', where: { path: '', equals: 1 } }), ['where.path: a path cannot be empty']);
  assert.deepEqual(configErrors({ type: 'filter', where: { path: 'a', in: 'x' } }), ['where.in: expected a list of strings, numbers, booleans or nulls, got "x"']);
  assert.deepEqual(configErrors({ type: 'filter', where: { path: 'a', gt: true } }), ['where.gt: expected a number or a string, got true']);
  assert.match(configErrors({ type: 'filter', where: { path: 'a', matches: '(' } })[0], /^where\.matches: not a valid regular expression: /);
  assert.match(configErrors({ type: 'filter', where: { path: 'a', equal: 1 } })[0], /^where\.equal: unknown field "equal"; known fields: path, equals,/);
});

test('a decoded where config creates a working filter through the registry', async () => {
  const decoded = decodeOperator({ type: 'filter', where: { path: 'gender', equals: 'male' } });
  assert.ok(decoded.ok);
  const { ctx } = fakeContext();
  const operator = await registry.create('operator', decoded.config as { type: string }, ctx);
  assert.equal(operator.describe(), 'filter where gender equals "male"');
  const output = await run(operator, people.map((p) => record(p)));
  assert.deepEqual(values(output).map((v) => (v as { name: string }).name), ['Мирон', 'Noah']);
});
