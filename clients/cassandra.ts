/**
 * Cassandra connection: the config fields every Cassandra component shares, the `cassandra.Client`
 * made from them, and `checkCassandra`, the bounded "does it answer?" check behind the sink's start
 * and the CLI. Connection failures become one-line UserFacingErrors that name the address and the
 * fix; the password never appears in them.
 *
 * ```yaml
 * contactPoints: ${CASSANDRA_CONTACT_POINTS:-127.0.0.1:9042}
 * localDataCenter: ${CASSANDRA_LOCAL_DC:-datacenter1}
 * username: ${CASSANDRA_USERNAME:-}
 * password: ${CASSANDRA_PASSWORD:-}
 * ```
 * See also: the `cassandra` sink (sinks/cassandra/).
 */
import { readFileSync } from 'node:fs';
import cassandra from 'cassandra-driver';
import * as t from 'io-ts';
import { errorMessage, UserFacingError } from '../topology/errors.ts';
import { problem, type ConfigProblem } from '../topology/registry.ts';
import { maskSecrets } from '../topology/secrets.ts';
import { objectCodec, optional, required, withDefault, type ConfigOf } from '../topology/spec.ts';
import { BooleanFromAny, Duration, HostList, NonEmptyString } from '../topology/codecs.ts';

/**
 * Whether a credential is given: topologies write `${CASSANDRA_USERNAME:-}`, which is empty when unset.
 * (A sibling of the wrong type counts as given: its own error says what is wrong with it.)
 */
