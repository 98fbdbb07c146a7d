/**
 * The restore leg: how long a store of 1,000,000 keys (quick: 100,000) takes to come back from its
 * changelog with the kafka state backend — what a pipeline with durable state waits for, before its
 * first batch, when its tasks are assigned (a start, a restart, a swap). The store is written and
 * restored in a worker process of its own (bench/state-restore.ts); its changelog topic is deleted.
 */
import os from 'node:os';
import { startWorker } from '../child.ts';
import { deleteTopics } from '../kafka.ts';
import { restoreStoreId, type StateRestoreResult } from '../state-restore.ts';
import { mib, round } from '../stats.ts';
import { changelogTopic } from '../../state/kafka/changelog.ts';
import { fmt, log, type Context } from './context.ts';

export async function restoreLeg(ctx: Context): Promise<void> {
  const { kafkaBrokers: brokers } = ctx.addresses;
  const keys = ctx.settings.restoreKeys;
  const store = restoreStoreId(`bench-${ctx.run}-restore`);
  const topic = changelogTopic(store);
  ctx.cleanup.topics.push(topic);
  log(`restore: writing a store of ${fmt(keys)} keys to ${topic}, then restoring it`);
  const worker = startWorker<StateRestoreResult>({ kind: 'state-restore', brokers, keys, store });
  ctx.cleanup.workers.push(worker);
  const r = await worker.result;
  await deleteTopics(brokers, [topic]);
  ctx.report.restore = { ...r, rssAfterRestore: mib(r.rssAfterRestore), loadAverage: round(os.loadavg()[0], 2) };
  log(`restore: ${fmt(r.keys)} keys from ${fmt(r.messagesRead)} messages in ${r.seconds.toFixed(2)} s (${r.cpuSeconds.toFixed(2)} CPU s): ${fmt(r.keysPerSecond)} keys/s`);
}
