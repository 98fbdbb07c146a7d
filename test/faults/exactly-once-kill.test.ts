/**
 * kill -9 of an exactly-once kafka → window → kafka pipeline, five times mid-stream: users flow into a
 * topic at a steady rate; the pipeline (`npm start -- --topology <file>`, one process) counts them per
 * 5-second window of their Kafka timestamp and nationality, and writes each window once, when it
 * closes (append mode), to an output topic — with its state changes and input offsets in the same
 * transaction. It is SIGKILLed at seeded random moments, each in the 400 ms after windows close, and
 * restarted each time; the restart claims the dead process's instance slot (the runs share one slot
 * folder), so it has the same transactional id, fences the dead process's open transaction at once and
 * restores the windows from their changelog.
 *
 * The verdict, window by window: a read_committed consumer of the output topic sees every
 * (window, nationality) of the input topic exactly once, with its true count (messages of the topic
 * whose timestamp falls in the window). At-least-once shows windows twice, where a kill lands between
 * their write and the commit (FAULTS_EOS_PROCESSING=at-least-once: 7 of 105 in one run), and a lost
 * state change would show a wrong count.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brokers, internalTopics, type PipelineChild, prng, sleep, startPipeline, steadyProducer, stopAll, stopGracefully, until } from './helpers.ts';
import { createTopic, deleteTopics, readCommitted, readTopic } from '../integration/read-topic.ts';

const KILLS = 5;
const SEED = Number(process.env.FAULTS_SEED ?? 20261206);
/** Users a second into the input topic. */
const RATE = 100;
const WINDOW_MS = 5000;
const IDLE_TIMEOUT_S = 10;
const NATS = ['FR', 'DE', 'ES', 'IR', 'UA', 'BR', 'NZ'];

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const topologyName = `faults-eos-${run}`;
const input = `faults_eos_in_${run}`;
const output = `faults_eos_out_${run}`;
const dead = `faults_eos_dead_${run}`;
const group = `faults-eos-${run}`;
const processing = process.env.FAULTS_EOS_PROCESSING ?? 'exactly-once';

const TOPOLOGY = `
name: ${topologyName}
pipelines:
  count:
    source: { type: kafka, brokers: "${brokers}", topics: [${input}], groupId: ${group}, startingOffsets: earliest, format: json, sessionTimeout: 6s }
    operators:
      - type: window
        kind: tumbling
        size: ${WINDOW_MS / 1000}s
        eventTime: timestamp
        groupBy: [nat]
        aggregations: { users: { fn: count } }
        # Wider than the backlog a restart catches up with, so that no record is late.
        allowedLateness: 30s
        lateRecords: deadLetter
        outputMode: append
        idleTimeout: ${IDLE_TIMEOUT_S}s
    sink: { type: kafka, brokers: "${brokers}", topic: ${output}, createTopic: { partitions: 1, replicationFactor: 1 } }
    deadLetter: { type: dead-letter, brokers: "${brokers}", topic: ${dead}, createTopic: { partitions: 1, replicationFactor: 1 } }
    state: { type: kafka, brokers: "${brokers}" }
    processing: ${processing}
    trigger: { interval: 200ms, maxRecordsPerTrigger: 500 }
logging:
  console: pretty
`;

/** RATE users a second to the input topic, CreateTime timestamps. */
const steadyUsers = () => steadyProducer(input, RATE, (n) => ({ key: `u${n}`, value: { id: n, nat: NATS[(n * 5) % NATS.length] } }));

const windowKey = (start: number, nat: string) => `${new Date(start).toISOString()} ${nat}`;

