import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gossipStatusWord, notNormal } from '../../../services/cluster-probes.ts';
import { formatClusterDown, formatClusterStatus, formatClusterUp, HELP, parseServicesArgs } from '../../../services/command-line.ts';

test('arguments: a command, optionally --cluster (anywhere after it) and service names', () => {
  assert.deepEqual(parseServicesArgs(['up']), { kind: 'run', command: 'up', only: undefined, cluster: false });
  assert.deepEqual(parseServicesArgs(['up', '--cluster']), { kind: 'run', command: 'up', only: undefined, cluster: true });
  assert.deepEqual(parseServicesArgs(['status', 'kafka', '--cluster']), { kind: 'run', command: 'status', only: ['kafka'], cluster: true });
  assert.deepEqual(parseServicesArgs(['down', 'cassandra']), { kind: 'run', command: 'down', only: ['cassandra'], cluster: false });
  assert.deepEqual(parseServicesArgs(['up', 'registry']), { kind: 'run', command: 'up', only: ['registry'], cluster: false });
  assert.match(HELP, /SCHEMA_REGISTRY_PORT/);
});

test('nodes of the cluster by name: one or more, with --cluster only, not mixed with service names', () => {
  assert.deepEqual(parseServicesArgs(['down', '--cluster', 'cassandra-2']), { kind: 'run', command: 'down', only: undefined, nodes: ['cassandra-2'], cluster: true });
  assert.deepEqual(parseServicesArgs(['up', 'kafka-1', 'kafka-3', '--cluster']), { kind: 'run', command: 'up', only: undefined, nodes: ['kafka-1', 'kafka-3'], cluster: true });
  assert.throws(() => parseServicesArgs(['down', 'cassandra-2']), /cassandra-2 is a node of the local cluster.*--cluster cassandra-2/s);
  assert.throws(() => parseServicesArgs(['up', '--cluster', 'kafka', 'kafka-2']), /either services or nodes/);
  assert.match(HELP, /down --cluster cassandra-2/);
});

test('help: none given is a usage error (exit 2), asked for is not', () => {
  assert.deepEqual(parseServicesArgs([]), { kind: 'help', exitCode: 2 });
  assert.deepEqual(parseServicesArgs(['--help']), { kind: 'help', exitCode: 0 });
  assert.deepEqual(parseServicesArgs(['up', '-h']), { kind: 'help', exitCode: 0 });
  assert.match(HELP, /--cluster/);
  assert.match(HELP, /USER_STREAM_CLUSTER_HOSTS/);
});

test('unknown commands, options and services are refused by name', () => {
  assert.throws(() => parseServicesArgs(['start']), /unknown command "start"/);
  assert.throws(() => parseServicesArgs(['up', '--clusters']), /unknown option --clusters/);
  assert.throws(() => parseServicesArgs(['up', '--cluster', 'zookeeper']), /unknown service "zookeeper"/);
});

const addresses = { kafkaBrokers: '127.0.0.2:9092,127.0.0.3:9092,127.0.0.4:9092', cassandraContactPoints: '127.0.0.2:9042,127.0.0.3:9042,127.0.0.4:9042', cassandraLocalDc: 'datacenter1' };

test('status --cluster: one line per node with address, pid and live, then the state dir and the variables for a topology', () => {
  const text = formatClusterStatus(
    [
      { node: 'kafka-1', service: 'kafka', address: '127.0.0.2:9092', pid: 101, live: true, answering: true, answer: 'sees brokers 1, 2, 3', logFile: '/s/cluster/kafka-1/kafka-1.log' },
      { node: 'cassandra-3', service: 'cassandra', address: '127.0.0.4:9042', live: false, answering: false, answer: 'nothing listens on the port', logFile: '/s/cluster/cassandra-3/cassandra-3.log' },
    ],
    { clusterDir: '/s/cluster', addresses },
  );
  const lines = text.split('\n');
  assert.match(lines[0], /^node\s+address\s+pid\s+live\s+answering$/);
  assert.match(lines[1], /^kafka-1\s+127\.0\.0\.2:9092\s+101\s+yes\s+yes: sees brokers 1, 2, 3$/);
  assert.match(lines[2], /^cassandra-3\s+127\.0\.0\.4:9042\s+-\s+no\s+no: nothing listens on the port$/);
  assert.ok(text.includes('1 of 2 nodes live'));
  assert.ok(text.includes('state dir: /s/cluster'));
  assert.ok(text.includes(`KAFKA_BROKERS=${addresses.kafkaBrokers} CASSANDRA_CONTACT_POINTS=${addresses.cassandraContactPoints} CASSANDRA_LOCAL_DC=datacenter1`));
});

test('up and down --cluster: one line per node', () => {
  const up = formatClusterUp({
    nodes: [
      { node: 'kafka-1', service: 'kafka', address: '127.0.0.2:9092', outcome: 'started', pid: 7, logFile: '', readyAfterSeconds: 21.25 },
      { node: 'cassandra-1', service: 'cassandra', address: '127.0.0.2:9042', outcome: 'already-running', pid: 8, logFile: '' },
    ],
    started: ['kafka-1'],
    addresses,
  });
  assert.match(up, /^kafka-1\s+127\.0\.0\.2:9092\s+started, pid 7, ready after 21\.3 s$/m);
  assert.match(up, /^cassandra-1\s+127\.0\.0\.2:9042\s+already running, pid 8$/m);
  assert.match(up, /use it with: KAFKA_BROKERS=/);
  assert.equal(formatClusterDown([{ node: 'kafka-2', outcome: 'stopped', pid: 9, detail: 'stopped pid 9' }]), 'kafka-2      stopped pid 9\n');
});

test('gossip status: the state word, and which expected nodes are not NORMAL yet', () => {
  assert.equal(gossipStatusWord('NORMAL,-9223372036854775808'), 'NORMAL');
  assert.equal(gossipStatusWord('shutdown,true'), 'shutdown');
  assert.equal(gossipStatusWord(null), 'unknown');
  assert.deepEqual(notNormal({ '127.0.0.1': 'NORMAL', '127.0.0.2': 'BOOT' }, ['127.0.0.1', '127.0.0.2', '127.0.0.3']), ['127.0.0.2 BOOT', '127.0.0.3 not in gossip']);
});
