/**
 * The local cluster (`npm run services -- up --cluster`): three Kafka brokers, each also a KRaft
 * controller, and a three-node Cassandra ring, every node a process of its own on its own loopback
 * address (127.0.0.2, .3, .4; Linux answers on all of 127.0.0.0/8). Every node uses the standard ports
 * (9092/9093, 9042/7000) on its own address, so the cluster stays clear of the single-node servers on
 * 127.0.0.1 and both modes can run side by side.
 *
 * The standard ports are not just convenient: the Node.js Cassandra driver (4.x) learns the other
 * nodes from system.peers, which has no port, and connects to each on its own configured port
 * (protocolOptions.port, 9042 unless set). On another CQL port, clients given the contact points
 * would look for the other nodes on 9042 of their addresses.
 *
 * Pure (no I/O): the node list, the addresses, the quorum and the tokens are unit-tested.
 */
import { join } from 'node:path';
import type { ServiceDirs } from './definition.ts';
import {
  DEFAULT_CASSANDRA_LOCAL_DC,
  DEFAULT_CASSANDRA_PORT,
  DEFAULT_CASSANDRA_STORAGE_PORT,
  DEFAULT_KAFKA_CONTROLLER_PORT,
  DEFAULT_KAFKA_PORT,
  envReaders,
  hostPort,
  isLoopback,
  portClashes,
  readDirs,
  throwIfProblems,
  type ServiceName,
} from './settings.ts';

/** Not 127.0.0.1: that is the single-node servers' address, on the same ports. */
export const DEFAULT_CLUSTER_HOSTS: readonly string[] = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];

/** Fewer nodes cannot hold replication factor 3, nor lose one and keep a quorum. */
export const MIN_CLUSTER_NODES = 3;

export interface ClusterSettings {
  /** One loopback address per node; node n of each service binds to hosts[n - 1]. */
  hosts: readonly string[];
  cacheDir: string;
  /** The state dir of both modes; the cluster keeps its nodes under `<stateDir>/cluster/`. */
  stateDir: string;
  kafka: { port: number; controllerPort: number; heap: string; readyTimeoutMs: number };
  cassandra: {
    port: number;
    storagePort: number;
    heap: string;
    /** Young generation (-Xmn): small and fixed, so young pauses stay short with six JVMs on two cores. */
    newSize: string;
    /** Tokens per node: a few vnodes, so every node owns several ranges, without the start-up cost of 256. */
    numTokens: number;
    /** For each node in turn: how long it may take to answer CQL and join the ring. */
    readyTimeoutMs: number;
    localDc: string;
  };
}

/**
 * What the cluster mode reads differently from the single-node mode: its addresses, its defaults, a
 * caution. The other variables (ports, state and cache dirs, JAVA_HOME) apply to every node alike.
 */
export const CLUSTER_ENVIRONMENT_VARIABLES: ReadonlyArray<{ name: string; default: string; description: string }> = [
  { name: 'USER_STREAM_CLUSTER_HOSTS', default: DEFAULT_CLUSTER_HOSTS.join(','), description: `the nodes' loopback addresses, one per node (at least ${MIN_CLUSTER_NODES})` },
  { name: 'CASSANDRA_PORT', default: String(DEFAULT_CASSANDRA_PORT), description: "every node's CQL port; keep 9042, the port the Node.js driver looks for the other nodes on" },
  { name: 'KAFKA_HEAP', default: '384m', description: 'heap of each broker' },
  { name: 'CASSANDRA_HEAP', default: '512m', description: 'heap of each Cassandra node (-Xms and -Xmx; -Xmn128m)' },
  { name: 'KAFKA_READY_TIMEOUT', default: '120', description: 'seconds for the quorum to form and every broker to register' },
  { name: 'CASSANDRA_READY_TIMEOUT', default: '180', description: 'seconds for each Cassandra node to answer CQL and join the ring' },
];

type Env = Record<string, string | undefined>;

