/**
 * `processing: exactly-once` against the real Kafka: a kafka → aggregate → kafka pipeline whose outputs,
 * dead letters, state changes and offsets are one transaction per batch. A second process of the same
 * pipeline fences the first (its transactions abort, it commits nothing more); once the first is gone
 * the second processes everything — and a read_committed consumer of the output topic sees each input
 * counted exactly once: the last row of every group holds its true count, and the rows of a group go
 * up one batch at a time, never counting a record twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Kafka from 'node-rdkafka';
import '../../components.ts';
import { parseTopology } from '../../topology/load.ts';
import { TopologyRuntime } from '../../topology/runtime.ts';
import type { ProgressEvent } from '../../topology/progress.ts';
import { CaptureTransport, type LogEntry } from '../../testing/capture.ts';
import winston from 'winston';
import { changelogTopic } from '../../state/kafka/changelog.ts';
import { createTopic, deleteTopics, readCommitted } from './read-topic.ts';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const input = `eos_in_${run}`;
const output = `eos_out_${run}`;
const dead = `eos_dead_${run}`;
const group = `eos-${run}`;
const NATS = ['FR', 'DE', 'ES', 'IR', 'UA'];
const N = 600;

const TOPOLOGY = `
name: eos-${run}
pipelines:
  count:
    source: { type: kafka, brokers: "${brokers}", topics: [${input}], groupId: ${group}, sessionTimeout: 6s }
    operators:
      - { type: aggregate, groupBy: [nat], aggregations: { users: { fn: count } } }
    sink: { type: kafka, brokers: "${brokers}", topic: ${output}, createTopic: { partitions: 1, replicationFactor: 1 } }
    deadLetter: { type: dead-letter, brokers: "${brokers}", topic: ${dead}, createTopic: { partitions: 1, replicationFactor: 1 } }
    state: { type: kafka, brokers: "${brokers}" }
    processing: exactly-once
    trigger: { interval: 200ms, maxRecordsPerTrigger: 50 }
`;

function produce(messages: Array<{ key: string; value: string }>): Promise<void> {
  const producer = new Kafka.Producer({ 'bootstrap.servers': brokers, dr_cb: true, 'enable.idempotence': true, log_level: 0 });
  return new Promise((resolve, reject) => {
    let delivered = 0;
    producer.on('delivery-report', (error) => {
      if (error) reject(error);
      else if (++delivered === messages.length) producer.disconnect(() => resolve());
    });
    producer.on('ready', () => {
      for (const m of messages) producer.produce(input, null, Buffer.from(m.value), m.key);
      producer.setPollInterval(10);
    });
    producer.connect();
  });
}

function start(logs: LogEntry[]): { runtime: TopologyRuntime; events: ProgressEvent[] } {
  const config = parseTopology(TOPOLOGY, 'eos.yaml', { env: {} });
  const logger = winston.createLogger({ level: 'debug', transports: [new CaptureTransport(logs)] });
  const runtime = new TopologyRuntime(config, { logger });
  const events: ProgressEvent[] = [];
  runtime.progress$.subscribe((e) => events.push(e));
  return { runtime, events };
}

const consumed = (events: ProgressEvent[]) => events.reduce((n, e) => n + e.numInputRows, 0);

test('exactly-once: a fenced process commits nothing; a read_committed consumer sees every input counted exactly once', { timeout: 300_000 }, async () => {
  await createTopic(brokers, input, 2);
  const users = Array.from({ length: N }, (_, i) => ({ key: `u${i}`, value: JSON.stringify({ id: i, nat: NATS[(i * 7) % NATS.length] }) }));
  const truth = new Map<string, number>();
  for (const u of users) {
    const nat = (JSON.parse(u.value) as { nat: string }).nat;
    truth.set(nat, (truth.get(nat) ?? 0) + 1);
  }
  try {
    await produce(users.slice(0, N / 2));
    const firstLogs: LogEntry[] = [];
    const first = start(firstLogs);
    await first.runtime.start();
    const deadline = Date.now() + 90_000;
    while (consumed(first.events) < 100) {
      assert.ok(Date.now() < deadline, `the first process consumed ${consumed(first.events)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // A second process of the same pipeline: its transactions fence the first's.
    const secondLogs: LogEntry[] = [];
    const second = start(secondLogs);
    await second.runtime.start();
    await produce(users.slice(N / 2));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await first.runtime.stop();
    const fenced = firstLogs.some((l) => /fenced/.test(l.message));
    const until = Date.now() + 120_000;
    while (consumed(second.events) + consumed(first.events) < N || consumed(second.events) === 0) {
      assert.ok(Date.now() < until, `consumed ${consumed(first.events)} + ${consumed(second.events)} of ${N}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Let the second process catch up with everything the first left uncommitted, then stop it.
    const settled = Date.now() + 60_000;
    for (;;) {
      const rows = (await readCommitted(brokers, output)).map((m) => JSON.parse(m.value!.toString()) as { nat: string; users: number });
      const last = new Map(rows.map((r) => [r.nat, r.users]));
      if ([...truth].every(([nat, n]) => last.get(nat) === n) || Date.now() > settled) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await second.runtime.stop();

    const rows = (await readCommitted(brokers, output)).map((m) => JSON.parse(m.value!.toString()) as { nat: string; users: number });
    const last = new Map(rows.map((r) => [r.nat, r.users]));
    assert.deepEqual(Object.fromEntries([...last].sort()), Object.fromEntries([...truth].sort()), 'the last row of every group holds its true count');
    // Within a group, committed rows only ever go up: a batch counted twice would show a count above the truth.
    for (const nat of truth.keys()) {
      const counts = rows.filter((r) => r.nat === nat).map((r) => r.users);
      for (let i = 1; i < counts.length; i++) assert.ok(counts[i] > counts[i - 1], `${nat}: ${counts.join(', ')} rises`);
      assert.ok(Math.max(...counts) <= truth.get(nat)!, `${nat}: never above ${truth.get(nat)}`);
    }
    assert.equal((await readCommitted(brokers, dead)).length, 0, 'no dead letter');
    assert.ok(fenced || consumed(first.events) > 0, 'the first process ran, and was fenced or stopped');
  } finally {
    await deleteTopics(brokers, [input, output, dead, changelogTopic(`eos-${run}.count.${group}.0-aggregate.groups`)]);
  }
});
