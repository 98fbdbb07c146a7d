/**
 * The kafka source's exchange (ComponentDefinition.exchange): the internal repartition topic between
 * two stages of a pipeline (topology/stages.ts), as a kafka sink config for the stage that writes it
 * and a kafka source config for the stage that reads it — on the same brokers, with the same
 * credentials.
 *
 * Names carry the source's consumer group, as the changelog topics do: a new group starts with a
 * repartition topic of its own rather than re-reading what an earlier group wrote.
 *
 * See also: ./index.ts (registers it), operators/repartition.ts (the steps on either side).
 */
import type { Exchange, ExchangeChannel } from '../../topology/registry.ts';
import type { KafkaSourceConfig } from './config.ts';

/** Kafka topic names allow letters, digits, `.`, `_` and `-`; a group id may hold anything. */
const topicSafe = (text: string): string => text.replace(/[^A-Za-z0-9._-]/g, '_');

/** `<topology>.<pipeline>.<group>.<channel>`, within Kafka's 249 characters. */
export function exchangeTopic(config: Pick<KafkaSourceConfig, 'groupId'>, channel: Pick<ExchangeChannel, 'topology' | 'pipeline' | 'name'>): string {
  return topicSafe(`${channel.topology}.${channel.pipeline}.${config.groupId}.${channel.name}`).slice(0, 249);
}

export function kafkaExchange(config: KafkaSourceConfig, channel: ExchangeChannel): Exchange {
  const topic = exchangeTopic(config, channel);
  const client = {
    brokers: config.brokers,
    clientId: config.clientId,
    connectTimeout: config.connectTimeout,
    ...(config.sasl ? { sasl: config.sasl } : {}),
    ...(config.ssl ? { ssl: config.ssl } : {}),
  };
  return {
    sink: {
      type: 'kafka',
      ...client,
      topic,
      createTopic: { partitions: channel.partitions, replicationFactor: channel.replicationFactor, minInsyncReplicas: 'auto' },
      compression: 'lz4',
      // The bytes the source read for a value no operator replaced (as the stage's operators keep values
      // they are given): not encoded again here, nor anything lost, as the reader parses them alike.
      payload: channel.keepsSourceValues ? 'unchanged-raw' : 'value',
      // One write at a time keeps each source partition's records in order in the topic: what the
      // replay-filter on the other side relies on to drop repeats.
      batch: { maxRows: 10_000, concurrency: 1 },
    },
    source: {
      type: 'kafka',
      ...client,
      rdkafka: config.rdkafka,
      topics: [topic],
      groupId: `${config.groupId}.${channel.name}`,
      startingOffsets: 'earliest',
      format: 'json',
      sessionTimeout: config.sessionTimeout,
      maxPollInterval: config.maxPollInterval,
    },
    describe: `kafka topic ${topic} (${channel.partitions} partitions)`,
  };
}
