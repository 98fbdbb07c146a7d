import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from 'rxjs';
import { dedupeOperator } from '../../../operators/dedupe.ts';
import { registry } from '../../../topology/registry.ts';
import type { StreamRecord } from '../../../topology/types.ts';
import { TopologyTestDriver } from '../../../testing/driver.ts';
import { advance, configErrors, decodeOperator, fakeContext, record, run } from './helpers.ts';

const keyed = (...keys: string[]): StreamRecord[] => keys.map((key) => record({ key }, { key }));
const keysOf = (records: StreamRecord[]): (string | null)[] => records.map((r) => r.key);

test('drops records whose record key was seen, within a batch and across batches', async () => {
  const { ctx, deadLetters } = fakeContext();
  const dedupe = dedupeOperator({ maxKeys: 100, ttl: undefined }, ctx);
  assert.deepEqual(keysOf(await run(dedupe, keyed('a', 'b', 'a', 'c', 'b'))), ['a', 'b', 'c']);
  assert.deepEqual(keysOf(await run(dedupe, keyed('c', 'd', 'a'))), ['d']);
  assert.deepEqual(dedupe.metrics!(), { duplicatesDropped: 4, keysInState: 4, tasks: 1 });
  assert.deepEqual(deadLetters, []);
});

test('field: compares the text of a field of the value; records without it are dead-lettered', async () => {
  const { ctx, deadLetters } = fakeContext();
  const dedupe = dedupeOperator({ field: 'login.uuid', maxKeys: 100 }, ctx);
  const inputs = [record({ login: { uuid: 'u1' } }), record({ login: { uuid: 'u2' } }), record({ login: {} }), record({ login: { uuid: 'u1' } }), record({ login: { uuid: { x: 1 } } })];
  const output = await run(dedupe, inputs);
  assert.deepEqual(output, [inputs[0], inputs[1]]);
  assert.deepEqual(deadLetters, [
    { record: inputs[2], reason: 'dedupe field login.uuid is missing, expected a string, number or boolean' },
    { record: inputs[4], reason: 'dedupe field login.uuid is an object, expected a string, number or boolean' },
  ]);
});

test('a record without a key is dead-lettered when comparing record keys', async () => {
  const { ctx, deadLetters } = fakeContext();
  const input = record({ n: 1 }, { key: null });
  assert.deepEqual(await run(dedupeOperator({ maxKeys: 10 }, ctx), [input]), []);
  assert.deepEqual(deadLetters, [{ record: input, reason: 'the record has no key to compare' }]);
});

test('never holds more than maxKeys keys, and forgets the least recently seen first', () => {
  const { ctx, batch } = fakeContext();
  const dedupe = dedupeOperator({ maxKeys: 3 }, ctx);
  const input = new Subject<StreamRecord>();
  const passed: (string | null)[] = [];
  dedupe.apply(input, batch).subscribe((r) => passed.push(r.key));
  for (const key of ['a', 'b', 'c', 'a', 'd', 'e', 'f', 'g', 'h', 'i', 'j']) {
    input.next(keyed(key)[0]);
    assert.ok(dedupe.metrics!().keysInState <= 3, `after ${key}: ${dedupe.metrics!().keysInState} keys`);
  }
  assert.equal(dedupe.metrics!().keysInState, 3);
  // State now holds h, i, j: a was forgotten long ago, so it passes again; j is still a duplicate.
  input.next(keyed('j')[0]);
  input.next(keyed('a')[0]);
  input.complete();
  assert.deepEqual(passed, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'a']);
});

test('a duplicate refreshes its key, so the least recently seen key is evicted instead', async () => {
  const { ctx } = fakeContext();
  const dedupe = dedupeOperator({ maxKeys: 3 }, ctx);
  // a is seen again after b and c, so d evicts b, not a.
  assert.deepEqual(keysOf(await run(dedupe, keyed('a', 'b', 'c', 'a', 'd', 'a', 'b'))), ['a', 'b', 'c', 'd', 'b']);
});

