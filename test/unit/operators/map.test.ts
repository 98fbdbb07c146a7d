import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapOperator } from '../../../operators/map.ts';
import { registerFunction } from '../../../topology/functions.ts';
import { registry } from '../../../topology/registry.ts';
import type { StreamRecord } from '../../../topology/types.ts';
import { configErrors, decodeOperator, fakeContext, record, run, topologyErrors, values } from './helpers.ts';

registerFunction('map-test-full-name', {
  summary: 'first + last',
  fn: (value) => {
    const { first, last } = value as { first: string; last: string };
    return { full: `${first} ${last}` };
  },
});
registerFunction('map-test-offset', { summary: 'value and offset', fn: (value, r) => `${String(value)}@${r.origin?.offset}` });
registerFunction('map-test-throws', {
  summary: 'throws on odd numbers',
  fn: (value) => {
    if ((value as number) % 2 === 1) throw new Error(`odd number ${String(value)}`);
    return (value as number) * 10;
  },
});
registerFunction('map-test-undefined', { summary: 'forgets to return', fn: () => undefined });
registerFunction('map-test-async', { summary: 'async by mistake', fn: async (value) => value });

test('map replaces the value and keeps key, timestamp, origin, raw and headers', async () => {
  const { deadLetters } = fakeContext();
  const input = record({ first: "D'Arcy", last: 'Ромашова' }, { key: 'k1', headers: { h: '1' } });
  const [output] = await run(mapOperator({ fn: 'map-test-full-name' }), [input]);
  assert.deepEqual(output, { ...input, value: { full: "D'Arcy Ромашова" } });
  assert.deepEqual(deadLetters, []);
});

test('the function receives the record too', async () => {
  fakeContext();
  const output = await run(mapOperator({ fn: 'map-test-offset' }), [record('a', { origin: { offset: 41 } }), record('b', { origin: { offset: 42 } })]);
  assert.deepEqual(values(output), ['a@41', 'b@42']);
});

test('a record for which the function throws is dead-lettered unchanged, and the batch goes on', async () => {
  const { deadLetters } = fakeContext();
  const inputs = [1, 2, 3, 4].map((n) => record(n));
  const output = await run(mapOperator({ fn: 'map-test-throws' }), inputs);
  assert.deepEqual(values(output), [20, 40]);
  assert.deepEqual(
    deadLetters.map((d) => d.reason),
    ['function "map-test-throws" threw: odd number 1', 'function "map-test-throws" threw: odd number 3'],
  );
  assert.equal(deadLetters[0].record, inputs[0], 'the original record, with its raw bytes and origin');
});

test('returning undefined or a Promise dead-letters the record', async () => {
  const { deadLetters } = fakeContext();
  assert.deepEqual(await run(mapOperator({ fn: 'map-test-undefined' }), [record(1)]), []);
  assert.deepEqual(await run(mapOperator({ fn: 'map-test-async' }), [record(1)]), []);
  assert.deepEqual(
    deadLetters.map((d) => d.reason),
    ['function "map-test-undefined" returned undefined', 'function "map-test-async" returned a Promise'],
  );
});

test('an unknown function refuses the topology, listing the known names', () => {
  assert.deepEqual(topologyErrors({ type: 'map', fn: 'nope' }), [
    'pipelines.main.operators[0].fn: unknown function "nope"; known functions: map-test-async, map-test-full-name, map-test-offset, map-test-throws, map-test-undefined',
  ]);
});

test('config: fn is required, unknown fields are refused, a valid config creates through the registry', async () => {
  assert.deepEqual(configErrors({ type: 'map' }), ['fn: required field is missing (Name of the function that computes the new value from (value, record); registered with registerFunction.)']);
  assert.deepEqual(configErrors({ type: 'map', fn: '' }), ['fn: expected a non-empty string, got ""']);
  assert.match(configErrors({ type: 'map', fn: 'x', function: 'y' })[0], /^function: unknown field "function"; known fields: fn/);
  const decoded = decodeOperator({ type: 'map', fn: 'map-test-full-name' });
  assert.ok(decoded.ok);
  const { ctx } = fakeContext();
  const operator = await registry.create('operator', decoded.config as { type: string }, ctx);
  assert.equal(operator.describe(), 'map with function "map-test-full-name"');
  const output: StreamRecord[] = await run(operator, [record({ first: 'a', last: 'b' })]);
  assert.deepEqual(values(output), [{ full: 'a b' }]);
});
