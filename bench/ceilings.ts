/**
 * Ceilings: what the client libraries do on this machine, at the same moment and on the same data as
 * the legs they bound, with no framework in the way. Each runs in a worker process of its own.
 *
 * - ingest: GET + JSON.parse of the same pages from the same server (got, keep-alive, the same
 *   concurrency as http-poll), and producing the same users with a bare node-rdkafka producer with the
 *   kafka sink's guarantees (idempotent, acks=all) and the same compression and linger;
 * - process: consuming the whole pre-filled topic with a bare node-rdkafka consumer (no parsing, no
 *   commits; the scale leg measures it alone, on its own topic), then writing the same users' rows (converted beforehand, outside the timing) with bare
 *   cassandra-driver prepared INSERTs, sweeping how many are in flight, the best setting then writing
 *   every row.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import cassandra from 'cassandra-driver';
import got from 'got';
import type { CqlType } from '../sinks/cassandra/config.ts';
import { createKeyspaceCql, createTableCql, insertCql } from '../sinks/cassandra/cql.ts';
import { toCreatedUserRow } from '../randomuser/row.ts';
import type { RandomUser } from '../randomuser/codec.ts';
import { connectConsumer, connectProducer, consume, disconnect, produce, type ProducerSettings } from './kafka.ts';
import { round } from './stats.ts';

export interface Throughput {
  count: number;
  seconds: number;
  perSecond: number;
}

const throughput = (count: number, ms: number): Throughput => ({ count, seconds: round(ms / 1000, 3), perSecond: round((count * 1000) / ms) });

export interface IngestCeilingsTask {
  kind: 'ingest-ceilings';
  url: string;
  seed: string;
  results: number;
  pages: number;
  concurrency: number;
  brokers: string;
  /** A throwaway topic for the producer ceiling. */
  topic: string;
  producer: ProducerSettings;
}

export interface IngestCeilings {
  /** Users/s fetched and parsed. */
  http: Throughput;
  /** Users/s produced and acknowledged. */
  produce: Throughput;
}

export async function ingestCeilings(task: IngestCeilingsTask): Promise<IngestCeilings> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: task.concurrency });
  const client = got.extend({ agent: { http: agent }, responseType: 'text', retry: { limit: 0 }, throwHttpErrors: true });
  const pages: unknown[][] = [];
  let next = 1;
  let users = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: task.concurrency }, async () => {
      while (next <= task.pages) {
        const page = next++;
        const body = (await client.get(`${task.url}?results=${task.results}&seed=${task.seed}&page=${page}`)).body;
        const results = (JSON.parse(body) as { results: unknown[] }).results;
        users += results.length;
        pages.push(results);
      }
    }),
  );
  const httpMs = performance.now() - started;
  agent.destroy();

  // The same users as the pipeline's messages: key login.uuid, value the user's JSON.
  const messages = pages.flat().map((user) => ({ key: (user as RandomUser).login.uuid, value: Buffer.from(JSON.stringify(user)) }));
  pages.length = 0;
  let delivered = 0;
  let failed: { message: string } | undefined;
  let allDelivered!: () => void;
  const done = new Promise<void>((resolve) => (allDelivered = resolve));
  const producer = await connectProducer(task.brokers, task.producer, (error) => {
    if (error) failed ??= error;
    if (++delivered === messages.length) allDelivered();
  });
  const produceStart = performance.now();
  for (const message of messages) await produce(producer, task.topic, message.value, message.key);
  await done;
  const produceMs = performance.now() - produceStart;
  await disconnect(producer);
  if (failed) throw new Error(`bare producer: ${failed.message}`);
  return { http: throughput(users, httpMs), produce: throughput(messages.length, produceMs) };
}

export type WriteMethod = 'lanes' | 'executeConcurrent';

export interface ProcessCeilingsTask {
  kind: 'process-ceilings';
  brokers: string;
  topic: string;
  records: number;
  /** Messages per consume call (the pipeline's maxRecordsPerTrigger). */
  consumeBatch: number;
  cassandra: { contactPoints: string; localDc: string; keyspace: string; columns: Record<string, string> };
  sweep: { methods: WriteMethod[]; concurrencies: number[]; rowsPerTrial: number };
}

export interface WriteTrial extends Throughput {
  method: WriteMethod;
  concurrency: number;
}

/** A timed pass: also how much CPU this process spent on it, per record. */
export interface Measured extends Throughput {
  cpuUsPerRecord: number;
}

export type ProcessCeilingsEvent =
  | { kind: 'log'; line: string }
  | { kind: 'consume'; result: Measured & { groupJoinMs: number } }
  | { kind: 'sweep'; trials: WriteTrial[]; best: WriteTrial }
  | { kind: 'write'; result: Measured & WriteTrial };

/** What the parent asks for once the rows are ready: another timed pass of one kind, or the end. */
export type ProcessCeilingsCommand = { type: 'consume' } | { type: 'write' } | { type: 'stop' };

/** A user as the sink's INSERT parameters: the columns in order, the uuid as the driver's Uuid. */
function rowParams(user: RandomUser, columns: string[]): unknown[] {
  const row = toCreatedUserRow(user) as unknown as Record<string, unknown>;
  return columns.map((name) => (name === 'id' ? cassandra.types.Uuid.fromString(row.id as string) : row[name]));
}

async function timed<T>(count: number, action: () => Promise<T>): Promise<Measured & { value: T }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await action();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { ...throughput(count, ms), cpuUsPerRecord: round((used.user + used.system) / count, 1), value };
}

