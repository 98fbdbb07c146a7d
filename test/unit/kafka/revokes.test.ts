/**
 * Revokes that wait for the batch in flight (sources/kafka/revokes.ts), in virtual time: due once none
 * of their partitions has records in flight, given up after the wait otherwise, and all at once on a
 * rollback or a close.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualTimeScheduler } from 'rxjs';
import { PendingRevokes, type Revoke } from '../../../sources/kafka/revokes.ts';

const revoke = (...partitions: number[]): Revoke => ({ keys: partitions.map((p) => `users/${p}`), partitions: partitions.map((partition) => ({ topic: 'users', partition })) });

function setup(waitMs = 20_000) {
  const scheduler = new VirtualTimeScheduler();
  const timedOut: Revoke[] = [];
  const revokes = new PendingRevokes(scheduler, waitMs, (r) => timedOut.push(r));
  // Runs what is due within the next `ms`, no further (flush alone would run every timer).
  const advance = (ms: number) => {
    scheduler.maxFrames = scheduler.frame + ms;
    scheduler.schedule(() => undefined, ms);
    scheduler.flush();
  };
  return { revokes, timedOut, advance };
}

test('a revoke is due once none of its partitions has records in flight', () => {
  const { revokes, timedOut, advance } = setup();
  const first = revoke(0, 2);
  revokes.add(first);
  assert.equal(revokes.size, 1);
  assert.equal(revokes.includes('users/0'), true);
  assert.equal(revokes.includes('users/1'), false);

  const inFlight = new Set(['users/0', 'users/1']);
  assert.deepEqual(revokes.takeDue((key) => inFlight.has(key)), [], 'users/0 is still in flight');
  inFlight.delete('users/0');
  assert.deepEqual(revokes.takeDue((key) => inFlight.has(key)), [first], 'users/1 is not being revoked: not waited for');
  assert.equal(revokes.size, 0);
  assert.equal(revokes.includes('users/0'), false);
  assert.deepEqual(revokes.takeDue(() => false), [], 'handed back once');

  advance(60_000);
  assert.deepEqual(timedOut, [], 'no timeout after it was done');
});

test('a revoke still waiting after waitMs is handed to the timeout, once', () => {
  const { revokes, timedOut, advance } = setup(20_000);
  const waiting = revoke(1);
  revokes.add(waiting);
  advance(19_999);
  assert.deepEqual(timedOut, []);
  advance(1);
  assert.deepEqual(timedOut, [waiting]);
  assert.equal(revokes.size, 0, 'no longer pending');
  assert.deepEqual(revokes.takeDue(() => false), [], 'a late commit does not revoke it again');
  advance(60_000);
  assert.deepEqual(timedOut, [waiting]);
});

test('a rollback or a close takes every pending revoke, and their timeouts are cancelled', () => {
  const { revokes, timedOut, advance } = setup();
  const a = revoke(0);
  const b = revoke(3);
  revokes.add(a);
  advance(5000);
  revokes.add(b);
  assert.deepEqual(revokes.takeAll(), [a, b]);
  assert.equal(revokes.size, 0);
  advance(60_000);
  assert.deepEqual(timedOut, []);
});
