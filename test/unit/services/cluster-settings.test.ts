import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cassandraInitialTokens,
  cassandraSeeds,
  clusterAddresses,
  clusterNodes,
  kafkaQuorumVoters,
  readClusterSettings,
} from '../../../services/cluster-settings.ts';
import { readSettings } from '../../../services/settings.ts';

const repo = '/repo';

test('cluster defaults: three loopback addresses other than the single node’s, the standard ports, modest heaps', () => {
  const s = readClusterSettings({ HOME: '/home/dev' }, repo);
  assert.deepEqual(s.hosts, ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  assert.ok(!s.hosts.includes(readSettings({}, repo).host), 'the single-node servers keep their address');
  // 9042 above all: the Node.js driver looks for the nodes it discovers on its own port, 9042 by default.
  assert.deepEqual(s.kafka, { port: 9092, controllerPort: 9093, heap: '384m', readyTimeoutMs: 120_000 });
  assert.deepEqual(s.cassandra, { port: 9042, storagePort: 7000, heap: '512m', newSize: '128m', numTokens: 8, readyTimeoutMs: 180_000, localDc: 'datacenter1' });
  assert.equal(s.stateDir, '/repo/.state/services');
});

test('the cluster reads the single-node variables, and its own list of addresses', () => {
  const s = readClusterSettings({ USER_STREAM_CLUSTER_HOSTS: '127.0.1.1, 127.0.1.2,127.0.1.3,127.0.1.4', KAFKA_PORT: '39092', CASSANDRA_HEAP: '768M', USER_STREAM_STATE_DIR: '/tmp/trial' }, repo);
  assert.deepEqual(s.hosts, ['127.0.1.1', '127.0.1.2', '127.0.1.3', '127.0.1.4']);
  assert.equal(s.kafka.port, 39092);
  assert.equal(s.cassandra.heap, '768m');
  assert.equal(s.stateDir, '/tmp/trial');
});

test('bad cluster addresses are refused, all at once: not loopback, twice, too few', () => {
  assert.throws(
    () => readClusterSettings({ USER_STREAM_CLUSTER_HOSTS: '127.0.0.1,10.0.0.2,127.0.0.1', KAFKA_PORT: 'x' }, repo),
    (error: Error) => {
      assert.match(error.message, /10\.0\.0\.2 is not an IPv4 loopback address/);
      assert.match(error.message, /names an address twice/);
      assert.match(error.message, /KAFKA_PORT=x is not a TCP port/);
      return true;
    },
  );
  assert.throws(() => readClusterSettings({ USER_STREAM_CLUSTER_HOSTS: '127.0.0.1,127.0.0.2' }, repo), /has 2 address\(es\); the cluster needs at least 3/);
  assert.throws(() => readClusterSettings({ CASSANDRA_PORT: '9092' }, repo), /CASSANDRA_PORT and KAFKA_PORT are both 9092/);
});

test('six nodes, Kafka first, each on its own address with its own directory under <state>/cluster', () => {
  const s = readClusterSettings({ USER_STREAM_STATE_DIR: '/state' }, repo);
  const nodes = clusterNodes(s);
  assert.deepEqual(
    nodes.map((n) => [n.name, n.id, n.address]),
    [
      ['kafka-1', 1, '127.0.0.2:9092'],
      ['kafka-2', 2, '127.0.0.3:9092'],
      ['kafka-3', 3, '127.0.0.4:9092'],
      ['cassandra-1', 1, '127.0.0.2:9042'],
      ['cassandra-2', 2, '127.0.0.3:9042'],
      ['cassandra-3', 3, '127.0.0.4:9042'],
    ],
  );
  assert.deepEqual(nodes[4].dirs, {
    root: '/state/cluster/cassandra-2',
    data: '/state/cluster/cassandra-2/data',
    logFile: '/state/cluster/cassandra-2/cassandra-2.log',
    pidFile: '/state/cluster/cassandra-2/cassandra-2.pid',
  });
  assert.deepEqual(
    clusterNodes(s, 'kafka').map((n) => n.name),
    ['kafka-1', 'kafka-2', 'kafka-3'],
  );
});

test('what clients are given, the quorum voters and the seeds name every node', () => {
  const s = readClusterSettings({}, repo);
  assert.deepEqual(clusterAddresses(s), {
    kafkaBrokers: '127.0.0.2:9092,127.0.0.3:9092,127.0.0.4:9092',
    cassandraContactPoints: '127.0.0.2:9042,127.0.0.3:9042,127.0.0.4:9042',
    cassandraLocalDc: 'datacenter1',
  });
  assert.equal(kafkaQuorumVoters(s), '1@127.0.0.2:9093,2@127.0.0.3:9093,3@127.0.0.4:9093');
  assert.equal(cassandraSeeds(s), '127.0.0.2:7000,127.0.0.3:7000,127.0.0.4:7000');
});

test('initial tokens cut the Murmur3 ring into equal ranges dealt round-robin: distinct, in range, balanced', () => {
  const perNode = [1, 2, 3].map((id) => cassandraInitialTokens(id, 3, 8).map(BigInt));
  for (const tokens of perNode) assert.equal(tokens.length, 8);
  const all = perNode.flat().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.equal(new Set(all.map(String)).size, 24, 'no token twice');
  assert.equal(all[0], -(2n ** 63n), 'the first token is the ring minimum');
  assert.ok(all[23] < 2n ** 63n);
  // Round-robin: walking the ring, the owners go 1, 2, 3, 1, 2, 3, ...
  const owner = (t: bigint): number => perNode.findIndex((tokens) => tokens.includes(t)) + 1;
  assert.deepEqual(all.slice(0, 6).map(owner), [1, 2, 3, 1, 2, 3]);
  const gaps = all.slice(1).map((t, i) => t - all[i]);
  assert.ok(gaps.every((gap) => gap === gaps[0] || gap === gaps[0] + 1n || gap === gaps[0] - 1n), 'equal ranges');
  assert.deepEqual(cassandraInitialTokens(2, 3, 8), cassandraInitialTokens(2, 3, 8), 'the same on every start');
});
