/**
 * The console's Data page: the Kafka topics a topology reads and writes (partitions, messages, each
 * reading group's lag, a peek at the latest messages) and the Cassandra tables its sinks write (row
 * count, some rows) — the original demo's `cqlsh` step, in the browser.
 */
import type cassandra from 'cassandra-driver';
import type { KafkaClientConfig } from '../../clients/kafka.ts';
import { connectCassandra, type CassandraConnection } from '../../clients/cassandra.ts';
import type { PipelineConfig } from '../../topology/model.ts';
import type { ComponentConfig } from '../../topology/registry.ts';
import { latestMessages, topicReport, type TopicReport } from './kafka.ts';

export interface PeekedMessage {
  partition: number;
  offset: number;
  timestamp: number | null;
  key: string | null;
  /** The value as UTF-8 text, cut at PEEK_VALUE_CHARS. */
  value: string;
  size: number;
}

export interface TableReport {
  table: string;
  rows: number;
  columns: string[];
  sample: Array<Record<string, unknown>>;
}

export interface DataStore {
  topics(): Promise<TopicReport[]>;
  peek(topic: string, count: number): Promise<PeekedMessage[]>;
  tables(rows: number): Promise<TableReport[]>;
  close(): Promise<void>;
}

const PEEK_VALUE_CHARS = 4000;

interface KafkaTopicUse {
  client: KafkaClientConfig;
  groups: Set<string>;
}

type Config = ComponentConfig & Record<string, unknown>;

/** Every Kafka topic of these pipelines (sources, sinks, dead letters), with the groups reading each. */
export function kafkaTopicsOf(pipelines: Iterable<PipelineConfig>): Map<string, KafkaTopicUse> {
  const topics = new Map<string, KafkaTopicUse>();
  const use = (topic: string, client: KafkaClientConfig) => {
    const entry = topics.get(topic) ?? { client, groups: new Set<string>() };
    topics.set(topic, entry);
    return entry;
  };
  for (const p of pipelines) {
    const source = p.source as Config;
    if (source.type === 'kafka' && Array.isArray(source.topics)) for (const topic of source.topics as string[]) use(topic, source as unknown as KafkaClientConfig).groups.add(String(source.groupId));
    for (const sink of [p.sink, p.deadLetter] as Array<Config | undefined>) {
      if ((sink?.type === 'kafka' || sink?.type === 'dead-letter') && typeof sink.topic === 'string') use(sink.topic, sink as unknown as KafkaClientConfig);
    }
  }
  return topics;
}

/** The Cassandra tables the sinks of these pipelines write, by `keyspace.table`. */
export function cassandraTablesOf(pipelines: Iterable<PipelineConfig>): Map<string, CassandraConnection & { keyspace: string; table: string; columns: Record<string, string> }> {
  const tables = new Map<string, CassandraConnection & { keyspace: string; table: string; columns: Record<string, string> }>();
  for (const p of pipelines) {
    const sink = p.sink as Config;
    if (sink.type === 'cassandra') tables.set(`${String(sink.keyspace)}.${String(sink.table)}`, sink as unknown as CassandraConnection & { keyspace: string; table: string; columns: Record<string, string> });
  }
  return tables;
}

/** A Cassandra cell as JSON: timestamps as ISO 8601, UUIDs, big integers and the like as text. */
function cell(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (typeof value === 'object' && !Array.isArray(value)) return String(value);
  return value;
}

export function liveData(pipelines: () => PipelineConfig[]): DataStore {
  // One client per contact points, connected on first use and kept: the page refreshes.
  const clients = new Map<string, Promise<cassandra.Client>>();
  const clientFor = (config: CassandraConnection) => {
    const key = `${String(config.contactPoints)} ${config.localDataCenter} ${config.username ?? ''}`;
    let client = clients.get(key);
    if (!client) {
      client = connectCassandra(config);
      client.catch(() => clients.delete(key));
      clients.set(key, client);
    }
    return client;
  };
  return {
    async topics() {
      const reports: TopicReport[] = [];
      for (const [topic, { client, groups }] of kafkaTopicsOf(pipelines())) {
        reports.push(await topicReport(client, topic, [...groups]).catch((error: Error) => ({ topic, partitions: [], messages: 0, groups: [], error: error.message })));
      }
      return reports;
    },
    async peek(topic, count) {
      const use = kafkaTopicsOf(pipelines()).get(topic);
      if (!use) throw new Error(`no topic ${topic} in this topology`);
      const messages = await latestMessages(use.client, topic, count);
      return messages
        .sort((a, b) => (b.timestamp ?? 0) - (a.timestamp ?? 0))
        .slice(0, count)
        .map((m) => {
          const text = (m.value ?? Buffer.alloc(0)).toString('utf8');
          return {
            partition: m.partition,
            offset: m.offset,
            timestamp: m.timestamp ?? null,
            key: m.key === undefined || m.key === null ? null : String(m.key),
            value: text.length > PEEK_VALUE_CHARS ? `${text.slice(0, PEEK_VALUE_CHARS)}…` : text,
            size: m.size,
          };
        });
    },
    async tables(rows) {
      const reports: TableReport[] = [];
      for (const [table, sink] of cassandraTablesOf(pipelines())) {
        const client = await clientFor(sink);
        const count = await client.execute(`SELECT COUNT(*) FROM ${table}`, [], { readTimeout: 30_000 });
        const sample = await client.execute(`SELECT * FROM ${table} LIMIT ${Math.max(1, Math.min(rows, 100))}`);
        const columns = Object.keys(sink.columns);
        reports.push({ table, rows: Number(count.first().get('count')), columns, sample: sample.rows.map((row) => Object.fromEntries(columns.map((c) => [c, cell(row.get(c))]))) });
      }
      return reports;
    },
    async close() {
      for (const client of clients.values()) await client.then((c) => c.shutdown(), () => undefined);
      clients.clear();
    },
  };
}
