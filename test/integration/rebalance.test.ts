/**
 * A cooperative rebalance against the real Kafka, the way Kafka Streams hands a task over: member A of a
 * group reads a 4-partition topic through a whole pipeline whose sink is slow (each write takes seconds),
 * and member B joins while A's batch is in flight. The partitions that move to B are given up only after
 * A's batch committed them, so B starts right after A's batch: no record is processed by both members,
 * and none is lost. With `maxInFlight: 2` A keeps reading while its batch is written, which is when the
 * revoke reaches it; with `maxInFlight: 1` it reaches A at its next read, after the commit.
 *
 * Topics are named after this run and deleted at the end (the groups, left without offsets, expire).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import winston from 'winston';
import '../../components.ts';
import { parseTopology } from '../../topology/load.ts';
import { TopologyRuntime } from '../../topology/runtime.ts';
import { memoryStore } from '../../testing/memory-channels.ts';
import { CaptureTransport, type LogEntry } from '../../testing/capture.ts';
import type { StreamRecord } from '../../topology/types.ts';
import { createTopic, deleteTopics, produce } from './read-topic.ts';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const PARTITIONS = 4;
/** Messages per partition, in each of the two waves. */
const PER_PARTITION = 50;
/** How long each of A's sink writes takes: its batch stays in flight while B joins. */
const SLOW_WRITE_MS = 6000;
const topics: string[] = [];

after(async () => {
  await deleteTopics(brokers, topics);
});

/** A wave of PER_PARTITION messages into each partition. */
function produceWave(topic: string, wave: number): Promise<unknown> {
  const messages = Array.from({ length: PARTITIONS * PER_PARTITION }, (_, n) => {
    const partition = Math.floor(n / PER_PARTITION);
    const i = n % PER_PARTITION;
    return { key: `k${partition}-${i}`, value: JSON.stringify({ wave, partition, i }), partition };
  });
  return produce(brokers, topic, messages);
}

interface Member {
  name: string;
  runtime: TopologyRuntime;
  logs: LogEntry[];
  /** What the member's sink acknowledged. */
  out: () => StreamRecord[];
}

async function member(name: string, topic: string, group: string, maxInFlight: number, writeDelayMs: number): Promise<Member> {
  const yaml = `
name: ${name}
pipelines:
  main:
    source: { type: kafka, brokers: "${brokers}", topics: [${topic}], groupId: ${group}, sessionTimeout: 10s, rdkafka: { "heartbeat.interval.ms": 500 } }
    sink: { type: memory, channel: out }
    maxInFlight: ${maxInFlight}
    trigger: { maxRecordsPerTrigger: 1000 }
`;
  const logs: LogEntry[] = [];
  const logger = winston.createLogger({ level: 'debug', transports: [new CaptureTransport(logs)] });
  const runtime = new TopologyRuntime(parseTopology(yaml, `${name}.yaml`, { env: {} }), { logger });
  const channel = memoryStore.channel(name, 'out');
  channel.behaviour.delayMs = writeDelayMs;
  await runtime.start();
  return { name, runtime, logs, out: () => channel.records };
}

async function until(what: string, done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    assert.ok(Date.now() < deadline, `timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const at = (r: StreamRecord): string => `${r.origin?.partition}@${r.origin?.offset}`;
const ownsSome = (logs: LogEntry[]) => logs.some((l) => /; owns [1-9]\d* partition\(s\)$/.test(l.message));

describe(`a cooperative rebalance against ${brokers}`, () => {
  for (const maxInFlight of [2, 1]) {
    test(`maxInFlight ${maxInFlight}: the partitions that move are committed by the batch in flight, and the new owner starts after it`, { timeout: 120_000 }, async (t) => {
      const topic = `rebalance-${maxInFlight}-${run}`;
      topics.push(topic);
      const group = `rebalance-${maxInFlight}-${run}`;
      await createTopic(brokers, topic, PARTITIONS);
      await produceWave(topic, 1);
      const wave = PARTITIONS * PER_PARTITION;

      const a = await member(`rebalance-a${maxInFlight}-${run}`, topic, group, maxInFlight, SLOW_WRITE_MS);
      const members = [a];
      try {
        // Every record of the first wave read by A, and the last of its batches still being written.
        const channelA = memoryStore.channel(a.name, 'out');
        await until('A to read the first wave', () => channelA.writeCalls.reduce((n, c) => n + c, 0) >= wave, 60_000);
        const b = await member(`rebalance-b${maxInFlight}-${run}`, topic, group, 1, 0);
        members.push(b);
        await until('B to be assigned partitions', () => ownsSome(b.logs), 60_000);
        await produceWave(topic, 2);
        await until('A and B to process both waves', () => new Set([...a.out(), ...b.out()].map(at)).size >= 2 * wave, 60_000);
        // B re-reads what A did not commit as soon as it is assigned: by now any such record is in its output.
        await Promise.all([a.runtime.stop(), b.runtime.stop()]);

        const fromA = a.out().map(at);
        const fromB = b.out().map(at);
        const both = fromB.filter((r) => fromA.includes(r));
        t.diagnostic(`A processed ${fromA.length}, B ${fromB.length}; processed by both: ${both.length}`);
        assert.equal(new Set([...fromA, ...fromB]).size, 2 * wave, 'every message was processed');
        assert.deepEqual(both, [], 'no message was processed by both members');
        assert.equal(new Set(fromA).size, fromA.length, 'A processed none twice');
        assert.equal(new Set(fromB).size, fromB.length, 'B processed none twice');

        const moved = [...new Set(b.out().map((r) => r.origin!.partition!))].sort();
        assert.ok(moved.length > 0 && moved.length < PARTITIONS, `some partitions moved to B: ${moved.join(', ')}`);
        for (const partition of moved) {
          const ofA = a.out().filter((r) => r.origin?.partition === partition).map((r) => Number(r.origin!.offset));
          const ofB = b.out().filter((r) => r.origin?.partition === partition).map((r) => Number(r.origin!.offset));
          assert.equal(Math.min(...ofB), Math.max(-1, ...ofA) + 1, `partition ${partition}: B starts right after the last record A committed`);
          assert.equal(Math.max(...ofA), PER_PARTITION - 1, `partition ${partition}: A committed its whole first wave before giving it up`);
        }
        const revoked = moved.map((p) => `${topic}/${p}`);
        if (maxInFlight > 1) {
          const waited = a.logs.find((l) => l.message.includes(': revoking ') && l.message.includes('after the batch'));
          assert.ok(waited, `A says it waits for its batch in flight; A logged: ${a.logs.map((l) => l.message).join(' | ')}`);
          for (const key of revoked) assert.ok(waited.message.includes(key), `the wait names ${key}: ${waited.message}`);
        }
        assert.ok(
          a.logs.some((l) => /: revoked /.test(l.message) && revoked.every((key) => l.message.includes(key))),
          `A logs the revoke of ${revoked.join(', ')}`,
        );
        assert.ok(!a.logs.some((l) => l.message.includes('not committing')), 'A committed every batch whole');
        assert.ok(!a.logs.some((l) => l.message.includes('without the batch in flight')), 'the revoke followed the commit, not the timeout');
      } finally {
        await Promise.all(members.map((m) => m.runtime.stop()));
        for (const m of members) memoryStore.reset(m.name);
      }
    });
  }
});
