/**
 * Kafka client settings shared by the `kafka` source, the `kafka` sink and the `dead-letter` sink, on
 * node-rdkafka (librdkafka).
 *
 * - `kafkaClientFields`: the config fields every Kafka component has — brokers, client id, SASL, TLS,
 *   a connect timeout, and a passthrough of extra librdkafka options;
 * - `librdkafkaConfig`: those fields as librdkafka's global config;
 * - `createClient`, `connectClient` / `checkKafka`: construct and connect within a bounded time, or fail
 *   with a `UserFacingError` that names the address and the fix (components' `start()` and the CLI
 *   use them);
 * - `ensureTopic`: create a topic, "already exists" being success;
 * - `forwardClientLogs`: librdkafka's warnings and errors into the component's logger.
 *
 * ```yaml
 * brokers: ${KAFKA_BROKERS:-127.0.0.1:9092}
 * sasl: { mechanism: SCRAM-SHA-512, username: pipeline, password: ${KAFKA_PASSWORD} }
 * ssl: { caLocation: /etc/kafka/ca.pem }
 * rdkafka: { socket.keepalive.enable: true }
 * ```
 * See also: sources/kafka/, sinks/kafka/, sinks/dead-letter.ts.
 */
import * as t from 'io-ts';
import Kafka from 'node-rdkafka';
import type { LibrdKafkaError, Metadata } from 'node-rdkafka';
import type { Logger } from 'winston';
import { BooleanFromAny, Duration, HostList, NonEmptyString, StringMap, oneOf, resolveMinInsyncReplicas, resolveReplicationFactor, type ReplicationSetting } from '../topology/codecs.ts';
import { UserFacingError } from '../topology/errors.ts';
import { registerSecret } from '../topology/secrets.ts';
import { objectCodec, optional, required, withDefault, type ConfigOf } from '../topology/spec.ts';

/** librdkafka option → the field that sets it (or why the component sets it itself). */
export type ManagedOptions = Record<string, string>;

/** Options every Kafka component derives from its shared fields. */
const CLIENT_MANAGED: ManagedOptions = {
  'bootstrap.servers': 'use `brokers`',
  'metadata.broker.list': 'use `brokers`',
  'client.id': 'use `clientId`',
  'security.protocol': 'set from `sasl` and `ssl`',
  'sasl.mechanism': 'use `sasl.mechanism`',
  'sasl.mechanisms': 'use `sasl.mechanism`',
  'sasl.username': 'use `sasl.username`',
  'sasl.password': 'use `sasl.password` (it is masked in logs)',
  'ssl.ca.location': 'use `ssl.caLocation`',
  'ssl.certificate.location': 'use `ssl.certificateLocation`',
  'ssl.key.location': 'use `ssl.keyLocation`',
  'ssl.key.password': 'use `ssl.keyPassword` (it is masked in logs)',
};

type OptionValue = string | number | boolean;

/**
 * Extra librdkafka options. Options a field sets are refused with the field to use, so one setting has
 * one place; values of options that look like credentials are masked in logs like secret fields.
 */
function rdkafkaOptions(managed: ManagedOptions): t.Type<Record<string, OptionValue>, unknown, unknown> {
  return new t.Type<Record<string, OptionValue>, unknown, unknown>(
    StringMap.name,
    StringMap.is,
    (input, context) => {
      const result = StringMap.validate(input, context);
      if (result._tag === 'Left') return result;
      const errors: t.Errors = [];
      for (const [key, value] of Object.entries(result.right)) {
        const reason = managed[key];
        if (reason) errors.push({ value, context: [...context, { key, type: t.unknown, actual: value }], message: `"${key}" is set by this component: ${reason}` });
        else if (/password|secret/i.test(key) && typeof value === 'string') registerSecret(value);
      }
      return errors.length > 0 ? t.failures(errors) : result;
    },
    (a) => a,
  );
}

