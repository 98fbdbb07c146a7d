/**
 * The `kafka` state backend without a broker: changelog topic names, the topic config, what changes
 * become on the wire (key, value, tombstone, the position header), the restore fold — which must give
 * the `memory` backend's answers for the same changes — and the backend's config.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MessageHeader } from 'node-rdkafka';
import { TopicName } from '../../../topology/codecs.ts';
import { formatErrors } from '../../../topology/errors.ts';
import { registry } from '../../../topology/registry.ts';
import type { StoreChanges } from '../../../topology/types.ts';
import { ChangelogRestore, POSITION_HEADER, changelogMessages, changelogTopic, changelogTopicConfig, decodePosition, positionHeaderOf, type ChangelogMessage } from '../../../state/kafka/changelog.ts';
import { SCENARIO_COMMITTED, SCENARIO_PARTITIONS, memoryBackendWith, scenarioBatches } from '../../../testing/changelog-scenario.ts';
import '../../../state/kafka/index.ts';

test('a changelog topic is the store id with -changelog, when that is a valid topic name', () => {
  assert.equal(changelogTopic('user-pipeline.nat_minute.1-window.windows'), 'user-pipeline.nat_minute.1-window.windows-changelog');
});

test('a store id Kafka would refuse becomes a valid, readable topic name, told apart from its look-alikes by a hash', () => {
  const odd = changelogTopic('my topology.p/1:window.windows');
  assert.match(odd, /^my_topology\.p_1_window\.windows-[0-9a-f]{12}-changelog$/);
  assert.notEqual(odd, changelogTopic('my_topology.p_1_window.windows'));
  assert.notEqual(odd, changelogTopic('my topology.p/1_window.windows'));
  assert.equal(changelogTopic('my topology.p/1:window.windows'), odd, 'the same id always names the same topic');
  assert.ok(TopicName.is(odd));
});

test('a store id too long for a topic name is cut to 249 characters, distinct ids staying distinct', () => {
  const long = `${'t'.repeat(300)}.p.0-window.windows`;
  const other = `${'t'.repeat(300)}.p.0-window.other`;
  const name = changelogTopic(long);
  assert.equal(name.length, 249);
  assert.ok(name.startsWith('tttt') && name.endsWith('-changelog'));
  assert.ok(TopicName.is(name));
  assert.notEqual(name, changelogTopic(other));
  assert.equal(changelogTopic('x'.repeat(239)).length, 249, 'an id that just fits is kept whole');
  assert.equal(changelogTopic('x'.repeat(239)), `${'x'.repeat(239)}-changelog`);
});

test('changelog topics are compacted, with the compaction lag', () => {
  assert.deepEqual(changelogTopicConfig({ minCompactionLag: 86_400_000 }), { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '86400000' });
  assert.deepEqual(changelogTopicConfig({ minCompactionLag: 5000 }), { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '5000' });
});

test('each changed key is one message in the partition of its task: the JSON text, a tombstone for a deleted key, the position in a header', () => {
  const changes: StoreChanges[] = [
    { store: 's.p.0-window.w', task: 2, position: { 'in/2': 41, 'side/2': '7' }, entries: new Map([['k1', '{"count":3}'], ['k2', undefined]]) },
    { store: 's.p.0-window.v', task: 0, position: { 'in/0': 5 }, entries: new Map([['ключ', '"Ава"']]) },
  ];
  const messages = changelogMessages(changes, changelogTopic);
  assert.deepEqual(
    messages.map((m) => ({ topic: m.topic, partition: m.partition, key: m.key, value: m.value?.toString('utf8') ?? null, timestamp: m.timestamp, headers: m.headers })),
    [
      { topic: 's.p.0-window.w-changelog', partition: 2, key: 'k1', value: '{"count":3}', timestamp: null, headers: [{ position: '{"in/2":41,"side/2":"7"}' }] },
      { topic: 's.p.0-window.w-changelog', partition: 2, key: 'k2', value: null, timestamp: null, headers: [{ position: '{"in/2":41,"side/2":"7"}' }] },
      { topic: 's.p.0-window.v-changelog', partition: 0, key: 'ключ', value: '"Ава"', timestamp: null, headers: [{ position: '{"in/0":5}' }] },
    ],
  );
  assert.deepEqual(decodePosition(String(positionHeaderOf(messages[0].headers))), { 'in/2': 41, 'side/2': '7' });
});

test('a position header is read from the headers as consumed, and must hold a source position', () => {
  assert.equal(positionHeaderOf([{ other: 'x' }, { [POSITION_HEADER]: Buffer.from('{"a/0":1}') }])?.toString(), '{"a/0":1}');
  assert.equal(positionHeaderOf([{ other: 'x' }]), undefined);
  assert.equal(positionHeaderOf(undefined), undefined);
  assert.deepEqual(decodePosition('{}'), {});
  for (const bad of ['', 'nope', '[1]', 'null', '{"a/0":true}', '42']) assert.throws(() => decodePosition(bad), /not a source position/, bad);
});

/** What a consumer hands out for the messages `changelogMessages` made: Buffers, offsets in order, by partition. */
function consumed(batches: StoreChanges[][], store: string, task: number): ChangelogMessage[] {
  const messages = batches.flatMap((batch) => changelogMessages(batch, (s) => s)).filter((m) => m.topic === store && m.partition === task);
  return messages.map((m, offset) => ({
    key: Buffer.from(m.key ?? ''),
    value: m.value,
    offset,
    headers: (m.headers ?? []).map((h): MessageHeader => Object.fromEntries(Object.entries(h).map(([name, value]) => [name, Buffer.from(value)]))),
  }));
}

