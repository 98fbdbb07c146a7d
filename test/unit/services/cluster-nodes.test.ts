import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { cassandraNodeArgs, kafkaNodeArgs, prepareCassandraNode, prepareKafkaNode, type NodeLaunchContext } from '../../../services/cluster-nodes.ts';
import { cassandraInitialTokens, clusterNodes, readClusterSettings } from '../../../services/cluster-settings.ts';
import { commandLineMatches, ownershipMarkers, parsePidRecord } from '../../../services/processes.ts';

const repoDir = fileURLToPath(new URL('../../..', import.meta.url));

async function context(): Promise<NodeLaunchContext> {
  const stateDir = await mkdtemp(join(tmpdir(), 'cluster-state-'));
  const libDir = join(stateDir, 'lib');
  await mkdir(libDir);
  await writeFile(join(libDir, 'jamm-0.4.0.jar'), '');
  const settings = readClusterSettings({ USER_STREAM_STATE_DIR: stateDir }, repoDir);
  return { repoDir, settings, java: { path: 'java', major: 17, description: 'test' }, libDir, log: () => undefined };
}

function properties(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

test('each broker’s server.properties: its own id and address, all three as voters, replication 3 with 2 in sync', async () => {
  const ctx = await context();
  const node = clusterNodes(ctx.settings, 'kafka')[1];
  // Storage already "formatted": prepare must then only render the config, not run Java.
  await mkdir(node.dirs.data, { recursive: true });
  await writeFile(join(node.dirs.data, 'meta.properties'), 'cluster.id=x\n');
  await prepareKafkaNode(node, ctx);
  const p = properties(await readFile(join(node.dirs.root, 'server.properties'), 'utf8'));
  assert.equal(p['node.id'], '2');
  assert.equal(p['process.roles'], 'broker,controller');
  assert.equal(p['controller.quorum.voters'], '1@127.0.0.2:9093,2@127.0.0.3:9093,3@127.0.0.4:9093');
  assert.equal(p.listeners, 'PLAINTEXT://127.0.0.3:9092,CONTROLLER://127.0.0.3:9093');
  assert.equal(p['advertised.listeners'], 'PLAINTEXT://127.0.0.3:9092');
  assert.equal(p['log.dirs'], node.dirs.data);
  assert.equal(p['default.replication.factor'], '3');
  assert.equal(p['min.insync.replicas'], '2');
  assert.equal(p['offsets.topic.replication.factor'], '3');
  assert.equal(p['transaction.state.log.replication.factor'], '3');
  assert.equal(p['transaction.state.log.min.isr'], '2');
});

test('each Cassandra node’s cassandra.yaml: its own address, every node a seed, its share of the fixed tokens', async () => {
  const ctx = await context();
  const node = clusterNodes(ctx.settings, 'cassandra')[2];
  await prepareCassandraNode(node, ctx);
  const config = parse(await readFile(join(node.dirs.root, 'cassandra.yaml'), 'utf8'));
  assert.equal(config.listen_address, '127.0.0.4');
  assert.equal(config.rpc_address, '127.0.0.4');
  assert.equal(config.native_transport_port, 9042);
  assert.equal(config.storage_port, 7000);
  assert.equal(config.seed_provider[0].parameters[0].seeds, '127.0.0.2:7000,127.0.0.3:7000,127.0.0.4:7000');
  assert.equal(config.num_tokens, 8);
  assert.deepEqual(String(config.initial_token).split(','), cassandraInitialTokens(3, 3, 8));
  assert.equal(config.auto_bootstrap, false);
  assert.equal(config.endpoint_snitch, 'SimpleSnitch');
  assert.equal(config.cluster_name, 'user-stream-local-cluster', 'not the single node’s: the two must never gossip together');
  assert.deepEqual(config.data_file_directories, [join(node.dirs.data, 'data')]);
  assert.equal(config.commitlog_directory, join(node.dirs.data, 'commitlog'));
});

test('node processes carry their node marker, modest heaps and their own config', async () => {
  const ctx = await context();
  const [kafka2] = clusterNodes(ctx.settings, 'kafka').slice(1);
  const kafkaArgs = kafkaNodeArgs(kafka2, ctx);
  assert.ok(kafkaArgs.includes('-Xmx384m'));
  for (const marker of ownershipMarkers('kafka', ctx.settings.stateDir, 'kafka-2')) assert.ok(kafkaArgs.includes(marker), marker);
  assert.deepEqual(kafkaArgs.slice(-2), ['kafka.Kafka', join(kafka2.dirs.root, 'server.properties')]);

  const cassandra1 = clusterNodes(ctx.settings, 'cassandra')[0];
  const cassandraArgs = cassandraNodeArgs(cassandra1, ctx);
  for (const option of ['-Xms512m', '-Xmx512m', '-Xmn128m', '-Dcassandra-foreground=yes', '-Duser-stream.node=cassandra-1', `-Dcassandra.storagedir=${cassandra1.dirs.data}`]) {
    assert.ok(cassandraArgs.includes(option), option);
  }
  assert.ok(cassandraArgs.includes(`-Dcassandra.config=file://${join(cassandra1.dirs.root, 'cassandra.yaml')}`));
  assert.equal(cassandraArgs[cassandraArgs.length - 1], 'org.apache.cassandra.service.CassandraDaemon');
});

test('a node’s pid counts as ours only with its own node marker; single-node records are unchanged', () => {
  const stateDir = '/state';
  const node2 = { service: 'kafka' as const, stateDir, node: 'kafka-2' };
  const line = (node?: string) => ['java', ...ownershipMarkers('kafka', stateDir, node), 'kafka.Kafka'].join(' ');
  assert.equal(commandLineMatches(node2, line('kafka-2')), true);
  assert.equal(commandLineMatches(node2, line('kafka-3')), false, 'another node of the same cluster');
  assert.equal(commandLineMatches(node2, line()), false, 'the single-node broker');
  assert.equal(commandLineMatches({ service: 'kafka', stateDir }, line()), true);
  assert.deepEqual(ownershipMarkers('kafka', stateDir), ['-Duser-stream.service=kafka', '-Duser-stream.state-dir=/state']);

  const record = { service: 'kafka', node: 'kafka-2', pid: 42, address: '127.0.0.3:9092', stateDir, logFile: '/l', startedAt: '' };
  assert.deepEqual(parsePidRecord(JSON.stringify(record)), record);
  assert.equal(parsePidRecord(JSON.stringify({ ...record, node: 7 })), undefined);
});
