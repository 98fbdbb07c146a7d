/**
 * The local cluster end to end, through the command line as a developer runs it: `up --cluster` starts
 * six nodes, `status --cluster` shows all six live, a topic of replication factor 3 carries a message
 * through the three brokers, a keyspace of RF 3 takes a row at QUORUM, and `down --cluster` leaves
 * none of the nodes' processes.
 *
 * `npm run test:cluster`. It uses its own state directory (a fresh one under the system temp dir
 * unless USER_STREAM_STATE_DIR is set) and the cluster's default ports, which must be free.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import cassandra from 'cassandra-driver';
import Kafka from 'node-rdkafka';
import { clusterStatus, localClusterAddresses } from '../../services/cluster.ts';
import { commandLineOf } from '../../services/processes.ts';
import { produce, readTopic } from '../integration/read-topic.ts';

const repoDir = fileURLToPath(new URL('../..', import.meta.url));
/** A state dir this test made is removed after a successful `down`; a failed run's is kept for its logs. */
const ownStateDir = !process.env.USER_STREAM_STATE_DIR;
const stateDir = process.env.USER_STREAM_STATE_DIR || (await mkdtemp(join(tmpdir(), 'cluster-test-')));
const env = { ...process.env, USER_STREAM_STATE_DIR: stateDir };
const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

