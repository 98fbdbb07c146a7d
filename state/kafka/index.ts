/**
 * kafka — makes operator state durable in Kafka: a compacted changelog topic per store, one partition
 * per task (input partition), written in each batch's checkpoint and read back when a task is assigned.
 * The spec's `description` below says the rest (docs/state.md).
 *
 * ```yaml
 * state:
 *   type: kafka
 *   brokers: ${KAFKA_BROKERS:-127.0.0.1:9092}
 * ```
 * (`replicationFactor` and `minInsyncReplicas` are `auto` by default: 3 and 2 on a cluster of three brokers, 1 and 1 on one.)
 * See also: ./backend.ts (how), ./changelog.ts (topic names, messages, the restore), the `memory` state backend.
 */
import { defineComponent } from '../../topology/registry.ts';
import { withDefault, type ConfigOf } from '../../topology/spec.ts';
import { Duration, ReplicationFactorOrAuto, type ReplicationSetting } from '../../topology/codecs.ts';
import { kafkaClientFields } from '../../clients/kafka.ts';
import { PRODUCER_GUARANTEES } from '../../sinks/kafka/producer.ts';
import { kafkaStateBackend } from './backend.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

const fields = {
  ...kafkaClientFields({
    ...PRODUCER_GUARANTEES,
    'group.id': 'changelogs are read by assigning their partitions, never in a consumer group',
    'enable.auto.commit': 'the backend commits no offsets',
    'enable.auto.offset.store': 'the backend commits no offsets',
    'enable.partition.eof': 'a restore finds the end of a changelog partition with it',
  }),
  replicationFactor: withDefault(
    ReplicationFactorOrAuto,
    'auto' as ReplicationSetting,
    'Copies of each changelog partition, for the changelog topics the backend creates; at most the number of brokers. `auto`: as many as there are brokers, at most 3 (so that state survives the loss of a broker on a cluster).',
  ),
  minInsyncReplicas: withDefault(
    ReplicationFactorOrAuto,
    'auto' as ReplicationSetting,
    'min.insync.replicas of the changelog topics the backend creates: how many copies must have a change before it counts as written (writes use acks=all). `auto`: a majority of the copies (2 of 3; 1 with fewer than 3).',
  ),
  minCompactionLag: withDefault(
    Duration,
    DAY_MS,
    'min.compaction.lag.ms of the changelog topics the backend creates: how long a change stays safe from compaction. A batch writes its changes before its offsets are committed; when the commit never happens (a crash, a failed batch), its changes stay in the changelog, and a restore leaves them out and keeps the key\'s earlier, committed value. Compaction keeps only the latest value of a key, so it could drop that committed value in favour of the uncommitted one — this lag keeps it at least this long after the newer value was written. A task must be restored within it after such a crash (the restore then reprocesses the batch, whose new changes supersede both); a longer lag keeps more of the changelog uncompacted, so restores read more.',
  ),
  deliveryTimeout: withDefault(
    Duration,
    30_000,
    'How long a change may take to be acknowledged, librdkafka\'s own retries included, before the write fails — and its batch with it, which is then tried again from the committed offsets.',
  ),
};

export type KafkaStateConfig = ConfigOf<typeof fields>;

defineComponent({
  kind: 'state',
  type: 'kafka',
  summary: 'Makes operator state durable in Kafka: a compacted changelog topic per store, with one partition per task, restored when a task is assigned.',
  description:
    'Each store has a changelog topic named `<store id>-changelog` (the store id is `<topology>.<pipeline>.<consumer group>.<operator index>-<type>.<store>`, e.g. `user-pipeline.nat_minute.user-pipeline-nat-minute.1-window.windows-changelog`: a new consumer group starts with state of its own; characters Kafka does not allow become `_`, and an id too long is cut, both with a hash of the id added), created when a task of the store is first restored, with one partition per input partition, `cleanup.policy=compact`, `min.compaction.lag.ms` = `minCompactionLag`, and `replicationFactor` and `minInsyncReplicas` (`auto`: from the number of brokers). An existing changelog with another partition count than the input is refused with what to do: state cannot follow a repartitioned input. In each batch\'s checkpoint — after the sink and dead letters are acknowledged, before the offsets are committed — every changed key becomes one message in the partition of its task: key = the store key, value = the value as JSON (null when the key was deleted: a tombstone), header `position` = the task\'s source position after the batch; the write (idempotent, acks=all) completes once every message is acknowledged, and fails the batch otherwise. When a task is assigned, its partition is read from the start to its end at that moment by a consumer outside any group, and each key gets the latest value whose position is committed; changes of batches whose offsets were never committed are left out, because the task processes their records again — so the restored state counts every committed record exactly once. Under the pipeline\'s `processing: exactly-once` the changes go through the pipeline\'s transactional producer in this process (transactional id `user-stream.<topology>.<pipeline>.<instance>`, see the kafka source), in the batch\'s transaction with its offsets: they are committed together or not at all.',
  fields,
  transactional: true,
  examples: [
    'state:\n  type: kafka\n  brokers: ${KAFKA_BROKERS:-127.0.0.1:9092}',
    'state:\n  type: kafka\n  brokers: ${KAFKA_BROKERS}\n  replicationFactor: 3\n  minInsyncReplicas: 2\n  minCompactionLag: 48h',
  ],
  endpoints: (config) => [{ service: 'kafka', address: config.brokers }],
  create: (config, ctx) => kafkaStateBackend(config, ctx),
});
