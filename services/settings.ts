/**
 * Where and how the local services run: addresses, ports, heaps, directories and timeouts, read from
 * environment variables with defaults. Pure (no I/O), so the rules are unit-tested.
 *
 * Every server binds to one loopback host only: these are development servers without
 * authentication, and must never be reachable from other machines.
 */
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { UserFacingError } from '../topology/errors.ts';

export type ServiceName = 'kafka' | 'cassandra' | 'registry';
export const SERVICE_NAMES: readonly ServiceName[] = ['kafka', 'cassandra', 'registry'];

/** Addresses of the local services when nothing is overridden. */
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_KAFKA_PORT = 9092;
export const DEFAULT_CASSANDRA_PORT = 9042;
export const DEFAULT_KAFKA_CONTROLLER_PORT = 9093;
export const DEFAULT_CASSANDRA_STORAGE_PORT = 7000;
/** Confluent Schema Registry's customary port, which clients and docs expect. */
export const DEFAULT_SCHEMA_REGISTRY_PORT = 8081;
export const DEFAULT_KAFKA_BROKERS = `${DEFAULT_HOST}:${DEFAULT_KAFKA_PORT}`;
export const DEFAULT_CASSANDRA_CONTACT_POINTS = `${DEFAULT_HOST}:${DEFAULT_CASSANDRA_PORT}`;
/** The datacenter name Cassandra's SimpleSnitch reports, which the driver needs as its local DC. */
export const DEFAULT_CASSANDRA_LOCAL_DC = 'datacenter1';
/** The local registry's Confluent-compatible API (Apicurio's ccompat v7), what clients are given as its URL. */
export const SCHEMA_REGISTRY_API_PATH = '/apis/ccompat/v7';
export const DEFAULT_SCHEMA_REGISTRY_URL = `http://${DEFAULT_HOST}:${DEFAULT_SCHEMA_REGISTRY_PORT}${SCHEMA_REGISTRY_API_PATH}`;

export interface ServiceSettings {
  host: string;
  /** Root of the jar cache (outside the source tree; shared by every checkout). */
  cacheDir: string;
  /** Root of data, logs, rendered configs and pid files. */
  stateDir: string;
  kafka: { port: number; controllerPort: number; heap: string; readyTimeoutMs: number };
  cassandra: { port: number; storagePort: number; heap: string; readyTimeoutMs: number; localDc: string };
  registry: { port: number; heap: string; readyTimeoutMs: number };
}

/** Each setting's environment variable, default and meaning: the CLI's --help and docs/services.md list these. */
export const ENVIRONMENT_VARIABLES: ReadonlyArray<{ name: string; default: string; description: string }> = [
  { name: 'USER_STREAM_SERVICES_HOST', default: DEFAULT_HOST, description: 'IPv4 loopback address (127.x.x.x) every server binds to; others are refused' },
  { name: 'KAFKA_PORT', default: String(DEFAULT_KAFKA_PORT), description: 'Kafka client (PLAINTEXT) port' },
  { name: 'KAFKA_CONTROLLER_PORT', default: '9093', description: 'Kafka KRaft controller port' },
  { name: 'CASSANDRA_PORT', default: String(DEFAULT_CASSANDRA_PORT), description: 'Cassandra CQL (native transport) port' },
  { name: 'CASSANDRA_STORAGE_PORT', default: '7000', description: 'Cassandra inter-node (storage) port' },
  { name: 'SCHEMA_REGISTRY_PORT', default: String(DEFAULT_SCHEMA_REGISTRY_PORT), description: 'schema registry (Apicurio, Confluent-compatible API) HTTP port' },
  { name: 'KAFKA_HEAP', default: '512m', description: 'Kafka maximum heap (-Xmx)' },
  { name: 'CASSANDRA_HEAP', default: '1g', description: 'Cassandra maximum heap (-Xmx)' },
  { name: 'SCHEMA_REGISTRY_HEAP', default: '256m', description: 'schema registry maximum heap (-Xmx)' },
  { name: 'KAFKA_READY_TIMEOUT', default: '90', description: 'seconds to wait for Kafka to answer a metadata request' },
  { name: 'CASSANDRA_READY_TIMEOUT', default: '180', description: 'seconds to wait for Cassandra to answer a CQL query' },
  { name: 'SCHEMA_REGISTRY_READY_TIMEOUT', default: '90', description: 'seconds to wait for the schema registry to answer an HTTP request' },
  { name: 'USER_STREAM_STATE_DIR', default: '<repo>/.state/services', description: 'data, logs, rendered configs and pid files' },
  { name: 'USER_STREAM_CACHE_DIR', default: '${XDG_CACHE_HOME:-$HOME/.cache}/user-stream/services', description: 'downloaded server jars, the built schema registry' },
  { name: 'JAVA_HOME', default: 'unset: java on PATH', description: 'Java 17+ installation to run the servers with' },
];

type Env = Record<string, string | undefined>;

/**
 * Readers for one kind of value each, which collect what is wrong into `problems` (and fall back to the
 * default) so that every bad variable is reported at once. Shared by the single-node and cluster settings.
 */
