/**
 * kafka — reads Kafka topics as a consumer-group member, committing offsets only after the runtime
 * acknowledged a micro-batch. What it promises is the spec's `description` below (docs/sources.md).
 *
 * ```yaml
 * source:
 *   type: kafka
 *   brokers: ${KAFKA_BROKERS:-127.0.0.1:9092}
 *   topics: [users_created]
 *   groupId: user-pipeline
 *   startingOffsets: earliest
 * ```
 * See also: ./source.ts (how), the `kafka` and `dead-letter` sinks, clients/kafka.ts for the connection fields.
 */
import { defineComponent } from '../../topology/registry.ts';
import { kafkaSourceFields } from './config.ts';
import { KafkaSource } from './source.ts';
import { kafkaExchange } from './exchange.ts';
import { registryEndpoint } from '../../clients/schema-registry.ts';

defineComponent({
  kind: 'source',
  type: 'kafka',
  summary: 'Reads Kafka topics as a consumer group member; commits offsets after each acknowledged micro-batch.',
  description:
    'Consumes one or more topics with node-rdkafka as a member of `groupId`. A micro-batch is up to `trigger.maxRecordsPerTrigger` messages; its offsets are committed (per partition: last offset + 1, confirmed by the group coordinator before the commit resolves; a commit not confirmed within 15 s fails the batch) only after the sink and the dead-letter sink acknowledged every record, and a failed batch is re-read from the committed offsets (at-least-once). Records carry the message key, timestamp and topic/partition/offset, and the original bytes for dead-lettering. Each partition number is a task of the pipeline: at the first read after partitions are assigned, the group\'s committed offsets of them are read from the coordinator and reported with the batch, so that stateful operators restore each task\'s state as of its committed position before any of its records (a failed query fails the read, which is retried). With `format: json`, empty or invalid JSON messages are dead-lettered with the parser\'s message and still committed past; with `format: avro`, so are messages that are not Avro in the Confluent wire format of a schema the registry knows (docs/avro.md). Rebalances are cooperative (incremental): a partition taken from this member while a batch holding its records is in flight is given up only once that batch committed (its state changes and offsets, the partition included; under exactly-once, in its transaction) or was rolled back, so its new owner starts right after it, as a Kafka Streams task commits before it moves; meanwhile the member reads nothing new (librdkafka pauses its partitions until the revoke is done) and hands out no record of the partitions it is giving up. A batch not committed within 20 s is not waited for: the partition is given up with a warning, and its new owner re-reads that batch\'s records of it. With an eager assignor set through `rdkafka: { partition.assignment.strategy: range }`, every partition is revoked at once when a rebalance begins; a partition that moves while a batch is in flight is re-read by its new owner from the last committed offset. Progress events carry the consumer lag (high watermark minus position, summed over the assigned partitions: `lag`; and per partition: `lagByPartition`, by `topic/partition`), and `caughtUp` (for `trigger.mode: availableNow`) is true when every assigned partition has been read to its end. Under the pipeline\'s `processing: exactly-once`, each batch is one Kafka transaction of the pipeline\'s transactional producer in this process, whose transactional id `user-stream.<topology>.<pipeline>.<instance>` ends with the process\'s instance (`<host>-<n>` claimed by `npm start`, or `--instance NAME`): unique among the processes of the pipeline in the group, which therefore work side by side, and the same after a restart, which aborts at once what the dead process left open (see the model\'s "Several processes of a pipeline"). The source begins the transaction before the batch\'s outputs are written and commits the batch\'s offsets into it (sendOffsetsToTransaction, with the group\'s metadata, so a member whose generation is over — a zombie — commits nothing); a rollback aborts it. A batch with a partition given up while it was in flight (after the 20 s wait, or by an eager assignor) fails instead of committing, since its outputs may not be published without that partition\'s offsets: its transaction is aborted and the partition\'s owner reads its records again. It reads read_committed: messages of aborted transactions are never read.',
  fields: kafkaSourceFields,
  transactional: true,
  examples: [
    'source:\n  type: kafka\n  brokers: ${KAFKA_BROKERS:-127.0.0.1:9092}\n  topics: [users_created]\n  groupId: user-pipeline\n  startingOffsets: earliest',
    'source:\n  type: kafka\n  brokers: ${KAFKA_BROKERS:-127.0.0.1:9092}\n  topics: [users_created]\n  groupId: user-pipeline\n  format: avro\n  schemaRegistry: { url: "${SCHEMA_REGISTRY_URL:-http://127.0.0.1:8081/apis/ccompat/v7}" }',
    'source:\n  type: kafka\n  brokers: broker1:9093,broker2:9093\n  topics: users_created\n  groupId: user-archive\n  format: string\n  sasl: { mechanism: SCRAM-SHA-512, username: archive, password: ${KAFKA_PASSWORD} }\n  ssl: { caLocation: /etc/kafka/ca.pem }',
  ],
  endpoints: (config) => [{ service: 'kafka', address: config.brokers }, ...(config.format === 'avro' ? [registryEndpoint(config.schemaRegistry)] : [])],
  exchange: kafkaExchange,
  create: (config, ctx) => new KafkaSource(config, ctx),
});
