/**
 * The kafka source's config fields (the Kafka client's, plus topics, group, starting offsets, format
 * and the group's timeouts), and its one-line description.
 *
 * See also: ./index.ts, which registers them; clients/kafka.ts for the connection fields.
 */
import * as t from 'io-ts';
import { required, withDefault, type ConfigOf } from '../../topology/spec.ts';
import { Duration, NonEmptyString, TopicName, oneOf } from '../../topology/codecs.ts';
import { kafkaClientFields } from '../../clients/kafka.ts';
import { registryConfig, schemaRegistryField } from '../../clients/schema-registry.ts';

/** One or more topic names: a YAML list, or a comma-separated string. */
const TopicList = new t.Type<string[], unknown, unknown>(
  'Kafka topic names (a list, or a comma-separated string)',
  (u): u is string[] => Array.isArray(u) && u.every((s) => TopicName.is(s)),
  (u, c) => {
    const items: unknown[] | undefined = Array.isArray(u) ? u : typeof u === 'string' ? u.split(',').map((s) => s.trim()) : undefined;
    if (!items || items.length === 0 || !items.every((s) => TopicName.decode(s)._tag === 'Right')) return t.failure(u, c);
    return t.success([...new Set(items as string[])]);
  },
  (a) => a,
);

const OFFSETS_BY_SOURCE = 'offsets are committed by the source, only after the sink acknowledged a batch';

export const kafkaSourceFields = {
  ...kafkaClientFields({
    'group.id': 'use `groupId`',
    'auto.offset.reset': 'use `startingOffsets`',
    'session.timeout.ms': 'use `sessionTimeout`',
    'max.poll.interval.ms': 'use `maxPollInterval`',
    'enable.auto.commit': OFFSETS_BY_SOURCE,
    'enable.auto.offset.store': OFFSETS_BY_SOURCE,
    'enable.partition.eof': 'the source needs end-of-partition events to know when it has caught up',
    rebalance_cb: 'the source tracks the partitions it owns through its own rebalance callback',
    offset_commit_cb: OFFSETS_BY_SOURCE,
  }),
  topics: required(TopicList, 'Topics to subscribe to: a list, or one name (or several, comma-separated) as a string.'),
  groupId: required(NonEmptyString, 'Consumer group id. The group\'s committed offsets are the pipeline\'s checkpoint; members of one group share the partitions.'),
  startingOffsets: withDefault(
    oneOf(['earliest', 'latest']),
    'earliest',
    'Where a group without a committed offset starts: `earliest` reads what is already in the topic, `latest` only what arrives after the start (librdkafka\'s auto.offset.reset).',
  ),
  format: withDefault(
    oneOf(['json', 'string', 'bytes', 'avro']),
    'json',
    'How message values become record values: `json` parses them (a message that is empty or not JSON is dead-lettered), `string` decodes UTF-8, `bytes` keeps the Buffer, `avro` decodes Avro in the Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro body) with the writer\'s schema fetched from `schemaRegistry` by id (once per id): records become plain objects as with `json`; a message without the magic byte, with a schema id the registry does not know or with a body that does not decode is dead-lettered with the reason; an unreachable registry fails the read, which is retried.',
  ),
  schemaRegistry: schemaRegistryField,
  sessionTimeout: withDefault(Duration, 45_000, 'How long the group waits for a silent member before giving its partitions to others.'),
  maxPollInterval: withDefault(
    Duration,
    300_000,
    'Longest time allowed between two reads before the member is considered stuck and leaves the group; raise it when a slow sink holds reads back longer.',
  ),
};

export type KafkaSourceConfig = ConfigOf<typeof kafkaSourceFields>;

export function describeKafkaSource(config: Pick<KafkaSourceConfig, 'topics' | 'groupId' | 'startingOffsets'> & Partial<Pick<KafkaSourceConfig, 'format' | 'schemaRegistry'>>): string {
  const topics = config.topics.length === 1 ? `topic ${config.topics[0]}` : `topics ${config.topics.join(', ')}`;
  const avro = config.format === 'avro' ? `; avro, schemas from ${new URL(registryConfig(config.schemaRegistry).url).origin}` : '';
  return `kafka ${topics} (group ${config.groupId}, from ${config.startingOffsets}${avro})`;
}