/** Runs `npm run services -- <args>` (without npm), its progress passed through to this test's stderr. */
function services(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/services.ts', ...args], { cwd: repoDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(`[services] ${chunk.toString('utf8')}`));
    const timer = setTimeout(() => {
      child.kill('SIGINT');
      reject(new Error(`services ${args.join(' ')}: no exit within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
  });
}

describe(`the local cluster (state dir ${stateDir})`, () => {
  const addresses = localClusterAddresses(env);
  let pids: number[] = [];
  let down = false;

  before(async () => {
    const up = await services(['up', '--cluster'], 10 * 60_000);
    process.stderr.write(up.stdout);
    assert.equal(up.code, 0, 'up --cluster exits 0');
  });

  after(async () => {
    // A failed test before `down` must not leave six JVMs behind.
    if (!down) await services(['down', '--cluster'], 3 * 60_000);
  });

  test('status --cluster shows six live nodes, each answering', async () => {
    const status = await services(['status', '--cluster'], 60_000);
    process.stderr.write(status.stdout);
    assert.equal(status.code, 0);
    const rows = status.stdout.split('\n').filter((line) => /^(kafka|cassandra)-\d/.test(line));
    assert.equal(rows.length, 6, status.stdout);
    for (const row of rows) assert.match(row, /^\S+\s+127\.0\.0\.\d:\d+\s+\d+\s+yes\s+yes: /, row);
    assert.match(status.stdout, /6 of 6 nodes live/);

    const nodes = await clusterStatus({ env });
    assert.deepEqual(
      nodes.map((n) => [n.node, n.live, n.answering]),
      ['kafka-1', 'kafka-2', 'kafka-3', 'cassandra-1', 'cassandra-2', 'cassandra-3'].map((name) => [name, true, true]),
    );
    for (const node of nodes.filter((n) => n.service === 'kafka')) assert.equal(node.answer, 'sees brokers 1, 2, 3', node.node);
    for (const node of nodes.filter((n) => n.service === 'cassandra')) assert.match(node.answer, /127\.0\.0\.2 NORMAL, 127\.0\.0\.3 NORMAL, 127\.0\.0\.4 NORMAL$/, node.node);
    pids = nodes.map((n) => n.pid!);
    assert.equal(new Set(pids).size, 6, 'six processes');
  });

  test('a topic of replication factor 3 has every partition on all three brokers, and carries a message through them', async () => {
    const topic = `cluster-test-${runId}`;
    const admin = Kafka.AdminClient.create({ 'bootstrap.servers': addresses.kafkaBrokers, log_level: 0 });
    try {
      await new Promise<void>((resolve, reject) =>
        admin.createTopic({ topic, num_partitions: 3, replication_factor: 3, config: { 'min.insync.replicas': '2' } }, 30_000, (error) => (error ? reject(error) : resolve())),
      );
    } finally {
      admin.disconnect();
    }
    // acks=all (implied by idempotence): the write is on every in-sync replica before it is acknowledged.
    const sent = [{ key: 'k', value: JSON.stringify({ runId, note: 'through three brokers' }), partition: 1 }];
    const [report] = await produce(addresses.kafkaBrokers, topic, sent, { acks: -1 });
    assert.equal(report.partition, 1);

    const consumer = new Kafka.KafkaConsumer({ 'bootstrap.servers': addresses.kafkaBrokers, 'group.id': `cluster-test-${runId}`, log_level: 0 }, {});
    await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 15_000 }, (error) => (error ? reject(error) : resolve())));
    try {
      const metadata = await new Promise<Kafka.Metadata>((resolve, reject) => consumer.getMetadata({ topic, timeout: 15_000 }, (error, data) => (error ? reject(error) : resolve(data))));
      const partitions = metadata.topics.find((t) => t.name === topic)!.partitions;
      assert.equal(partitions.length, 3);
      for (const p of partitions) {
        assert.deepEqual([...p.replicas].sort(), [1, 2, 3], `partition ${p.id} replicas`);
        assert.deepEqual([...p.isrs].sort(), [1, 2, 3], `partition ${p.id} in-sync replicas`);
      }
      assert.deepEqual(new Set(partitions.map((p) => p.leader)).size, 3, 'each broker leads one partition');
    } finally {
      await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
    }

    const read = await readTopic(addresses.kafkaBrokers, topic, 30_000);
    assert.deepEqual(
      read.map((m) => [m.partition, String(m.key), m.value?.toString('utf8')]),
      [[1, 'k', sent[0].value]],
    );
  });

  test('a keyspace of RF 3 takes a row written at QUORUM, read back at QUORUM', async () => {
    const keyspace = `cluster_test_${runId}`;
    const client = new cassandra.Client({ contactPoints: addresses.cassandraContactPoints.split(','), localDataCenter: addresses.cassandraLocalDc });
    await client.connect();
    try {
      assert.deepEqual(
        client.hosts
          .values()
          .map((h) => [h.address, h.isUp()])
          .sort(),
        addresses.cassandraContactPoints
          .split(',')
          .map((a) => [a, true])
          .sort(),
        'the driver sees all three nodes up',
      );
      await client.execute(`CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'NetworkTopologyStrategy', '${addresses.cassandraLocalDc}': 3}`);
      await client.execute(`CREATE TABLE ${keyspace}.notes (id text PRIMARY KEY, body text)`);
      const quorum = { prepare: true, consistency: cassandra.types.consistencies.quorum };
      await client.execute(`INSERT INTO ${keyspace}.notes (id, body) VALUES (?, ?)`, [runId, 'written at quorum'], quorum);
      const row = (await client.execute(`SELECT body FROM ${keyspace}.notes WHERE id = ?`, [runId], quorum)).first();
      assert.equal(row?.get('body'), 'written at quorum');
      // The routing key of a text partition key is its UTF-8 bytes.
      const replicas = client.getReplicas(keyspace, Buffer.from(runId));
      assert.equal(replicas.length, 3, 'three replicas of the row');
      await client.execute(`DROP KEYSPACE ${keyspace}`);
    } finally {
      await client.shutdown();
    }
  });

  test('down --cluster leaves none of the six processes', async () => {
    assert.equal(pids.length, 6, 'the status test recorded the pids');
    const result = await services(['down', '--cluster'], 3 * 60_000);
    down = true;
    process.stderr.write(result.stdout);
    assert.equal(result.code, 0);
    // Gone, or (should the number already be reused) no longer one of this cluster's nodes.
    for (const pid of pids) assert.ok(!((await commandLineOf(pid)) ?? '').includes(`-Duser-stream.state-dir=${stateDir}`), `pid ${pid} is gone`);
    const nodes = await clusterStatus({ env });
    assert.deepEqual(
      nodes.filter((n) => n.live || n.answering).map((n) => n.node),
      [],
    );
    if (ownStateDir) await rm(stateDir, { recursive: true, force: true });
  });
});
