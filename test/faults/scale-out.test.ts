/**
 * Stateful scale-out: three processes of one topology (`npm start -- --topology <file>`) share a
 * windowed count and a running aggregate, both grouped by nationality over a 6-partition topic keyed
 * by user id, under a steady stream. Each pipeline runs as two stages joined by a repartition topic
 * (topology/stages.ts), so every group lives in one task. One process is killed with kill -9
 * mid-stream — its tasks move to the others, which restore their state from the changelogs — and later
 * a fourth process joins, taking tasks over from the others.
 *
 * The verdict, for every row: each window of `counts` in Cassandra holds the true count (the input
 * topic's messages of that nationality whose timestamp falls in the window), no window is missing,
 * and each nationality's total in `totals` equals the true total. Reported: the time from the kill to
 * the orphaned tasks processing again (assigned to a survivor, state restored).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type cassandra from 'cassandra-driver';
import { brokers, cassandraClient, contactPoints, internalTopics, type PipelineChild, prng, sleep, startPipeline, steadyProducer, stopAll, stopGracefully, until } from './helpers.ts';
import { createTopic, deleteTopics, readTopic } from '../integration/read-topic.ts';

const SEED = Number(process.env.FAULTS_SEED ?? 20261206);
/** Users a second into the input topic, and the nationalities they are spread over. */
const RATE = 100;
const NATS = ['FR', 'DE', 'ES', 'IR', 'UA', 'BR', 'NZ', 'AU', 'CA', 'CH', 'DK', 'FI'];
const WINDOW_MS = 10_000;
const IDLE_TIMEOUT_S = 10;

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const topologyName = `faults-scale-${run}`;
const input = `faults_scale_in_${run}`;
const keyspace = `faults_scale_${run}`;
const group = `faults-scale-${run}`;
/** `false` shows what the repartition buys: each process then counts part of every window. */
const repartition = process.env.FAULTS_SCALE_REPARTITION ?? 'true';

const cassandraSink = (table: string, columns: string, primaryKey: string) => `
    sink:
      type: cassandra
      contactPoints: "${contactPoints}"
      localDataCenter: \${CASSANDRA_LOCAL_DC:-datacenter1}
      keyspace: ${keyspace}
      table: ${table}
      columns: ${columns}
      primaryKey: ${primaryKey}
      replication: { class: SimpleStrategy, replicationFactor: 1 }`;

const source = (suffix: string) =>
  `{ type: kafka, brokers: "${brokers}", topics: [${input}], groupId: ${group}-${suffix}, startingOffsets: earliest, format: json, sessionTimeout: 6s }`;

const TOPOLOGY = `
name: ${topologyName}
pipelines:
  counts:
    source: ${source('counts')}
    operators:
      - type: window
        kind: tumbling
        size: ${WINDOW_MS / 1000}s
        eventTime: timestamp
        groupBy: [nat]
        aggregations: { users: { fn: count } }
        # Wider than a moved task's backlog (session timeout + restore), so that no record is late.
        allowedLateness: 30s
        lateRecords: deadLetter
        outputMode: append
        idleTimeout: ${IDLE_TIMEOUT_S}s
${cassandraSink('counts', '{ window_start: timestamp, nat: text, users: bigint }', '{ partition: [window_start], clustering: [nat] }')}
    deadLetter: { type: dead-letter, brokers: "${brokers}", topic: ${input}_dead, createTopic: { partitions: 1, replicationFactor: 1 } }
    state: { type: kafka, brokers: "${brokers}" }
    repartition: { enabled: ${repartition} }
    trigger: { interval: 500ms }
  totals:
    source: ${source('totals')}
    operators:
      - { type: aggregate, groupBy: [nat], aggregations: { users: { fn: count } } }
${cassandraSink('totals', '{ nat: text, users: bigint }', '{ partition: [nat] }')}
    deadLetter: { type: dead-letter, brokers: "${brokers}", topic: ${input}_dead, createTopic: { partitions: 1, replicationFactor: 1 } }
    state: { type: kafka, brokers: "${brokers}" }
    repartition: { enabled: ${repartition} }
    trigger: { interval: 500ms }
logging:
  console: pretty
`;

