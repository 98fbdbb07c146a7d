import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from 'rxjs';
import { perRecord } from '../../../operators/per-record.ts';
import type { StreamRecord } from '../../../topology/types.ts';
import { fakeContext, record } from './helpers.ts';

const noDeadLetters = fakeContext().batch;

test('the output completes exactly when the input completes', () => {
  const input = new Subject<StreamRecord>();
  const seen: unknown[] = [];
  let completed = false;
  perRecord((r, out) => out.next(r))(input, noDeadLetters).subscribe({ next: (r) => seen.push(r.value), complete: () => (completed = true) });
  input.next(record(1));
  input.next(record(2));
  assert.equal(completed, false);
  input.complete();
  assert.equal(completed, true);
  assert.deepEqual(seen, [1, 2]);
});

test('an input error reaches the output', () => {
  const input = new Subject<StreamRecord>();
  let failure: unknown;
  perRecord((r, out) => out.next(r))(input, noDeadLetters).subscribe({ error: (error) => (failure = error) });
  input.error(new Error('source broke'));
  assert.equal((failure as Error).message, 'source broke');
});

test('an exception in the handler fails the output instead of escaping as an uncaught error', () => {
  const input = new Subject<StreamRecord>();
  const seen: unknown[] = [];
  let failure: unknown;
  perRecord((r, out) => {
    if (r.value === 2) throw new Error('bug');
    out.next(r);
  })(input, noDeadLetters).subscribe({ next: (r) => seen.push(r.value), error: (error) => (failure = error) });
  input.next(record(1));
  input.next(record(2));
  input.next(record(3));
  assert.equal((failure as Error).message, 'bug');
  assert.deepEqual(seen, [1]);
});
