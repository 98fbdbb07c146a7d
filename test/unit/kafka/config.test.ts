/**
 * Kafka component configs, without a broker: validation errors by path, the librdkafka options the
 * shared fields become (security mapping included), refused passthrough options, and secrets kept out
 * of logs, redacted configs and descriptions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asyncScheduler } from 'rxjs';
import { librdkafkaConfig, type KafkaClientConfig } from '../../../clients/kafka.ts';
import { formatErrors } from '../../../topology/errors.ts';
import { silentLogger } from '../../../operations/logger.ts';
import { registry, type ComponentConfig } from '../../../topology/registry.ts';
import { maskSecrets } from '../../../topology/secrets.ts';
import { redactConfig } from '../../../topology/spec.ts';
import type { ComponentContext, ComponentKind } from '../../../topology/types.ts';
import '../../../sources/kafka/index.ts';
import '../../../sinks/kafka/index.ts';
import '../../../sinks/dead-letter.ts';
import { COMPRESSION_CODECS } from '../../../sinks/kafka/fields.ts';
import { componentContext } from '../../../testing/component-context.ts';

type Kind = Extract<ComponentKind, 'source' | 'sink'>;

function decode(kind: Kind, config: Record<string, unknown>): ComponentConfig {
  const result = registry.codec(kind).decode(config);
  if (result._tag === 'Left') throw new Error(formatErrors(result.left).join('\n'));
  return result.right;
}

function problems(kind: Kind, config: Record<string, unknown>): string[] {
  const result = registry.codec(kind).decode(config);
  assert.equal(result._tag, 'Left', 'the config should be refused');
  return result._tag === 'Left' ? formatErrors(result.left) : [];
}

const ctx: ComponentContext = componentContext({ topology: 't', pipeline: 'p', path: 'pipelines.p.source', logger: silentLogger(), scheduler: asyncScheduler});

const source = { type: 'kafka', brokers: '127.0.0.1:9092', topics: ['users_created'], groupId: 'user-pipeline' };

test('a minimal source config gets its defaults', () => {
  const config = decode('source', source);
  assert.deepEqual(config, {
    type: 'kafka',
    brokers: '127.0.0.1:9092',
    clientId: 'user-stream',
    connectTimeout: 10_000,
    rdkafka: {},
    topics: ['users_created'],
    groupId: 'user-pipeline',
    startingOffsets: 'earliest',
    format: 'json',
    sessionTimeout: 45_000,
    maxPollInterval: 300_000,
  });
});

test('topics may be one name, a comma-separated string or a list; brokers a string or a list', () => {
  assert.deepEqual(decode('source', { ...source, topics: 'a' }).topics, ['a']);
  assert.deepEqual(decode('source', { ...source, topics: 'a, b.c,a' }).topics, ['a', 'b.c']);
  assert.equal(decode('source', { ...source, brokers: ['k1:9092', ' k2:9093'] }).brokers, 'k1:9092,k2:9093');
});

test('invalid source configs list every problem by path', () => {
  assert.deepEqual(problems('source', { type: 'kafka', topics: 'bad topic!', startingOffsets: 'beginning', format: 'xml', sessionTimeout: 'soon', typo: 1 }), [
    'typo: unknown field "typo"; known fields: brokers, clientId, connectTimeout, sasl, ssl, rdkafka, topics, groupId, startingOffsets, format, schemaRegistry, sessionTimeout, maxPollInterval',
    'brokers: required field is missing (Bootstrap brokers, `host:port`, comma-separated or a list; usually `${KAFKA_BROKERS:-127.0.0.1:9092}`.)',
    'topics: expected Kafka topic names (a list, or a comma-separated string), got "bad topic!"',
    'groupId: required field is missing (Consumer group id. The group\'s committed offsets are the pipeline\'s checkpoint; members of one group share the partitions.)',
    'startingOffsets: expected one of "earliest", "latest", got "beginning"',
    'format: expected one of "json", "string", "bytes", "avro", got "xml"',
    'sessionTimeout: expected a duration such as 500ms, 2s, 1m or 1h, got "soon"',
  ]);
});

test('invalid sink configs: missing topic, bad createTopic, unknown compression', () => {
  assert.deepEqual(problems('sink', { type: 'kafka', brokers: 'localhost:9092', createTopic: { partitions: 0 }, compression: 'brotli' }), [
    'topic: required field is missing (Topic to produce to.)',
    'createTopic.partitions: expected a positive integer, got 0',
    'compression: expected one of "none", "gzip", "snappy", "lz4", "zstd", got "brotli"',
  ]);
});

test('a compression codec this librdkafka build lacks is refused at validation', () => {
  assert.ok(COMPRESSION_CODECS.includes('none') && COMPRESSION_CODECS.includes('gzip'), 'none and gzip are always there');
  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
    const config = { type: 'kafka', brokers: 'k:9092', topic: 't', compression: codec };
    if (COMPRESSION_CODECS.includes(codec)) assert.equal(decode('sink', config).compression, codec);
    else assert.match(problems('sink', config)[0], new RegExp(`^compression: "${codec}" compression is not available in this build of librdkafka [\\d.]+ \\(available: none, gzip`));
  }
});

test('rdkafka options that a field sets are refused with the field to use', () => {
  assert.deepEqual(
    problems('source', { ...source, rdkafka: { 'bootstrap.servers': 'x:1', 'enable.auto.commit': true, 'group.id': 'other', 'fetch.min.bytes': 1 } }),
    [
      'rdkafka.bootstrap.servers: "bootstrap.servers" is set by this component: use `brokers`',
      'rdkafka.enable.auto.commit: "enable.auto.commit" is set by this component: offsets are committed by the source, only after the sink acknowledged a batch',
      'rdkafka.group.id: "group.id" is set by this component: use `groupId`',
    ],
  );
  assert.deepEqual(problems('sink', { type: 'kafka', brokers: 'k:9092', topic: 't', rdkafka: { acks: 1, 'linger.ms': 50 } }), [
    'rdkafka.acks: "acks" is set by this component: the sink waits for every in-sync replica (acks=all)',
    'rdkafka.linger.ms: "linger.ms" is set by this component: use `linger`',
  ]);
  assert.deepEqual(problems('sink', { type: 'dead-letter', brokers: 'k:9092', topic: 't', rdkafka: { 'enable.idempotence': false } }), [
    'rdkafka.enable.idempotence: "enable.idempotence" is set by this component: the sink always produces idempotently, so its own retries add no duplicates',
  ]);
  // The dead-letter sink has no tuning fields: tuning goes through rdkafka.
  assert.deepEqual(decode('sink', { type: 'dead-letter', brokers: 'k:9092', topic: 't', rdkafka: { 'linger.ms': 50 } }).rdkafka, { 'linger.ms': 50 });
});

function clientConfig(config: Record<string, unknown>): KafkaClientConfig {
  return decode('source', { ...source, ...config }) as unknown as KafkaClientConfig;
}

test('security settings map to librdkafka options', () => {
  assert.deepEqual(librdkafkaConfig(clientConfig({ rdkafka: { 'socket.keepalive.enable': true } })), {
    'bootstrap.servers': '127.0.0.1:9092',
    'client.id': 'user-stream',
    'security.protocol': 'plaintext',
    'socket.keepalive.enable': true,
  });
  const sasl = { mechanism: 'SCRAM-SHA-512', username: 'pipeline', password: 'pw-for-sasl' };
  assert.deepEqual(librdkafkaConfig(clientConfig({ sasl })), {
    'bootstrap.servers': '127.0.0.1:9092',
    'client.id': 'user-stream',
    'security.protocol': 'sasl_plaintext',
    'sasl.mechanisms': 'SCRAM-SHA-512',
    'sasl.username': 'pipeline',
    'sasl.password': 'pw-for-sasl',
  });
  const tls = librdkafkaConfig(clientConfig({ sasl, ssl: { caLocation: '/ca.pem' } }));
  assert.equal(tls['security.protocol'], 'sasl_ssl');
  assert.equal(tls['ssl.ca.location'], '/ca.pem');
  assert.deepEqual(librdkafkaConfig(clientConfig({ clientId: 'archive', ssl: { certificateLocation: '/c.pem', keyLocation: '/k.pem', keyPassword: 'key-pass-1' } })), {
    'bootstrap.servers': '127.0.0.1:9092',
    'client.id': 'archive',
    'security.protocol': 'ssl',
    'ssl.certificate.location': '/c.pem',
    'ssl.key.location': '/k.pem',
    'ssl.key.password': 'key-pass-1',
  });
  const off = librdkafkaConfig(clientConfig({ ssl: { enabled: 'false', caLocation: '/ca.pem' } }));
  assert.equal(off['security.protocol'], 'plaintext', '`enabled: false` turns TLS off');
  assert.equal(off['ssl.ca.location'], undefined);
});

test('secrets never reach descriptions, redacted configs or logs', async () => {
  const secret = { sasl: { mechanism: 'PLAIN', username: 'u', password: 'hunter2-sasl' }, ssl: { keyPassword: 'hunter2-key' }, rdkafka: { 'sasl.oauthbearer.client.secret': 'hunter2-oauth' } };
  const configs: Array<[Kind, Record<string, unknown>]> = [
    ['source', { ...source, ...secret }],
    ['sink', { type: 'kafka', brokers: 'k:9092', topic: 'users_created', ...secret }],
    ['sink', { type: 'dead-letter', brokers: 'k:9092', topic: 'users_dead', ...secret }],
  ];
  for (const [kind, raw] of configs) {
    const config = decode(kind, raw);
    const component = await registry.create(kind, config, ctx);
    const text = `${component.describe()} ${JSON.stringify(redactConfig(registry.specCodec(kind, config.type)!, config))}`;
    for (const value of ['hunter2-sasl', 'hunter2-key']) assert.ok(!text.includes(value), `${kind} ${config.type}: ${value} leaked into ${text}`);
  }
  for (const value of ['hunter2-sasl', 'hunter2-key', 'hunter2-oauth']) assert.equal(maskSecrets(`error: ${value}!`), 'error: ***!', `${value} is masked in log lines`);
});

test('create does no I/O and describe says what is read and written', async () => {
  const describe = async (kind: Kind, raw: Record<string, unknown>) => (await registry.create(kind, decode(kind, raw), ctx)).describe();
  // An unreachable address: creating must not try to connect.
  assert.equal(await describe('source', { ...source, brokers: '127.0.0.1:1' }), 'kafka topic users_created (group user-pipeline, from earliest)');
  assert.equal(await describe('source', { ...source, topics: 'a,b', startingOffsets: 'latest' }), 'kafka topics a, b (group user-pipeline, from latest)');
  assert.equal(await describe('sink', { type: 'kafka', brokers: '127.0.0.1:1', topic: 'users_created' }), 'kafka topic users_created');
  assert.equal(await describe('sink', { type: 'kafka', brokers: '127.0.0.1:1', topic: 'users_created', compression: 'gzip' }), 'kafka topic users_created (gzip)');
  assert.equal(await describe('sink', { type: 'dead-letter', brokers: '127.0.0.1:1', topic: 'users_dead' }), 'kafka dead-letter topic users_dead');
});

test('start() refuses an unknown librdkafka option with a UserFacingError, before connecting', async () => {
  for (const [kind, raw] of [
    ['source', { ...source, brokers: '127.0.0.1:1', rdkafka: { 'no.such.option': 1 } }],
    ['sink', { type: 'kafka', brokers: '127.0.0.1:1', topic: 't', rdkafka: { 'no.such.option': 1 } }],
  ] as Array<[Kind, Record<string, unknown>]>) {
    const component = await registry.create(kind, decode(kind, raw), ctx);
    const started = Date.now();
    await assert.rejects(component.start(), (error: Error) => {
      assert.equal(error.name, 'UserFacingError');
      assert.match(error.message, /^invalid Kafka client settings for 127\.0\.0\.1:1: No such configuration property: "no\.such\.option"\n {2}→ check the `rdkafka` options/);
      return true;
    });
    assert.ok(Date.now() - started < 1000, 'refused at once, not after a connect timeout');
  }
});

test('every Kafka component declares its brokers as an endpoint, for the CLI to check before starting', () => {
  const brokers = ['k1:9092', 'k2:9093'];
  assert.deepEqual(registry.endpoints('source', decode('source', { ...source, brokers })), [{ service: 'kafka', address: 'k1:9092,k2:9093' }]);
  assert.deepEqual(registry.endpoints('sink', decode('sink', { type: 'kafka', brokers, topic: 't' })), [{ service: 'kafka', address: 'k1:9092,k2:9093' }]);
  assert.deepEqual(registry.endpoints('sink', decode('sink', { type: 'dead-letter', brokers, topic: 't' })), [{ service: 'kafka', address: 'k1:9092,k2:9093' }]);
});
