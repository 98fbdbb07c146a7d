/** repartition-key and replay-filter: the steps either side of a repartition topic. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../../operators/repartition.ts';
import { ORIGIN_HEADER } from '../../../operators/repartition.ts';
import { registry } from '../../../topology/registry.ts';
import type { Operator, StreamRecord, TaskId } from '../../../topology/types.ts';
import { batchScope } from '../../../testing/batch-scope.ts';
import { decodeOperator, fakeContext, record, run } from './helpers.ts';

async function operator(config: Record<string, unknown>): Promise<Operator> {
  const decoded = decodeOperator(config);
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.errors.join('; '));
  return registry.create('operator', decoded.config as { type: string }, fakeContext().ctx);
}

/** A record read from the repartition topic's partition `task`, written there from `from`'s position. */
const repartitioned = (task: TaskId, from: string | undefined, value: unknown = {}): StreamRecord =>
  record(value, { origin: { topic: 'repartition', partition: task, offset: 0 }, ...(from === undefined ? {} : { headers: { [ORIGIN_HEADER]: from } }) });

test('repartition-key: the key is the JSON of the group values, equal for equal groups; the source position goes into a header', async () => {
  const keyBy = await operator({ type: 'repartition-key', groupBy: ['nat', { path: 'gender', name: 'g' }] });
  const out = await run(keyBy, [
    record({ nat: 'FR', gender: 'female' }, { origin: { topic: 'users_created', partition: 2, offset: 41 }, headers: { trace: 'x' } }),
    record({ nat: 'FR', gender: 'female', other: 1 }, { origin: { topic: 'users_created', partition: 0, offset: 7 } }),
    record({ nat: 'DE', gender: 'female' }, { origin: { topic: 'users_created', partition: 2, offset: 42 } }),
  ]);
  assert.deepEqual(out.map((r) => r.key), ['["FR","female"]', '["FR","female"]', '["DE","female"]']);
  assert.deepEqual(out[0].headers, { trace: 'x', [ORIGIN_HEADER]: 'users_created/2/41' }, 'headers kept, the position added');
  assert.equal(out[1].headers?.[ORIGIN_HEADER], 'users_created/0/7');
  assert.deepEqual(out[0].value, { nat: 'FR', gender: 'female' }, 'the value is unchanged');
});

test('repartition-key: a record without a usable group value passes with a null key (the stateful operator dead-letters it); one without a source position gets no header', async () => {
  const { deadLetters } = fakeContext();
  const keyBy = await operator({ type: 'repartition-key', groupBy: ['nat'] });
  const out = await run(keyBy, [record({ nat: null }), record({ nat: { a: 1 } }), record({ nat: 'FR' }, { origin: undefined })]);
  assert.deepEqual(out.map((r) => r.key), [null, null, '["FR"]']);
  assert.equal(out[2].headers, undefined);
  assert.equal(deadLetters.length, 0);
});

test('replay-filter: per task and source partition, a record at or below the highest position seen is dropped', async () => {
  const filter = await operator({ type: 'replay-filter' });
  const out = await run(filter, [
    repartitioned(0, 'users/0/10', 'a'),
    repartitioned(0, 'users/0/11', 'b'),
    repartitioned(0, 'users/0/10', 'a again'), // a repeat: dropped
    repartitioned(0, 'users/1/3', 'c'), // another source partition: its own mark
    repartitioned(1, 'users/0/5', 'd'), // another task: its own marks
    repartitioned(0, 'users/0/11', 'b again'),
    repartitioned(0, undefined, 'no header'),
    repartitioned(0, 'users/0/12', 'e'),
  ]);
  assert.deepEqual(out.map((r) => r.value), ['a', 'b', 'c', 'd', 'no header', 'e']);
  assert.equal(filter.metrics!().replaysDropped, 2);
});

test('replay-filter: its marks are state — noted per batch, restored per task, rolled back with a failed batch', async () => {
  const filter = await operator({ type: 'replay-filter' });
  const changes: Array<[string, TaskId, string, unknown]> = [];
  const scope = batchScope({ changed: (store, task, key, value) => changes.push([store, task, key, value]) });
  await run(filter, [repartitioned(0, 'users/0/10'), repartitioned(0, 'users/0/11'), repartitioned(2, 'users/1/4')], scope);
  assert.deepEqual(changes, [['origins', 0, 'users/0', 11], ['origins', 2, 'users/1', 4]], 'one change per task and source partition, with its last mark');

  // A task restored elsewhere drops what its marks cover, and only that.
  const moved = await operator({ type: 'replay-filter' });
  moved.loadTask!(0, new Map([['origins', new Map<string, unknown>([['users/0', 11]])]]));
  const after = await run(moved, [repartitioned(0, 'users/0/11', 'old'), repartitioned(0, 'users/0/12', 'new'), repartitioned(2, 'users/1/4', 'other task')], batchScope());
  assert.deepEqual(after.map((r) => r.value), ['new', 'other task']);

  // A failed batch is rolled back: its records come again and are not taken for repeats.
  const snapshot = moved.snapshot!();
  await run(moved, [repartitioned(0, 'users/0/13', 'x')], batchScope());
  moved.restore!(snapshot);
  const again = await run(moved, [repartitioned(0, 'users/0/13', 'x')], batchScope());
  assert.deepEqual(again.map((r) => r.value), ['x']);
  moved.dropTask!(0);
  const dropped = await run(moved, [repartitioned(0, 'users/0/5', 'after drop')], batchScope());
  assert.deepEqual(dropped.map((r) => r.value), ['after drop'], 'a dropped task forgets its marks');
});
