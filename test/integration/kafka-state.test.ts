/**
 * The `kafka` state backend against a real broker (KAFKA_BROKERS, default 127.0.0.1:9092): changes of
 * two tasks of two stores over several batches (tombstones, a key rewritten by a batch whose offsets
 * were never committed) restored at several committed positions — exactly what the `memory` backend
 * restores from the same changes — by the backend that wrote them and by a new one; the messages and the
 * topic config on the brokers; and a changelog whose partition count is not the input's, refused.
 * Topics are named after this run and deleted at the end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { formatErrors, UserFacingError } from '../../topology/errors.ts';
import { registry } from '../../topology/registry.ts';
import type { StateBackend } from '../../topology/types.ts';
import { changelogTopic } from '../../state/kafka/changelog.ts';
import { SCENARIO_COMMITTED, SCENARIO_PARTITIONS, memoryBackendWith, scenarioBatches } from '../../testing/changelog-scenario.ts';
import { createTopic, deleteTopics, headersOf, readTopic } from './read-topic.ts';
import { describeTopicConfig } from './describe-configs.ts';
import '../../state/kafka/index.ts';
import { componentContext } from '../../testing/component-context.ts';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const topology = `kafka-state-test-${runId}`;
const storeId = (operator: string, store: string) => `${topology}.p.${operator}.${store}`;
const counts = storeId('0-window', 'counts');
const windows = storeId('1-window', 'windows');
const topics = [changelogTopic(counts), changelogTopic(windows)];
const open: StateBackend[] = [];

async function backend(config: Record<string, unknown> = {}): Promise<StateBackend> {
  const decoded = registry.codec('state').decode({ type: 'kafka', brokers, minCompactionLag: '1h', ...config });
  if (decoded._tag === 'Left') throw new Error(formatErrors(decoded.left).join('\n'));
  const b = await registry.create('state', decoded.right, componentContext({ topology, pipeline: 'p', path: 'state' }));
  await b.start([counts, windows]);
  open.push(b);
  return b;
}

after(async () => {
  for (const b of open.splice(0)) await b.close().catch(() => undefined);
  await deleteTopics(brokers, topics);
});

describe(`the kafka state backend against ${brokers}`, () => {
  const batches = scenarioBatches(counts, windows);

  test('restores exactly what the memory backend restores from the same changes, at every committed position, from the same and from a new backend', async () => {
    const writer = await backend();
    // The pipeline restores every task before its first write: that creates the changelogs, empty.
    for (const store of [counts, windows]) {
      for (let task = 0; task < SCENARIO_PARTITIONS; task++) {
        assert.deepEqual(await writer.restore(store, task, SCENARIO_COMMITTED['at the last commit'][task], SCENARIO_PARTITIONS), { entries: new Map(), read: 0 });
      }
    }
    for (const batch of batches) await writer.write(batch);

    const memory = await memoryBackendWith(batches);
    const reader = await backend();
    for (const [name, b] of [['the writer', writer], ['a new backend', reader]] as const) {
      for (const [when, committedOf] of Object.entries(SCENARIO_COMMITTED)) {
        for (const store of [counts, windows]) {
          for (let task = 0; task < SCENARIO_PARTITIONS; task++) {
            const restored = await b.restore(store, task, committedOf[task], SCENARIO_PARTITIONS);
            assert.deepEqual(restored, await memory.restore(store, task, committedOf[task], SCENARIO_PARTITIONS), `${name}: ${store} task ${task}, ${when}`);
          }
        }
      }
    }

    // What the story says, spelled out: the uncommitted batch's rewrite of `a`, deletion of `d` and new `f` are left out.
    const at = SCENARIO_COMMITTED['at the last commit'];
    assert.deepEqual(await reader.restore(counts, 0, at[0], 2), { entries: new Map<string, unknown>([['a', 2], ['ключ ✓', { n: 1 }], ['d', 1], ['c', 3], ['e', [1, 2, 3]]]), read: 13 });
    assert.deepEqual(await reader.restore(counts, 1, at[1], 2), { entries: new Map<string, unknown>([['x', 11], ['y', 'text'], ['z', null]]), read: 6 });
    assert.deepEqual(await reader.restore(windows, 0, at[0], 2), { entries: new Map<string, unknown>([['2024-01-01T00:01|de', { count: 1, ids: [] }]]), read: 6 });
    assert.deepEqual(await reader.restore(windows, 1, at[1], 2), { entries: new Map(), read: 0 });
  });

  test('the changelog holds one message per changed key in the partition of its task: JSON values, tombstones, the position header', async () => {
    const messages = await readTopic(brokers, changelogTopic(counts));
    const wanted = batches.flatMap((batch) =>
      batch
        .filter((c) => c.store === counts)
        .flatMap((c) => [...c.entries].map(([key, value]) => ({ partition: c.task, key, value: value ?? null, position: JSON.stringify(c.position) }))),
    );
    const got = messages.map((m) => ({ partition: m.partition, key: m.key?.toString() ?? null, value: m.value?.toString('utf8') ?? null, position: headersOf(m).position }));
    const byPartition = (list: typeof got) => [0, 1].map((p) => list.filter((m) => m.partition === p));
    assert.deepEqual(byPartition(got), byPartition(wanted));
  });

  test('changelog topics are created compacted, with min.compaction.lag.ms, and the replication settings', async () => {
    for (const topic of topics) {
      assert.deepEqual(await describeTopicConfig(brokers, topic, ['cleanup.policy', 'min.compaction.lag.ms']), { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '3600000' }, topic);
    }
    const store = storeId('2-window', 'isr');
    topics.push(changelogTopic(store));
    const b = await backend({ minInsyncReplicas: 1 });
    await b.restore(store, 0, { 'in/0': -1 }, 1);
    assert.deepEqual(await describeTopicConfig(brokers, changelogTopic(store), ['cleanup.policy', 'min.compaction.lag.ms', 'min.insync.replicas']), {
      'cleanup.policy': 'compact',
      'min.compaction.lag.ms': '3600000',
      'min.insync.replicas': '1',
    });
    assert.equal(b.describe(store), `kafka changelog topic ${changelogTopic(store)} (compacted)`);
  });

  test('a write to a store none of whose tasks was restored is refused: its changelog may not exist yet', async () => {
    const b = await backend();
    const store = storeId('4-window', 'never-restored');
    await assert.rejects(b.write([{ store, task: 0, position: { 'in/0': 1 }, entries: new Map([['k', '1']]) }]), /store .*never-restored was written before any task of it was restored/);
  });

  test('an existing changelog with another partition count than the input is refused, saying what differs and what to do', async () => {
    const store = storeId('3-window', 'repartitioned');
    const topic = changelogTopic(store);
    topics.push(topic);
    await createTopic(brokers, topic, 3, { 'cleanup.policy': 'compact' });
    const b = await backend();
    await assert.rejects(
      b.restore(store, 0, { 'in/0': 5 }, 2),
      (error: Error) => {
        assert.ok(error instanceof UserFacingError);
        assert.match(error.message, new RegExp(`changelog topic ${topic.replace(/\./g, '\\.')} has 3 partition\\(s\\), but the pipeline's input has 2`));
        assert.match(error.message, /delete topic .* \(the store starts empty\) or give the input 3 partition\(s\) again/);
        return true;
      },
    );
    // The same topic, for an input of 3 partitions: restored (empty) without complaint.
    assert.deepEqual(await b.restore(store, 2, { 'in/2': 5 }, 3), { entries: new Map(), read: 0 });
  });
});
