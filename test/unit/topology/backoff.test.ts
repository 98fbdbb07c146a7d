import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from '../../../topology/backoff.ts';

test('backoff: full jitter under a bound that doubles per failure and is capped', () => {
  const top = () => 1;
  assert.deepEqual(
    Array.from({ length: 10 }, (_, attempt) => backoffDelay(attempt, 500, 30_000, top)),
    [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000],
  );
  assert.deepEqual(
    [0, 1, 2, 3].map((attempt) => backoffDelay(attempt, 500, 30_000, () => 0.25)),
    [125, 250, 500, 1000],
    'the pause is the random fraction of the bound',
  );
  assert.equal(backoffDelay(3, 500, 30_000, () => 0), 0, 'full jitter reaches 0');
  assert.equal(backoffDelay(5000, 0, 30_000, top), 0, 'a zero initial backoff stays 0 (no NaN) at any attempt');
  assert.equal(backoffDelay(5000, 500, 30_000, top), 30_000);
});