/** RATE users a second to the input topic, keyed by user id. */
const steadyUsers = () => steadyProducer(input, RATE, (n) => ({ key: `user-${n}`, value: { id: n, nat: NATS[(n * 7) % NATS.length] } }));

/** The truth from the input topic: users per (window, nationality), and per nationality. */
async function truth(): Promise<{ windows: Map<string, number>; totals: Map<string, number> }> {
  const windows = new Map<string, number>();
  const totals = new Map<string, number>();
  for (const message of await readTopic(brokers, input, 120_000)) {
    const nat = (JSON.parse(message.value!.toString()) as { nat: string }).nat;
    const key = `${new Date(message.timestamp! - (message.timestamp! % WINDOW_MS)).toISOString()} ${nat}`;
    windows.set(key, (windows.get(key) ?? 0) + 1);
    totals.set(nat, (totals.get(nat) ?? 0) + 1);
  }
  return { windows, totals };
}

async function rowsOf(client: cassandra.Client): Promise<{ windows: Map<string, number>; totals: Map<string, number> }> {
  const windows = new Map<string, number>();
  const totals = new Map<string, number>();
  try {
    for (const row of (await client.execute(`SELECT window_start, nat, users FROM ${keyspace}.counts`, [], { fetchSize: 10_000 })).rows) {
      windows.set(`${(row.get('window_start') as Date).toISOString()} ${row.get('nat')}`, Number(row.get('users')));
    }
    for (const row of (await client.execute(`SELECT nat, users FROM ${keyspace}.totals`)).rows) totals.set(String(row.get('nat')), Number(row.get('users')));
  } catch {
    // the tables are created by the first process that starts its sinks
  }
  return { windows, totals };
}

/** Log lines of `pipeline` (a stage name) at or after `since`. */
const linesAfter = (child: PipelineChild, pipeline: string, since: number, pattern: RegExp) =>
  child.log().filter((e) => e.pipeline === pipeline && Date.parse(e.timestamp) >= since && pattern.test(e.message));

/** Repartition partitions (tasks of the stage `counts`) a process owns now, from its assignment log. */
function ownedTasks(child: PipelineChild): number {
  const last = child.log().filter((e) => e.pipeline === 'counts' && /owns \d+ partition\(s\)$/.test(e.message)).at(-1);
  return last ? Number(/owns (\d+) partition/.exec(last.message)![1]) : 0;
}

let client: cassandra.Client;
let topologyFile: string;

before(async () => {
  topologyFile = path.join(mkdtempSync(path.join(tmpdir(), 'faults-scale-')), `${topologyName}.yaml`);
  writeFileSync(topologyFile, TOPOLOGY);
  await createTopic(brokers, input, 6);
  client = await cassandraClient();
});

after(async () => {
  await stopAll();
  await deleteTopics(brokers, [input, `${input}_dead`, ...(await internalTopics(group))]);
  await client?.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client?.shutdown();
});

