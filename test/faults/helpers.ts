/**
 * Shared by the fault tests (test/faults): the user pipeline run as a child process of `bin/run.ts`
 * (what `npm start -- --topology user-pipeline` runs), the local Kafka and Cassandra stopped and
 * started through services/local.ts, and the ground truth every test ends with — the keys really in
 * the Kafka topic compared with the ids in Cassandra.
 *
 * The tests stop and restart the services they are pointed at, so they first check that these are the
 * local services of this checkout's settings (KAFKA_PORT, CASSANDRA_PORT, USER_STREAM_STATE_DIR, …),
 * run by the services tooling — and fail otherwise.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cassandra from 'cassandra-driver';
import Kafka from 'node-rdkafka';
import { localServiceAddresses, servicesDown, servicesStatus, servicesUp, useServices, type ServiceName } from '../../services/local.ts';
import type { ProgressEvent } from '../../topology/progress.ts';
import type { RandomUser } from '../../randomuser/codec.ts';
import { startRandomUserServer, type RandomUserServer } from '../../randomuser/server.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const local = localServiceAddresses();
export const brokers = process.env.KAFKA_BROKERS || local.kafkaBrokers;
export const contactPoints = process.env.CASSANDRA_CONTACT_POINTS || local.cassandraContactPoints;
const localDc = process.env.CASSANDRA_LOCAL_DC || local.cassandraLocalDc;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`'s value, or undefined after `ms`; the timer is cleared either way, so it never holds the process open. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` every `everyMs` until it holds; fails after `timeoutMs` with `what` (and `detail()`, e.g. a child's output). */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs: number, detail: () => string = () => '', everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${detail() ? `\n${detail()}` : ''}`);
    await sleep(everyMs);
  }
}

/** A seeded PRNG (mulberry32): the same fault schedule on every run with the same seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------------
// The local services

/**
 * Fails (never skips) unless `names` are the local services this checkout's settings describe, run by
 * the services tooling, and the ones the tests talk to: stopping anything else would either not work
 * or break someone else's server.
 */
export async function assertOwnLocalServices(names: ServiceName[]): Promise<void> {
  const usedAddress: Partial<Record<ServiceName, string>> = { kafka: brokers, cassandra: contactPoints };
  const how = 'run the fault tests with `npm run test:faults` (it starts the local services), with the same KAFKA_PORT/CASSANDRA_PORT/USER_STREAM_STATE_DIR as the services';
  for (const status of await servicesStatus({ only: names })) {
    assert.equal(
      usedAddress[status.name],
      status.address,
      `the fault tests stop and restart the local ${status.name} at ${status.address}, but are pointed at ${usedAddress[status.name]}: unset ${status.name === 'kafka' ? 'KAFKA_BROKERS' : 'CASSANDRA_CONTACT_POINTS'}, or ${how}`,
    );
    assert.equal(
      status.managedBy,
      'ours',
      `${status.name} at ${status.address} is not a local service run by services/local.ts (managedBy: ${status.managedBy}; ${status.answer}), so the fault tests cannot stop and start it: ${how}`,
    );
  }
}

/** Stops the local `name` (SIGTERM, as `npm run services -- down`); resolves when its process is gone. */
export async function stopService(name: ServiceName): Promise<void> {
  const [down] = await servicesDown({ only: [name] });
  assert.ok(down.outcome === 'stopped' || down.outcome === 'killed', `${name} stopped (${down.detail})`);
}

/**
 * Starts the local `name` again and waits until it answers. The test harness stops at the end the
 * services it started, by pid: one restarted here runs under a new pid, so it is handed over to the
 * harness (it then stops it as before); one that was running before the harness stays running.
 */
export async function startService(name: ServiceName): Promise<void> {
  const startedByHarness = (process.env.USER_STREAM_SERVICES_STARTED ?? '').split(',').includes(name);
  const use = startedByHarness ? await useServices() : undefined;
  const up = await servicesUp({ only: [name] });
  await use?.release(up.services);
}

// ---------------------------------------------------------------------------------------------------
// The pipeline as a child process

export interface LogEntry {
  level: string;
  message: string;
  pipeline?: string;
  timestamp: string;
  [field: string]: unknown;
}

export interface PipelineChild {
  readonly name: string;
  readonly pid: number;
  /** Its working directory: the JSON log is `.state/logs/<topology name>.log` under it. */
  readonly dir: string;
  readonly spawnedAt: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
  kill(signal: NodeJS.Signals): void;
  /** Every JSON log line written so far (a line cut by SIGKILL is left out). */
  log(): LogEntry[];
  progress(pipeline?: string): Array<ProgressEvent & LogEntry>;
  /** The last lines of its console output, for failure messages. */
  tail(lines?: number): string;
  /** Resident memory (VmRSS) in KiB, from /proc; undefined once it exited. */
  rssKiB(): number | undefined;
}

/**
 * The user pipeline proper: RandomUser → users_created → created_users. Other pipelines of the
 * topology (the nat_minute window counts) have their own tests and are not started.
 */
export const USER_PIPELINES = ['--pipeline', 'ingest', '--pipeline', 'process'];

const TSX = import.meta.resolve('tsx');
const children = new Set<PipelineChild>();

/**
 * Runs `bin/run.ts --topology user-pipeline --no-services ...args` (npm start, without npm in
 * between so that signals reach the pipeline itself) with `env` over this process's environment. It
 * runs in a fresh folder, so its JSON log is its own. `options.topology` runs another topology file
 * instead (a copy of config/user-pipeline.yaml that a test edits, for hot swaps). Ends with `stopAll`
 * (called from `after`).
 */
export function startPipeline(name: string, args: string[], env: Record<string, string>, options: { topology?: string } = {}): PipelineChild {
  const dir = mkdtempSync(path.join(tmpdir(), `faults-${name}-`));
  const { NODE_TEST_CONTEXT: _runner, ...inherited } = process.env;
  const topology = options.topology ?? 'user-pipeline';
  const child: ChildProcess = spawn(process.execPath, ['--import', TSX, path.join(REPO, 'bin/run.ts'), '--topology', topology, '--no-services', ...args], {
    cwd: dir,
    env: { ...inherited, KAFKA_BROKERS: brokers, CASSANDRA_CONTACT_POINTS: contactPoints, CASSANDRA_LOCAL_DC: localDc, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  assert.ok(child.pid, `spawned pipeline ${name}`);
  const output = createWriteStream(path.join(dir, 'console.txt'));
  const recent: string[] = [];
  const keep = (chunk: Buffer) => {
    output.write(chunk);
    recent.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (recent.length > 400) recent.splice(0, recent.length - 200);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running = false;
      output.end();
      resolve({ code, signal });
    }),
  );
  // The folder is the child's own, so its one log is its topology's: .state/logs/<topology name>.log,
  // a link to the day's file (<name>-<date>.log), which may not exist yet.
  const logDir = path.join(dir, '.state/logs');
  const log = (): LogEntry[] => {
    const logFile = existsSync(logDir) ? readdirSync(logDir).find((file) => file.endsWith('.log') && !/-\d{4}-\d{2}-\d{2}\.log$/.test(file)) : undefined;
    if (logFile === undefined || !existsSync(path.join(logDir, logFile))) return [];
    const entries: LogEntry[] = [];
    for (const line of readFileSync(path.join(logDir, logFile), 'utf8').split('\n')) {
      try {
        if (line) entries.push(JSON.parse(line) as LogEntry);
      } catch {
        // the last line of a killed process may be cut short
      }
    }
    return entries;
  };
  const handle: PipelineChild = {
    name,
    pid: child.pid,
    dir,
    spawnedAt: Date.now(),
    exited,
    isRunning: () => running,
    kill: (signal) => {
      if (running) child.kill(signal);
    },
    log,
    progress: (pipeline) => log().filter((e): e is ProgressEvent & LogEntry => e.event === 'progress' && (pipeline === undefined || e.pipeline === pipeline)),
    tail: (lines = 25) => `--- last lines of pipeline ${name} (pid ${child.pid}, ${dir}) ---\n${recent.slice(-lines).join('\n')}`,
    rssKiB: () => {
      try {
        const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        return match ? Number(match[1]) : undefined;
      } catch {
        return undefined;
      }
    },
  };
  children.add(handle);
  void exited.then(() => children.delete(handle));
  return handle;
}

/** SIGKILLs every child still running and waits for each to be gone (bounded). */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map(async (child) => {
    child.kill('SIGKILL');
    await within(child.exited, 10_000);
  }));
}

/** SIGTERM (graceful: the batch in flight finishes and commits); the exit code, or a failure after `timeoutMs`. */
export async function stopGracefully(child: PipelineChild, timeoutMs = 60_000): Promise<number | null> {
  child.kill('SIGTERM');
  const outcome = await within(child.exited, timeoutMs);
  assert.ok(outcome, `pipeline ${child.name} exited within ${timeoutMs / 1000} s of SIGTERM\n${child.tail()}`);
  return outcome.code;
}

/** When a batch was committed (its trigger time plus its duration), ms since the epoch. */
export function committedAt(event: ProgressEvent): number {
  return Date.parse(event.timestamp) + event.durationMs.triggerExecution;
}

/** The partitions a member owns after the log entries up to `until`, from its `assigned …` / `revoked …` lines. */
export function ownedPartitions(member: PipelineChild, until = Infinity, pipeline = 'process'): Set<string> {
  const partitions = new Set<string>();
  for (const entry of member.log()) {
    if (entry.pipeline !== pipeline || Date.parse(entry.timestamp) > until) continue;
    const assigned = /: assigned (.+); owns \d+ partition\(s\)$/.exec(entry.message);
    const revoked = /: revoked (.+)$/.exec(entry.message);
    if (assigned && assigned[1] !== 'no new partitions') for (const p of assigned[1].split(', ')) partitions.add(p);
    if (revoked && revoked[1] !== 'no partitions') for (const p of revoked[1].split(', ')) partitions.delete(p);
  }
  return partitions;
}

/** Records the process pipeline committed (progress events), over every given run. */
export function committedRecords(runs: PipelineChild[]): number {
  return runs.reduce((n, run) => n + run.progress('process').reduce((m, e) => m + e.numInputRows, 0), 0);
}

/** Records the pipeline rolled back after failed batches, from its `batch N failed; M record(s) rolled back` errors. */
export function rolledBackRecords(runs: PipelineChild[], pipeline = 'process'): number {
  let total = 0;
  for (const run of runs) {
    for (const entry of run.log()) {
      const match = entry.pipeline === pipeline ? /^batch \d+ failed; (\d+) record\(s\) rolled back/.exec(entry.message) : null;
      if (match) total += Number(match[1]);
    }
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------
// Ground truth: Kafka and Cassandra

export interface RunNames {
  topic: string;
  keyspace: string;
  group: string;
  seed: string;
}

/** Fresh topic, keyspace, group and seed per run, so runs never see each other's data. */
export function runNames(what: string): RunNames {
  const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  return { topic: `faults_${what}_${id}`, keyspace: `faults_${what}_${id}`, group: `faults-${what}-${id}`, seed: `faults-${what}-${id}` };
}

/** The environment that points config/user-pipeline.yaml at a run's topic, keyspace and group. */
export function pipelineEnv(names: RunNames, extra: Record<string, string> = {}): Record<string, string> {
  return { USERS_TOPIC: names.topic, CASSANDRA_KEYSPACE: names.keyspace, CONSUMER_GROUP: names.group, RANDOMUSER_SEED: names.seed, ...extra };
}

/** The login.uuid of every user the RandomUser server serves for `seed`, pages 1..pages. */
export async function servedIds(url: string, seed: string, results: number, pages: number): Promise<Set<string>> {
  const ids = new Set<string>();
  for (let page = 1; page <= pages; page++) {
    const response = await fetch(`${url}?results=${results}&seed=${seed}&page=${page}`);
    for (const user of ((await response.json()) as { results: RandomUser[] }).results) ids.add(user.login.uuid);
  }
  return ids;
}

function kafkaCall<T>(call: (done: (error: Kafka.LibrdKafkaError | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => call((error, value) => (error ? reject(error) : resolve(value))));
}

/** A consumer that never subscribes: it reads offsets (and, assigned by hand, messages) without joining a group. */
export async function offsetReader(group = `faults-reader-${process.pid}-${Date.now()}`): Promise<Kafka.KafkaConsumer> {
  const consumer = new Kafka.KafkaConsumer({ 'bootstrap.servers': brokers, 'group.id': group, 'enable.auto.commit': false, log_level: 0 }, {});
  await kafkaCall<unknown>((done) => consumer.connect({ timeout: 15_000 }, done));
  return consumer;
}

/** Each partition of `topic` as the brokers describe it now: leader, replicas, in-sync replicas. */
export async function topicPartitions(consumer: Kafka.KafkaConsumer, topic: string): Promise<Kafka.PartitionMetadata[]> {
  const metadata = await kafkaCall<Kafka.Metadata>((done) => consumer.getMetadata({ topic, timeout: 10_000 }, done));
  const found = metadata.topics.find((t) => t.name === topic);
  assert.ok(found && found.partitions.length > 0, `topic ${topic} exists`);
  return found.partitions;
}

export async function partitionsOf(consumer: Kafka.KafkaConsumer, topic: string): Promise<number[]> {
  return (await topicPartitions(consumer, topic)).map((p) => p.id).sort((a, b) => a - b);
}

/** Per partition: the end of the log (high watermark) and the committed offset (0 when none) of the reader's group. */
export async function groupOffsets(reader: Kafka.KafkaConsumer, topic: string, partitions: number[]): Promise<{ end: number[]; committed: number[] }> {
  const end = await Promise.all(partitions.map((partition) => kafkaCall<Kafka.WatermarkOffsets>((done) => reader.queryWatermarkOffsets(topic, partition, 10_000, done)).then((w) => w.highOffset)));
  const offsets = await whileCoordinatorMoves(() => kafkaCall<Kafka.TopicPartitionOffset[]>((done) => reader.committed(partitions.map((partition) => ({ topic, partition })), 10_000, done)));
  return { end, committed: partitions.map((p) => Math.max(0, offsets.find((o) => o.partition === p)?.offset ?? 0)) };
}

/** The group coordinator is moving (a broker restarted): the broker says so, and the next ask finds the new one. */
const COORDINATOR_MOVING = new Set([Kafka.CODES.ERRORS.ERR_NOT_COORDINATOR, Kafka.CODES.ERRORS.ERR_COORDINATOR_NOT_AVAILABLE, Kafka.CODES.ERRORS.ERR_COORDINATOR_LOAD_IN_PROGRESS]);

/** `call`, asked again (for up to 30 s) while the group coordinator is moving; any other error at once. */
async function whileCoordinatorMoves<T>(call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!COORDINATOR_MOVING.has((error as Kafka.LibrdKafkaError).code) || Date.now() > deadline) throw error;
      await sleep(500);
    }
  }
}

/** The key of every message in `topic`, in no particular order, read from the beginning to the current end. */
export async function topicKeys(topic: string): Promise<string[]> {
  const consumer = await offsetReader();
  try {
    const partitions = await partitionsOf(consumer, topic);
    const ends = await Promise.all(partitions.map((partition) => kafkaCall<Kafka.WatermarkOffsets>((done) => consumer.queryWatermarkOffsets(topic, partition, 10_000, done)).then((w) => w.highOffset)));
    const next = new Map(partitions.map((p) => [p, 0]));
    consumer.assign(partitions.map((partition) => ({ topic, partition, offset: 0 })));
    const keys: string[] = [];
    const done = () => partitions.every((p, i) => next.get(p)! >= ends[i]);
    const deadline = Date.now() + 120_000;
    while (!done()) {
      assert.ok(Date.now() < deadline, `read ${keys.length} messages of ${topic} within 120 s`);
      const messages = await kafkaCall<Kafka.Message[]>((cb) => consumer.consume(5000, cb));
      for (const m of messages) {
        if (m.offset >= ends[partitions.indexOf(m.partition)]) continue;
        keys.push(m.key === null || m.key === undefined ? '' : m.key.toString());
        next.set(m.partition, m.offset + 1);
      }
    }
    return keys;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/**
 * The internal topics of `group`'s pipelines — state changelogs and repartition topics, named
 * `<topology>.<pipeline>.<group>…` — and of the groups derived from it (`<group>-nat-minute`).
 */
export async function internalTopics(group: string): Promise<string[]> {
  const consumer = await offsetReader();
  try {
    const metadata = await kafkaCall<Kafka.Metadata>((done) => consumer.getMetadata({ timeout: 10_000 }, done));
    return metadata.topics.map((t) => t.name).filter((name) => name.includes(`.${group}`));
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/** A Cassandra client that retries a lost node every second (the driver's default backs off up to 10 min). */
export async function cassandraClient(): Promise<cassandra.Client> {
  const client = new cassandra.Client({
    contactPoints: contactPoints.split(','),
    localDataCenter: localDc,
    policies: { reconnection: new cassandra.policies.reconnection.ConstantReconnectionPolicy(1000) },
  });
  await client.connect();
  return client;
}

/** Every id in `keyspace.created_users`, as the rows come (a repeated id would appear twice). */
export async function rowIds(client: cassandra.Client, keyspace: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const row of client.stream(`SELECT id FROM ${keyspace}.created_users`, [], { prepare: true, fetchSize: 5000 }) as unknown as AsyncIterable<cassandra.types.Row>) ids.push(String(row.get('id')));
  return ids;
}

/** Rows in `keyspace.created_users`; 0 while the table does not exist yet. */
export async function rowCount(client: cassandra.Client, keyspace: string): Promise<number> {
  try {
    return Number((await client.execute(`SELECT COUNT(*) FROM ${keyspace}.created_users`)).first().get('count'));
  } catch {
    return 0;
  }
}

/**
 * INSERTs the node has applied to `keyspace.created_users` since it started (system_views.local_write_latency):
 * every row written, rewrites of redelivered records included.
 */
export async function writesApplied(client: cassandra.Client, keyspace: string): Promise<number> {
  const result = await client.execute('SELECT count FROM system_views.local_write_latency WHERE keyspace_name = ? AND table_name = ?', [keyspace, 'created_users'], { prepare: true });
  return Number(result.first()?.get('count') ?? 0);
}

// ---------------------------------------------------------------------------------------------------
// The verdict

export interface Figures {
  fault: string;
  /** Messages in the topic, and the distinct ids among them. */
  messages: number;
  produced: number;
  rows: number;
  lost: number;
  doubled: number;
  /** Records the process pipeline wrote more than once (at-least-once redeliveries), and how that was counted. */
  reprocessed: string;
  recovery: string;
  seconds: number;
}

/**
 * Compares the ids in Cassandra with the keys in the topic: `lost` are produced ids without a row,
 * `doubled` are ids counted more than once in the table or rows no produced message explains.
 */
export function compare(keys: string[], ids: string[]): { produced: Set<string>; lost: string[]; doubled: number } {
  const produced = new Set(keys);
  const rows = new Set(ids);
  const lost = [...produced].filter((id) => !rows.has(id));
  const foreign = [...rows].filter((id) => !produced.has(id)).length;
  return { produced, lost, doubled: ids.length - rows.size + foreign };
}

/** Waits until `reader`'s group has committed the end of every partition of `topic`. */
export async function untilGroupCommittedEnd(reader: Kafka.KafkaConsumer, topic: string, partitions: number[], detail: () => string): Promise<void> {
  await until(
    async () => {
      const { end, committed } = await groupOffsets(reader, topic, partitions);
      return end.every((e, i) => committed[i] === e);
    },
    'the group to commit the end of every partition',
    180_000,
    detail,
    1000,
  );
}

/**
 * The fault tests' verdict: the run's topic holds exactly the `served` users, and every id in it has
 * exactly one row in Cassandra, with no foreign row.
 */
export async function assertEveryIdOnce(client: cassandra.Client, names: RunNames, served: Set<string>): Promise<{ keys: string[]; ids: string[]; produced: Set<string>; lost: string[]; doubled: number }> {
  const keys = await topicKeys(names.topic);
  const ids = await rowIds(client, names.keyspace);
  const verdict = compare(keys, ids);
  assert.deepEqual([...verdict.produced].sort(), [...served].sort(), 'the topic holds exactly the served users');
  assert.deepEqual(verdict.lost, [], 'no produced id is missing in Cassandra');
  assert.equal(verdict.doubled, 0, 'no id twice, no foreign row');
  return { keys, ids, ...verdict };
}

/** The figures as one line of the table in docs/reliability.md, printed for the test log. */
export function report(f: Figures): void {
  const n = (x: number) => x.toLocaleString('en-US');
  console.log(`| ${f.fault} | ${n(f.messages)} (${n(f.produced)} ids) | ${n(f.rows)} | ${f.lost} | ${f.doubled} | ${f.reprocessed} | ${f.recovery} | ${f.seconds} s |`);
}

/**
 * Deletes a run's topics — the users topic, its dead-letter topic, and the internal topics of its
 * consumer groups (state changelogs, repartition topics) — and keyspace.
 */
export async function dropRun(names: RunNames, client: cassandra.Client | undefined): Promise<void> {
  const changelogs = await internalTopics(names.group).catch(() => []);
  const admin = Kafka.AdminClient.create({ 'bootstrap.servers': brokers, log_level: 0 });
  for (const topic of [names.topic, `${names.topic}_dead`, ...changelogs]) await new Promise<void>((resolve) => admin.deleteTopic(topic, 10_000, () => resolve()));
  admin.disconnect();
  await client?.execute(`DROP KEYSPACE IF EXISTS ${names.keyspace}`);
}

/** What a fault test of the user pipeline works with; set up before its tests and cleaned up after them. */
export interface FaultFixtures {
  /** The bundled RandomUser server the run's ingest polls. */
  readonly server: RandomUserServer;
  /** The Cassandra client connected before the tests (not with `connectCassandraFirst: false`). */
  readonly client: cassandra.Client;
  /** The Cassandra client, connected now if it is not yet (for a test that stops Cassandra). */
  cassandra(): Promise<cassandra.Client>;
  /** An offset reader in `group` (see offsetReader), disconnected after the tests. */
  offsetReader(group: string): Promise<Kafka.KafkaConsumer>;
}

/**
 * Registers the before/after hooks every fault test of the user pipeline needs: the services checked to
 * be this checkout's own (`services`, the ones the test stops), a RandomUser server, a Cassandra client;
 * afterwards every pipeline child stopped, a service the test left down (`down()`) started again so the
 * tests after it have it, the run's topics and keyspace dropped, and everything closed.
 */
export function useFaultFixtures(names: RunNames, options: { services?: ServiceName[]; down?: () => ServiceName | undefined; connectCassandraFirst?: boolean } = {}): FaultFixtures {
  let server: RandomUserServer | undefined;
  let client: cassandra.Client | undefined;
  const readers: Kafka.KafkaConsumer[] = [];
  const fixtures: FaultFixtures = {
    get server() {
      assert.ok(server, 'the RandomUser server is started before the tests');
      return server;
    },
    get client() {
      assert.ok(client, 'the Cassandra client is connected before the tests');
      return client;
    },
    async cassandra() {
      client ??= await cassandraClient();
      return client;
    },
    async offsetReader(group) {
      const reader = await offsetReader(group);
      readers.push(reader);
      return reader;
    },
  };
  before(async () => {
    await assertOwnLocalServices(options.services ?? ['kafka', 'cassandra']);
    server = await startRandomUserServer({ host: '127.0.0.1', port: 0 });
    if (options.connectCassandraFirst !== false) client = await cassandraClient();
  });
  after(async () => {
    await stopAll();
    const down = options.down?.();
    if (down) await startService(down);
    for (const reader of readers) reader.disconnect();
    await dropRun(names, await fixtures.cassandra());
    await client?.shutdown();
    await server?.close();
  });
  return fixtures;
}

/**
 * Produces `perSecond` messages a second (in tenths of a second) to `topic` until stopped; message `n`
 * (0, 1, …) is `message(n)`. `produced()` counts the delivered ones; `stop()` waits for every one sent to
 * be delivered and fails on a delivery error.
 */
export function steadyProducer(topic: string, perSecond: number, message: (n: number) => { key: string; value: unknown }): { produced: () => number; stop: () => Promise<void> } {
  const producer = new Kafka.Producer({ 'bootstrap.servers': brokers, dr_cb: true, 'enable.idempotence': true, 'linger.ms': 5, log_level: 0 });
  let sent = 0;
  let delivered = 0;
  let failure: Kafka.LibrdKafkaError | undefined;
  producer.on('delivery-report', (error) => {
    if (error) failure = error;
    else delivered++;
  });
  const ready = new Promise<void>((resolve) => producer.once('ready', () => resolve()));
  producer.connect();
  producer.setPollInterval(20);
  let timer: NodeJS.Timeout | undefined;
  void ready.then(() => {
    timer = setInterval(() => {
      for (let i = 0; i < perSecond / 10; i++, sent++) {
        const { key, value } = message(sent);
        producer.produce(topic, null, Buffer.from(JSON.stringify(value)), key);
      }
    }, 100);
  });
  return {
    produced: () => delivered,
    stop: async () => {
      clearInterval(timer);
      await until(() => failure !== undefined || delivered === sent, 'every produced message delivered', 30_000);
      assert.equal(failure, undefined, 'the input producer had no delivery failure');
      await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
    },
  };
}
