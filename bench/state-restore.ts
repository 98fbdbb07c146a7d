/**
 * Restore time of a large store with the `kafka` state backend: writes N keys of window-like state
 * through the backend's `write` (batches of 10,000 keys, as a pipeline's checkpoints would; then 10% of
 * the keys overwritten, 1% deleted, and a last batch whose offsets are never committed), then times a
 * new backend's `restore` of that task at the committed position: keys, changelog messages read,
 * seconds (wall and CPU), keys/s. Needs Kafka (KAFKA_BROKERS, default 127.0.0.1:9092); deletes its topic.
 *
 *   npx tsx bench/state-restore.ts [--keys 1000000]
 */
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { formatErrors } from '../topology/errors.ts';
import { registry } from '../topology/registry.ts';
import type { StateBackend, StoreChanges } from '../topology/types.ts';
import { changelogTopic } from '../state/kafka/changelog.ts';
import '../state/kafka/index.ts';
import { deleteTopics } from './kafka.ts';
import { componentContext } from '../testing/component-context.ts';

const { values } = parseArgs({ options: { keys: { type: 'string', default: '1000000' } } });
const KEYS = Number(values.keys);
if (!Number.isInteger(KEYS) || KEYS < 1) throw new Error(`--keys wants a positive integer, got ${values.keys}`);
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const BATCH_KEYS = 10_000;
const INPUT = 'users_created/0';

const store = `bench-state-restore-${Date.now().toString(36)}.p.0-window.windows`;
const topic = changelogTopic(store);

async function backend(): Promise<StateBackend> {
  const decoded = registry.codec('state').decode({ type: 'kafka', brokers });
  if (decoded._tag === 'Left') throw new Error(formatErrors(decoded.left).join('\n'));
  const b = await registry.create('state', decoded.right, componentContext({ topology: 'bench', pipeline: 'p', path: 'state' }));
  await b.start([store]);
  return b;
}

const keyOf = (i: number): string => `2024-01-01T00:${String(i % 60).padStart(2, '0')}|country-${i}`;
const valueOf = (i: number, version: number): string => JSON.stringify({ count: i % 997, sum: (i * 31.5) % 10_000, first: 1_700_000_000_000 + i, last: 1_700_000_000_000 + i + version, version });

/** Batches of `[key index, value]` (undefined: delete), each tagged with the position after it. */
function* batches(): Generator<{ entries: Array<[number, string | undefined]>; offset: number }> {
  let offset = 0;
  let entries: Array<[number, string | undefined]> = [];
  const flush = () => {
    offset += entries.length;
    const batch = { entries, offset };
    entries = [];
    return batch;
  };
  for (let i = 0; i < KEYS; i++) {
    entries.push([i, valueOf(i, 0)]);
    if (entries.length === BATCH_KEYS) yield flush();
  }
  for (let i = 0; i < KEYS; i += 10) {
    entries.push([i, valueOf(i, 1)]);
    if (entries.length === BATCH_KEYS) yield flush();
  }
  for (let i = 5; i < KEYS; i += 100) {
    entries.push([i, undefined]);
    if (entries.length === BATCH_KEYS) yield flush();
  }
  if (entries.length > 0) yield flush();
}

const writer = await backend();
let committedOffset = 0;
let written = 0;
try {
  await writer.restore(store, 0, { [INPUT]: -1 }, 1);
  const writeStarted = Date.now();
  for (const batch of batches()) {
    const changes: StoreChanges = { store, task: 0, position: { [INPUT]: batch.offset }, entries: new Map(batch.entries.map(([i, value]) => [keyOf(i), value])) };
    await writer.write([changes]);
    committedOffset = batch.offset;
    written += batch.entries.length;
  }
  // Never committed: its rewrites are read, and left out.
  const uncommitted = new Map(Array.from({ length: Math.min(KEYS, BATCH_KEYS) }, (_, i) => [keyOf(i), valueOf(i, 2)] as [string, string]));
  await writer.write([{ store, task: 0, position: { [INPUT]: committedOffset + uncommitted.size }, entries: uncommitted }]);
  written += uncommitted.size;
  const writeSeconds = (Date.now() - writeStarted) / 1000;
  console.log(`wrote ${written.toLocaleString('en')} changelog messages to ${topic} in ${writeSeconds.toFixed(1)} s`);
} finally {
  await writer.close();
}

const reader = await backend();
try {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const { entries, read } = await reader.restore(store, 0, { [INPUT]: committedOffset }, 1);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const deleted = Math.ceil(Math.max(0, KEYS - 5) / 100);
  assert.equal(entries.size, KEYS - deleted, 'every key but the deleted ones');
  assert.equal(read, written, 'every changelog message read');
  assert.deepEqual(entries.get(keyOf(0)), JSON.parse(valueOf(0, 1)), 'an overwritten key has its committed value, not the uncommitted one');
  console.log(
    `restored ${entries.size.toLocaleString('en')} keys from ${read.toLocaleString('en')} messages in ${seconds.toFixed(2)} s ` +
      `(${((used.user + used.system) / 1e6).toFixed(2)} s CPU): ${Math.round(entries.size / seconds).toLocaleString('en')} keys/s, ${Math.round(read / seconds).toLocaleString('en')} messages/s`,
  );
} finally {
  await reader.close();
  const failed = await deleteTopics(brokers, [topic]);
  if (failed.length > 0) console.error(`could not delete ${failed.join('; ')}`);
}
