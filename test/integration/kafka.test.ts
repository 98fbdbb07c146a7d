/**
 * The Kafka components against a real broker (KAFKA_BROKERS, default 127.0.0.1:9092), driven directly
 * through their factories with a context whose dead-letter output is an array: round trips, commits
 * seen by the next member of the group, rollback redelivery, dead-lettering, rebalances (a cooperative
 * revoke that waits for the batch in flight, at-least-once and exactly-once; an eager one), caught-up
 * detection and start-up failures. Every test uses its own topics and group ids, deleted afterwards.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import Kafka from 'node-rdkafka';
import { asyncScheduler } from 'rxjs';
import winston from 'winston';
import Transport from 'winston-transport';
import { checkKafka } from '../../clients/kafka.ts';
import { formatErrors, UserFacingError } from '../../topology/errors.ts';
import { registry } from '../../topology/registry.ts';
import type { ComponentContext, DeadLetterValue, Processing, SharedResource, Sink, Source, SourceBatch, StreamRecord } from '../../topology/types.ts';
import '../../sources/kafka/index.ts';
import '../../sinks/kafka/index.ts';
import '../../sinks/dead-letter.ts';
import { componentContext } from '../../testing/component-context.ts';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const topics: string[] = [];

function topicName(what: string): string {
  const name = `kafka-test-${what}-${runId}`;
  topics.push(name);
  return name;
}

interface Harness {
  ctx: ComponentContext;
  warnings: string[];
  infos: string[];
}

class Capture extends Transport {
  constructor(
    private readonly warnings: string[],
    private readonly infos: string[],
  ) {
    super();
  }
  override log(info: { level: string; message: string }, next: () => void): void {
    if (info.level === 'warn' || info.level === 'error') this.warnings.push(info.message);
    else if (info.level === 'info') this.infos.push(info.message);
    next();
  }
}

function harness(processing: Processing = 'at-least-once'): Harness {
  const warnings: string[] = [];
  const infos: string[] = [];
  const logger = winston.createLogger({ level: 'debug', transports: [new Capture(warnings, infos)] });
  const ctx: ComponentContext = componentContext({
    // The run's own name: an exactly-once source's transactional id is made of it.
    topology: `kafka-test-${runId}`,
    pipeline: 'main',
    path: 'pipelines.main.source',
    logger,
    scheduler: asyncScheduler,
    processing,
  });
  return { ctx, warnings, infos };
}

function decode(kind: 'source' | 'sink', config: Record<string, unknown>) {
  const result = registry.codec(kind).decode(config);
  if (result._tag === 'Left') throw new Error(formatErrors(result.left).join('\n'));
  return result.right;
}

const open: Array<Source | Sink> = [];

async function source(config: Record<string, unknown>, h = harness()): Promise<Source> {
  const s = await registry.create('source', decode('source', { type: 'kafka', brokers, ...config }), h.ctx);
  await s.start();
  open.push(s);
  return s;
}

async function sink(config: Record<string, unknown>, h = harness()): Promise<Sink> {
  const s = await registry.create('sink', decode('sink', { type: 'kafka', brokers, ...config }), h.ctx);
  await s.start();
  open.push(s);
  return s;
}

async function close(component: Source | Sink): Promise<void> {
  open.splice(open.indexOf(component), 1);
  await component.close();
}

/** Read until `want` records (and dead letters) arrived or `ms` passed; every batch is returned. */
async function readUntil(s: Source, want: (records: StreamRecord[], batches: SourceBatch[]) => boolean, ms = 20_000, maxRecords = 1000): Promise<{ records: StreamRecord[]; batches: SourceBatch[] }> {
  const records: StreamRecord[] = [];
  const batches: SourceBatch[] = [];
  const deadline = Date.now() + ms;
  while (!want(records, batches)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms with ${records.length} record(s) in ${batches.length} batch(es)`);
    const batch = await s.read(maxRecords, 200);
    batches.push(batch);
    records.push(...batch.records);
  }
  return { records, batches };
}

/** The group's committed offset of each of `partitions` of `topic` (-1: none), asked without joining the group. */
async function groupCommitted(group: string, topic: string, partitions: number[]): Promise<Record<number, number>> {
  const consumer = new Kafka.KafkaConsumer({ 'bootstrap.servers': brokers, 'group.id': group, 'enable.auto.commit': false, log_level: 0 }, {});
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 15_000 }, (error) => (error ? reject(error) : resolve())));
  try {
    const offsets = await new Promise<Kafka.TopicPartitionOffset[]>((resolve, reject) =>
      consumer.committed(
        partitions.map((partition) => ({ topic, partition })),
        10_000,
        (error, committed) => (error ? reject(error) : resolve(committed)),
      ),
    );
    return Object.fromEntries(offsets.map((o) => [o.partition, o.offset ?? -1]));
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/** The transactional producer an exactly-once source of `h` made (a pipeline would close it). */
async function closeTransactions(h: Harness): Promise<void> {
  let made = true;
  const shared = h.ctx.shared<SharedResource>('kafka-transactions', () => {
    made = false;
    return { close: async () => undefined };
  });
  if (made) await shared.close();
}

const rejectedIn = (batches: SourceBatch[]) => batches.flatMap((b) => b.rejected ?? []);

const where = (r: StreamRecord): string => `${r.origin?.partition}@${r.origin?.offset}`;

after(async () => {
  for (const component of open.splice(0)) await component.close().catch(() => undefined);
  const admin = Kafka.AdminClient.create({ 'bootstrap.servers': brokers, log_level: 0 });
  for (const topic of topics) await new Promise<void>((resolve) => admin.deleteTopic(topic, 10_000, () => resolve()));
  admin.disconnect();
});

describe(`kafka components against ${brokers}`, () => {
  test('sink → topic → source: exact keys, values, timestamps, headers and origins', async () => {
    const topic = topicName('roundtrip');
    const out = await sink({ topic, createTopic: { partitions: 1 } });
    const sent: StreamRecord[] = Array.from({ length: 30 }, (_, i) => ({
      key: i % 5 === 0 ? null : `user-${i}`,
      value: { i, name: i % 2 ? 'Ава' : 'Ava', tags: ['x'.repeat(i)] },
      timestamp: 1_700_000_000_000 + i * 1000,
      ...(i === 3 ? { headers: { trace: 'abc' } } : {}),
    }));
    await out.write(sent);
    await close(out);

    const h = harness();
    const src = await source({ topics: [topic], groupId: `g-roundtrip-${runId}` }, h);
    const { records, batches } = await readUntil(src, (r) => r.length >= sent.length);
    assert.equal(records.length, sent.length, 'nothing more than what was written');
    assert.deepEqual(
      records.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp })),
      sent.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp })),
    );
    assert.deepEqual(
      records.map((r) => r.origin),
      sent.map((_, i) => ({ topic, partition: 0, offset: i })),
      'origins are topic/partition/offset, in order',
    );
    assert.equal(records[7].raw?.toString(), JSON.stringify(sent[7].value), 'raw is the message bytes');
    assert.deepEqual(records[3].headers, { trace: 'abc' });
    assert.equal(records[4].headers, undefined);
    const withRecords = batches.filter((b) => b.records.length > 0);
    assert.deepEqual(withRecords.at(-1)?.endOffsets, { [`${topic}/0`]: 30 }, 'end offset = last offset + 1');
    assert.deepEqual(withRecords[0].startOffsets, { [`${topic}/0`]: 0 });
    assert.equal(rejectedIn(batches).length, 0);
  });

  test('a commit is where the next member of the group starts; uncommitted records are read again', async () => {
    const topic = topicName('commit');
    const out = await sink({ topic, createTopic: { partitions: 1 } });
    await out.write(Array.from({ length: 20 }, (_, i) => ({ key: null, value: { i }, timestamp: Date.now() })));
    await close(out);

    const group = `g-commit-${runId}`;
    const first = await source({ topics: topic, groupId: group });
    const { batches } = await readUntil(first, (r) => r.length >= 12, 20_000, 12);
    const read = batches.flatMap((b) => b.records);
    assert.equal(read.length, 12, 'maxRecords bounds what one read returns');
    for (const batch of batches) if (batch.records.length > 0) await first.commit(batch);
    // Read more without committing: those must come back to the next member.
    await readUntil(first, (r) => r.length >= 3, 20_000, 3);
    await close(first);

    const second = await source({ topics: topic, groupId: group });
    const { records } = await readUntil(second, (r) => r.length >= 8);
    assert.deepEqual(
      records.map((r) => (r.value as { i: number }).i),
      [12, 13, 14, 15, 16, 17, 18, 19],
      'starts right after the committed offset, including what was read but not committed',
    );
  });

  test('tasks: the first read after an assignment reports each partition number with the group\'s committed offsets, once', async () => {
    const topic = topicName('tasks');
    const out = await sink({ topic, createTopic: { partitions: 2 } });
    await out.write(Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: { i }, timestamp: Date.now() })));

    const group = `g-tasks-${runId}`;
    const first = await source({ topics: topic, groupId: group });
    const { batches } = await readUntil(first, (r) => r.length >= 20, 20_000, 5);
    const reported = batches.flatMap((b) => b.assigned ?? []).sort((a, b) => a.task - b.task);
    assert.deepEqual(reported, [
      { task: 0, committed: { [`${topic}/0`]: -1 } },
      { task: 1, committed: { [`${topic}/1`]: -1 } },
    ], 'a new group: both tasks, never committed, reported once');
    const firstWithRecords = batches.find((b) => b.records.length > 0)!;
    assert.ok(batches.indexOf(firstWithRecords) >= batches.findIndex((b) => (b.assigned ?? []).length > 0), 'reported no later than the first records of the tasks');
    await first.commit(firstWithRecords);
    await close(first);

    const resumed = await source({ topics: topic, groupId: group });
    const later = await readUntil(resumed, (_, b) => b.flatMap((x) => x.assigned ?? []).length >= 2);
    const again = later.batches.flatMap((b) => b.assigned ?? []).sort((a, b) => a.task - b.task);
    const expected = (partition: number) => (firstWithRecords.endOffsets[`${topic}/${partition}`] as number | undefined) ?? -1;
    assert.deepEqual(again, [
      { task: 0, committed: { [`${topic}/0`]: expected(0) } },
      { task: 1, committed: { [`${topic}/1`]: expected(1) } },
    ], 'a resumed group: the committed offsets, where reading resumes');
    assert.ok(Object.values(firstWithRecords.endOffsets).some((o) => Number(o) > 0));
    await close(resumed);
    await close(out);
  });

  test('rollback redelivers exactly the read-but-uncommitted records, on every partition', async () => {
    const topic = topicName('rollback');
    const out = await sink({ topic, createTopic: { partitions: 3 } });
    await out.write(Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, value: { i }, timestamp: Date.now() })));
    await close(out);

    const src = await source({ topics: topic, groupId: `g-rollback-${runId}` });
    const committed = await readUntil(src, (r) => r.length > 0, 20_000, 15);
    for (const batch of committed.batches) if (batch.records.length > 0) await src.commit(batch);
    const uncommitted = await readUntil(src, (r, b) => committed.records.length + r.length === 60 && b.at(-1)!.caughtUp, 20_000, 20);
    assert.ok(uncommitted.batches.filter((b) => b.records.length > 0).length >= 2, 'several uncommitted batches');

    await src.rollback();
    const again = await readUntil(src, (r, b) => r.length >= uncommitted.records.length && b.at(-1)!.caughtUp);
    assert.deepEqual(again.records.map(where).sort(), uncommitted.records.map(where).sort(), 'the same records, no more, no fewer');
    assert.equal(new Set([...committed.records, ...again.records].map(where)).size, 60, 'together with the committed ones: every record once');

    // A second rollback after committing everything redelivers nothing.
    for (const batch of again.batches) if (batch.records.length > 0) await src.commit(batch);
    await src.rollback();
    const nothing = await src.read(100, 500);
    assert.equal(nothing.records.length, 0);
  });

  test('empty and invalid JSON messages are dead-lettered with their bytes and origin, and committed past', async () => {
    const topic = topicName('invalid');
    const out = await sink({ topic, createTopic: { partitions: 1 } });
    const values = ['{"ok":1}', 'not json', '', null, '{"ok":2', '  ', '{"ok":3}'];
    await out.write(values.map((value, i) => ({ key: `k${i}`, value, timestamp: 1_700_000_000_000 + i })));
    await close(out);

    const group = `g-invalid-${runId}`;
    const h = harness();
    const src = await source({ topics: topic, groupId: group }, h);
    const { records, batches } = await readUntil(src, (r, b) => r.length + rejectedIn(b).length >= values.length);
    const rejected = rejectedIn(batches);
    assert.deepEqual(
      records.map((r) => r.value),
      [{ ok: 1 }, { ok: 3 }],
    );
    assert.deepEqual(
      rejected.map((d) => ({ offset: d.record.origin?.offset, key: d.record.key, raw: d.record.raw?.toString(), timestamp: d.record.timestamp })),
      [1, 2, 3, 4, 5].map((i) => ({ offset: i, key: `k${i}`, raw: values[i] ?? '', timestamp: 1_700_000_000_000 + i })),
    );
    assert.match(rejected[0].reason, /^invalid JSON: .+/);
    assert.equal(rejected[1].reason, 'invalid JSON: empty message');
    assert.equal(rejected[2].reason, 'invalid JSON: empty message', 'a null value (tombstone) is empty');
    assert.match(rejected[3].reason, /^invalid JSON: /);
    assert.equal(rejected[4].reason, 'invalid JSON: empty message');

    for (const batch of batches) if (Object.keys(batch.endOffsets).length > 0) await src.commit(batch);
    await close(src);
    const next = await source({ topics: topic, groupId: group });
    const after = await readUntil(next, (_, b) => b.at(-1)?.caughtUp === true);
    assert.equal(after.records.length, 0, 'the group committed past the dead-lettered messages');
  });

  test('a batch holding only dead letters still carries end offsets to commit', async () => {
    const topic = topicName('only-invalid');
    const out = await sink({ topic, createTopic: { partitions: 1 } });
    await out.write([{ key: null, value: 'oops', timestamp: Date.now() }]);
    await close(out);
    const h = harness();
    const src = await source({ topics: topic, groupId: `g-only-invalid-${runId}` }, h);
    const { batches } = await readUntil(src, (_records, read) => read.some((b) => (b.rejected ?? []).length === 1));
    const batch = batches.at(-1)!;
    assert.equal(batch.records.length, 0);
    assert.equal(batch.rejected?.[0].reason, 'invalid JSON: Unexpected token \'o\', "oops" is not valid JSON');
    assert.deepEqual(batch.endOffsets, { [`${topic}/0`]: 1 });
  });

  test('the dead-letter sink writes the original bytes with the report in headers', async () => {
    const topic = topicName('dead');
    const h = harness();
    const dead = await registry.create('sink', decode('sink', { type: 'dead-letter', brokers, topic, createTopic: { partitions: 1 } }), h.ctx);
    await dead.start();
    open.push(dead);
    const letter = (value: unknown, reason: string): DeadLetterValue => ({
      reason,
      stage: 'operators[0] (validate)',
      topology: 'users',
      pipeline: 'ingest',
      origin: { topic: 'users_created', partition: 2, offset: 41 },
      value,
      failedAt: Date.UTC(2026, 10, 21, 12, 0, 0),
    });
    const original = Buffer.from([0x7b, 0x22, 0xff, 0x00, 0x7d]); // not even UTF-8: bytes must survive as they are
    await dead.write([
      { key: 'user-1', value: letter({ parsed: true }, 'login.uuid: expected a string, got undefined'), timestamp: 1_700_000_000_123, raw: original, origin: { topic: 'users_created', partition: 2, offset: 41 } },
      { key: null, value: letter({ from: 'memory' }, 'no raw bytes'), timestamp: 1_700_000_000_456 },
    ]);
    await close(dead);

    const consumer = new Kafka.KafkaConsumer({ 'bootstrap.servers': brokers, 'group.id': `g-dead-${runId}`, 'enable.auto.commit': false }, { 'auto.offset.reset': 'earliest' });
    await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (error) => (error ? reject(error) : resolve())));
    try {
      consumer.assign([{ topic, partition: 0, offset: 0 }]);
      const messages: Kafka.Message[] = [];
      const deadline = Date.now() + 20_000;
      while (messages.length < 2 && Date.now() < deadline) {
        messages.push(...(await new Promise<Kafka.Message[]>((resolve, reject) => consumer.consume(10, (error, m) => (error ? reject(error) : resolve(m))))));
      }
      assert.equal(messages.length, 2);
      const headers = (m: Kafka.Message) => Object.fromEntries((m.headers ?? []).flatMap((h) => Object.entries(h).map(([k, v]) => [k, v.toString()])));
      assert.deepEqual(messages[0].value, original);
      assert.equal(messages[0].key?.toString(), 'user-1');
      assert.equal(messages[0].timestamp, 1_700_000_000_123);
      assert.deepEqual(headers(messages[0]), {
        'dead-letter.reason': 'login.uuid: expected a string, got undefined',
        'dead-letter.stage': 'operators[0] (validate)',
        'dead-letter.topology': 'users',
        'dead-letter.pipeline': 'ingest',
        'dead-letter.failed-at': '2026-11-21T12:00:00.000Z',
        'dead-letter.origin.topic': 'users_created',
        'dead-letter.origin.partition': '2',
        'dead-letter.origin.offset': '41',
      });
      assert.equal(messages[1].value?.toString(), '{"from":"memory"}', 'without raw bytes: the rejected value as JSON');
      assert.equal(messages[1].key, null);
      assert.equal(headers(messages[1])['dead-letter.reason'], 'no raw bytes');
    } finally {
      await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
    }
  });

  test('caughtUp turns true once every assigned partition is read to its end (availableNow)', async () => {
    const topic = topicName('caughtup');
    const out = await sink({ topic, createTopic: { partitions: 3 } });
    await out.write(Array.from({ length: 45 }, (_, i) => ({ key: `k${i}`, value: { i }, timestamp: Date.now() })));

    const src = await source({ topics: topic, groupId: `g-caughtup-${runId}` });
    const before = await src.read(10, 0);
    assert.equal(before.caughtUp, false, 'not caught up before the group assigned partitions');
    const { records, batches } = await readUntil(src, (_, b) => b.at(-1)?.caughtUp === true, 20_000, 10);
    assert.equal(records.length + before.records.length, 45, 'caught up only after every record was read');
    const withRecords = batches.filter((b) => b.records.length > 0);
    assert.ok(withRecords.slice(0, -1).every((b) => !b.caughtUp), 'batches before the last were not caught up');
    assert.equal(batches.at(-1)?.metrics?.lag, 0);
    assert.equal(batches.at(-1)?.metrics?.assignedPartitions, 3);

    // New messages: no longer caught up, and the lag counts them.
    await out.write(Array.from({ length: 5 }, (_, i) => ({ key: `n${i}`, value: { i }, timestamp: Date.now() })));
    const more = await readUntil(src, (r, b) => r.length === 5 && b.at(-1)!.caughtUp);
    assert.equal(more.records.length, 5);
    await close(out);
  });

  for (const processing of ['at-least-once', 'exactly-once'] as const) {
    test(`a cooperative revoke (${processing}) waits for the batch in flight: its commit covers the partition that moves, where the new owner starts`, async (t) => {
      const topic = topicName(`revoke-${processing}`);
      const out = await sink({ topic, createTopic: { partitions: 2 } });
      await out.write(Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: { i }, timestamp: Date.now() })));
      await close(out);

      const group = `g-revoke-${processing}-${runId}`;
      const ha = harness(processing);
      t.after(() => closeTransactions(ha));
      const a = await source({ topics: topic, groupId: group }, ha);
      const first = await readUntil(a, (r) => r.length === 40);
      const count = (partition: number) => first.records.filter((r) => r.origin?.partition === partition).length;
      assert.deepEqual([...new Set(first.records.map((r) => r.origin?.partition))].sort(), [0, 1], 'the only member reads both partitions');
      // Under exactly-once the batch's transaction is open while it is in flight.
      await a.prepareBatch?.();

      const b = await source({ topics: topic, groupId: group });
      // Rebalance callbacks are served while members read: keep both reading until a's revoke waits.
      const deadline = Date.now() + 30_000;
      while (!ha.infos.some((m) => m.includes(': revoking ') && m.includes('after the batch in flight commits'))) {
        assert.ok(Date.now() < deadline, `a's revoke did not wait for its batch; a logged: ${ha.infos.join(' | ')}`);
        const [ba, bb] = await Promise.all([a.read(100, 200), b.read(100, 200)]);
        assert.deepEqual([...ba.records, ...bb.records], [], 'nobody reads while the revoke waits');
        assert.equal(ba.metrics?.assignedPartitions, 2, 'a still owns both partitions');
      }
      const moved = Number(/revoking \S+\/(\d+) after/.exec(ha.infos.find((m) => m.includes(': revoking '))!)![1]);

      // a's batches covered both partitions: committing them commits the moved one too, and only then gives it up.
      for (const batch of first.batches.filter((bt) => bt.records.length > 0)) {
        await a.prepareBatch?.(); // exactly-once: each commit completes a transaction
        await a.commit(batch);
      }
      assert.deepEqual(await groupCommitted(group, topic, [0, 1]), { 0: count(0), 1: count(1) }, "the group's committed offsets include the moved partition");
      assert.ok(ha.infos.some((m) => m.endsWith(`: revoked ${topic}/${moved}`)), `a gave ${topic}/${moved} up after its commit; a logged: ${ha.infos.join(' | ')}`);
      assert.deepEqual(
        ha.warnings.filter((w) => w.includes('not committing') || w.includes('without the batch in flight')),
        [],
        'nothing skipped, nothing timed out',
      );

      // b gets the moved partition at a's committed offset: nothing of it is read twice.
      const fromA: StreamRecord[] = [];
      const fromB: StreamRecord[] = [];
      let ownedByB = 0;
      while (ownedByB !== 1) {
        assert.ok(Date.now() < deadline + 30_000, `b was not assigned the moved partition (b owns ${ownedByB})`);
        const [ba, bb] = await Promise.all([a.read(100, 200), b.read(100, 200)]);
        fromA.push(...ba.records);
        fromB.push(...bb.records);
        ownedByB = Number(bb.metrics?.assignedPartitions);
      }
      fromB.push(...(await readUntil(b, (_, bs) => bs.at(-1)?.caughtUp === true)).records);
      assert.deepEqual([...fromA, ...fromB].map(where), [], 'everything was committed: neither member reads a record again');
      await close(a);
      await close(b);
    });
  }

  test('an eager rebalance (range) revokes at once; committing a moved partition afterwards warns instead of failing', async () => {
    const topic = topicName('rebalance-range');
    const out = await sink({ topic, createTopic: { partitions: 2 } });
    await out.write(Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: { i }, timestamp: Date.now() })));
    await close(out);

    const group = `g-rebalance-range-${runId}`;
    const rdkafka = { 'partition.assignment.strategy': 'range' };
    const ha = harness();
    const a = await source({ topics: topic, groupId: group, rdkafka }, ha);
    const first = await readUntil(a, (r) => r.length === 40);
    assert.deepEqual([...new Set(first.records.map((r) => r.origin?.partition))].sort(), [0, 1], 'the only member reads both partitions');
    const inPartition = (partition: number | undefined) => first.records.filter((r) => r.origin?.partition === partition);

    const b = await source({ topics: topic, groupId: group, rdkafka });
    // Rebalance callbacks are served while members read: keep both reading until each owns one partition.
    const fromA: StreamRecord[] = [];
    const fromB: StreamRecord[] = [];
    const deadline = Date.now() + 30_000;
    let ownedByA = 2;
    let ownedByB = 0;
    while (!(ownedByA === 1 && ownedByB === 1 && fromB.length > 0 && fromB.length === inPartition(fromB[0].origin?.partition).length)) {
      assert.ok(Date.now() < deadline, `rebalance did not settle (a owns ${ownedByA}, b owns ${ownedByB}, b read ${fromB.length})`);
      const [ba, bb] = await Promise.all([a.read(100, 200), b.read(100, 200)]);
      fromA.push(...ba.records);
      fromB.push(...bb.records);
      ownedByA = Number(ba.metrics?.assignedPartitions);
      ownedByB = Number(bb.metrics?.assignedPartitions);
    }
    const moved = fromB[0].origin?.partition;
    const kept = moved === 0 ? 1 : 0;
    assert.deepEqual(
      fromB.map(where),
      inPartition(moved).map(where),
      'the new owner reads the moved partition from the last committed offset (none: the start)',
    );
    assert.ok(fromA.every((r) => r.origin?.partition === kept), 'eager: a re-reads at most the partition it got back');
    assert.ok(!ha.infos.some((m) => m.includes('after the batch in flight commits')), 'an eager revoke does not wait');

    // a's batches covered both partitions; committing them must not fail for the one it lost.
    for (const batch of first.batches) if (batch.records.length > 0) await a.commit(batch);
    assert.ok(
      ha.warnings.some((w) => w.includes(`not committing ${topic}/${moved}`)),
      `a warning names the moved partition; got: ${ha.warnings.join(' | ')}`,
    );
    await close(a);
    await close(b);
    // What a committed for the partition it kept is the group's position: a new member reads nothing there.
    const c = await source({ topics: topic, groupId: group });
    const rest = await readUntil(c, (_, bs) => bs.at(-1)?.caughtUp === true);
    assert.deepEqual(rest.records.map(where), inPartition(moved).map(where), 'only the moved partition, never committed, is read again');
  });

  test('a source started before its topic exists waits for it, then reads it', async () => {
    const topic = topicName('late');
    const h = harness();
    const src = await source({ topics: topic, groupId: `g-late-${runId}` }, h);
    for (let i = 0; i < 3; i++) assert.equal((await src.read(100, 200)).records.length, 0, 'no error, no records');
    assert.ok(h.warnings.some((w) => w.includes('does not exist (yet)')), `a warning says so; got: ${h.warnings.join(' | ')}`);
    const out = await sink({ topic, createTopic: { partitions: 1 } });
    await out.write([{ key: 'late', value: { late: true }, timestamp: Date.now() }]);
    const started = Date.now();
    const { records } = await readUntil(src, (r) => r.length === 1, 25_000);
    assert.deepEqual(records[0].value, { late: true });
    assert.ok(Date.now() - started < 20_000, `found within the 10 s metadata refresh (took ${Date.now() - started} ms)`);
  });

  test('an unreachable broker fails start() quickly with an error naming the address and the fix', async () => {
    const unreachable = '127.0.0.1:1';
    for (const kind of ['source', 'sink'] as const) {
      const config = kind === 'source' ? { type: 'kafka', brokers: unreachable, topics: 'x', groupId: 'g', connectTimeout: '2s' } : { type: 'kafka', brokers: unreachable, topic: 'x', connectTimeout: '2s' };
      const component = await registry.create(kind, decode(kind, config), harness().ctx);
      const started = Date.now();
      await assert.rejects(component.start(), (error: unknown) => {
        assert.ok(error instanceof UserFacingError, `a UserFacingError, got ${String(error)}`);
        assert.match(error.message, /^cannot reach Kafka at 127\.0\.0\.1:1 within 2 s \(.*Connection refused/);
        assert.match(error.message, /npm run services -- up/);
        assert.match(error.message, /KAFKA_BROKERS=host:port/);
        return true;
      });
      assert.ok(Date.now() - started < 6000, `${kind} failed within the connect timeout (took ${Date.now() - started} ms)`);
    }
    const started = Date.now();
    await assert.rejects(checkKafka(unreachable, 2000), UserFacingError);
    assert.ok(Date.now() - started < 6000);
    assert.deepEqual(await checkKafka(brokers, 10_000), { brokers: 1 });
  });

  test('a write that cannot be delivered rejects, and the error says whether a retry can help', async () => {
    const topic = topicName('too-large');
    const out = await sink({ topic, createTopic: { partitions: 1 }, rdkafka: { 'message.max.bytes': 2000 } });
    const small = { key: 'a', value: { ok: true }, timestamp: Date.now() };
    const large = { key: 'b', value: { blob: 'x'.repeat(5000) }, timestamp: Date.now() };
    await assert.rejects(out.write([small, large]), (error: Error) => {
      assert.match(error.message, /record 2 of 2 could not be produced: .*too large/i);
      assert.equal(out.isRetryable?.(error), false, 'a message too large is not retryable');
      return true;
    });
    await out.write([small]);
  });
});
