/**
 * CPU per record of each step of the process pipeline's hot path, without Kafka or Cassandra: turning
 * Kafka messages into records (the kafka source's `messageToRecord`), `validate`, `mapping`, both as
 * the runtime chains them, and the cassandra sink's own work per write (value conversion, one
 * `execute` per row, or with token-aware batching the grouping and one `batch` per group) against a
 * client that acknowledges at once — so the driver and the network are left out; and, for the ingest
 * pipeline, the kafka sink's message per record from an http-poll record, with `payload: value` and
 * `payload: raw`. CPU time (process.cpuUsage), median of several passes, so
 * a busy machine moves it less than wall time.
 *
 *   npx tsx bench/hot-path.ts [--users 20000] [--passes 7]
 */
import { parseArgs } from 'node:util';
import type { Message } from 'node-rdkafka';
import { asyncScheduler, from, lastValueFrom, toArray } from 'rxjs';
import '../components.ts';
import { generateUsers } from '../randomuser/generator.ts';
import type { CassandraSinkConfig } from '../sinks/cassandra/config.ts';
import { cassandraSink } from '../sinks/cassandra/sink.ts';
import { rawRecordToMessage, recordToMessage } from '../sinks/kafka/messages.ts';
import { messageToRecord } from '../sources/kafka/records.ts';
import { parseTopology } from '../topology/load.ts';
import { silentLogger } from '../operations/logger.ts';
import { registry } from '../topology/registry.ts';
import { sinkPolicyCodec, writeWithPolicy } from '../topology/sink-policy.ts';
import type { ComponentContext, Operator, StreamRecord } from '../topology/types.ts';
import { batchScope } from '../testing/batch-scope.ts';
import { median, round } from './stats.ts';
import { userPipeline } from './topology.ts';
import { componentContext } from '../testing/component-context.ts';

const { values } = parseArgs({ options: { users: { type: 'string', default: '20000' }, passes: { type: 'string', default: '7' } } });
const USERS = Number(values.users);
const PASSES = Number(values.passes);
const BATCH = 10_000;

const config = parseTopology(userPipeline(), 'config/user-pipeline.yaml', { env: {} }).pipelines.process;
const deadLetters: string[] = [];
const ctx = (path: string): ComponentContext => (componentContext({
  topology: 'user-pipeline',
  pipeline: 'process',
  path,
  logger: silentLogger(),
  scheduler: asyncScheduler,
}));
const scope = batchScope({ deadLetter: (_record, reason) => void deadLetters.push(reason) });
const operators: Operator[] = [];
for (const [i, op] of config.operators.entries()) operators.push(await registry.create('operator', op, ctx(`operators[${i}]`)));

// The sink against a client that acknowledges every statement at once: only the sink's own work remains.
const sinkConfig = config.sink as unknown as CassandraSinkConfig;
const decodedPolicy = sinkPolicyCodec.decode({ batch: config.sink.batch, retry: config.sink.retry });
if (decodedPolicy._tag === 'Left') throw new Error('the process pipeline\'s sink policy did not decode');
const sinkPolicy = decodedPolicy.right;
const schema = Object.entries(sinkConfig.columns).map(([name, type]) => ({ column_name: name, type, kind: name === 'id' ? 'partition_key' : 'regular', position: name === 'id' ? 0 : -1 }));
const fakeClient = {
  execute: (cql: string) => Promise.resolve(cql.startsWith('SELECT column_name') ? { rowLength: schema.length, rows: schema } : { rowLength: 0, rows: [] }),
  shutdown: () => Promise.resolve(),
};
const sink = cassandraSink(sinkConfig, silentLogger(), (async () => fakeClient) as never);
await sink.start();
// The same with token-aware batching, against a single node (every row's replicas are that node): the
// sink's own work of grouping rows (a routing key and a replica lookup per row) and one `batch` per group.
const oneNode = [{ address: '127.0.0.1' }];
const tokenAwareClient = { ...fakeClient, getReplicas: () => oneNode, batch: () => Promise.resolve({}) };
const tokenAwareSink = cassandraSink({ ...sinkConfig, batching: { mode: 'token-aware', maxBytes: 4096, maxRows: 10 } }, silentLogger(), (async () => tokenAwareClient) as never);
await tokenAwareSink.start();

// Kafka messages as node-rdkafka hands them out: the user's JSON bytes, keyed by login.uuid.
const messages: Message[] = [];
for (let page = 1; messages.length < USERS; page++) {
  for (const user of generateUsers({ seed: 'hot-path', page, results: 5000 }).users) {
    messages.push({ value: Buffer.from(JSON.stringify(user)), key: Buffer.from(user.login.uuid), topic: 'users_created', partition: 0, offset: messages.length, timestamp: Date.now(), size: 0 });
  }
}
messages.length = USERS;

const toRecords = (): StreamRecord[] => messages.map((m) => messageToRecord(m, 'json', 0).record);
const apply = (records: StreamRecord[], ops: Operator[]): Promise<StreamRecord[]> => {
  let stream = from(records);
  for (const op of ops) stream = op.apply(stream, scope);
  return lastValueFrom(stream.pipe(toArray()));
};
const write = async (rows: StreamRecord[], to = sink): Promise<void> => {
  for (let i = 0; i < rows.length; i += BATCH) await writeWithPolicy(to, rows.slice(i, i + BATCH), sinkPolicy, asyncScheduler, () => undefined);
};

/** Median CPU µs per record of `step` over the passes (after one warm-up pass). */
async function measure(name: string, step: () => Promise<unknown> | unknown): Promise<[string, number]> {
  const samples: number[] = [];
  for (let pass = 0; pass <= PASSES; pass++) {
    const before = process.cpuUsage();
    await step();
    const used = process.cpuUsage(before);
    if (pass > 0) samples.push((used.user + used.system) / USERS);
  }
  return [name, round(median(samples), 2)];
}

const records = toRecords();
const validated = await apply(records, operators.slice(0, 1));
const rows = await apply(records, operators);
if (deadLetters.length > 0) throw new Error(`unexpected dead letters: ${deadLetters.slice(0, 3).join('; ')}`);

// Records as http-poll makes them: the parsed user, and its JSON as `raw`.
const polled: StreamRecord[] = records.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp, raw: JSON.stringify(r.value) }));

const results = [
  await measure('JSON.parse of the message value (reference)', () => messages.map((m) => JSON.parse(m.value!.toString('utf8')))),
  await measure('kafka source: message → record (messageToRecord)', toRecords),
  await measure('validate (randomuser-user)', () => apply(records, operators.slice(0, 1))),
  await measure('mapping (12 fields)', () => apply(validated, operators.slice(1))),
  await measure('validate + mapping, as the runtime chains them', () => apply(records, operators)),
  await measure('cassandra sink: conversion + one execute per row (client acknowledges at once)', () => write(rows)),
  await measure('cassandra sink, token-aware: conversion + grouping + one batch per group (one node)', () => write(rows, tokenAwareSink)),
  await measure('ingest, kafka sink: http-poll record → message, payload: value', () => polled.map(recordToMessage)),
  await measure('ingest, kafka sink: http-poll record → message, payload: raw', () => polled.map(rawRecordToMessage)),
];
const width = Math.max(...results.map(([name]) => name.length));
process.stdout.write(`CPU µs per record, median of ${PASSES} passes over ${USERS.toLocaleString('en-US')} users:\n`);
for (const [name, us] of results) process.stdout.write(`  ${name.padEnd(width)}  ${us.toFixed(2).padStart(7)}\n`);
