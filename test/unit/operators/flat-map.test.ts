import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flatMapOperator } from '../../../operators/flat-map.ts';
import { registerFunction } from '../../../topology/functions.ts';
import { registry } from '../../../topology/registry.ts';
import { configErrors, decodeOperator, fakeContext, record, run, topologyErrors, values } from './helpers.ts';

registerFunction('flat-map-test-words', { summary: 'split into words', fn: (value) => (value as string).split(' ') });
registerFunction('flat-map-test-not-array', { summary: 'returns a string', fn: (value) => value });
registerFunction('flat-map-test-throws', {
  summary: 'throws',
  fn: () => {
    throw new Error('cannot split');
  },
});

test('path: each element becomes a record with the original key, timestamp, origin, raw and headers', async () => {
  const { deadLetters } = fakeContext();
  const response = record({ results: [{ id: 1 }, { id: 2 }, { id: 3 }], info: { seed: 'x' } }, { key: 'batch-7', headers: { h: 'v' } });
  const output = await run(flatMapOperator({ path: 'results' }), [response]);
  assert.deepEqual(
    output,
    [1, 2, 3].map((id) => ({ ...response, value: { id } })),
  );
  assert.deepEqual(deadLetters, []);
});

test('path: a nested array, an empty array emits nothing, records keep their order', async () => {
  fakeContext();
  const output = await run(flatMapOperator({ path: 'page.items' }), [record({ page: { items: ['a', 'b'] } }), record({ page: { items: [] } }), record({ page: { items: ['c'] } })]);
  assert.deepEqual(values(output), ['a', 'b', 'c']);
});

test('path: a missing, null or non-array field dead-letters the record unchanged', async () => {
  const { deadLetters } = fakeContext();
  const inputs = [record({ other: 1 }), record({ results: null }), record({ results: { id: 1 } }), record('plain text')];
  assert.deepEqual(await run(flatMapOperator({ path: 'results' }), inputs), []);
  assert.deepEqual(
    deadLetters.map((d) => d.reason),
    ['path results is missing, expected an array', 'path results is null, expected an array', 'path results is an object, expected an array', 'path results is missing, expected an array'],
  );
  assert.equal(deadLetters[2].record, inputs[2]);
});

test('fn: emits each returned element; a throw or a non-array dead-letters the record', async () => {
  const { deadLetters } = fakeContext();
  assert.deepEqual(values(await run(flatMapOperator({ fn: 'flat-map-test-words' }), [record("l'été Санкт Петербург")])), ["l'été", 'Санкт', 'Петербург']);
  const input = record('x');
  assert.deepEqual(await run(flatMapOperator({ fn: 'flat-map-test-not-array' }), [input]), []);
  assert.deepEqual(await run(flatMapOperator({ fn: 'flat-map-test-throws' }), [input]), []);
  assert.deepEqual(deadLetters, [
    { record: input, reason: 'function "flat-map-test-not-array" returned a string, expected an array' },
    { record: input, reason: 'function "flat-map-test-throws" threw: cannot split' },
  ]);
});

test('loading: exactly one of fn and path, and a known function', () => {
  assert.deepEqual(topologyErrors({ type: 'flat-map' }), ['pipelines.main.operators[0]: give either fn or path']);
  assert.deepEqual(topologyErrors({ type: 'flat-map', fn: 'flat-map-test-words', path: 'results' }), ['pipelines.main.operators[0].path: give either fn or path, not both']);
  assert.match(topologyErrors({ type: 'flat-map', fn: 'nope' })[0], /^pipelines\.main\.operators\[0\]\.fn: unknown function "nope"; known functions: flat-map-test/);
});

test('config: path-precise errors', () => {
  assert.deepEqual(configErrors({ type: 'flat-map', fn: 'flat-map-test-words', path: 'results' }), ['path: give either fn or path, not both']);
  assert.deepEqual(configErrors({ type: 'flat-map', path: 'results[' }), ['path: "results[" is not a valid path: "[" at character 8 is not closed']);
});

test('a decoded config creates a working operator through the registry', async () => {
  const decoded = decodeOperator({ type: 'flat-map', path: 'results' });
  assert.ok(decoded.ok);
  const operator = await registry.create('operator', decoded.config as { type: string }, fakeContext().ctx);
  assert.equal(operator.describe(), 'flat-map the array of path results');
  assert.deepEqual(values(await run(operator, [record({ results: [1, 2] })])), [1, 2]);
});
