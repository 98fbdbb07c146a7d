/**
 * The transactional id of an exactly-once pipeline ends with the instance the runtime was given, so that
 * processes with different instances do not fence each other; a runtime given none has `default`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../../components.ts';
import type { KafkaTransactions } from '../../../clients/kafka-transactions.ts';
import { silentLogger } from '../../../operations/logger.ts';
import { parseTopology } from '../../../topology/load.ts';
import { TopologyRuntime } from '../../../topology/runtime.ts';

const TOPOLOGY = `
name: orders
pipelines:
  count:
    source: { type: kafka, brokers: "127.0.0.1:9092", topics: [orders], groupId: orders }
    sink: { type: kafka, brokers: "127.0.0.1:9092", topic: order_counts }
    processing: exactly-once
`;

test('the transactional id is user-stream.<topology>.<pipeline>.<instance>', async () => {
  for (const [instance, expected] of [
    ['build-7-1', 'user-stream.orders.count.build-7-1'],
    [undefined, 'user-stream.orders.count.default'],
  ] as const) {
    // create() makes the components without connecting anything.
    const runtime = new TopologyRuntime(parseTopology(TOPOLOGY, 'orders.yaml', { env: {} }), { logger: silentLogger(), instance });
    await runtime.create();
    const runner = runtime.runners.get('count')!;
    const { transactions } = runner.source as unknown as { transactions: KafkaTransactions };
    assert.equal(transactions.transactionalId, expected);
    await runtime.stop();
  }
});