test('the restore fold gives exactly what the memory backend restores from the same changes', async () => {
  const batches = scenarioBatches('counts', 'windows');
  const memory = await memoryBackendWith(batches);
  for (const [when, committedOf] of Object.entries(SCENARIO_COMMITTED)) {
    for (const store of ['counts', 'windows']) {
      for (let task = 0; task < SCENARIO_PARTITIONS; task++) {
        const restore = new ChangelogRestore(committedOf[task], `${store}/${task}`);
        for (const message of consumed(batches, store, task)) restore.apply(message);
        const expected = await memory.restore(store, task, committedOf[task], SCENARIO_PARTITIONS);
        assert.deepEqual({ entries: restore.entries(), read: restore.read }, expected, `${store} task ${task}, ${when}`);
      }
    }
  }
});

test('the scenario restores what its story says (so the comparison above compares something)', async () => {
  const memory = await memoryBackendWith(scenarioBatches('counts', 'windows'));
  const at = SCENARIO_COMMITTED['at the last commit'];
  const counts0 = await memory.restore('counts', 0, at[0], 2);
  assert.deepEqual(counts0.entries, new Map<string, unknown>([['a', 2], ['ключ ✓', { n: 1 }], ['d', 1], ['c', 3], ['e', [1, 2, 3]]]));
  assert.equal(counts0.read, 13);
  assert.deepEqual((await memory.restore('counts', 1, at[1], 2)).entries, new Map<string, unknown>([['x', 11], ['y', 'text'], ['z', null]]));
  assert.deepEqual((await memory.restore('windows', 0, at[0], 2)).entries, new Map<string, unknown>([['2024-01-01T00:01|de', { count: 1, ids: [] }]]));
});

test('a changelog message not written by a state backend fails the restore, naming where it is', () => {
  const restore = new ChangelogRestore({ 'in/0': 10 }, 'changelog t/0');
  assert.throws(() => restore.apply({ key: Buffer.from('k'), value: Buffer.from('1'), offset: 7 }), /changelog t\/0: the message at offset 7 was not written by a state backend \(it has no position header\)/);
  assert.throws(() => restore.apply({ key: null, value: Buffer.from('1'), offset: 8, headers: [{ position: Buffer.from('{"in/0":1}') }] }), /offset 8 .*it has no key/);
  assert.throws(() => restore.apply({ key: 'k', value: null, offset: 9, headers: [{ position: Buffer.from('oops') }] }), /offset 9 .*not a source position/);
  const bad = new ChangelogRestore({ 'in/0': 10 }, 'changelog t/0');
  bad.apply({ key: 'k', value: Buffer.from('{oops'), offset: 0, headers: [{ position: '{"in/0":1}' }] });
  assert.throws(() => bad.entries(), /changelog t\/0: the value of key "k" is not JSON/);
  const ended = new ChangelogRestore({}, 'changelog t/1');
  ended.entries();
  assert.throws(() => ended.entries(), /taken once/);
  assert.throws(() => ended.apply({ key: 'k', value: null, offset: 0, headers: [{ position: '{}' }] }), /after the restore ended/);
});

test('the kafka state config: defaults, and the options the backend sets itself are refused', () => {
  const decoded = registry.codec('state').decode({ type: 'kafka', brokers: '127.0.0.1:9092' });
  if (decoded._tag === 'Left') throw new Error(formatErrors(decoded.left).join('\n'));
  assert.deepEqual(
    { replicationFactor: decoded.right.replicationFactor, minInsyncReplicas: decoded.right.minInsyncReplicas, minCompactionLag: decoded.right.minCompactionLag, deliveryTimeout: decoded.right.deliveryTimeout },
    { replicationFactor: 'auto', minInsyncReplicas: 'auto', minCompactionLag: 86_400_000, deliveryTimeout: 30_000 },
  );
  const refused = registry.codec('state').decode({ type: 'kafka', brokers: '127.0.0.1:9092', minCompactionLag: '2h', rdkafka: { 'group.id': 'mine', acks: 1 } });
  assert.equal(refused._tag, 'Left');
  const problems = refused._tag === 'Left' ? formatErrors(refused.left).join('\n') : '';
  assert.match(problems, /"group\.id" is set by this component: changelogs are read by assigning their partitions/);
  assert.match(problems, /"acks" is set by this component/);
  assert.deepEqual(registry.endpoints('state', { type: 'kafka', brokers: 'k1:9092,k2:9092' }), [{ service: 'kafka', address: 'k1:9092,k2:9092' }]);
});
