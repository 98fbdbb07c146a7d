/**
 * The micro-batch runtime's semantics, proved with the test driver in virtual time: commit after ack,
 * redelivery after a failed batch, backpressure, triggers and maxRecordsPerTrigger, availableNow,
 * progress events and dead-lettering.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filter, map } from 'rxjs';
import type { StreamRecord } from '../../../topology/types.ts';
import { TopologyTestDriver } from '../../../testing/driver.ts';
import { defineComponent } from '../../../topology/registry.ts';
import { withDefault } from '../../../topology/spec.ts';
import { PositiveInt } from '../../../topology/codecs.ts';

// A test-only operator: dead-letters records whose `n` is divisible by `every`, doubles the rest.
defineComponent({
  kind: 'operator',
  type: 'test-reject-multiples',
  summary: 'test only',
  description: 'test only',
  fields: { every: withDefault(PositiveInt, 3, 'reject multiples of this') },
  create: (config) => ({
    apply: (source, batch) =>
      source.pipe(
        map((record): StreamRecord | undefined => {
          const n = (record.value as { n: number }).n;
          if (n % config.every === 0) {
            batch.deadLetter(record, `n=${n} is a multiple of ${config.every}`);
            return undefined;
          }
          return { ...record, value: { n, doubled: n * 2 } };
        }),
        filter((record): record is StreamRecord => record !== undefined),
      ),
    describe: () => `reject multiples of ${config.every}`,
  }),
});

function topology(pipeline: string): string {
  return `
name: t
pipelines:
  main:
${pipeline
  .trim()
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
`;
}

const values = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ n: from + i }));

test('offsets are committed only after the sink acknowledged the whole batch', async () => {
  const driver = await TopologyTestDriver.start(
    topology(`
source: { type: memory, channel: in }
sink: { type: memory, channel: out }
trigger: { interval: 1s, maxRecordsPerTrigger: 100 }
`),
  );
  driver.output('main').behaviour.delayMs = 500;
  driver.pipe('main', values(50));
  await driver.advance(1000); // first batch read at t=1000 (the one at t=0 was empty); its write takes 500 ms
  assert.equal(driver.input('main').readPosition, 50, 'the batch was read');
  assert.equal(driver.output('main').records.length, 0, 'not yet acknowledged');
  assert.equal(driver.input('main').committed, 0, 'nothing committed before the ack');
  await driver.advance(499);
  assert.equal(driver.input('main').committed, 0, 'still nothing committed 1 ms before the ack');
  await driver.advance(1);
  assert.equal(driver.output('main').records.length, 50);
  assert.equal(driver.input('main').committed, 50, 'committed right after the ack');
  await driver.close();
});

test('a sink that fails mid-batch leaves the offsets uncommitted and the records are redelivered', async () => {
  const driver = await TopologyTestDriver.start(
    topology(`
source: { type: memory, channel: in }
sink: { type: memory, channel: out, batch: { maxRows: 10, concurrency: 1 }, retry: { maxAttempts: 1 } }
trigger: { interval: 1s, maxRecordsPerTrigger: 30 }
onFailure: { initialBackoff: 2s, maxBackoff: 2s }
`),
  );
  const out = driver.output('main');
  let failures = 1;
  // Fails once at record n=15: the chunk [10..19] is half written (10..14), then the write throws.
  out.behaviour.failOn = (r) => (r.value as { n: number }).n === 15 && failures-- > 0;
  driver.pipe('main', values(30));
  await driver.advance(1000);
  assert.equal(driver.input('main').committed, 0, 'the failed batch is not committed');
  assert.deepEqual(
    out.values().map((v) => (v as { n: number }).n),
    [...Array(15).keys()],
    'records before the failure were written (at-least-once: they will be written again)',
  );
  const failureLog = driver.logs.find((l) => /batch 0 failed; 30 record\(s\) rolled back/.test(l.message));
  assert.ok(failureLog, 'the failure and the rollback are logged');
  assert.match(String(failureLog!.error), /injected failure at record 5 of 10/);
  await driver.advance(5000);
  assert.equal(driver.input('main').committed, 30, 'committed after the redelivered batch succeeded');
  const written = out.values().map((v) => (v as { n: number }).n);
  assert.deepEqual([...new Set(written)].sort((a, b) => a - b), [...Array(30).keys()], 'every record written at least once');
  assert.equal(written.length, 45, 'the 15 records written before the failure were written again');
  await driver.close();
});

test('a slow sink pauses reading: in-flight records stay bounded by maxInFlight × maxRecordsPerTrigger', async () => {
  const driver = await TopologyTestDriver.start(
    topology(`
source: { type: memory, channel: in }
sink: { type: memory, channel: out }
trigger: { interval: 0, maxRecordsPerTrigger: 100 }
maxInFlight: 2
`),
  );
  driver.output('main').behaviour.delayMs = 1000;
  driver.pipe('main', values(5000));
  let maxUncommitted = 0;
  for (let t = 0; t < 10_000; t += 50) {
    await driver.advance(50);
    const input = driver.input('main');
    maxUncommitted = Math.max(maxUncommitted, input.readPosition - input.committed);
  }
  const input = driver.input('main');
  assert.ok(maxUncommitted <= 200, `at most 2 batches of 100 uncommitted, saw ${maxUncommitted}`);
  assert.equal(maxUncommitted, 200, 'and the second slot is used while the first batch writes');
  // 10 s at 2 batches per second of sink time: about 20 batches, far fewer than the 50 available.
  assert.ok(input.committed >= 1800 && input.committed <= 2000, `committed ${input.committed}`);
  await driver.close();
});

test('maxInFlight 2: the next batch is read and processed while the previous one is still being written; 1 reads only after the commit', async () => {
  for (const maxInFlight of [1, 2]) {
    const driver = await TopologyTestDriver.start(
      topology(`
source: { type: memory, channel: in }
operators: [{ type: test-reject-multiples, every: 1000 }]
sink: { type: memory, channel: out }
trigger: { interval: 0, maxRecordsPerTrigger: 100 }
maxInFlight: ${maxInFlight}
`),
    );
    const out = driver.output('main');
    out.behaviour.delayMs = 1000;
    driver.pipe('main', values(1000, 1));
    await driver.advance(110); // the read at t=0 was empty: the first batch is read at t=100, its write ends at 1,100
    const input = driver.input('main');
    assert.equal(out.records.length, 0, 'the first write is still pending');
    assert.equal(input.committed, 0);
    if (maxInFlight === 2) {
      assert.equal(input.readPosition, 200, 'batch 1 was read while batch 0 was being written');
      assert.deepEqual(out.writeCalls, [100, 100], "and processed: its write started before batch 0's was acknowledged");
    } else {
      assert.equal(input.readPosition, 100, 'one batch in flight: nothing more is read while it is written');
      assert.deepEqual(out.writeCalls, [100]);
    }
    // Writes end at 1,100, 2,100...: by 3,050 the overlap has committed two batches a second, without it one.
    await driver.advance(2940);
    assert.equal(input.committed, maxInFlight === 2 ? 400 : 200, `maxInFlight ${maxInFlight}: committed ${input.committed}`);
    assert.ok(input.readPosition - input.committed <= maxInFlight * 100, 'never more than maxInFlight batches between read and commit');
    await driver.close();
  }
});

test('maxInFlight 2: a batch acknowledged before the one ahead of it waits for it: commits stay in batch order', async () => {
  const driver = await TopologyTestDriver.start(
    topology(`
source: { type: memory, channel: in }
sink: { type: memory, channel: out }
trigger: { interval: 0, maxRecordsPerTrigger: 100 }
maxInFlight: 2
`),
  );
  const out = driver.output('main');
  // Batch 0 (n < 100) takes 1 s to write, every later batch 100 ms.
  out.behaviour.delayOf = (records) => ((records[0].value as { n: number }).n < 100 ? 1000 : 100);
  driver.pipe('main', values(200));
  await driver.advance(250); // both read at t=100: batch 1 acknowledged at 200, batch 0 due at 1,100
  const input = driver.input('main');
  assert.deepEqual(out.values().map((v) => (v as { n: number }).n), [...Array(100).keys()].map((i) => i + 100), 'batch 1 is acknowledged');
  assert.equal(input.committed, 0, 'but not committed while batch 0 is still writing');
  assert.equal(input.commits, 0);
  await driver.advance(900);
  assert.equal(input.committed, 200, 'both commit once batch 0 is acknowledged');
  assert.equal(input.commits, 2, 'each batch its own commit, batch 0 first');
  const progress = driver.progress.filter((p) => p.pipeline === 'main').map((p) => p.batchId);
  assert.deepEqual(progress, [0, 1], 'progress events in batch order');
  await driver.close();
});

test('maxInFlight 2: when batch 0 fails after batch 1 was acknowledged, neither commits; both are read again and committed in order', async () => {
  const driver = await TopologyTestDriver.start(
    topology(`
source: { type: memory, channel: in }
sink: { type: memory, channel: out, retry: { maxAttempts: 1 } }
trigger: { interval: 0, maxRecordsPerTrigger: 100 }
maxInFlight: 2
onFailure: { initialBackoff: 1s, maxBackoff: 1s }
`),
  );
  const out = driver.output('main');
  let failures = 1;
  out.behaviour.delayOf = (records) => ((records[0].value as { n: number }).n < 100 ? 1000 : 100);
  out.behaviour.failOn = (r) => (r.value as { n: number }).n === 50 && failures-- > 0;
  driver.pipe('main', values(200));
  const input = driver.input('main');
  const committedSeen: number[] = [];
  for (let t = 0; t < 5000; t += 50) {
    await driver.advance(50);
    if (committedSeen.at(-1) !== input.committed) committedSeen.push(input.committed);
    if (t === 500) assert.equal(input.committed, 0, 'batch 1 acknowledged, but batch 0 still writing');
  }
  assert.deepEqual(committedSeen, [0, 200], 'nothing committed until the retried batches were; never batch 1 before batch 0');
  const written = out.values().map((v) => (v as { n: number }).n);
  assert.deepEqual([...new Set(written)].sort((a, b) => a - b), [...Array(200).keys()], 'every record written');
  assert.ok(written.filter((n) => n >= 100).length === 200, 'batch 1 was written twice: its first, acknowledged write was rolled back with batch 0');
  assert.ok(driver.logs.some((l) => /batch 0 failed; 200 record\(s\) rolled back/.test(l.message)), 'both batches rolled back');
  await driver.close();
});

test('processing-time trigger: one batch per interval, at most maxRecordsPerTrigger each', async () => {
  const driver = await TopologyTestDriver.start(
    topology(`
source: { type: memory, channel: in }
sink: { type: memory, channel: out }
trigger: { interval: 1s, maxRecordsPerTrigger: 10 }
`),
  );
  driver.pipe('main', values(35));
  await driver.advance(999);
  assert.equal(driver.progress.length, 0, 'the first trigger (t=0) ran before the records arrived; the next is at t=1000');
  await driver.advance(1);
  assert.deepEqual(driver.progress.map((p) => p.numInputRows), [10]);
  await driver.advance(3000);
  assert.deepEqual(driver.progress.map((p) => p.numInputRows), [10, 10, 10, 5]);
  assert.deepEqual(driver.progress.map((p) => Date.parse(p.timestamp)), [1000, 2000, 3000, 4000]);
  assert.deepEqual(driver.progress.map((p) => p.batchId), [0, 1, 2, 3]);
  await driver.close();
});

test('as-fast-as-possible trigger runs the next batch as soon as the previous one is done', async () => {
  const driver = await TopologyTestDriver.start(
    topology(`
source: { type: memory, channel: in }
sink: { type: memory, channel: out }
trigger: { interval: 0, maxRecordsPerTrigger: 10 }
`),
  );
  driver.output('main').behaviour.delayMs = 30;
  driver.pipe('main', values(40));
  await driver.advance(300);
  const starts = driver.progress.map((p) => Date.parse(p.timestamp));
  assert.equal(starts.length, 4);
  // Each batch starts when the previous one's 30 ms write has been acknowledged.
  assert.deepEqual(starts.slice(1).map((s, i) => s - starts[i]), [30, 30, 30]);
  await driver.close();
});

test('availableNow on an empty source ends at once: records that arrive later are left for the next run', async () => {
  const driver = await TopologyTestDriver.start(
    topology(`
source: { type: memory, channel: in }
sink: { type: memory, channel: out }
trigger: { mode: availableNow, maxRecordsPerTrigger: 40 }
`),
  );
  // The driver started the pipeline before these records were piped in, so the first read was empty and
  // availableNow ended at once: that is Spark's behaviour too (it processes what was there at start).
  driver.pipe('main', values(100));
  let ended = false;
  void driver.runtime.wait().then(() => (ended = true));
  await driver.advance(1000);
  assert.equal(ended, true);
  assert.equal(driver.output('main').records.length, 0, 'nothing written');
  assert.equal(driver.progress.length, 0, 'no batch');
  assert.equal(driver.input('main').committed, 0, 'nothing committed: a next run reads all 100');
  await driver.close();
});

test('availableNow over existing records: batches of maxRecordsPerTrigger, then the end', async () => {
  const driver = await TopologyTestDriver.start(
    `
name: t3
pipelines:
  main:
    source: { type: memory, channel: in, records: [${values(100)
      .map((v) => JSON.stringify(v))
      .join(', ')}] }
    sink: { type: memory, channel: out }
    trigger: { mode: availableNow, maxRecordsPerTrigger: 40 }
`,
    { substitute: false },
  );
  let ended = false;
  void driver.runtime.wait().then(() => (ended = true));
  await driver.advance(1000);
  assert.deepEqual(driver.progress.map((p) => p.numInputRows), [40, 40, 20]);
  assert.equal(ended, true, 'the pipeline ended after catching up');
  assert.equal(driver.channel('out').records.length, 100);
  assert.equal(driver.channel('in').committed, 100);
  await driver.close();
});

test('progress events carry Spark-like fields for every batch', async () => {
  const driver = await TopologyTestDriver.start(
    topology(`
source: { type: memory, channel: in }
operators: [{ type: test-reject-multiples, every: 5 }]
sink: { type: memory, channel: out }
trigger: { interval: 1s, maxRecordsPerTrigger: 20 }
`),
  );
  driver.output('main').behaviour.delayMs = 200;
  driver.pipe('main', values(20));
  await driver.advance(1000);
  driver.pipe('main', values(10, 20));
  await driver.advance(1300);
  assert.equal(driver.progress.length, 2);
  const [first, second] = driver.progress;
  assert.equal(first.event, 'progress');
  assert.equal(first.pipeline, 'main');
  assert.equal(first.batchId, 0);
  assert.equal(first.numInputRows, 20);
  assert.equal(first.sink.numOutputRows, 16, '4 of 20 are multiples of 5');
  assert.equal(first.numDeadLetterRows, 4);
  assert.deepEqual(first.sources[0].startOffset, { index: 0 });
  assert.deepEqual(first.sources[0].endOffset, { index: 20 });
  assert.equal(first.durationMs.write, 200);
  assert.equal(first.durationMs.triggerExecution, 200);
  assert.equal(first.processedRowsPerSecond, 100, '20 rows in 200 ms');
  assert.deepEqual(second.sources[0].startOffset, { index: 20 });
  assert.equal(second.numInputRows, 10);
  assert.equal(second.inputRowsPerSecond, 10, '10 rows over the 1 s since the previous trigger');
  assert.equal(typeof first.timestamp, 'string');
  assert.ok(driver.logs.some((l) => l.message === 'progress' && l.batchId === 0), 'each event is also logged');
  await driver.close();
});

test('rejected records go to the dead-letter output with their reason, and the batch still commits', async () => {
  const driver = await TopologyTestDriver.start(
    topology(`
source: { type: memory, channel: in }
operators: [{ type: test-reject-multiples, every: 3 }]
sink: { type: memory, channel: out }
trigger: { interval: 100ms }
`),
  );
  driver.pipe('main', values(7));
  await driver.advance(200);
  assert.deepEqual(
    driver.output('main').values(),
    [1, 2, 4, 5].map((n) => ({ n, doubled: n * 2 })),
  );
  const dead = driver.deadLetters('main').values() as Array<{ reason: string; stage: string; value: unknown; pipeline: string }>;
  assert.deepEqual(
    dead.map((d) => d.reason),
    ['n=0 is a multiple of 3', 'n=3 is a multiple of 3', 'n=6 is a multiple of 3'],
  );
  assert.equal(dead[0].stage, 'operators[0] (test-reject-multiples)');
  assert.deepEqual(dead[1].value, { n: 3 });
  assert.equal(driver.deadLetters('main').records[2].raw, JSON.stringify({ n: 6 }), 'the original bytes travel with it');
  assert.equal(driver.input('main').committed, 7);
  await driver.close();
});

test('a failing dead-letter sink fails the batch too: nothing is committed that was not kept somewhere', async () => {
  const driver = await TopologyTestDriver.start(
    topology(`
source: { type: memory, channel: in }
operators: [{ type: test-reject-multiples, every: 2 }]
sink: { type: memory, channel: out }
trigger: { interval: 100ms }
onFailure: { initialBackoff: 1s, maxBackoff: 1s }
`),
  );
  driver.deadLetters('main').behaviour.failNextWrites = 3;
  driver.pipe('main', values(4));
  await driver.advance(150);
  assert.equal(driver.input('main').committed, 0);
  await driver.advance(3000);
  assert.equal(driver.input('main').committed, 4);
  assert.equal(driver.deadLetters('main').records.length >= 2, true);
  await driver.close();
});

test('graceful stop lets the in-flight batch finish and commit', async () => {
  const driver = await TopologyTestDriver.start(
    topology(`
source: { type: memory, channel: in }
sink: { type: memory, channel: out }
trigger: { interval: 0 }
`),
  );
  driver.output('main').behaviour.delayMs = 500;
  driver.pipe('main', values(10));
  await driver.advance(150);
  assert.equal(driver.input('main').committed, 0);
  await driver.close();
  assert.equal(driver.input('main').committed, 10, 'the in-flight batch was finished and committed on stop');
  assert.ok(driver.logs.some((l) => /^stopped: 1 batch\(es\), 10 records in, 10 written/.test(l.message)));
});

test('a stop that outlasts stopTimeout abandons the in-flight batch uncommitted', async () => {
  const driver = await TopologyTestDriver.start(
    topology(`
source: { type: memory, channel: in }
sink: { type: memory, channel: out }
stopTimeout: 1s
`),
  );
  driver.output('main').behaviour.delayMs = 60_000;
  driver.pipe('main', values(10));
  await driver.advance(150);
  await driver.close();
  assert.equal(driver.input('main').committed, 0, 'abandoned, not committed');
  assert.ok(driver.logs.some((l) => /abandoned uncommitted/.test(l.message)));
});

// A test-only source that rejects every third record while reading, as the kafka source does with invalid JSON.
defineComponent({
  kind: 'source',
  type: 'test-rejecting-source',
  summary: 'test only',
  description: 'test only',
  fields: {},
  create: () => {
    let next = 0;
    let committed = 0;
    return {
      start: async () => undefined,
      read: async () => {
        const start = next;
        const records: StreamRecord[] = [];
        const rejected: Array<{ record: StreamRecord; reason: string }> = [];
        for (; next < start + 9 && next < 9; next++) {
          const record = { key: null, value: { n: next }, timestamp: 0, raw: `raw-${next}` };
          if (next % 3 === 0) rejected.push({ record, reason: `unreadable ${next}` });
          else records.push(record);
        }
        return { records, rejected, startOffsets: { n: start }, endOffsets: { n: next }, caughtUp: next >= 9, finished: false };
      },
      commit: async (batch) => {
        committed = Number(batch.endOffsets.n);
      },
      rollback: async () => {
        next = committed;
      },
      close: async () => undefined,
      describe: () => 'rejecting source',
    };
  },
});

test('records a source rejects while reading are dead-lettered and counted as input', async () => {
  const driver = await TopologyTestDriver.start(
    topology(`
source: { type: test-rejecting-source }
sink: { type: memory, channel: out }
trigger: { interval: 100ms }
`),
    { substitute: false },
  );
  await driver.advance(150);
  const [event] = driver.progress;
  assert.equal(event.numInputRows, 9, '6 read + 3 rejected at read');
  assert.equal(event.sink.numOutputRows, 6);
  assert.equal(event.numDeadLetterRows, 3);
  assert.deepEqual(
    driver.logs.filter((l) => /^dead letter/.test(l.message)).map((l) => l.message),
    ['unreadable 0', 'unreadable 3', 'unreadable 6'].map((r) => `dead letter (no deadLetter sink configured): ${r}`),
  );
  await driver.close();
});
