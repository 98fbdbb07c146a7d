/**
 * `npm run inspect -- --topology NAME`: what a topology has produced so far, like the original demo's
 * `cqlsh` step — for every Cassandra sink, the row count and a few rows; for every Kafka topic it
 * reads, the messages in it and what its consumer group has committed.
 */
import { parseArgs } from 'node:util';
import Kafka from 'node-rdkafka';
import '../components.ts';
import { UserFacingError } from '../topology/errors.ts';
import { reportError } from './errors.ts';
import { listTopologies, loadTopology } from '../topology/load.ts';
import { selectPipelines } from '../topology/runtime.ts';
import { connectCassandra } from '../clients/cassandra.ts';
import { librdkafkaConfig } from '../clients/kafka.ts';
import type { CassandraSinkConfig } from '../sinks/cassandra/config.ts';
import type { KafkaSourceConfig } from '../sources/kafka/config.ts';

const HELP = `Usage: npm run inspect -- --topology NAME|PATH [--pipeline NAME] [--rows N]

Shows what a topology has produced: for each Cassandra sink, the table's row count and N rows
(default 5); for each Kafka source, its topic's messages per partition and the consumer group's
committed offsets and lag. Uses the same environment variables as npm start (KAFKA_BROKERS,
CASSANDRA_CONTACT_POINTS, …). Known topologies: ${listTopologies().join(', ')}.`;

/** A cell as text: timestamps in ISO-8601 (a Date's own text is long and local-looking). */
function shown(value: unknown): string {
  return value instanceof Date ? value.toISOString() : String(value);
}

function truncate(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

async function inspectCassandra(sink: CassandraSinkConfig, rows: number): Promise<string[]> {
  const client = await connectCassandra(sink);
  try {
    const table = `${sink.keyspace}.${sink.table}`;
    const count = await client.execute(`SELECT COUNT(*) FROM ${table}`);
    const sample = await client.execute(`SELECT * FROM ${table} LIMIT ${rows}`);
    const lines = [`Cassandra ${table} (${sink.contactPoints}): ${count.first().get('count').toString()} rows`];
    const columns = Object.keys(sink.columns);
    for (const row of sample.rows) {
      lines.push(`  ${columns.map((c) => `${c}=${truncate(shown(row.get(c)), 40)}`).join('  ')}`);
    }
    return lines;
  } finally {
    await client.shutdown();
  }
}

function inspectKafka(source: KafkaSourceConfig): Promise<string[]> {
  const consumer = new Kafka.KafkaConsumer({ ...librdkafkaConfig(source), 'group.id': source.groupId, 'enable.auto.commit': false }, {});
  return new Promise((resolve, reject) => {
    consumer.connect({ timeout: 10_000 }, (error, metadata) => {
      if (error) return reject(new UserFacingError(`cannot reach Kafka at ${source.brokers} (${error.message})`, 'is it running? npm run services -- status'));
      const lines: string[] = [];
      const partitions = metadata.topics.filter((t) => source.topics.includes(t.name)).flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.id })));
      consumer.committed(partitions, 10_000, (commitError, committed) => {
        if (commitError) {
          consumer.disconnect();
          return reject(commitError);
        }
        let total = 0;
        let lag = 0;
        let pending = committed.length;
        if (pending === 0) {
          consumer.disconnect();
          return resolve([`Kafka ${source.topics.join(', ')} (${source.brokers}): no such topic yet`]);
        }
        for (const tp of committed) {
          consumer.queryWatermarkOffsets(tp.topic, tp.partition, 10_000, (wmError, offsets) => {
            const high = wmError ? 0 : offsets.highOffset;
            const low = wmError ? 0 : offsets.lowOffset;
            const done = tp.offset !== undefined && tp.offset >= 0 ? tp.offset : low;
            total += high - low;
            lag += Math.max(0, high - done);
            lines.push(`  ${tp.topic}/${tp.partition}: offsets ${low}..${high}, group ${source.groupId} committed ${tp.offset !== undefined && tp.offset >= 0 ? tp.offset : 'nothing'}`);
            if (--pending === 0) {
              consumer.disconnect();
              lines.sort();
              resolve([`Kafka ${source.topics.join(', ')} (${source.brokers}): ${total} messages, group ${source.groupId} lag ${lag}`, ...lines]);
            }
          });
        }
      });
    });
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { topology: { type: 'string', short: 't' }, pipeline: { type: 'string', multiple: true }, rows: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (!values.topology) throw new UserFacingError('no topology given', `use --topology NAME (known: ${listTopologies().join(', ')})`);
  const rows = Number(values.rows ?? 5);
  const { config } = loadTopology(values.topology);
  const output: string[] = [];
  for (const name of selectPipelines(config, values.pipeline)) {
    const p = config.pipelines[name];
    if (p.source.type === 'kafka') output.push(...(await inspectKafka(p.source as unknown as KafkaSourceConfig)));
    if (p.sink.type === 'cassandra') output.push(...(await inspectCassandra(p.sink as unknown as CassandraSinkConfig, rows)));
  }
  process.stdout.write(`${output.length > 0 ? output.join('\n') : 'nothing to inspect: no Kafka source or Cassandra sink in these pipelines'}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => process.exit(reportError(error, 'npm run inspect --')),
);
