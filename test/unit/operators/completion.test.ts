/** Every operator's output completes when its input completes, and fails when its input fails. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from 'rxjs';
import '../../../operators/dedupe.ts';
import '../../../operators/filter.ts';
import '../../../operators/flat-map.ts';
import '../../../operators/key-by.ts';
import '../../../operators/map.ts';
import '../../../operators/mapping.ts';
import '../../../operators/repartition.ts';
import '../../../operators/validate.ts';
import * as t from 'io-ts';
import { registerFunction, registerSchema } from '../../../topology/functions.ts';
import { registry } from '../../../topology/registry.ts';
import type { StreamRecord } from '../../../topology/types.ts';
import { decodeOperator, fakeContext, record } from './helpers.ts';

registerFunction('completion-test-identity', { summary: 'identity', fn: (value) => value });
registerFunction('completion-test-pair', { summary: 'twice', fn: (value) => [value, value] });
registerSchema('completion-test-any', { summary: 'anything', codec: t.unknown });

const configs = [
  { type: 'map', fn: 'completion-test-identity' },
  { type: 'filter', where: { path: 'id', exists: true } },
  { type: 'flat-map', fn: 'completion-test-pair' },
  { type: 'key-by', field: 'id' },
  { type: 'validate', schema: 'completion-test-any' },
  { type: 'dedupe', field: 'id' },
  { type: 'mapping', fields: { id: 'id' } },
  { type: 'repartition-key', groupBy: ['id'] },
  { type: 'replay-filter' },
];

test('every record-level operator is registered and covered here', () => {
  const covered = configs.map((config) => config.type).sort();
  assert.deepEqual(
    registry.types('operator').filter((type) => covered.includes(type) || !type.startsWith('test-')),
    covered,
  );
});

for (const config of configs) {
  test(`${config.type}: the output completes when the input completes, not before`, async () => {
    const decoded = decodeOperator(config);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.errors.join('; '));
    const { ctx, batch } = fakeContext();
    const operator = await registry.create('operator', decoded.config as { type: string }, ctx);
    const input = new Subject<StreamRecord>();
    const seen: StreamRecord[] = [];
    let completed = false;
    operator.apply(input, batch).subscribe({ next: (r) => seen.push(r), complete: () => (completed = true) });
    input.next(record({ id: 1 }, { key: 'k' }));
    input.next(record({ id: 2 }, { key: 'k2' }));
    assert.equal(completed, false);
    assert.ok(seen.length >= 2, `${seen.length} records out`);
    input.complete();
    assert.equal(completed, true);
  });

  test(`${config.type}: an input error reaches the output`, async () => {
    const decoded = decodeOperator(config);
    assert.ok(decoded.ok);
    const { ctx, batch } = fakeContext();
    const operator = await registry.create('operator', decoded.config as { type: string }, ctx);
    const input = new Subject<StreamRecord>();
    let failure: unknown;
    operator.apply(input, batch).subscribe({ error: (error) => (failure = error) });
    input.error(new Error('source failed'));
    assert.equal((failure as Error | undefined)?.message, 'source failed');
  });
}