export function envReaders(env: Env, problems: string[]) {
  return {
    port(name: string, fallback: number): number {
      const raw = env[name];
      if (raw === undefined || raw === '') return fallback;
      const value = Number(raw);
      if (!Number.isInteger(value) || value < 1 || value > 65535) {
        problems.push(`${name}=${raw} is not a TCP port (1-65535)`);
        return fallback;
      }
      return value;
    },
    heap(name: string, fallback: string): string {
      const raw = env[name];
      if (raw === undefined || raw === '') return fallback;
      if (!/^\d+[mMgG]$/.test(raw)) {
        problems.push(`${name}=${raw} is not a heap size like 512m or 1g`);
        return fallback;
      }
      return raw.toLowerCase();
    },
    seconds(name: string, fallback: number): number {
      const raw = env[name];
      if (raw === undefined || raw === '') return fallback * 1000;
      const value = Number(raw);
      if (!Number.isFinite(value) || value <= 0) {
        problems.push(`${name}=${raw} is not a positive number of seconds`);
        return fallback * 1000;
      }
      return value * 1000;
    },
  };
}

/** The jar cache and the state directory, read alike in both modes. */
export function readDirs(env: Env, repoDir: string): { cacheDir: string; stateDir: string } {
  return {
    cacheDir: resolve(env.USER_STREAM_CACHE_DIR || join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'user-stream', 'services')),
    stateDir: resolve(repoDir, env.USER_STREAM_STATE_DIR || join('.state', 'services')),
  };
}

/** Reads the settings from `env`; throws a UserFacingError naming the variable when a value is unusable. */
export function readSettings(env: Env, repoDir: string): ServiceSettings {
  const problems: string[] = [];
  const { port, heap, seconds } = envReaders(env, problems);

  const host = env.USER_STREAM_SERVICES_HOST || DEFAULT_HOST;
  if (!isLoopback(host)) {
    problems.push(`USER_STREAM_SERVICES_HOST=${host} is not an IPv4 loopback address; the local services bind only to 127.0.0.0/8`);
  }

  const settings: ServiceSettings = {
    host,
    ...readDirs(env, repoDir),
    kafka: {
      port: port('KAFKA_PORT', DEFAULT_KAFKA_PORT),
      controllerPort: port('KAFKA_CONTROLLER_PORT', DEFAULT_KAFKA_CONTROLLER_PORT),
      heap: heap('KAFKA_HEAP', '512m'),
      readyTimeoutMs: seconds('KAFKA_READY_TIMEOUT', 90),
    },
    cassandra: {
      port: port('CASSANDRA_PORT', DEFAULT_CASSANDRA_PORT),
      storagePort: port('CASSANDRA_STORAGE_PORT', DEFAULT_CASSANDRA_STORAGE_PORT),
      heap: heap('CASSANDRA_HEAP', '1g'),
      readyTimeoutMs: seconds('CASSANDRA_READY_TIMEOUT', 180),
      localDc: DEFAULT_CASSANDRA_LOCAL_DC,
    },
    registry: {
      port: port('SCHEMA_REGISTRY_PORT', DEFAULT_SCHEMA_REGISTRY_PORT),
      heap: heap('SCHEMA_REGISTRY_HEAP', '256m'),
      readyTimeoutMs: seconds('SCHEMA_REGISTRY_READY_TIMEOUT', 90),
    },
  };

  problems.push(...portClashes(settings));
  throwIfProblems(problems);
  return settings;
}

/** One problem per port that another server of the same settings also uses. */
export function portClashes(settings: Pick<ServiceSettings, 'kafka' | 'cassandra'> & Partial<Pick<ServiceSettings, 'registry'>>): string[] {
  const ports: ReadonlyArray<readonly [string, number]> = [
    ['KAFKA_PORT', settings.kafka.port],
    ['KAFKA_CONTROLLER_PORT', settings.kafka.controllerPort],
    ['CASSANDRA_PORT', settings.cassandra.port],
    ['CASSANDRA_STORAGE_PORT', settings.cassandra.storagePort],
    ...(settings.registry ? [['SCHEMA_REGISTRY_PORT', settings.registry.port] as const] : []),
  ];
  const problems: string[] = [];
  for (const [i, [name, value]] of ports.entries()) {
    const clash = ports.slice(0, i).find(([, other]) => other === value);
    if (clash) problems.push(`${name} and ${clash[0]} are both ${value}; each server needs its own port`);
  }
  return problems;
}

export function throwIfProblems(problems: readonly string[]): void {
  if (problems.length > 0) {
    throw new UserFacingError(`invalid local services settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`, 'fix or unset these environment variables (npm run services -- --help lists them)');
  }
}

/**
 * Only IPv4 loopback addresses: a name like `localhost` may resolve differently in the JVM and in
 * Node, and the config templates write `host:port` without IPv6 brackets.
 */
export function isLoopback(host: string): boolean {
  return isIP(host) === 4 && host.startsWith('127.');
}

export function hostPort(host: string, port: number): string {
  return `${host}:${port}`;
}