const saslFields = {
  mechanism: required(oneOf(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']), 'SASL mechanism the brokers expect.'),
  username: required(NonEmptyString, 'SASL user name.'),
  password: required(NonEmptyString, 'SASL password; write `${KAFKA_PASSWORD}` rather than the value.', { secret: true }),
};

const sslFields = {
  enabled: withDefault(BooleanFromAny, true, 'Encrypt connections with TLS (on as soon as `ssl` is given; `false` turns it off and keeps the settings).'),
  caLocation: optional(NonEmptyString, 'PEM file of the CA certificate(s) that signed the brokers\' certificates; the system\'s CA store when absent.'),
  certificateLocation: optional(NonEmptyString, 'PEM file of this client\'s certificate, for mutual TLS.'),
  keyLocation: optional(NonEmptyString, 'PEM file of this client\'s private key, for mutual TLS.'),
  keyPassword: optional(NonEmptyString, 'Password of the private key, if it is encrypted.', { secret: true }),
};

/** The fields every Kafka component has; `managed` adds the librdkafka options the component sets itself. */
export function kafkaClientFields(managed: ManagedOptions) {
  return {
    brokers: required(HostList, 'Bootstrap brokers, `host:port`, comma-separated or a list; usually `${KAFKA_BROKERS:-127.0.0.1:9092}`.'),
    clientId: withDefault(NonEmptyString, 'user-stream', 'Client id sent to the brokers (their logs and quotas show it).'),
    connectTimeout: withDefault(Duration, 10_000, 'How long `start()` waits for the brokers to answer a metadata request before it fails.'),
    sasl: optional(objectCodec('SASL settings', saslFields), 'SASL authentication; none when absent.'),
    ssl: optional(objectCodec('TLS settings', sslFields), 'TLS encryption (and client certificates); plaintext when absent.'),
    rdkafka: withDefault(
      rdkafkaOptions({ ...CLIENT_MANAGED, ...managed }),
      {},
      'Extra librdkafka options, passed as they are (see librdkafka\'s CONFIGURATION.md). Options that a field of this component sets, or that its delivery guarantees depend on, are refused.',
    ),
  };
}

export type KafkaClientConfig = ConfigOf<ReturnType<typeof kafkaClientFields>>;

/** The shared fields as librdkafka's global config (the component adds its own options). */
export function librdkafkaConfig(config: KafkaClientConfig): Record<string, OptionValue> {
  const tls = config.ssl?.enabled === true;
  const options: Record<string, OptionValue> = {
    'bootstrap.servers': config.brokers,
    'client.id': config.clientId,
    'security.protocol': config.sasl ? (tls ? 'sasl_ssl' : 'sasl_plaintext') : tls ? 'ssl' : 'plaintext',
  };
  if (config.sasl) {
    options['sasl.mechanisms'] = config.sasl.mechanism;
    options['sasl.username'] = config.sasl.username;
    options['sasl.password'] = config.sasl.password;
  }
  if (tls && config.ssl) {
    const { caLocation, certificateLocation, keyLocation, keyPassword } = config.ssl;
    if (caLocation) options['ssl.ca.location'] = caLocation;
    if (certificateLocation) options['ssl.certificate.location'] = certificateLocation;
    if (keyLocation) options['ssl.key.location'] = keyLocation;
    if (keyPassword) options['ssl.key.password'] = keyPassword;
  }
  return { ...options, ...config.rdkafka };
}

/** The parts of a client config that connecting needs: where, and whether credentials are involved. */
type ConnectTarget = Pick<KafkaClientConfig, 'brokers'> & Partial<Pick<KafkaClientConfig, 'sasl' | 'ssl'>>;

const AUTH_CODES = new Set([Kafka.CODES.ERRORS.ERR__AUTHENTICATION, Kafka.CODES.ERRORS.ERR_SASL_AUTHENTICATION_FAILED, Kafka.CODES.ERRORS.ERR__SSL]);

/**
 * A librdkafka log line without its thread and broker prefixes and its timing suffix:
 * `[thrd:127.0.0.1:1/bootstrap]: 127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection
 * refused (after 0ms in state CONNECT)` → `Connect to ipv4#127.0.0.1:1 failed: Connection refused`.
 */
export function cleanLogMessage(message: string): string {
  return message
    .replace(/^\[thrd:[^\]]*\]:\s*/, '')
    .replace(/^\S+\/(bootstrap|\d+):\s*/, '')
    .replace(/\s*\(after \d+ms in state .*\)\s*$/, '')
    .trim();
}

/** Failures that mean "no broker answered (in time)", as opposed to a client that could not start. */
const UNREACHABLE_CODES = new Set([Kafka.CODES.ERRORS.ERR__TRANSPORT, Kafka.CODES.ERRORS.ERR__TIMED_OUT, Kafka.CODES.ERRORS.ERR__ALL_BROKERS_DOWN, Kafka.CODES.ERRORS.ERR__RESOLVE]);

/** The error `start()` and the CLI show when connecting fails: what happened at which address, and what to do. */
export function connectError(target: ConnectTarget, error: { message: string; code?: number }, timeoutMs: number, lastLog?: string): UserFacingError {
  const cause = lastLog && !error.message.includes(lastLog) ? `${error.message}: ${lastLog}` : error.message;
  const auth = (error.code !== undefined && AUTH_CODES.has(error.code)) || /SASL|SSL|authenticat/i.test(lastLog ?? '');
  if (!auth && (error.code === undefined || !UNREACHABLE_CODES.has(error.code))) {
    return new UserFacingError(`cannot start a Kafka client for ${target.brokers} (${cause})`, 'check the `ssl` and `rdkafka` settings (files exist and are readable, option names and values are valid)');
  }
  const hint = auth
    ? 'check the `sasl` and `ssl` settings (mechanism, user name, password, certificates) against the brokers\' listener'
    : (target.sasl || target.ssl?.enabled) && lastLog === undefined
      ? 'check that the address is right and that the brokers\' listener expects the configured `sasl`/`ssl` settings'
      : 'start the local services with "npm run services -- up", or point to your cluster with KAFKA_BROKERS=host:port (or --brokers)';
  return new UserFacingError(`cannot reach Kafka at ${target.brokers} within ${formatSeconds(timeoutMs)} (${cause})`, hint);
}

/** Construct a client; librdkafka refuses unknown options and bad values here, which the user must fix. */
export function createClient<C>(target: ConnectTarget, make: () => C): C {
  try {
    return make();
  } catch (error) {
    throw new UserFacingError(`invalid Kafka client settings for ${target.brokers}: ${(error as Error).message}`, 'check the `rdkafka` options against librdkafka\'s CONFIGURATION.md');
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Connect a producer or consumer, waiting at most `timeoutMs` for the brokers to answer a metadata
 * request. Fails with `connectError`, which quotes the last connection problem librdkafka logged.
 */
export function connectClient(client: Kafka.Producer | Kafka.KafkaConsumer, target: ConnectTarget, timeoutMs: number): Promise<Metadata> {
  let lastLog: string | undefined;
  const onLog = (entry: { severity: number; message: string }): void => {
    if (entry.severity <= 4) lastLog = cleanLogMessage(entry.message);
  };
  // As a plain EventEmitter: the two clients' typed `on` signatures cannot be called on their union.
  const emitter: NodeJS.EventEmitter = client;
  emitter.on('event.log', onLog);
  return new Promise<Metadata>((resolve, reject) => {
    // allTopics: false — a cheap request that still proves a broker answers.
    client.connect({ timeout: timeoutMs, allTopics: false }, (error, metadata) => {
      emitter.off('event.log', onLog);
      // A failed connect has already closed the client.
      if (error) reject(connectError(target, error, timeoutMs, lastLog));
      else resolve(metadata);
    });
  });
}

/**
 * Whether Kafka answers at `target` (a `host:port` list, or a component's client config): resolves with
 * the broker count, or rejects with a `UserFacingError` within about `timeoutMs`.
 */
export async function checkKafka(target: string | KafkaClientConfig, timeoutMs = 10_000): Promise<{ brokers: number }> {
  const options = typeof target === 'string' ? { 'bootstrap.servers': target } : librdkafkaConfig(target);
  const connectTarget = typeof target === 'string' ? { brokers: target } : target;
  const producer = createClient(connectTarget, () => new Kafka.Producer(options as Kafka.ProducerGlobalConfig));
  const metadata = await connectClient(producer, connectTarget, timeoutMs);
  await disconnectClient(producer, timeoutMs);
  return { brokers: metadata.brokers.length };
}

/** Disconnect, but never wait longer than `timeoutMs` (a client whose brokers vanished may linger). */
export function disconnectClient(client: Kafka.Producer | Kafka.KafkaConsumer, timeoutMs: number): Promise<void> {
  if (!client.isConnected()) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    client.disconnect(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** How a topic is created: its partitions, and its copies (`auto`: from the number of brokers). */
export interface TopicLayout {
  partitions: number;
  replicationFactor: ReplicationSetting;
  /** min.insync.replicas of the topic; `auto` = a majority of its copies (2 of 3), absent = the brokers' default. */
  minInsyncReplicas?: ReplicationSetting;
}

/** What `ensureTopic` did, and with which copies (resolved from `auto`). */
export interface TopicOutcome {
  outcome: 'created' | 'exists';
  partitions: number;
  replicationFactor: number;
  minInsyncReplicas?: number;
}

/** `3 partition(s), replication factor 3, min.insync.replicas 2`: a created topic's layout for the log. */
export function describeTopicLayout(t: TopicOutcome): string {
  return `${t.partitions} partition(s), replication factor ${t.replicationFactor}${t.minInsyncReplicas === undefined ? '' : `, min.insync.replicas ${t.minInsyncReplicas}`}`;
}

/**
 * Create `topic` unless it exists, with `topicConfig` (topic-level settings such as max.message.bytes).
 * An `auto` replication factor becomes the number of brokers, at most 3, and an `auto`
 * min.insync.replicas a majority of the copies: the same topology gives a single development broker
 * topics it can hold and a cluster topics that survive a lost broker. The brokers are counted through
 * `connected`, a client of the caller's that is connected already. Resolves what it did; other
 * failures are a `UserFacingError` naming the topic and the brokers.
 */
export async function ensureTopic(
  config: KafkaClientConfig,
  topic: string,
  layout: TopicLayout,
  topicConfig: Record<string, string>,
  connected: Kafka.Producer | Kafka.KafkaConsumer,
): Promise<TopicOutcome> {
  const brokers = layout.replicationFactor === 'auto' ? await brokerCount(connected, config, topic) : 0;
  const replicationFactor = resolveReplicationFactor(layout.replicationFactor, brokers);
  const minInsyncReplicas = layout.minInsyncReplicas === undefined ? undefined : resolveMinInsyncReplicas(layout.minInsyncReplicas, replicationFactor);
  const resolved = { partitions: layout.partitions, replicationFactor, minInsyncReplicas };
  const settings = { ...topicConfig, ...(minInsyncReplicas === undefined ? {} : { 'min.insync.replicas': String(minInsyncReplicas) }) };
  const admin = createClient(config, () => Kafka.AdminClient.create({ ...librdkafkaConfig(config), log_level: 0 } as Kafka.GlobalConfig));
  try {
    return await new Promise<TopicOutcome>((resolve, reject) => {
      admin.createTopic({ topic, num_partitions: layout.partitions, replication_factor: replicationFactor, config: settings }, config.connectTimeout, (error) => {
        if (!error) resolve({ outcome: 'created', ...resolved });
        else if (error.code === Kafka.CODES.ERRORS.ERR_TOPIC_ALREADY_EXISTS) resolve({ outcome: 'exists', ...resolved });
        else reject(topicError(config, topic, layout.partitions, replicationFactor, error));
      });
    });
  } finally {
    admin.disconnect();
  }
}

/** How many brokers the cluster has, by a metadata request without topics over `client`'s connection. */
function brokerCount(client: Kafka.Producer | Kafka.KafkaConsumer, config: KafkaClientConfig, topic: string): Promise<number> {
  return new Promise((resolve, reject) =>
    client.getMetadata({ allTopics: false, timeout: config.connectTimeout }, (error, metadata) => {
      if (error) reject(new UserFacingError(`cannot count the Kafka brokers at ${config.brokers} for the replication factor of topic ${topic}: ${error.message}`, 'check that the brokers answer (npm run services -- status), or give the replication factor as a number'));
      else resolve(metadata.brokers.length);
    }),
  );
}

function topicError(config: KafkaClientConfig, topic: string, partitions: number, replicationFactor: number, error: LibrdKafkaError): UserFacingError {
  const what = `cannot create Kafka topic ${topic} (${partitions} partition(s), replication factor ${replicationFactor}) at ${config.brokers}: ${error.message}`;
  if (error.code === Kafka.CODES.ERRORS.ERR_INVALID_REPLICATION_FACTOR) return new UserFacingError(what, 'lower the replication factor to at most the number of brokers, or set it to `auto`');
  if (error.code === Kafka.CODES.ERRORS.ERR_TOPIC_AUTHORIZATION_FAILED || error.code === Kafka.CODES.ERRORS.ERR_CLUSTER_AUTHORIZATION_FAILED) {
    return new UserFacingError(what, 'the user needs the CREATE permission on the topic, or create it beforehand and remove `createTopic`');
  }
  return new UserFacingError(what, 'check that the brokers answer (npm run services -- status) and that the topic name and settings are allowed');
}

/**
 * librdkafka's warnings and errors to `logger`, its informational chatter left out. Non-fatal error
 * events are not forwarded: librdkafka logs their cause already, and retries on its own.
 */
export function forwardClientLogs(client: Kafka.Producer | Kafka.KafkaConsumer, logger: Logger, label: string): void {
  // As a plain EventEmitter: the two clients' typed `on` signatures cannot be called on their union.
  const emitter: NodeJS.EventEmitter = client;
  emitter.on('event.log', (entry: { severity: number; fac: string; message: string }) => {
    if (entry.severity <= 4) logger.warn(`${label}: librdkafka ${entry.fac}: ${cleanLogMessage(entry.message)}`);
  });
  emitter.on('event.error', (error: LibrdKafkaError) => {
    if (error.isFatal) logger.error(`${label}: fatal client error: ${error.message}`, { code: error.code });
  });
}

/** A message's headers as one object of texts (node-rdkafka gives a list of one-entry objects). */
export function textHeaders(headers: ReadonlyArray<Record<string, string | Buffer>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const header of headers) for (const [name, value] of Object.entries(header)) out[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  return out;
}