/** Reads the cluster settings from `env`; throws a UserFacingError listing every unusable value. */
export function readClusterSettings(env: Env, repoDir: string): ClusterSettings {
  const problems: string[] = [];
  const { port, heap, seconds } = envReaders(env, problems);
  const hosts = (env.USER_STREAM_CLUSTER_HOSTS || DEFAULT_CLUSTER_HOSTS.join(','))
    .split(',')
    .map((host) => host.trim())
    .filter((host) => host !== '');
  for (const host of hosts) {
    if (!isLoopback(host)) problems.push(`USER_STREAM_CLUSTER_HOSTS: ${host} is not an IPv4 loopback address; the local cluster binds only to 127.0.0.0/8`);
  }
  if (new Set(hosts).size !== hosts.length) problems.push(`USER_STREAM_CLUSTER_HOSTS=${hosts.join(',')} names an address twice; each node needs its own`);
  if (hosts.length < MIN_CLUSTER_NODES) problems.push(`USER_STREAM_CLUSTER_HOSTS=${hosts.join(',')} has ${hosts.length} address(es); the cluster needs at least ${MIN_CLUSTER_NODES}`);

  const settings: ClusterSettings = {
    hosts,
    ...readDirs(env, repoDir),
    kafka: {
      port: port('KAFKA_PORT', DEFAULT_KAFKA_PORT),
      controllerPort: port('KAFKA_CONTROLLER_PORT', DEFAULT_KAFKA_CONTROLLER_PORT),
      heap: heap('KAFKA_HEAP', '384m'),
      readyTimeoutMs: seconds('KAFKA_READY_TIMEOUT', 120),
    },
    cassandra: {
      port: port('CASSANDRA_PORT', DEFAULT_CASSANDRA_PORT),
      storagePort: port('CASSANDRA_STORAGE_PORT', DEFAULT_CASSANDRA_STORAGE_PORT),
      heap: heap('CASSANDRA_HEAP', '512m'),
      newSize: '128m',
      numTokens: 8,
      readyTimeoutMs: seconds('CASSANDRA_READY_TIMEOUT', 180),
      localDc: DEFAULT_CASSANDRA_LOCAL_DC,
    },
  };
  problems.push(...portClashes(settings));
  throwIfProblems(problems);
  return settings;
}

/** One node of the local cluster. */
export interface ClusterNode {
  service: ServiceName;
  /** 1-based: Kafka's node.id, and the position in the Cassandra start order. */
  id: number;
  /** `kafka-2`, `cassandra-3`: in pid files, progress lines, status and the state dir. */
  name: string;
  host: string;
  /** The client address, host:port. */
  address: string;
  dirs: ServiceDirs;
}

export function clusterDir(stateDir: string): string {
  return join(stateDir, 'cluster');
}

/** The nodes of `service` (or of both, Kafka first), in start order. */
export function clusterNodes(settings: ClusterSettings, service?: ServiceName): ClusterNode[] {
  const services: ServiceName[] = service ? [service] : ['kafka', 'cassandra'];
  return services.flatMap((svc) =>
    settings.hosts.map((host, i) => {
      const name = `${svc}-${i + 1}`;
      const root = join(clusterDir(settings.stateDir), name);
      return {
        service: svc,
        id: i + 1,
        name,
        host,
        address: hostPort(host, svc === 'kafka' ? settings.kafka.port : settings.cassandra.port),
        dirs: { root, data: join(root, 'data'), logFile: join(root, `${name}.log`), pidFile: join(root, `${name}.pid`) },
      };
    }),
  );
}

/** What a client needs to reach the cluster: the values of KAFKA_BROKERS, CASSANDRA_CONTACT_POINTS and CASSANDRA_LOCAL_DC. */
export function clusterAddresses(settings: ClusterSettings): { kafkaBrokers: string; cassandraContactPoints: string; cassandraLocalDc: string } {
  return {
    kafkaBrokers: clusterNodes(settings, 'kafka')
      .map((node) => node.address)
      .join(','),
    cassandraContactPoints: clusterNodes(settings, 'cassandra')
      .map((node) => node.address)
      .join(','),
    cassandraLocalDc: settings.cassandra.localDc,
  };
}

/** Kafka's controller.quorum.voters: every broker is a controller too, `<node id>@<host>:<controller port>`. */
export function kafkaQuorumVoters(settings: ClusterSettings): string {
  return settings.hosts.map((host, i) => `${i + 1}@${hostPort(host, settings.kafka.controllerPort)}`).join(',');
}

/** The seeds every Cassandra node is given: all nodes, so any one of them can restart while others are down. */
export function cassandraSeeds(settings: ClusterSettings): string {
  return settings.hosts.map((host) => hostPort(host, settings.cassandra.storagePort)).join(',');
}

const MURMUR3_MIN = -(2n ** 63n);
const MURMUR3_RANGE = 2n ** 64n;

/**
 * The initial tokens of node `id` (1-based) of `nodeCount`, `numTokens` each: the Murmur3 ring cut into
 * nodeCount × numTokens equal ranges, dealt round-robin. Fixed tokens make a fresh ring balanced
 * exactly and spare each joining node the token allocation; the same node gets the same tokens on
 * every start.
 */
export function cassandraInitialTokens(id: number, nodeCount: number, numTokens: number): string[] {
  const total = BigInt(nodeCount * numTokens);
  return Array.from({ length: numTokens }, (_, j) => String(MURMUR3_MIN + (BigInt(j * nodeCount + (id - 1)) * MURMUR3_RANGE) / total));
}