test('three processes share a windowed count and an aggregate; one killed -9, a fourth added: every window and every total exact', { timeout: 600_000 }, async () => {
  const started = Date.now();
  const random = prng(SEED);
  const producer = steadyUsers();
  let producing = true;
  try {
    const processes = [1, 2, 3].map((n) => startPipeline(`scale-${n}`, [], {}, { topology: topologyFile }));
    await until(() => processes.every((p) => ownedTasks(p) > 0), 'each of three processes to own tasks of the windowed stage', 180_000, () => processes.map((p) => p.tail(8)).join('\n'));
    console.log(`three processes own ${processes.map(ownedTasks).join(' + ')} of the 6 window tasks`);

    await sleep(10_000 + random() * 10_000);
    const victim = processes[1];
    const orphans = ownedTasks(victim);
    victim.kill('SIGKILL');
    assert.equal((await victim.exited).signal, 'SIGKILL');
    const killedAt = Date.now();
    const survivors = [processes[0], processes[2]];
    await until(() => survivors.reduce((n, p) => n + ownedTasks(p), 0) === 6, 'the survivors to own all 6 window tasks', 120_000, () => survivors.map((p) => p.tail(8)).join('\n'));
    const restoredAt = () => survivors.flatMap((p) => linesAfter(p, 'counts', killedAt, /^restored task\(s\)/)).map((e) => Date.parse(e.timestamp));
    await until(() => restoredAt().length > 0, 'a survivor to restore the orphaned tasks', 60_000);
    const assignedAt = Math.min(...survivors.flatMap((p) => linesAfter(p, 'counts', killedAt, /: assigned /)).map((e) => Date.parse(e.timestamp)));
    const recovery = { assigned: (assignedAt - killedAt) / 1000, restored: (Math.max(...restoredAt()) - killedAt) / 1000 };
    console.log(`kill -9 of a process owning ${orphans} window task(s): assigned to survivors after ${recovery.assigned.toFixed(1)} s, restored and processing after ${recovery.restored.toFixed(1)} s`);

    await sleep(10_000 + random() * 10_000);
    const fourth = startPipeline('scale-4', [], {}, { topology: topologyFile });
    const joinedAt = Date.now();
    await until(() => ownedTasks(fourth) > 0, 'the fourth process to take over window tasks', 120_000, () => fourth.tail(8));
    console.log(`a fourth process owns ${ownedTasks(fourth)} window task(s) ${((Date.now() - joinedAt) / 1000).toFixed(1)} s after it started`);

    await sleep(15_000);
    await producer.stop();
    producing = false;
    const expected = await truth();
    const live = [...survivors, fourth];
    // The last windows close IDLE_TIMEOUT_S after the input stops.
    await until(
      async () => {
        const rows = await rowsOf(client);
        return rows.windows.size >= expected.windows.size && [...expected.totals].every(([nat, n]) => rows.totals.get(nat) === n);
      },
      'every window and every total in Cassandra',
      180_000,
      () => live.map((p) => p.tail(6)).join('\n'),
      2000,
    );
    for (const p of live) assert.equal(await stopGracefully(p), 0, `${p.name} stops cleanly\n${p.tail()}`);

    const rows = await rowsOf(client);
    const missing = [...expected.windows.keys()].filter((key) => !rows.windows.has(key));
    const wrong = [...expected.windows].filter(([key, n]) => rows.windows.has(key) && rows.windows.get(key) !== n).map(([key, n]) => `${key}: ${rows.windows.get(key)}, true ${n}`);
    const foreign = [...rows.windows.keys()].filter((key) => !expected.windows.has(key));
    const wrongTotals = [...expected.totals].filter(([nat, n]) => rows.totals.get(nat) !== n).map(([nat, n]) => `${nat}: ${rows.totals.get(nat)}, true ${n}`);
    const users = [...expected.totals.values()].reduce((a, b) => a + b, 0);
    const late = live.flatMap((p) => p.progress()).reduce((n, e) => n + (e.pipeline === 'counts' ? e.numDeadLetterRows : 0), 0);
    console.log(
      `| 3 processes, kill -9 of one, a 4th added (seed ${SEED}) | ${users.toLocaleString('en-US')} users, ${expected.windows.size} windows, ${expected.totals.size} totals | ` +
        `missing ${missing.length}, wrong ${wrong.length}, wrong totals ${wrongTotals.length} | kill → tasks assigned ${recovery.assigned.toFixed(1)} s, processing ${recovery.restored.toFixed(1)} s | ${Math.round((Date.now() - started) / 1000)} s |`,
    );
    assert.deepEqual(missing, [], 'no window missing');
    assert.deepEqual(wrong, [], 'every window holds its true count');
    assert.deepEqual(foreign, [], 'no window the input does not explain');
    assert.deepEqual(wrongTotals, [], 'every total equals the true one');
    assert.equal(late, 0, 'no record was late');
    assert.ok(expected.windows.size >= 60, `a stream long enough to span many windows (${expected.windows.size})`);
  } finally {
    if (producing) await producer.stop().catch(() => undefined);
  }
});
