/**
 * How one node of the local cluster is configured and launched: its config rendered from the cluster
 * templates (services/kafka/cluster-server.properties, services/cassandra/cluster-cassandra.yaml)
 * into its own directory, and the `java` arguments that run it. The JVM options are the single-node
 * servers' (kafka.ts, cassandra.ts); what differs is the node's address, its identity in the cluster
 * and smaller heaps, six JVMs sharing the machine.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CASSANDRA_JVM_OPTIONS, cassandraDaemonArgs, JAVA17_MODULE_OPTIONS, jammAgent } from './cassandra.ts';
import { cassandraInitialTokens, cassandraSeeds, clusterDir, kafkaQuorumVoters, type ClusterNode, type ClusterSettings } from './cluster-settings.ts';
import type { Java } from './java.ts';
import { formatKafkaStorage, kafkaJvmOptions, newClusterId } from './kafka.ts';
import { ownershipMarkers } from './processes.ts';
import { renderTemplate } from './template.ts';

export interface NodeLaunchContext {
  repoDir: string;
  settings: ClusterSettings;
  java: Java;
  /** The service's jars (both services' nodes share the single-node servers' cache). */
  libDir: string;
  log: (line: string) => void;
}

/** Start-up shortcuts for a throwaway ring; unlike the single node's, it waits a little for gossip. */
const CASSANDRA_CLUSTER_START_OPTIONS = [
  // Start order already guarantees the ring is settled (each node joins once the previous one is NORMAL).
  '-Dcassandra.skip_wait_for_gossip_to_settle=0',
  // Not the single node's 100 ms: ring delay is also how long a node in gossip without tokens yet
  // (one that is starting) is tolerated before the others drop it, and heartbeats come once a second.
  '-Dcassandra.ring_delay_ms=5000',
  // No cassandra.unsafesystem here (the single node has it): it keeps schema changes out of the commit
  // log, so a node killed with kill -9 came back without the tables created shortly before, dropped
  // their mutations on replay ("unknown CF") and failed reads until it pulled the schema from a peer.
  // Stdout stays open and is the log (without this Cassandra closes stdout and stderr once started).
  '-Dcassandra-foreground=yes',
];

function kafkaConfigFile(node: ClusterNode): string {
  return join(node.dirs.root, 'server.properties');
}

function cassandraConfigFile(node: ClusterNode): string {
  return join(node.dirs.root, 'cassandra.yaml');
}

/** Where the cluster id is kept once made: every broker's storage is formatted with the same one. */
function kafkaClusterIdFile(settings: ClusterSettings): string {
  return join(clusterDir(settings.stateDir), 'kafka-cluster-id');
}

export function renderKafkaNodeConfig(template: string, node: ClusterNode, settings: ClusterSettings): string {
  return renderTemplate(template, {
    node_id: node.id,
    quorum_voters: kafkaQuorumVoters(settings),
    host: node.host,
    port: settings.kafka.port,
    controller_port: settings.kafka.controllerPort,
    data_dir: node.dirs.data,
  });
}

export function renderCassandraNodeConfig(template: string, node: ClusterNode, settings: ClusterSettings): string {
  return renderTemplate(template, {
    num_tokens: settings.cassandra.numTokens,
    initial_token: cassandraInitialTokens(node.id, settings.hosts.length, settings.cassandra.numTokens).join(','),
    seeds: cassandraSeeds(settings),
    host: node.host,
    port: settings.cassandra.port,
    storage_port: settings.cassandra.storagePort,
    data_dir: node.dirs.data,
  });
}

/** Renders the broker's config and, on its first start, formats its storage for the cluster. */
export async function prepareKafkaNode(node: ClusterNode, ctx: NodeLaunchContext): Promise<void> {
  await mkdir(node.dirs.data, { recursive: true });
  const template = await readFile(join(ctx.repoDir, 'services', 'kafka', 'cluster-server.properties'), 'utf8');
  await writeFile(kafkaConfigFile(node), renderKafkaNodeConfig(template, node, ctx.settings));
  if (existsSync(join(node.dirs.data, 'meta.properties'))) return;

  const idFile = kafkaClusterIdFile(ctx.settings);
  let clusterId = existsSync(idFile) ? (await readFile(idFile, 'utf8')).trim() : '';
  if (clusterId === '') {
    clusterId = newClusterId();
    await writeFile(idFile, `${clusterId}\n`);
  }
  ctx.log(`${node.name}: formatting ${node.dirs.data} for cluster ${clusterId}`);
  await formatKafkaStorage({
    java: ctx.java.path,
    repoDir: ctx.repoDir,
    libDir: ctx.libDir,
    root: node.dirs.root,
    data: node.dirs.data,
    configFile: kafkaConfigFile(node),
    clusterId,
    who: node.name,
    upCommand: 'npm run services -- up --cluster',
  });
}

export function kafkaNodeArgs(node: ClusterNode, ctx: NodeLaunchContext): string[] {
  return [
    ...kafkaJvmOptions({ heap: ctx.settings.kafka.heap, root: node.dirs.root, repoDir: ctx.repoDir }),
    ...ownershipMarkers('kafka', ctx.settings.stateDir, node.name),
    '-cp',
    join(ctx.libDir, '*'),
    'kafka.Kafka',
    kafkaConfigFile(node),
  ];
}

export async function prepareCassandraNode(node: ClusterNode, ctx: NodeLaunchContext): Promise<void> {
  await mkdir(node.dirs.data, { recursive: true });
  await mkdir(join(node.dirs.root, 'triggers'), { recursive: true });
  const template = await readFile(join(ctx.repoDir, 'services', 'cassandra', 'cluster-cassandra.yaml'), 'utf8');
  await writeFile(cassandraConfigFile(node), renderCassandraNodeConfig(template, node, ctx.settings));
}

export function cassandraNodeArgs(node: ClusterNode, ctx: NodeLaunchContext): string[] {
  const { heap, newSize } = ctx.settings.cassandra;
  return cassandraDaemonArgs({ root: node.dirs.root, data: node.dirs.data, configFile: cassandraConfigFile(node), libDir: ctx.libDir, repoDir: ctx.repoDir }, [
    // As cassandra-env.sh does: the whole heap from the start, so it is never resized under load.
    `-Xms${heap}`,
    `-Xmx${heap}`,
    `-Xmn${newSize}`,
    ...CASSANDRA_JVM_OPTIONS,
    ...JAVA17_MODULE_OPTIONS,
    ...CASSANDRA_CLUSTER_START_OPTIONS,
    ...jammAgent(ctx.libDir),
    ...ownershipMarkers('cassandra', ctx.settings.stateDir, node.name),
  ]);
}
