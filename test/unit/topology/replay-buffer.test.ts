import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayBuffer } from '../../../topology/replay-buffer.ts';

/** A buffer holding 0…n-1, appended in chunks of the given sizes. */
function filled(...sizes: number[]): ReplayBuffer<number> {
  const buffer = new ReplayBuffer<number>();
  for (const size of sizes) buffer.append(Array.from({ length: size }, (_, i) => buffer.end + i));
  return buffer;
}

const counts = (b: ReplayBuffer<number>) => ({ buffered: b.buffered, uncommitted: b.uncommitted, position: b.position, end: b.end });

test('append numbers items consecutively from 0; empty appends change nothing', () => {
  const buffer = new ReplayBuffer<string>();
  assert.deepEqual({ buffered: buffer.buffered, uncommitted: buffer.uncommitted, position: buffer.position, end: buffer.end }, { buffered: 0, uncommitted: 0, position: 0, end: 0 });
  buffer.append(['a', 'b']);
  buffer.append([]);
  buffer.append(['c']);
  assert.deepEqual({ buffered: buffer.buffered, uncommitted: buffer.uncommitted, position: buffer.position, end: buffer.end }, { buffered: 3, uncommitted: 0, position: 0, end: 3 });
  assert.deepEqual(buffer.take(10), { firstSeq: 0, items: ['a', 'b', 'c'] });
});

test('take hands out up to N in order, across chunks and from the middle of one', () => {
  const buffer = filled(3, 4, 2);
  assert.deepEqual(buffer.take(2), { firstSeq: 0, items: [0, 1] });
  assert.deepEqual(counts(buffer), { buffered: 7, uncommitted: 2, position: 2, end: 9 });
  assert.deepEqual(buffer.take(5), { firstSeq: 2, items: [2, 3, 4, 5, 6] }, 'the rest of the first chunk and most of the second');
  assert.deepEqual(buffer.take(100), { firstSeq: 7, items: [7, 8] });
  assert.deepEqual(counts(buffer), { buffered: 0, uncommitted: 9, position: 9, end: 9 });
  assert.deepEqual(buffer.take(5), { firstSeq: 9, items: [] }, 'nothing left: an empty take at the next position');
  assert.deepEqual(buffer.take(0), { firstSeq: 9, items: [] });
  assert.equal(buffer.uncommitted, 9, 'empty takes leave nothing to commit');
  buffer.append([9]);
  assert.deepEqual(buffer.take(0), { firstSeq: 9, items: [] }, 'take(0) hands out nothing');
  assert.deepEqual(buffer.take(1), { firstSeq: 9, items: [9] });
});

test('commit forgets whole takes up to an end sequence number', () => {
  const buffer = filled(10);
  const a = buffer.take(3);
  const b = buffer.take(3);
  buffer.take(2);
  buffer.commit(a.firstSeq + a.items.length);
  assert.deepEqual(counts(buffer), { buffered: 2, uncommitted: 5, position: 8, end: 10 });
  buffer.commit(b.firstSeq + 1);
  assert.equal(buffer.uncommitted, 5, 'a take is committed whole, not in part');
  buffer.commit(8);
  assert.deepEqual(counts(buffer), { buffered: 2, uncommitted: 0, position: 8, end: 10 });
  buffer.commit(100);
  assert.equal(buffer.uncommitted, 0);
  buffer.take(0);
  assert.equal(buffer.rollback(), false, 'nothing uncommitted (an empty take holds nothing): nothing to put back');
  assert.deepEqual(buffer.take(10).items, [8, 9], 'committed items never come back');
});

test('rollback puts every uncommitted item back at the front, in order, before the rest; once', () => {
  const buffer = filled(4, 4, 4);
  assert.deepEqual(buffer.take(5).items, [0, 1, 2, 3, 4]);
  assert.deepEqual(buffer.take(5).items, [5, 6, 7, 8, 9]);
  assert.equal(buffer.rollback(), true);
  assert.deepEqual(counts(buffer), { buffered: 12, uncommitted: 0, position: 0, end: 12 });
  assert.equal(buffer.rollback(), false, 'a second rollback puts nothing back twice');
  assert.deepEqual(buffer.take(100), { firstSeq: 0, items: [...Array(12).keys()] });

  buffer.rollback();
  const a = buffer.take(3);
  assert.deepEqual(buffer.take(4).items, [3, 4, 5, 6]);
  buffer.commit(a.firstSeq + a.items.length);
  buffer.rollback();
  assert.deepEqual(counts(buffer), { buffered: 9, uncommitted: 0, position: 3, end: 12 });
  assert.deepEqual(buffer.take(100), { firstSeq: 3, items: [3, 4, 5, 6, 7, 8, 9, 10, 11] }, 'from the committed position on');
});

test('rollback in the middle of a chunk, with more appended meanwhile, keeps the sequence numbers', () => {
  const buffer = filled(5);
  assert.deepEqual(buffer.take(2).items, [0, 1]);
  buffer.append([5, 6]);
  assert.equal(buffer.rollback(), true);
  assert.deepEqual(counts(buffer), { buffered: 7, uncommitted: 0, position: 0, end: 7 });
  assert.deepEqual(buffer.take(3), { firstSeq: 0, items: [0, 1, 2] });
  assert.deepEqual(buffer.take(3), { firstSeq: 3, items: [3, 4, 5] });
  buffer.commit(3);
  buffer.rollback();
  assert.deepEqual(buffer.take(10), { firstSeq: 3, items: [3, 4, 5, 6] });
});