function filled(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

/** The `check` of a component with the connection fields: a username needs a password, and the other way round. */
export function credentialProblems(config: { username?: string; password?: string }): ConfigProblem[] {
  if (filled(config.username) && !filled(config.password)) return [problem('username', 'username is set but password is not; give both, or neither')];
  if (filled(config.password) && !filled(config.username)) return [problem('password', 'password is set but username is not; give both, or neither')];
  return [];
}

const sslFields = {
  caFile: optional(NonEmptyString, "PEM file of the certificate authority that signed the nodes' certificates. Without it, the system's CAs are trusted."),
  rejectUnauthorized: withDefault(BooleanFromAny, true, 'Refuse nodes whose certificate does not verify. Turn off only for a throwaway test cluster.'),
};

export const cassandraConnectionFields = {
  contactPoints: required(
    HostList,
    'Cassandra nodes to connect to first, as host:port (the driver discovers the rest of the cluster from them). Topologies write `${CASSANDRA_CONTACT_POINTS:-127.0.0.1:9042}`.',
  ),
  localDataCenter: withDefault(
    NonEmptyString,
    'datacenter1',
    "The data center the driver treats as local: requests go to its nodes only, and LOCAL_* consistency levels count replicas there. Must be the cluster's name for it exactly (`nodetool status` shows it).",
  ),
  username: optional(
    t.string,
    "User name for password authentication (Cassandra's PasswordAuthenticator), given with `password`. Absent or empty means none, so `${CASSANDRA_USERNAME:-}` works with and without authentication.",
  ),
  password: optional(
    t.string,
    'Password for `username`.',
    { secret: true },
  ),
  ssl: optional(objectCodec('cassandra TLS', sslFields), 'Connect over TLS. `ssl: {}` trusts the system\'s certificate authorities.'),
  connectTimeout: withDefault(Duration, 5000, 'How long opening a connection to one node may take.'),
  requestTimeout: withDefault(
    Duration,
    12_000,
    "How long the driver waits for a node's answer to one request before failing it (OperationTimedOut, which the sink's retry policy retries). Keep it above the server's write_request_timeout (2 s by default).",
  ),
};

export type CassandraConnection = ConfigOf<typeof cassandraConnectionFields>;

/** How long connecting may take before it is reported as unreachable. */
export const CONNECT_CHECK_TIMEOUT_MS = 15_000;

const HINT_UNREACHABLE = 'start the local services with "npm run services -- up", or point to your cluster with CASSANDRA_CONTACT_POINTS=host:port (or --contact-points)';

/** Driver options for `config`, plus `extra`. Reads `ssl.caFile`, so it runs at start, never at create. */
function clientOptions(config: CassandraConnection, extra: Pick<cassandra.ClientOptions, 'policies' | 'pooling'>): cassandra.ClientOptions {
  let sslOptions: cassandra.ClientOptions['sslOptions'];
  if (config.ssl) {
    sslOptions = { rejectUnauthorized: config.ssl.rejectUnauthorized };
    if (config.ssl.caFile) {
      try {
        sslOptions.ca = [readFileSync(config.ssl.caFile)];
      } catch (error) {
        throw new UserFacingError(`cannot read ssl.caFile ${config.ssl.caFile} (${(error as Error).message})`, 'point ssl.caFile to the PEM file of the CA that signed the nodes\' certificates');
      }
    }
  }
  const contactPoints = config.contactPoints.split(',');
  return {
    contactPoints,
    localDataCenter: config.localDataCenter,
    // The driver connects to the nodes it discovers on this port, not on the contact points' own.
    protocolOptions: { port: nativePort(contactPoints) },
    authProvider: filled(config.username) ? new cassandra.auth.PlainTextAuthProvider(config.username!, config.password ?? '') : undefined,
    sslOptions,
    socketOptions: { connectTimeout: config.connectTimeout, readTimeout: config.requestTimeout },
    ...extra,
    // Token-aware (a row goes to a replica of its partition, which coordinates the write itself) and
    // data-center-aware (only local nodes; remote ones are ignored): the driver's default, said here
    // so that a caller's `policies` cannot drop it by accident.
    policies: { loadBalancing: new cassandra.policies.loadBalancing.DefaultLoadBalancingPolicy({ localDc: config.localDataCenter }), ...extra.policies },
  };
}

/**
 * The CQL port of the cluster's nodes: the contact points' when they all give the same one, else the
 * default 9042. Nodes of one cluster listen on one port (the nodes' `native_transport_port`).
 */
export function nativePort(contactPoints: string[]): number {
  const ports = new Set(contactPoints.map((point) => /:(\d+)$/.exec(point.trim())?.[1] ?? '9042'));
  return ports.size === 1 ? Number([...ports][0]) : 9042;
}

/** `text` with the configured password (and every other registered secret) replaced by `***`. */
function redact(text: string, config: CassandraConnection): string {
  const masked = maskSecrets(text);
  return config.password && config.password.length > 0 ? masked.split(config.password).join('***') : masked;
}

/** The first line of an error's message (the driver appends stack traces of inner errors to some). */
function firstLine(error: unknown): string {
  const message = errorMessage(error);
  return message.split('\n')[0].replace(/\.$/, '');
}

/** A connection failure as a UserFacingError: unreachable, refused credentials, or a wrong data center. */
export function connectionError(error: unknown, config: CassandraConnection): UserFacingError {
  const at = config.contactPoints;
  const inner: Array<[string, unknown]> =
    error instanceof cassandra.errors.NoHostAvailableError && error.innerErrors ? Object.entries(error.innerErrors as Record<string, unknown>) : [['', error]];
  const auth = inner.find(([, e]) => e instanceof cassandra.errors.AuthenticationError);
  if (auth) {
    const detail = redact(firstLine(auth[1]), config);
    return !filled(config.username)
      ? new UserFacingError(`Cassandra at ${at} requires authentication (${detail})`, 'set username and password in the sink config, e.g. password: ${CASSANDRA_PASSWORD}')
      : new UserFacingError(`Cassandra at ${at} refused the credentials of user "${config.username}" (${detail})`, 'check username and password (the password is not printed)');
  }
  const wrongDc = inner.find(([, e]) => e instanceof cassandra.errors.ArgumentError && /localDataCenter/.test((e as Error).message));
  if (wrongDc) {
    return new UserFacingError(`Cassandra at ${at}: ${firstLine(wrongDc[1])}`, 'set localDataCenter (CASSANDRA_LOCAL_DC) to one of the data centers listed');
  }
  const details = inner.length > 0 ? inner.map(([host, e]) => (host && inner.length > 1 ? `${host}: ${firstLine(e)}` : firstLine(e))).join('; ') : firstLine(error);
  return new UserFacingError(`cannot reach Cassandra at ${at} (${redact(details, config)})`, HINT_UNREACHABLE);
}

/** `15 s`, `500 ms`. */
const duration = (ms: number): string => (ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`);

/** `promise`, or a rejection after `ms` with `message`. */
function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Connects, asks `SELECT release_version FROM system.local`, disconnects; resolves to the version
 * (e.g. `5.0.9`). Rejects with a UserFacingError within `timeoutMs`.
 */
export async function checkCassandra(config: CassandraConnection, timeoutMs = CONNECT_CHECK_TIMEOUT_MS): Promise<string> {
  // A throwaway client whose timeouts all fit in the check's, without heartbeats: cassandra-driver
  // 4.10 keeps heartbeating a connection whose handshake failed, which would keep the process alive
  // for a minute after the check gave up on a port that accepts connections but never answers.
  const limited = { ...config, connectTimeout: Math.min(config.connectTimeout, timeoutMs), requestTimeout: Math.min(config.requestTimeout, timeoutMs) };
  const client = new cassandra.Client(clientOptions(limited, { pooling: { heartBeatInterval: 0 } }));
  const check = async (): Promise<string> => {
    await client.connect();
    return String((await client.execute('SELECT release_version FROM system.local')).first()?.get('release_version'));
  };
  try {
    return await within(check(), timeoutMs, `no answer within ${duration(timeoutMs)}`);
  } catch (error) {
    throw connectionError(error, config);
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}

/**
 * A long-lived client, connected once `checkCassandra` passed, or a UserFacingError. `policies` are
 * the caller's driver policies (the sink turns the driver's own retries off).
 */
export async function connectCassandra(config: CassandraConnection, policies: cassandra.ClientOptions['policies'] = {}): Promise<cassandra.Client> {
  await checkCassandra(config);
  const client = new cassandra.Client(clientOptions(config, { policies }));
  try {
    await within(client.connect(), CONNECT_CHECK_TIMEOUT_MS, `no answer within ${duration(CONNECT_CHECK_TIMEOUT_MS)}`);
    return client;
  } catch (error) {
    await client.shutdown().catch(() => undefined);
    throw connectionError(error, config);
  }
}
