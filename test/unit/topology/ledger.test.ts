import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batch, type BatchContext } from '../../../topology/batch.ts';
import { CommitLedger, type BatchOutcome, type WriteFigures } from '../../../topology/ledger.ts';

const noState: BatchContext = { now: () => 0, endOfInput: false, storeId: (operator, store) => `${operator}.${store}`, positionOf: () => ({}) };

/** A batch of `n` records whose operator snapshot is its own id, so a restore point can be told apart. */
function batch(id: number, n = 2): Batch {
  const records = Array.from({ length: n }, (_, i) => ({ key: null, value: i, timestamp: 0 }));
  return new Batch(id, { records, startOffsets: { index: id * n }, endOffsets: { index: (id + 1) * n }, caughtUp: false, finished: false }, [`state before ${id}`], { startedAt: 0, readAt: 0 }, noState);
}

/** A write the test acknowledges (or fails) when it wants. */
function write(): { promise: Promise<WriteFigures>; ack(): void; fail(error: Error): void } {
  let ack!: () => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<WriteFigures>((resolve, reject) => {
    ack = () => resolve({ retries: 0, writtenAt: 0 });
    fail = reject;
  });
  return { promise, ack, fail };
}

function ledger(options: { failCommitOf?: number } = {}) {
  const steps: string[] = [];
  const l = new CommitLedger(
    {
      flushState: async (b) => void steps.push(`flush ${b.id}`),
      commitOffsets: async (b) => {
        if (b.id === options.failCommitOf) throw new Error(`commit of ${b.id} refused`);
        steps.push(`commit ${b.id}`);
      },
      committed: (o) => void steps.push(`committed ${o.batch.id}`),
    },
    () => 0,
  );
  return { l, steps };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

test('batches commit in order, each only once its writes were acknowledged; state is flushed between the acknowledgement and the offsets', async () => {
  const { l, steps } = ledger();
  const w0 = write();
  const w1 = write();
  const o0 = l.add(batch(0), w0.promise);
  const o1 = l.add(batch(1), w1.promise);
  w1.ack();
  await settle();
  assert.deepEqual(steps, [], 'batch 1 waits for batch 0, although its own writes are done');
  assert.equal(l.size, 2);
  w0.ack();
  assert.deepEqual(((await o0) as BatchOutcome).status, 'committed');
  assert.equal((await o1).status, 'committed');
  assert.deepEqual(steps, ['flush 0', 'commit 0', 'committed 0', 'flush 1', 'commit 1', 'committed 1']);
  assert.equal(l.size, 0);
  assert.equal(await l.drained(), true);
});

test('a failed write rolls back its batch and every later one; earlier ones commit; the restore point is the first uncommitted batch', async () => {
  const { l, steps } = ledger();
  const writes = [write(), write(), write()];
  const outcomes = writes.map((w, i) => l.add(batch(i, 3), w.promise));
  writes[2].ack();
  writes[0].ack();
  await settle();
  writes[1].fail(new Error('sink down'));
  assert.deepEqual(
    (await Promise.all(outcomes)).map((o) => o.status),
    ['committed', 'failed', 'rolled back'],
  );
  assert.deepEqual(steps, ['flush 0', 'commit 0', 'committed 0']);
  assert.equal(l.failure?.batchId, 1);
  assert.equal((l.failure?.error as Error).message, 'sink down');
  const unwound = await l.unwind();
  assert.equal(unwound.restore?.id, 1);
  assert.deepEqual(unwound.restore?.snapshots, ['state before 1']);
  assert.equal(unwound.uncommittedRows, 6, 'batches 1 and 2, three records each');
  assert.equal(l.failure, undefined, 'forgotten after the unwind');
  assert.equal(l.size, 0);
});

test('once any batch failed nothing more commits until the unwind, not even an earlier batch still writing: its records are read again', async () => {
  const { l, steps } = ledger();
  const [w0, w1] = [write(), write()];
  const o0 = l.add(batch(0), w0.promise);
  const o1 = l.add(batch(1), w1.promise);
  w1.fail(new Error('sink down'));
  await settle();
  w0.ack();
  assert.deepEqual([(await o0).status, (await o1).status], ['rolled back', 'failed']);
  assert.deepEqual(steps, []);
  assert.equal((await l.unwind()).restore?.id, 0, 'the restore point is batch 0: its state is restored and its records re-read');
});

test('a batch written before an earlier one failed is not committed either: offsets only move past committed batches', async () => {
  const { l, steps } = ledger();
  const [w0, w1] = [write(), write()];
  const o0 = l.add(batch(0), w0.promise);
  const o1 = l.add(batch(1), w1.promise);
  w1.ack();
  w0.fail(new Error('timeout'));
  assert.deepEqual([(await o0).status, (await o1).status], ['failed', 'rolled back']);
  assert.deepEqual(steps, []);
  assert.equal((await l.unwind()).restore?.id, 0);
});

test('a refused commit fails the batch; a batch whose operators threw fails without a write', async () => {
  const { l } = ledger({ failCommitOf: 0 });
  const w0 = write();
  const o0 = l.add(batch(0), w0.promise);
  w0.ack();
  const outcome = await o0;
  assert.equal(outcome.status, 'failed');
  assert.equal(((outcome as { error: Error }).error as Error).message, 'commit of 0 refused');
  await l.unwind();

  const failed = l.addFailed(batch(1), new Error('operator bug'));
  assert.equal(failed.status, 'failed');
  const later = write();
  const o2 = l.add(batch(2), later.promise);
  later.ack();
  assert.equal((await o2).status, 'rolled back', 'after a failed batch nothing commits until the unwind');
  assert.equal((await l.unwind()).restore?.id, 1);
});

test('room() holds the next read while maxInFlight batches are in flight, and lets it go when one commits or fails', async () => {
  const { l } = ledger();
  const w0 = write();
  l.add(batch(0), w0.promise);
  let free = false;
  void l.room(1).then(() => (free = true));
  await settle();
  assert.equal(free, false);
  w0.ack();
  await settle();
  await settle();
  assert.equal(free, true);

  const w1 = write();
  l.add(batch(1), w1.promise);
  let freed = false;
  void l.room(1).then(() => (freed = true));
  w1.fail(new Error('down'));
  await settle();
  await settle();
  assert.equal(freed, true, 'a failure frees the reader too: it must recover');
});

test('after abandon() nothing commits: a stop that gave up leaves the batch in flight for redelivery', async () => {
  const { l, steps } = ledger();
  const w0 = write();
  const o0 = l.add(batch(0), w0.promise);
  l.abandon();
  w0.ack();
  assert.equal((await o0).status, 'rolled back');
  assert.deepEqual(steps, []);
  assert.equal(l.records(), 2, 'still counted as read but not committed');
});
