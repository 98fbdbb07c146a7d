/**
 * The cassandra sink's `batching` modes against a running Cassandra, nothing else: the same created_users
 * rows written by the sink in `single-row` and `token-aware` mode, in alternating order (ABBA), each pass
 * into a fresh table. Per pass: rows/s, this process's CPU µs per row (the driver included), and how the
 * rows went (single INSERTs, batches, mean rows per batch). A quick check of a mode, not the benchmark:
 * `npm run bench` measures the pipeline. Cassandra's own log says whether any batch was over its warn
 * threshold (`grep 'Batch for' <cassandra.log>`).
 *
 *   CASSANDRA_CONTACT_POINTS=127.0.0.1:9042 npx tsx bench/cassandra-batching.ts [--rows 50000] [--rounds 2]
 */
import { parseArgs } from 'node:util';
import type cassandra from 'cassandra-driver';
import '../components.ts';
import { connectCassandra } from '../clients/cassandra.ts';
import { silentLogger } from '../operations/logger.ts';
import { generateUsers } from '../randomuser/generator.ts';
import { toCreatedUserRow } from '../randomuser/row.ts';
import type { CassandraSinkConfig } from '../sinks/cassandra/config.ts';
import { cassandraSink } from '../sinks/cassandra/sink.ts';
import { formatErrors } from '../topology/errors.ts';
import { registry } from '../topology/registry.ts';
import type { StreamRecord } from '../topology/types.ts';
import { median, round } from './stats.ts';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '50000' }, rounds: { type: 'string', default: '2' } } });
const ROWS = Number(values.rows);
const ROUNDS = Number(values.rounds);
const CHUNK = 1000;
const CHUNKS_IN_FLIGHT = 4;
const KEYSPACE = 'bench_batching';

const records: StreamRecord[] = [];
for (let page = 1; records.length < ROWS; page++) {
  for (const user of generateUsers({ seed: 'cassandra-batching', page, results: 5000 }).users) records.push({ key: null, value: { ...toCreatedUserRow(user) }, timestamp: 0 });
}
records.length = ROWS;

function sinkConfig(table: string, mode: 'single-row' | 'token-aware'): CassandraSinkConfig {
  const decoded = registry.decode('sink', {
    type: 'cassandra',
    contactPoints: process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042',
    localDataCenter: process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1',
    keyspace: KEYSPACE,
    table,
    columns: { id: 'uuid', first_name: 'text', last_name: 'text', gender: 'text', address: 'text', post_code: 'text', email: 'text', username: 'text', dob: 'text', registered_date: 'text', phone: 'text', picture: 'text' },
    primaryKey: 'id',
    batching: { mode },
  });
  if (decoded._tag === 'Left') throw new Error(formatErrors(decoded.left).join('\n'));
  return decoded.right as unknown as CassandraSinkConfig;
}

interface Pass {
  mode: string;
  rowsPerSecond: number;
  cpuUsPerRow: number;
  inserts: number;
  batches: number;
  rowsPerBatch: number;
}

async function pass(mode: 'single-row' | 'token-aware', table: string): Promise<Pass> {
  let inserts = 0;
  let batches = 0;
  let batchedRows = 0;
  // The real client, counting what the sink sends.
  const counting: typeof connectCassandra = async (config, policies) => {
    const client = await connectCassandra(config, policies);
    const execute = client.execute.bind(client);
    const batch = client.batch.bind(client);
    client.execute = ((query: string, params?: unknown, options?: cassandra.QueryOptions) => {
      if (query.startsWith('INSERT')) inserts++;
      return execute(query, params as never, options);
    }) as typeof client.execute;
    client.batch = ((queries: Array<{ query: string; params?: unknown }>, options?: cassandra.QueryOptions) => {
      batches++;
      batchedRows += queries.length;
      return batch(queries as never, options);
    }) as typeof client.batch;
    return client;
  };
  const sink = cassandraSink(sinkConfig(table, mode), silentLogger(), counting);
  await sink.start();
  try {
    const started = performance.now();
    const cpu = process.cpuUsage();
    let next = 0;
    const lane = async () => {
      while (next < records.length) {
        const from = next;
        next += CHUNK;
        await sink.write(records.slice(from, from + CHUNK));
      }
    };
    await Promise.all(Array.from({ length: CHUNKS_IN_FLIGHT }, lane));
    const used = process.cpuUsage(cpu);
    const seconds = (performance.now() - started) / 1000;
    return { mode, rowsPerSecond: Math.round(records.length / seconds), cpuUsPerRow: round((used.user + used.system) / records.length, 1), inserts, batches, rowsPerBatch: batches === 0 ? 0 : round(batchedRows / batches, 1) };
  } finally {
    await sink.close();
  }
}

const passes: Pass[] = [];
const order: Array<'single-row' | 'token-aware'> = [];
for (let round = 0; round < ROUNDS; round++) order.push(...(round % 2 === 0 ? (['single-row', 'token-aware'] as const) : (['token-aware', 'single-row'] as const)));
for (const [i, mode] of order.entries()) {
  const result = await pass(mode, `pass_${i}_${mode.replace('-', '_')}`);
  passes.push(result);
  process.stdout.write(`${result.mode.padEnd(11)}  ${String(result.rowsPerSecond).padStart(7)} rows/s  ${result.cpuUsPerRow.toFixed(1).padStart(6)} CPU µs/row  ${result.inserts} INSERTs, ${result.batches} batches of ${result.rowsPerBatch} rows on average\n`);
}
for (const mode of ['single-row', 'token-aware']) {
  const mine = passes.filter((p) => p.mode === mode);
  process.stdout.write(`median ${mode}: ${median(mine.map((p) => p.rowsPerSecond))} rows/s, ${median(mine.map((p) => p.cpuUsPerRow))} CPU µs/row\n`);
}
process.stdout.write(`(keyspace ${KEYSPACE} is left in place; DROP KEYSPACE ${KEYSPACE} to remove it)\n`);
