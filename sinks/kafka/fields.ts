/**
 * Config fields of the Kafka sinks that are not the client's: `compression`, and `deliveryTimeout` and
 * `createTopic`, which the `dead-letter` sink shares.
 *
 * See also: ./index.ts, ../dead-letter.ts.
 */
import * as t from 'io-ts';
import Kafka from 'node-rdkafka';
import { objectCodec, optional, withDefault } from '../../topology/spec.ts';
import { Duration, PositiveInt, ReplicationFactorOrAuto, oneOf, type ReplicationSetting } from '../../topology/codecs.ts';

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const codecName = oneOf(CODECS);

/** The compression codecs this build of librdkafka has (zstd is optional at build time). */
export const COMPRESSION_CODECS: readonly string[] = CODECS.filter((codec) => codec === 'none' || Kafka.features.includes(codec));

/**
 * A compression codec name. The codec's name (what the docs show) lists every codec, so the generated
 * docs do not depend on the machine; one this build lacks is refused when the config is validated.
 */
export const Compression = new t.Type<(typeof CODECS)[number], unknown, unknown>(
  codecName.name,
  codecName.is,
  (input, context) => {
    const result = codecName.validate(input, context);
    if (result._tag === 'Right' && !COMPRESSION_CODECS.includes(result.right)) {
      return t.failure(input, context, `"${result.right}" compression is not available in this build of librdkafka ${Kafka.librdkafkaVersion} (available: ${COMPRESSION_CODECS.join(', ')})`);
    }
    return result;
  },
  (a) => a,
);

/** `deliveryTimeout`, shared with the dead-letter sink. */
export const deliveryTimeoutField = withDefault(
  Duration,
  30_000,
  'How long a message may take to be acknowledged, librdkafka\'s own retries included, before its write fails (and the sink policy retries the chunk).',
);

/** `createTopic`, shared with the dead-letter sink. */
export const createTopicField = optional(
  objectCodec('topic creation', {
    partitions: withDefault(PositiveInt, 3, 'Partitions of the new topic (the most consumers of one group that can share it).'),
    replicationFactor: withDefault(
      ReplicationFactorOrAuto,
      'auto' as ReplicationSetting,
      'Copies of each partition, at most the number of brokers. `auto`: as many as there are brokers, at most 3 (1 on a single development broker, 3 on a cluster).',
    ),
    minInsyncReplicas: withDefault(
      ReplicationFactorOrAuto,
      'auto' as ReplicationSetting,
      "The topic's min.insync.replicas: copies that must have a message before it counts as written (the sink writes with acks=all). `auto`: a majority of the copies — 2 of 3, so a write survives any one lost broker and one broker down does not stop writes; 1 with fewer than 3 copies.",
    ),
  }),
  'Create the topic at start when it does not exist (an existing topic is left as it is). Without it the topic must exist, or the brokers must auto-create it.',
);
