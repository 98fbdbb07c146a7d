/**
 * `processing: exactly-once` against the real Kafka: a kafka → aggregate → kafka pipeline whose outputs,
 * dead letters, state changes and offsets are one transaction per batch, whose transactional id ends
 * with the process's instance (`user-stream.<topology>.<pipeline>.<instance>`).
 *
 * - Two processes with different instances in one consumer group (scale-out) both process and commit,
 *   neither fenced, and between them commit every input exactly once.
 * - A second process with the same instance fences the first (its transactions abort, it commits nothing
 *   more); once the first is gone the second processes everything.
 *
 * Either way a read_committed consumer of the output topic sees each input counted exactly once: the last
 * row of every group holds its true count, and the rows of a group go up one batch at a time, never
 * counting a record twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import '../../components.ts';
import { parseTopology } from '../../topology/load.ts';
import { TopologyRuntime } from '../../topology/runtime.ts';
import type { ProgressEvent } from '../../topology/progress.ts';
import { CaptureTransport, type LogEntry } from '../../testing/capture.ts';
import winston from 'winston';
import { changelogTopic } from '../../state/kafka/changelog.ts';
import { createTopic, deleteTopics, produce, readCommitted } from './read-topic.ts';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const NATS = ['FR', 'DE', 'ES', 'IR', 'UA'];
const N = 600;

/** One test's topics, group and topology, unique to the run. */
function scenario(tag: string) {
  const run = `${tag}${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const names = { topology: `eos-${run}`, input: `eos_in_${run}`, output: `eos_out_${run}`, dead: `eos_dead_${run}`, group: `eos-${run}` };
  const yaml = `
name: ${names.topology}
pipelines:
  count:
    source: { type: kafka, brokers: "${brokers}", topics: [${names.input}], groupId: ${names.group}, sessionTimeout: 6s }
    operators:
      - { type: aggregate, groupBy: [nat], aggregations: { users: { fn: count } } }
    sink: { type: kafka, brokers: "${brokers}", topic: ${names.output}, createTopic: { partitions: 1, replicationFactor: 1 } }
    deadLetter: { type: dead-letter, brokers: "${brokers}", topic: ${names.dead}, createTopic: { partitions: 1, replicationFactor: 1 } }
    state: { type: kafka, brokers: "${brokers}" }
    processing: exactly-once
    trigger: { interval: 200ms, maxRecordsPerTrigger: 50 }
`;
  return {
    ...names,
    /** A process of the pipeline: a runtime with `instance`, its logs and its progress events. */
    start(instance: string) {
      const config = parseTopology(yaml, 'eos.yaml', { env: {} });
      const logs: LogEntry[] = [];
      const logger = winston.createLogger({ level: 'debug', transports: [new CaptureTransport(logs)] });
      const runtime = new TopologyRuntime(config, { logger, instance });
      const events: ProgressEvent[] = [];
      runtime.progress$.subscribe((e) => events.push(e));
      return { runtime, logs, events };
    },
    topics: () => [
      names.input,
      names.output,
      names.dead,
      `${names.topology}.count.${names.group}.repartition`,
      changelogTopic(`${names.topology}.count.${names.group}.repartition.1-aggregate.groups`),
      changelogTopic(`${names.topology}.count.${names.group}.repartition.0-replay-filter.origins`),
    ],
  };
}

interface Message {
  key: string;
  value: string;
  /** The input partition (librdkafka's choice by key when absent). */
  partition?: number;
}


/** Inputs committed: the pipeline runs in two stages (aggregate by nat repartitions), the first reads the input. */
const consumed = (events: ProgressEvent[]) => events.filter((e) => e.pipeline === 'count.repartition').reduce((n, e) => n + e.numInputRows, 0);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Row = { nat: string; users: number };
const outputRows = async (topic: string): Promise<Row[]> => (await readCommitted(brokers, topic)).map((m) => JSON.parse(m.value!.toString()) as Row);

/** Waits until the output's last row of every group holds its true count. */
async function settled(topic: string, truth: Map<string, number>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const last = new Map((await outputRows(topic)).map((r) => [r.nat, r.users]));
    if ([...truth].every(([nat, n]) => last.get(nat) === n) || Date.now() > until) return;
    await sleep(1000);
  }
}

/** Every input counted exactly once, as a read_committed consumer of the outputs sees them. */
async function assertCountedOnce(names: { output: string; dead: string }, truth: Map<string, number>): Promise<void> {
  const rows = await outputRows(names.output);
  const last = new Map(rows.map((r) => [r.nat, r.users]));
  assert.deepEqual(Object.fromEntries([...last].sort()), Object.fromEntries([...truth].sort()), 'the last row of every group holds its true count');
  // Within a group, committed rows only ever go up: a batch counted twice would show a count above the truth.
  for (const nat of truth.keys()) {
    const counts = rows.filter((r) => r.nat === nat).map((r) => r.users);
    for (let i = 1; i < counts.length; i++) assert.ok(counts[i] > counts[i - 1], `${nat}: ${counts.join(', ')} rises`);
    assert.ok(Math.max(...counts) <= truth.get(nat)!, `${nat}: never above ${truth.get(nat)}`);
  }
  assert.equal((await readCommitted(brokers, names.dead)).length, 0, 'no dead letter');
}

function count(truth: Map<string, number>, messages: Message[]): void {
  for (const m of messages) {
    const nat = (JSON.parse(m.value) as { nat: string }).nat;
    truth.set(nat, (truth.get(nat) ?? 0) + 1);
  }
}

const fencedIn = (logs: LogEntry[]) => logs.findIndex((l) => /fenced/.test(l.message));

test('exactly-once scale-out: two processes with different instances in one group both commit, neither fenced; every input counted once', { timeout: 300_000 }, async () => {
  const s = scenario('so');
  await createTopic(brokers, s.input, 2);
  const truth = new Map<string, number>();
  const a = s.start('a');
  const b = s.start('b');
  try {
    await a.runtime.start();
    // Input arrives in waves; the second process joins once the first is at work, taking one partition
    // over. A nationality stays in one partition, so whichever process owns it holds the group's whole
    // count (restored from the changelog when the partition moves to it).
    let produced = 0;
    let joined = false;
    const deadline = Date.now() + 60_000;
    while (produced < N || consumed(a.events) === 0 || consumed(b.events) === 0) {
      assert.ok(Date.now() < deadline, `both processes to commit input: ${consumed(a.events)} and ${consumed(b.events)} of ${produced}`);
      if (!joined && consumed(a.events) > 0) {
        joined = true;
        await b.runtime.start();
      }
      const wave = Array.from({ length: 50 }, (_, i) => {
        const n = produced + i;
        const nat = NATS[n % NATS.length];
        return { key: `u${n}`, value: JSON.stringify({ id: n, nat }), partition: NATS.indexOf(nat) % 2 };
      });
      await produce(brokers, s.input, wave);
      count(truth, wave);
      produced += wave.length;
      await sleep(400);
    }
    const until = Date.now() + 120_000;
    while (consumed(a.events) + consumed(b.events) < produced) {
      assert.ok(Date.now() < until, `consumed ${consumed(a.events)} + ${consumed(b.events)} of ${produced}`);
      await sleep(200);
    }
    await settled(s.output, truth, 60_000);
    await a.runtime.stop();
    await b.runtime.stop();

    await assertCountedOnce(s, truth);
    assert.equal(consumed(a.events) + consumed(b.events), produced, 'each input committed once, by one process or the other');
    for (const [name, p] of [['a', a], ['b', b]] as const) {
      assert.ok(consumed(p.events) > 0, `${name} committed input`);
      assert.equal(fencedIn(p.logs), -1, `${name} was not fenced: ${p.logs[fencedIn(p.logs)]?.message}`);
      assert.ok(
        p.logs.some((l) => l.message === `exactly-once: transactional id user-stream.${s.topology}.count.${name} (instance ${name})`),
        `${name} logged its transactional id`,
      );
    }
  } finally {
    await Promise.all([a.runtime.stop(), b.runtime.stop()]).catch(() => undefined);
    await deleteTopics(brokers, s.topics());
  }
});

test('exactly-once: a second process with the same instance fences the first, which commits nothing more; every input counted once', { timeout: 300_000 }, async () => {
  const s = scenario('fence');
  await createTopic(brokers, s.input, 2);
  const users = Array.from({ length: N }, (_, i) => ({ key: `u${i}`, value: JSON.stringify({ id: i, nat: NATS[(i * 7) % NATS.length] }) }));
  const truth = new Map<string, number>();
  count(truth, users);
  const first = s.start('same');
  const second = s.start('same');
  try {
    await produce(brokers, s.input, users.slice(0, N / 2));
    await first.runtime.start();
    const deadline = Date.now() + 90_000;
    while (consumed(first.events) < 100) {
      assert.ok(Date.now() < deadline, `the first process consumed ${consumed(first.events)}`);
      await sleep(100);
    }
    // A second process of the same pipeline with the same instance: its transactions fence the first's.
    await second.runtime.start();
    await produce(brokers, s.input, users.slice(N / 2));
    await sleep(3000);
    await first.runtime.stop();
    const until = Date.now() + 120_000;
    while (consumed(second.events) + consumed(first.events) < N || consumed(second.events) === 0) {
      assert.ok(Date.now() < until, `consumed ${consumed(first.events)} + ${consumed(second.events)} of ${N}`);
      await sleep(200);
    }
    // Let the second process catch up with everything the first left uncommitted, then stop it.
    await settled(s.output, truth, 60_000);
    await second.runtime.stop();

    await assertCountedOnce(s, truth);
    assert.ok(fencedIn(first.logs) >= 0, 'the first process was fenced');
    // Each stage has its own producer (…count.repartition.same, …count.same): once a stage's is fenced, that
    // stage commits no batch more.
    for (const stage of ['count.repartition', 'count']) {
      const fenced = first.logs.findIndex((l) => l.message.includes(`user-stream.${s.topology}.${stage}.same: fenced by another producer`));
      if (fenced < 0) continue;
      assert.ok(first.logs[fenced].message.includes('as instance same'), 'the fence is reported with the instance to check');
      assert.ok(!first.logs.slice(fenced).some((l) => l.event === 'progress' && l.pipeline === stage), `the fenced ${stage} committed no batch after it was fenced`);
    }
    assert.equal(fencedIn(second.logs), -1, 'the second process was not fenced');
  } finally {
    await Promise.all([first.runtime.stop(), second.runtime.stop()]).catch(() => undefined);
    await deleteTopics(brokers, s.topics());
  }
});
