/**
 * The command line of `npm run services` (bin/services.ts): the arguments it takes, its help, and how
 * the cluster mode's results are printed. Pure, so both are unit-tested.
 */
import { UserFacingError } from '../topology/errors.ts';
import type { ClusterUpResult, NodeDown, NodeStatus } from './cluster.ts';
import { CLUSTER_ENVIRONMENT_VARIABLES } from './cluster-settings.ts';
import { ENVIRONMENT_VARIABLES, SERVICE_NAMES, type ServiceName } from './settings.ts';

export const COMMANDS = ['up', 'down', 'status'] as const;
export type Command = (typeof COMMANDS)[number];

export type ServicesArgs = { kind: 'help'; exitCode: number } | { kind: 'run'; command: Command; only?: ServiceName[]; nodes?: string[]; cluster: boolean };

/** A node of the local cluster: `kafka-1`, `cassandra-3`. */
const NODE_NAME = /^(kafka|cassandra)-\d+$/;

export const HELP = `Usage: npm run services -- <command> [--cluster] [kafka|cassandra|registry|<node> ...]

Runs a local Apache Kafka broker (KRaft, no ZooKeeper), a local Apache Cassandra node and a schema
registry (Apicurio Registry with its Confluent-compatible API, in-memory storage) as Java processes
on loopback, for development and tests. Without service names a command acts on all three.

Commands:
  up      fetch the servers' jars from Maven Central and build the registry (first time only), start
          what is not already answering, wait until each answers a real request, and set the
          registry's compatibility level to BACKWARD
  down    stop the processes that \`up\` started (by pid file; anything else is left alone)
  status  show what runs where: pid, address, whether it answers, state dir, log file

--cluster: the same commands for a local cluster instead: three Kafka brokers (each also a KRaft
controller) and a three-node Cassandra ring, one node per loopback address (127.0.0.2-4, the standard
ports on each), data and logs under <state dir>/cluster/. Single-node (on 127.0.0.1) and cluster can
run side by side. Nodes can be named (kafka-1..3, cassandra-1..3): \`down --cluster cassandra-2\` stops
that node alone, \`up --cluster cassandra-2\` starts it again and waits until it has rejoined. The
registry has no cluster mode: run \`up registry\` beside the cluster.

Environment variables:
${ENVIRONMENT_VARIABLES.map((v) => `  ${v.name.padEnd(26)} ${v.description} (default ${v.default})`).join('\n')}

With --cluster, these differ (the other variables apply to every node alike):
${CLUSTER_ENVIRONMENT_VARIABLES.map((v) => `  ${v.name.padEnd(26)} ${v.description} (default ${v.default})`).join('\n')}

To use existing clusters instead, set KAFKA_BROKERS, CASSANDRA_CONTACT_POINTS, CASSANDRA_LOCAL_DC and
SCHEMA_REGISTRY_URL for the project; nothing needs to run locally then. See docs/services.md.`;

/** Reads the arguments after `npm run services --`; throws a UserFacingError on anything it does not know. */
export function parseServicesArgs(argv: readonly string[]): ServicesArgs {
  if (argv.length === 0) return { kind: 'help', exitCode: 2 };
  if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') return { kind: 'help', exitCode: 0 };
  const [command, ...rest] = argv;
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new UserFacingError(`unknown command "${command}"`, 'the commands are up, down and status; see `npm run services -- --help`');
  }
  const cluster = rest.includes('--cluster');
  const words = rest.filter((arg) => arg !== '--cluster');
  const unknownOption = words.find((arg) => arg.startsWith('-'));
  if (unknownOption) throw new UserFacingError(`unknown option ${unknownOption}`, 'see `npm run services -- --help`');
  const nodes = words.filter((word) => NODE_NAME.test(word));
  if (nodes.length > 0 && !cluster) throw new UserFacingError(`${nodes[0]} is a node of the local cluster`, `add --cluster: npm run services -- ${command} --cluster ${nodes.join(' ')}`);
  const services = words.filter((word) => !NODE_NAME.test(word));
  const invalid = services.find((name) => !SERVICE_NAMES.includes(name as ServiceName));
  if (invalid) throw new UserFacingError(`unknown service "${invalid}"`, `the services are: ${SERVICE_NAMES.join(', ')}${cluster ? '; the nodes: kafka-1, cassandra-2, …' : ''}`);
  if (nodes.length > 0 && services.length > 0) throw new UserFacingError('name either services or nodes, not both', `e.g. npm run services -- ${command} --cluster ${nodes.join(' ')}`);
  return { kind: 'run', command: command as Command, only: services.length > 0 ? (services as ServiceName[]) : undefined, ...(nodes.length > 0 ? { nodes } : {}), cluster };
}

/** What a topology needs to use the cluster, as shell assignments. */
export function formatClusterEnv(addresses: ClusterUpResult['addresses']): string {
  return `KAFKA_BROKERS=${addresses.kafkaBrokers} CASSANDRA_CONTACT_POINTS=${addresses.cassandraContactPoints} CASSANDRA_LOCAL_DC=${addresses.cassandraLocalDc}`;
}

export function formatClusterUp(result: ClusterUpResult): string {
  const lines = result.nodes.map((node) => {
    const how =
      node.outcome === 'started'
        ? `started, pid ${node.pid}${node.readyAfterSeconds === undefined ? '' : `, ready after ${node.readyAfterSeconds.toFixed(1)} s`}`
        : `already running, pid ${node.pid}`;
    return `${node.node.padEnd(12)} ${node.address.padEnd(16)} ${how}`;
  });
  return [...lines, '', `use it with: ${formatClusterEnv(result.addresses)}`].join('\n') + '\n';
}

export function formatClusterDown(nodes: readonly NodeDown[]): string {
  return nodes.map((node) => `${node.node.padEnd(12)} ${node.detail}`).join('\n') + '\n';
}

/** One line per node (address, pid, live, answering), then where the state is and how to point a topology at it. */
export function formatClusterStatus(nodes: readonly NodeStatus[], where: { clusterDir: string; addresses: ClusterUpResult['addresses'] }): string {
  const header = `${'node'.padEnd(12)} ${'address'.padEnd(16)} ${'pid'.padEnd(8)} ${'live'.padEnd(5)} answering`;
  const rows = nodes.map((n) => `${n.node.padEnd(12)} ${n.address.padEnd(16)} ${String(n.pid ?? '-').padEnd(8)} ${(n.live ? 'yes' : 'no').padEnd(5)} ${n.answering ? 'yes' : 'no'}: ${n.answer}`);
  const live = nodes.filter((n) => n.live).length;
  return (
    [
      header,
      ...rows,
      '',
      `${live} of ${nodes.length} nodes live`,
      `state dir: ${where.clusterDir} (each node's data, config, pid file and log in <node>/, e.g. kafka-1/kafka-1.log)`,
      `use it with: ${formatClusterEnv(where.addresses)}`,
    ].join('\n') + '\n'
  );
}