test('ttl: a key not seen for ttl (on the runtime clock) is forgotten; each sighting restarts it', async () => {
  const { ctx, scheduler } = fakeContext();
  const dedupe = dedupeOperator({ maxKeys: 100, ttl: 1000 }, ctx);
  assert.deepEqual(keysOf(await run(dedupe, keyed('a', 'b'))), ['a', 'b']);
  advance(scheduler, 999);
  assert.deepEqual(keysOf(await run(dedupe, keyed('a'))), [], 'seen 999 ms ago: a duplicate');
  advance(scheduler, 1);
  assert.deepEqual(dedupe.metrics!(), { duplicatesDropped: 1, keysInState: 1, tasks: 1 }, 'b, unseen for 1000 ms, is forgotten');
  assert.deepEqual(keysOf(await run(dedupe, keyed('b', 'a'))), ['b'], 'a was seen 1 ms ago, b was forgotten');
  advance(scheduler, 1000);
  assert.deepEqual(keysOf(await run(dedupe, keyed('a', 'b'))), ['a', 'b']);
});

test('snapshot and restore: a failed batch redelivered is not taken for duplicates of itself', async () => {
  const { ctx } = fakeContext();
  const dedupe = dedupeOperator({ maxKeys: 100 }, ctx);
  await run(dedupe, keyed('a', 'b'));
  const beforeBatch2 = dedupe.snapshot!();
  assert.deepEqual(keysOf(await run(dedupe, keyed('c', 'a', 'd'))), ['c', 'd']);
  // The batch failed downstream: the runtime restores the state and redelivers it, twice.
  for (let attempt = 0; attempt < 2; attempt++) {
    dedupe.restore!(beforeBatch2);
    assert.deepEqual(keysOf(await run(dedupe, keyed('c', 'a', 'd'))), ['c', 'd']);
    assert.deepEqual(dedupe.metrics!(), { duplicatesDropped: 1, keysInState: 4, tasks: 1 });
  }
});

test('config: maxKeys and ttl are checked with their paths', () => {
  assert.deepEqual(configErrors({ type: 'dedupe', maxKeys: 0 }), ['maxKeys: expected a positive integer, got 0']);
  assert.deepEqual(configErrors({ type: 'dedupe', ttl: '0s' }), ['ttl: expected a duration longer than zero, such as 10s, 1m or 1h, got "0s"']);
  assert.deepEqual(configErrors({ type: 'dedupe', ttl: 'soon' }), ['ttl: expected a duration longer than zero, such as 10s, 1m or 1h, got "soon"']);
  assert.deepEqual(configErrors({ type: 'dedupe', field: 'a[' }), ['field: "a[" is not a valid path: "[" at character 2 is not closed']);
});

test('a decoded config has maxKeys 100000 by default and creates through the registry', async () => {
  const decoded = decodeOperator({ type: 'dedupe', field: 'id', ttl: '10m' });
  assert.deepEqual(decoded, { ok: true, config: { type: 'dedupe', field: 'id', maxKeys: 100_000, ttl: 600_000 } });
  const operator = await registry.create('operator', decoded.config as { type: string }, fakeContext().ctx);
  assert.equal(operator.describe(), 'dedupe by id (at most 100000 keys per task, forgotten 600000 ms after last seen)');
  assert.equal((await run(operator, [record({ id: 1 }), record({ id: '1' })])).length, 1, '1 and "1" have the same text');
});

test('durable: with a state backend a restart remembers the keys, and forgotten ones stay forgotten', async () => {
  const driver = await TopologyTestDriver.start(`
name: dedupe
pipelines:
  p:
    source: { type: memory, channel: in }
    operators:
      - { type: dedupe, maxKeys: 3 }
    sink: { type: memory, channel: out }
    state: { type: memory }
    trigger: { interval: 1s }
`);
  const pipeKeys = (...keys: string[]) => driver.pipe('p', keys.map((key) => ({ key })), { key: (v) => (v as { key: string }).key });
  pipeKeys('a', 'b', 'c', 'd');
  await driver.advance(1000);
  // 'a' was forgotten when 'd' came (maxKeys 3): the changelog deleted it too.
  await driver.restart();
  pipeKeys('b', 'c', 'd', 'a');
  await driver.advance(1000);
  assert.deepEqual(driver.output('p').values().map((v) => (v as { key: string }).key), ['a', 'b', 'c', 'd', 'a'], 'b, c and d are remembered across the restart; a was forgotten');
  assert.deepEqual(driver.progress.at(-1)!.stateOperators[0].metrics, { duplicatesDropped: 3, keysInState: 3, tasks: 1 });
  await driver.close();
});
