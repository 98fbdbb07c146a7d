/**
 * The kafka source's commit under exactly-once, without a broker (fakes stand in for the consumer and the
 * transactional producer): a batch's transaction holds the outputs of its records, so it commits only
 * with the offsets of all its partitions. A partition revoked while the batch was in flight — before its
 * commit, or while its offsets were being added to the transaction, or revoked and assigned back — fails
 * the batch instead (its rollback aborts the transaction), so no output is published whose records the
 * partition's owner reads again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Kafka from 'node-rdkafka';
import type { TopicPartitionOffset } from 'node-rdkafka';
import '../../../components.ts';
import { silentLogger } from '../../../operations/logger.ts';
import { parseTopology } from '../../../topology/load.ts';
import { TopologyRuntime } from '../../../topology/runtime.ts';
import type { Source, SourceBatch } from '../../../topology/types.ts';

const ERR = Kafka.CODES.ERRORS;

const TOPOLOGY = `
name: orders
pipelines:
  count:
    source: { type: kafka, brokers: "127.0.0.1:9092", topics: [orders], groupId: orders }
    sink: { type: kafka, brokers: "127.0.0.1:9092", topic: order_counts }
    processing: exactly-once
`;

/** What the test reaches inside the source: its consumer, transactions and rebalance handler. */
interface Inside {
  consumer: unknown;
  transactions: { commit(offsets: TopicPartitionOffset[], consumer: unknown, beforeCommit?: () => void): Promise<void> };
  rebalance(consumer: unknown, error: { code: number }, assignment: Array<{ topic: string; partition: number }>): void;
}

/** A created (not started) source owning orders/0 and orders/1, and the offsets its transactions committed. */
async function source(duringCommit: (rebalance: (code: number, partition: number) => void) => void = () => undefined) {
  const runtime = new TopologyRuntime(parseTopology(TOPOLOGY, 'orders.yaml', { env: {} }), { logger: silentLogger() });
  await runtime.create();
  const created = runtime.runners.get('count')!.source;
  const inside = created as unknown as Inside;
  const consumer = { rebalanceProtocol: () => 'COOPERATIVE', incrementalAssign: () => undefined, incrementalUnassign: () => undefined, isConnected: () => true };
  const rebalance = (code: number, partition: number) => inside.rebalance(consumer, { code }, [{ topic: 'orders', partition }]);
  const committed: TopicPartitionOffset[][] = [];
  inside.consumer = consumer;
  inside.transactions = {
    async commit(offsets, _consumer, beforeCommit) {
      duringCommit(rebalance); // while the offsets are being added to the transaction
      beforeCommit?.();
      committed.push(offsets);
    },
  };
  rebalance(ERR.ERR__ASSIGN_PARTITIONS, 0);
  rebalance(ERR.ERR__ASSIGN_PARTITIONS, 1);
  return { source: created as Source, rebalance, committed };
}

const batch = (endOffsets: Record<string, number>) => ({ endOffsets }) as unknown as SourceBatch;

test('exactly-once: a batch whose partitions all stayed commits their offsets in its transaction', async () => {
  const { source: s, committed } = await source();
  await s.commit(batch({ 'orders/0': 10, 'orders/1': 7 }));
  assert.deepEqual(committed, [
    [
      { topic: 'orders', partition: 0, offset: 10 },
      { topic: 'orders', partition: 1, offset: 7 },
    ],
  ]);
});

test('exactly-once: a partition revoked before the commit fails the batch; nothing is committed', async () => {
  const { source: s, rebalance, committed } = await source();
  rebalance(ERR.ERR__REVOKE_PARTITIONS, 1);
  await assert.rejects(s.commit(batch({ 'orders/0': 10, 'orders/1': 7 })), /orders\/1 moved in a rebalance while the batch was in flight/);
  assert.deepEqual(committed, []);
});

test('exactly-once: a partition revoked and assigned back fails the batch too (it is read again from its committed offset)', async () => {
  const { source: s, rebalance, committed } = await source();
  rebalance(ERR.ERR__REVOKE_PARTITIONS, 1);
  rebalance(ERR.ERR__ASSIGN_PARTITIONS, 1);
  await assert.rejects(s.commit(batch({ 'orders/1': 7 })), /orders\/1 moved/);
  assert.deepEqual(committed, []);
});

test('exactly-once: a partition revoked while the offsets join the transaction fails the batch before it commits', async () => {
  const { source: s, committed } = await source((rebalance) => rebalance(ERR.ERR__REVOKE_PARTITIONS, 0));
  await assert.rejects(s.commit(batch({ 'orders/0': 10, 'orders/1': 7 })), /orders\/0 moved/);
  assert.deepEqual(committed, []);
});