/** The true count of every (window, nationality): the input topic's messages per window of their timestamp. */
async function truth(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const message of await readTopic(brokers, input, 120_000)) {
    const nat = (JSON.parse(message.value!.toString()) as { nat: string }).nat;
    const key = windowKey(message.timestamp! - (message.timestamp! % WINDOW_MS), nat);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

interface WindowRow {
  window_start: string;
  nat: string;
  users: number;
}

async function outputRows(): Promise<WindowRow[]> {
  return (await readCommitted(brokers, output, 120_000)).map((m) => JSON.parse(m.value!.toString()) as WindowRow);
}

/** When `child`'s pipeline got partitions to process (it consumes from then on). */
async function resumedAt(child: PipelineChild): Promise<number> {
  const assignment = () => child.log().find((e) => e.pipeline === 'count' && /: assigned .+; owns [1-9]\d* partition\(s\)$/.test(e.message));
  await until(() => assignment() !== undefined, `${child.name} to get its partitions`, 120_000, () => child.tail());
  return Date.parse(assignment()!.timestamp);
}

/** The instance a run claimed, from its start line. */
function instanceOf(child: PipelineChild): string | undefined {
  const start = child.log().find((e) => e.message.startsWith('running topology '));
  return start && /; instance ([^ ;]+)/.exec(start.message)?.[1];
}

let topologyFile: string;

before(async () => {
  topologyFile = path.join(mkdtempSync(path.join(tmpdir(), 'faults-eos-')), `${topologyName}.yaml`);
  writeFileSync(topologyFile, TOPOLOGY);
  await createTopic(brokers, input, 3);
});

after(async () => {
  await stopAll();
  await deleteTopics(brokers, [input, output, dead, ...(await internalTopics(group).catch(() => []))]);
});

test(`exactly-once kafka → window → kafka, kill -9 ${KILLS} times mid-stream: every window once in the output topic, exactly counted`, { timeout: 600_000 }, async () => {
  const started = Date.now();
  const random = prng(SEED);
  const producer = steadyUsers();
  const recoveries: number[] = [];
  // One slot folder for every run, as for processes started in one working directory.
  const env = { USER_STREAM_INSTANCE_DIR: mkdtempSync(path.join(tmpdir(), 'faults-eos-slots-')) };
  const instances: Array<string | undefined> = [];
  const options = { topology: topologyFile };
  let killedAt: number | undefined;
  let stopped = false;
  try {
    for (let kill = 1; kill <= KILLS; kill++) {
      const child = startPipeline(`eos-${kill}`, [], env, options);
      const resumed = await resumedAt(child);
      if (killedAt !== undefined) recoveries.push(resumed - killedAt);
      instances.push(instanceOf(child));
      // A window closes (and is written) when the watermark, 30 s behind the newest timestamp, passes
      // its end: just after each 5-second boundary of the clock. The kill lands in the first 400 ms
      // after one, so that it often cuts a batch between writing windows and committing.
      const wait = 1000 + random() * 5000;
      const delay = Math.round(wait + (WINDOW_MS - ((Date.now() + wait) % WINDOW_MS)) + random() * 400);
      await sleep(delay);
      assert.ok(child.isRunning(), `run ${kill} still running before its kill\n${child.tail()}`);
      child.kill('SIGKILL');
      assert.equal((await child.exited).signal, 'SIGKILL');
      killedAt = Date.now();
      console.log(`run ${kill}: killed ${delay} ms after it got its partitions, ${child.progress('count').length} batch(es) committed; ${producer.produced()} users produced so far`);
    }

    const last = startPipeline('eos-final', [], env, options);
    recoveries.push((await resumedAt(last)) - killedAt!);
    instances.push(instanceOf(last));
    await sleep(5000);
    await producer.stop();
    stopped = true;
    const expected = await truth();
    // The last windows close IDLE_TIMEOUT_S after the input stops.
    await until(async () => new Set((await outputRows()).map((r) => `${r.window_start} ${r.nat}`)).size >= expected.size, 'every window in the output topic', 120_000, () => last.tail(), 2000);
    assert.equal(await stopGracefully(last), 0, `the final run stops cleanly\n${last.tail()}`);

    const rows = await outputRows();
    const seen = new Map<string, number[]>();
    for (const row of rows) {
      const key = `${row.window_start} ${row.nat}`;
      seen.set(key, [...(seen.get(key) ?? []), row.users]);
    }
    const twice = [...seen].filter(([, counts]) => counts.length > 1).map(([key, counts]) => `${key}: ${counts.join(', ')}`);
    const missing = [...expected.keys()].filter((key) => !seen.has(key));
    const wrong = [...expected].filter(([key, n]) => seen.has(key) && seen.get(key)![0] !== n).map(([key, n]) => `${key}: ${seen.get(key)![0]}, true ${n}`);
    const foreign = [...seen.keys()].filter((key) => !expected.has(key));
    const lateRecords = (await readCommitted(brokers, dead)).length;
    const users = [...expected.values()].reduce((a, b) => a + b, 0);
    console.log(
      `| exactly-once kafka → window → kafka, kill -9 × ${KILLS} (seed ${SEED}) | ${users.toLocaleString('en-US')} users, ${expected.size} windows | ${rows.length} rows | ` +
        `missing ${missing.length}, twice ${twice.length}, wrong ${wrong.length} | kill → partitions back: max ${(Math.max(...recoveries) / 1000).toFixed(1)} s | ${Math.round((Date.now() - started) / 1000)} s |`,
    );
    assert.match(instances[0] ?? '', /-0$/, 'the first run claims slot 0');
    assert.deepEqual(instances, instances.map(() => instances[0]), 'every restart after a kill -9 claims the same instance');
    assert.deepEqual(twice, [], 'no window twice in the output topic');
    assert.deepEqual(missing, [], 'no window missing');
    assert.deepEqual(wrong, [], 'every window holds its true count');
    assert.deepEqual(foreign, [], 'no window the input does not explain');
    assert.equal(lateRecords, 0, 'no record was late');
    assert.ok(expected.size >= 30, `a stream long enough to span many windows (${expected.size})`);
  } finally {
    if (!stopped) await producer.stop().catch(() => undefined);
  }
});