async function writeRows(client: cassandra.Client, insert: string, rows: unknown[][], method: WriteMethod, concurrency: number): Promise<void> {
  if (method === 'executeConcurrent') {
    await cassandra.concurrent.executeConcurrent(client, insert, rows, { concurrencyLevel: concurrency, raiseOnFirstError: true });
    return;
  }
  // The sink's own pattern: `concurrency` lanes, each sending its next row when the previous is acknowledged.
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, rows.length) }, async () => {
      while (next < rows.length) await client.execute(insert, rows[next++]);
    }),
  );
}

/** What a raw consume reads: the whole topic, `consumeBatch` messages per consume call. */
type ConsumeTask = Pick<ProcessCeilingsTask, 'brokers' | 'topic' | 'records' | 'consumeBatch'>;

/** Every message of the topic, as fast as node-rdkafka hands them out, in a consumer group of its own. */
async function consumeAll(task: ConsumeTask): Promise<{ values: Buffer[]; firstAt: number; connectedAt: number }> {
  const consumer = await connectConsumer(task.brokers, task.topic, `bench-raw-${randomUUID().slice(0, 8)}`);
  // The kafka source's read wait (trigger.readWait).
  consumer.setDefaultConsumeTimeout(100);
  const values: Buffer[] = [];
  const connectedAt = performance.now();
  let firstAt: number | undefined;
  try {
    while (values.length < task.records) {
      if (performance.now() - connectedAt > 600_000) throw new Error(`raw consume: only ${values.length} of ${task.records} messages in ${task.topic} after 10 minutes`);
      const messages = await consume(consumer, task.consumeBatch);
      if (messages.length > 0) firstAt ??= performance.now();
      for (const message of messages) if (message.value) values.push(message.value);
    }
  } finally {
    await disconnect(consumer);
  }
  return { values, firstAt: firstAt!, connectedAt };
}

/** Timed from the first message on: the group join is reported apart. */
async function timedConsume(task: ConsumeTask): Promise<{ result: Measured & { groupJoinMs: number }; values: Buffer[] }> {
  const cpu = process.cpuUsage();
  const { values, firstAt, connectedAt } = await consumeAll(task);
  const ms = performance.now() - firstAt;
  const used = process.cpuUsage(cpu);
  return { result: { ...throughput(values.length, ms), cpuUsPerRecord: round((used.user + used.system) / values.length, 1), groupJoinMs: Math.round(firstAt - connectedAt) }, values };
}

/** The raw consume ceiling alone, of another topic (the scale leg's): one timed pass. */
export interface ConsumeCeilingTask extends ConsumeTask {
  kind: 'consume-ceiling';
}

export async function consumeCeiling(task: ConsumeCeilingTask): Promise<Measured & { groupJoinMs: number }> {
  return (await timedConsume(task)).result;
}

/**
 * A first raw consume, the rows built from it, the write sweep; then timed passes on command, so the
 * parent can interleave them with the pipeline's runs (the machine's load drifts; neighbours compare).
 */
export async function processCeilings(task: ProcessCeilingsTask, report: (event: ProcessCeilingsEvent) => void, next: () => Promise<ProcessCeilingsCommand>): Promise<void> {
  const first = await timedConsume(task);
  report({ kind: 'consume', result: first.result });

  // The same users' rows, converted before any timing; the messages are then let go.
  const names = Object.keys(task.cassandra.columns);
  const rows = first.values.map((value) => rowParams(JSON.parse(value.toString('utf8')) as RandomUser, names));
  first.values.length = 0;
  (globalThis as { gc?: () => void }).gc?.();

  const { keyspace, columns } = task.cassandra;
  const client = new cassandra.Client({
    contactPoints: task.cassandra.contactPoints.split(','),
    localDataCenter: task.cassandra.localDc,
    // The sink's settings: prepared, idempotent, LOCAL_QUORUM, no driver retries.
    queryOptions: { prepare: true, isIdempotent: true, consistency: cassandra.types.consistencies.localQuorum },
    policies: { retry: new cassandra.policies.retry.FallthroughRetryPolicy() },
  });
  await client.connect();
  try {
    const table = { keyspace, columns: columns as Record<string, CqlType>, primaryKey: { partition: ['id'], clustering: [] }, replication: { class: 'SimpleStrategy' as const, replicationFactor: 1 } };
    await client.execute(createKeyspaceCql(keyspace, table.replication));
    for (const name of ['sweep', 'created_users']) await client.execute(createTableCql({ ...table, table: name }));
    const sweepInsert = insertCql({ ...table, table: 'sweep' });
    // Warm-up: prepared statement, connections, JIT.
    await writeRows(client, sweepInsert, rows.slice(0, Math.min(2000, rows.length)), 'lanes', 64);

    const trials: WriteTrial[] = [];
    let offset = 0;
    for (const method of task.sweep.methods) {
      for (const concurrency of task.sweep.concurrencies) {
        const count = Math.min(task.sweep.rowsPerTrial, rows.length);
        if (offset + count > rows.length) offset = 0;
        const slice = rows.slice(offset, offset + count);
        offset += count;
        const { value: _, ...measured } = await timed(count, () => writeRows(client, sweepInsert, slice, method, concurrency));
        trials.push({ method, concurrency, ...measured });
        report({ kind: 'log', line: `raw cassandra ${method} × ${concurrency}: ${measured.perSecond} rows/s` });
      }
    }
    const best = trials.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
    report({ kind: 'sweep', trials, best });

    const insert = insertCql({ ...table, table: 'created_users' });
    for (let command = await next(); command.type !== 'stop'; command = await next()) {
      if (command.type === 'consume') {
        report({ kind: 'consume', result: (await timedConsume(task)).result });
      } else {
        const { value: _, ...measured } = await timed(rows.length, () => writeRows(client, insert, rows, best.method, best.concurrency));
        report({ kind: 'write', result: { method: best.method, concurrency: best.concurrency, ...measured } });
      }
    }
  } finally {
    await client.shutdown();
  }
}
