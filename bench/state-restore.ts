/**
 * Restore time of a large store with the `kafka` state backend: writes N keys of window-like state
 * through the backend's `write` (batches of 10,000 keys, as a pipeline's checkpoints would; then 10% of
 * the keys overwritten, 1% deleted, and a last batch whose offsets are never committed), then times a
 * new backend's `restore` of that task at the committed position: keys, changelog messages read,
 * seconds (wall and CPU), keys/s. It checks what it restored: every key but the deleted ones, each with
 * its committed value.
 *
 * `npm run bench` runs it as its `restore` leg (in a worker process, legs/restore.ts); on its own it
 * needs only Kafka (KAFKA_BROKERS, default 127.0.0.1:9092) and deletes its topic:
 *
 *   npx tsx bench/state-restore.ts [--keys 1000000]
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { formatErrors } from '../topology/errors.ts';
import { registry } from '../topology/registry.ts';
import type { StateBackend, StoreChanges } from '../topology/types.ts';
import { changelogTopic } from '../state/kafka/changelog.ts';
import '../state/kafka/index.ts';
import { deleteTopics } from './kafka.ts';
import { componentContext } from '../testing/component-context.ts';

export interface StateRestoreTask {
  kind: 'state-restore';
  brokers: string;
  /** Keys of the store. */
  keys: number;
  /** The store id (its changelog topic is `changelogTopic(store)`, which the caller deletes). */
  store: string;
}

export interface StateRestoreResult {
  /** Keys written, and restored (the written ones but the deleted). */
  storeKeys: number;
  keys: number;
  messagesWritten: number;
  writeSeconds: number;
  messagesRead: number;
  /** The restore's wall and CPU (user + system) seconds. */
  seconds: number;
  cpuSeconds: number;
  keysPerSecond: number;
  messagesPerSecond: number;
  /** Bytes, right after the restore, its entries still held. */
  rssAfterRestore: number;
}

const BATCH_KEYS = 10_000;
const INPUT = 'users_created/0';

/** A store id whose changelog topic the restore benchmark may create (and its caller delete). */
export const restoreStoreId = (prefix: string): string => `${prefix}.p.0-window.windows`;

async function backend(brokers: string, store: string): Promise<StateBackend> {
  const decoded = registry.codec('state').decode({ type: 'kafka', brokers });
  if (decoded._tag === 'Left') throw new Error(formatErrors(decoded.left).join('\n'));
  const b = await registry.create('state', decoded.right, componentContext({ topology: 'bench', pipeline: 'p', path: 'state' }));
  await b.start([store]);
  return b;
}

const keyOf = (i: number): string => `2024-01-01T00:${String(i % 60).padStart(2, '0')}|country-${i}`;
const valueOf = (i: number, version: number): string => JSON.stringify({ count: i % 997, sum: (i * 31.5) % 10_000, first: 1_700_000_000_000 + i, last: 1_700_000_000_000 + i + version, version });

/** Batches of `[key index, value]` (undefined: delete), each tagged with the position after it. */
function* batches(keys: number): Generator<{ entries: Array<[number, string | undefined]>; offset: number }> {
  let offset = 0;
  let entries: Array<[number, string | undefined]> = [];
  const flush = () => {
    offset += entries.length;
    const batch = { entries, offset };
    entries = [];
    return batch;
  };
  for (let i = 0; i < keys; i++) {
    entries.push([i, valueOf(i, 0)]);
    if (entries.length === BATCH_KEYS) yield flush();
  }
  for (let i = 0; i < keys; i += 10) {
    entries.push([i, valueOf(i, 1)]);
    if (entries.length === BATCH_KEYS) yield flush();
  }
  for (let i = 5; i < keys; i += 100) {
    entries.push([i, undefined]);
    if (entries.length === BATCH_KEYS) yield flush();
  }
  if (entries.length > 0) yield flush();
}

/** Write the store's changelog, then time its restore with a new backend. Leaves the topic behind. */
export async function stateRestore(task: StateRestoreTask): Promise<StateRestoreResult> {
  const { brokers, keys, store } = task;
  if (!Number.isInteger(keys) || keys < 1) throw new Error(`keys: a positive integer, not ${keys}`);
  const writer = await backend(brokers, store);
  let committedOffset = 0;
  let written = 0;
  let writeSeconds: number;
  try {
    await writer.restore(store, 0, { [INPUT]: -1 }, 1);
    const writeStarted = Date.now();
    for (const batch of batches(keys)) {
      const changes: StoreChanges = { store, task: 0, position: { [INPUT]: batch.offset }, entries: new Map(batch.entries.map(([i, value]) => [keyOf(i), value])) };
      await writer.write([changes]);
      committedOffset = batch.offset;
      // A key written twice in one batch (a store smaller than a batch) is one message.
      written += changes.entries.size;
    }
    // Never committed: its rewrites are read, and left out.
    const uncommitted = new Map(Array.from({ length: Math.min(keys, BATCH_KEYS) }, (_, i) => [keyOf(i), valueOf(i, 2)] as [string, string]));
    await writer.write([{ store, task: 0, position: { [INPUT]: committedOffset + uncommitted.size }, entries: uncommitted }]);
    written += uncommitted.size;
    writeSeconds = (Date.now() - writeStarted) / 1000;
  } finally {
    await writer.close();
  }

  const reader = await backend(brokers, store);
  try {
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    const { entries, read } = await reader.restore(store, 0, { [INPUT]: committedOffset }, 1);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const used = process.cpuUsage(cpu);
    const rssAfterRestore = process.memoryUsage().rss;
    const deleted = Math.ceil(Math.max(0, keys - 5) / 100);
    assert.equal(entries.size, keys - deleted, 'every key but the deleted ones');
    assert.equal(read, written, 'every changelog message read');
    assert.deepEqual(entries.get(keyOf(0)), JSON.parse(valueOf(0, 1)), 'an overwritten key has its committed value, not the uncommitted one');
    return {
      storeKeys: keys,
      keys: entries.size,
      messagesWritten: written,
      writeSeconds,
      messagesRead: read,
      seconds,
      cpuSeconds: (used.user + used.system) / 1e6,
      keysPerSecond: entries.size / seconds,
      messagesPerSecond: read / seconds,
      rssAfterRestore,
    };
  } finally {
    await reader.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { keys: { type: 'string', default: '1000000' } } });
  const keys = Number(values.keys);
  if (!Number.isInteger(keys) || keys < 1) throw new Error(`--keys wants a positive integer, got ${values.keys}`);
  const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
  const store = restoreStoreId(`bench-state-restore-${Date.now().toString(36)}`);
  const topic = changelogTopic(store);
  try {
    const r = await stateRestore({ kind: 'state-restore', brokers, keys, store });
    const f = (value: number) => Math.round(value).toLocaleString('en');
    console.log(`wrote ${f(r.messagesWritten)} changelog messages to ${topic} in ${r.writeSeconds.toFixed(1)} s`);
    console.log(
      `restored ${f(r.keys)} keys from ${f(r.messagesRead)} messages in ${r.seconds.toFixed(2)} s (${r.cpuSeconds.toFixed(2)} s CPU): ${f(r.keysPerSecond)} keys/s, ${f(r.messagesPerSecond)} messages/s`,
    );
  } finally {
    const failed = await deleteTopics(brokers, [topic]);
    if (failed.length > 0) console.error(`could not delete ${failed.join('; ')}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
