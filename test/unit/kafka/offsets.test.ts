/**
 * The kafka source's offset bookkeeping, without a broker: batch offsets, what a commit commits after
 * a rebalance, where a rollback seeks to, which partitions have records in flight (what a revoke waits
 * for), caught-up detection and lag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionPositions, parsePartitionKey, partitionKey } from '../../../sources/kafka/positions.ts';
import { batchOffsets } from '../../../sources/kafka/records.ts';

const m = (partition: number, offset: number, topic = 'users') => ({ topic, partition, offset });

test('batch offsets: first offset and last offset + 1, per partition in the batch', () => {
  assert.deepEqual(batchOffsets([m(0, 10), m(1, 3), m(0, 11), m(0, 12), m(1, 4), m(0, 5, 'other.topic')]), {
    startOffsets: { 'users/0': 10, 'users/1': 3, 'other.topic/0': 5 },
    endOffsets: { 'users/0': 13, 'users/1': 5, 'other.topic/0': 6 },
  });
  assert.deepEqual(batchOffsets([]), { startOffsets: {}, endOffsets: {} });
  assert.deepEqual(parsePartitionKey(partitionKey('a.b-c_d', 12)), { topic: 'a.b-c_d', partition: 12 });
});

/** Positions after reading `offsets` of users/`partition`. */
function read(positions: PartitionPositions, partition: number, from: number, to: number): void {
  for (let offset = from; offset <= to; offset++) positions.noteRead(partitionKey('users', partition), offset);
}

test('rollback returns every partition to its first uncommitted offset, once', () => {
  const positions = new PartitionPositions();
  positions.assign(['users/0', 'users/1', 'users/2']);
  read(positions, 0, 100, 149); // batch 1
  read(positions, 1, 7, 9);
  positions.markCommitted(positions.commitTargets({ 'users/0': 150, 'users/1': 10 }).owned);
  read(positions, 0, 150, 199); // batch 2, uncommitted
  read(positions, 0, 200, 209); // batch 3, uncommitted
  read(positions, 2, 0, 4);
  assert.deepEqual(positions.rewind(), [
    { topic: 'users', partition: 0, offset: 150 },
    { topic: 'users', partition: 2, offset: 0 },
  ]);
  assert.deepEqual(positions.rewind(), [], 'nothing was read since: nothing to seek');
  read(positions, 0, 150, 160);
  assert.deepEqual(positions.rewind(), [{ topic: 'users', partition: 0, offset: 150 }], 'the redelivered records are still uncommitted');
});

test('commits never move the rollback position backwards', () => {
  const positions = new PartitionPositions();
  positions.assign(['users/0']);
  read(positions, 0, 0, 19);
  positions.markCommitted([{ topic: 'users', partition: 0, offset: 20 }]);
  positions.markCommitted([{ topic: 'users', partition: 0, offset: 10 }]); // a late, older batch
  read(positions, 0, 20, 29);
  assert.deepEqual(positions.rewind(), [{ topic: 'users', partition: 0, offset: 20 }]);
});

test('after a rebalance, a commit covers only partitions still owned; a re-assigned partition starts afresh', () => {
  const positions = new PartitionPositions();
  positions.assign(['users/0', 'users/1']);
  read(positions, 0, 0, 9);
  read(positions, 1, 0, 9);
  positions.revoke(['users/1']);
  assert.deepEqual(positions.commitTargets({ 'users/0': 10, 'users/1': 10 }), { owned: [{ topic: 'users', partition: 0, offset: 10 }], notOwned: ['users/1'] });
  assert.deepEqual(positions.rewind(), [{ topic: 'users', partition: 0, offset: 0 }], 'no seek on a partition no longer owned');

  positions.assign(['users/1']);
  read(positions, 1, 4, 6); // the group's committed offset was 4
  positions.markCommitted([{ topic: 'users', partition: 2, offset: 5 }]); // not owned: ignored
  positions.assign(['users/2']);
  read(positions, 2, 0, 3);
  assert.deepEqual(positions.rewind(), [
    { topic: 'users', partition: 1, offset: 4 },
    { topic: 'users', partition: 2, offset: 0 },
  ]);
});

test('records in flight: handed out and neither committed nor rolled back; end-of-partition events and transaction markers do not count', () => {
  const positions = new PartitionPositions();
  positions.assign(['users/0', 'users/1']);
  assert.equal(positions.uncommitted('users/0'), false, 'nothing read yet');
  positions.noteEnd('users/1', 7);
  assert.equal(positions.uncommitted('users/1'), false, 'an end-of-partition event is no record');

  read(positions, 0, 0, 9); // batch 1
  read(positions, 0, 10, 14); // batch 2
  assert.equal(positions.uncommitted('users/0'), true);
  positions.markCommitted([{ topic: 'users', partition: 0, offset: 10 }]);
  assert.equal(positions.uncommitted('users/0'), true, 'batch 2 is still in flight');
  positions.markCommitted([{ topic: 'users', partition: 0, offset: 15 }]);
  assert.equal(positions.uncommitted('users/0'), false, 'both committed');
  // A transactional topic: the commit marker after offset 15 moves the end to 17, not what was handed out.
  positions.noteEnd('users/0', 17);
  assert.equal(positions.uncommitted('users/0'), false);

  read(positions, 0, 17, 19);
  read(positions, 1, 7, 8);
  positions.rewind();
  assert.equal(positions.uncommitted('users/0'), false, 'a rollback ends what was in flight');
  assert.equal(positions.uncommitted('users/1'), false);
  read(positions, 0, 17, 18); // read again
  assert.equal(positions.uncommitted('users/0'), true);
  positions.revoke(['users/0']);
  assert.equal(positions.uncommitted('users/0'), false, 'a revoked partition has nothing in flight here');
});

test('caught up: assignment known, and every owned partition read to its end', () => {
  const positions = new PartitionPositions();
  const high = new Map<string, number>();
  const watermark = (key: string) => high.get(key);
  assert.equal(positions.caughtUp(watermark), false, 'before the first assignment');

  positions.assign([]);
  assert.equal(positions.caughtUp(watermark), true, 'a member with no partitions has nothing to read');

  positions.assign(['users/0', 'users/1']);
  assert.equal(positions.caughtUp(watermark), false, 'nothing known about the new partitions');
  read(positions, 0, 0, 9);
  high.set('users/0', 10);
  positions.noteEnd('users/1', 0); // empty partition
  assert.equal(positions.caughtUp(watermark), true);
  assert.equal(positions.lag(watermark), 0);

  high.set('users/0', 25); // more arrived
  assert.equal(positions.caughtUp(watermark), false);
  assert.equal(positions.lag(watermark), 15);
  assert.deepEqual(positions.lagByPartition(watermark), { 'users/0': 15, 'users/1': 0 }, 'the same, per partition');
  positions.noteEnd('users/0', 25); // the fetcher reached the new end before the messages were handed out
  read(positions, 0, 10, 24);
  assert.equal(positions.caughtUp(watermark), true);

  positions.rewind();
  assert.equal(positions.caughtUp(watermark), false, 'after a rollback the rewound records are to be read again');
  assert.equal(positions.lag(watermark), 25);

  positions.revoke(['users/1']);
  assert.equal(positions.caughtUp(watermark), false, 'during a rebalance, until the next assignment');
});
