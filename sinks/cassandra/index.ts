/**
 * cassandra — upserts each record's value as one row of a Cassandra table (what it does: the spec's
 * `description` below, rendered in docs/sinks.md).
 *
 * ```yaml
 * sink:
 *   type: cassandra
 *   contactPoints: ${CASSANDRA_CONTACT_POINTS:-127.0.0.1:9042}
 *   keyspace: spark_streams
 *   table: created_users
 *   columns: { id: uuid, email: text }
 *   primaryKey: id
 * ```
 * See also: config.ts, cql.ts, values.ts, errors.ts and sink.ts beside this file; sinks/column-values.ts
 * (the value parsers); clients/cassandra.ts (the connection fields, `checkCassandra`).
 */
import { defineComponent } from '../../topology/registry.ts';
import { cassandraSinkProblems, fields } from './config.ts';
import { cassandraSink } from './sink.ts';

defineComponent({
  kind: 'sink',
  type: 'cassandra',
  summary: 'Upserts each record as one row of a Cassandra table (prepared INSERTs, bounded concurrency; optionally token-aware unlogged batches).',
  description:
    "Writes each record's value (an object with a field per column) as one row with a prepared INSERT, which upserts by primary key: a retried or redelivered record overwrites its own row, so at-least-once delivery leaves no duplicates. By default rows go one statement each, never in multi-partition batches, which would funnel every row through one coordinator. With `batching: { mode: token-aware }` rows whose partition keys have the same replicas (the driver's view of the ring and the keyspace's replication) go in UNLOGGED batches routed to one of those replicas, each under `batching.maxBytes` (estimated; keep it under Cassandra's 5 KiB batch_size_warn_threshold) and `batching.maxRows` (at most 10 by default, Cassandra's threshold for warning about unlogged batches across partitions); rows of different replica sets never share a batch, a row whose replicas are unknown goes alone, and a batch is as idempotent as its rows. A missing field is left unset (an existing row keeps its value; no tombstone is written) and `null` clears the column; primary-key fields are required. At start it connects, creates the keyspace and table if asked, and checks the table's columns and primary key against `columns` and `primaryKey`, stopping with what differs and what to do. Values are converted to the column types first; one that does not convert fails the write (not retried) and names the record, column and value. A write resolves when every row is acknowledged at `consistency`; timeouts, unavailable replicas and lost connections are retryable, the framework's `retry` policy retries them (the driver's own retries are off).",
  fields,
  examples: [
    `sink:
  type: cassandra
  contactPoints: \${CASSANDRA_CONTACT_POINTS:-127.0.0.1:9042}
  localDataCenter: \${CASSANDRA_LOCAL_DC:-datacenter1}
  keyspace: spark_streams
  table: created_users
  columns: { id: uuid, first_name: text, last_name: text, gender: text, address: text, post_code: text, email: text, username: text, dob: text, registered_date: text, phone: text, picture: text }
  primaryKey: id
  replication: { class: SimpleStrategy, replicationFactor: 1 }`,
  ],
  endpoints: (config) => [{ service: 'cassandra', address: config.contactPoints }],
  check: cassandraSinkProblems,
  create: (config, ctx) => cassandraSink(config, ctx.logger),
});
