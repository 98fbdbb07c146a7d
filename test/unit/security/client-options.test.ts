/**
 * Credentials travel from the topology file and the environment to the clients: a topology with
 * `${VAR}` credentials, parsed as `npm start` parses it, gives Kafka components the librdkafka SASL/TLS
 * options, the Cassandra sink a password login that reaches the server (a fake CQL server that records
 * it), and the http-poll source its Authorization header. No service is needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Kafka from 'node-rdkafka';
import { asyncScheduler } from 'rxjs';
import '../../../components.ts';
import { librdkafkaConfig, type KafkaClientConfig } from '../../../clients/kafka.ts';
import { parseTopology } from '../../../topology/load.ts';
import { silentLogger } from '../../../operations/logger.ts';
import { registry, type ComponentConfig } from '../../../topology/registry.ts';
import type { ComponentContext, ComponentKind } from '../../../topology/types.ts';
import { startFakeCql } from './fake-cql.ts';
import { componentContext } from '../../../testing/component-context.ts';

function context(path: string): ComponentContext {
  return componentContext({ topology: 'secure', pipeline: 'p', path, logger: silentLogger(), scheduler: asyncScheduler});
}

async function create<K extends ComponentKind>(kind: K, config: ComponentConfig) {
  return registry.create(kind, config, context(`pipelines.p.${kind}`));
}

const KAFKA_TOPOLOGY = `
pipelines:
  p:
    source:
      type: kafka
      brokers: \${KAFKA_BROKERS}
      topics: [users_created]
      groupId: g
      sasl: { mechanism: SCRAM-SHA-512, username: "\${KAFKA_USERNAME}", password: "\${KAFKA_PASSWORD}" }
      ssl: { caLocation: "\${KAFKA_CA}" }
    sink:
      type: kafka
      brokers: \${KAFKA_BROKERS}
      topic: out
      sasl: { mechanism: PLAIN, username: "\${KAFKA_USERNAME}", password: "\${KAFKA_PASSWORD}" }
    deadLetter:
      type: dead-letter
      brokers: \${KAFKA_BROKERS}
      topic: out_dead
      ssl: { certificateLocation: /etc/kafka/client.pem, keyLocation: /etc/kafka/client.key, keyPassword: "\${KAFKA_KEY_PASSWORD}" }
`;

test('Kafka: SASL and TLS settings from the environment become the librdkafka options of source, sink and dead-letter sink', () => {
  const env = { KAFKA_BROKERS: 'broker1:9093,broker2:9093', KAFKA_USERNAME: 'pipeline', KAFKA_PASSWORD: 'kafka-pw-0001', KAFKA_CA: '/etc/kafka/ca.pem', KAFKA_KEY_PASSWORD: 'key-pw-0001' };
  const { source, sink, deadLetter } = parseTopology(KAFKA_TOPOLOGY, 'secure.yaml', { env }).pipelines.p;
  const common = { 'bootstrap.servers': 'broker1:9093,broker2:9093', 'client.id': 'user-stream' };
  assert.deepEqual(librdkafkaConfig(source as unknown as KafkaClientConfig), {
    ...common,
    'security.protocol': 'sasl_ssl',
    'sasl.mechanisms': 'SCRAM-SHA-512',
    'sasl.username': 'pipeline',
    'sasl.password': 'kafka-pw-0001',
    'ssl.ca.location': '/etc/kafka/ca.pem',
  });
  assert.deepEqual(librdkafkaConfig(sink as unknown as KafkaClientConfig), {
    ...common,
    'security.protocol': 'sasl_plaintext',
    'sasl.mechanisms': 'PLAIN',
    'sasl.username': 'pipeline',
    'sasl.password': 'kafka-pw-0001',
  });
  assert.deepEqual(librdkafkaConfig(deadLetter as unknown as KafkaClientConfig), {
    ...common,
    'security.protocol': 'ssl',
    'ssl.certificate.location': '/etc/kafka/client.pem',
    'ssl.key.location': '/etc/kafka/client.key',
    'ssl.key.password': 'key-pw-0001',
  });
  // librdkafka itself takes the SASL options (it validates them when the client is made; nothing connects).
  assert.ok(Kafka.features.includes('sasl_scram') && Kafka.features.includes('ssl'), `librdkafka features: ${Kafka.features.join(', ')}`);
  const producer = new Kafka.Producer(librdkafkaConfig(sink as unknown as KafkaClientConfig) as Kafka.ProducerGlobalConfig);
  assert.equal(producer.isConnected(), false);
});

const cassandraTopology = (contactPoints: string, extra = '') => `
pipelines:
  p:
    source: { type: memory, channel: c }
    sink:
      type: cassandra
      contactPoints: ${contactPoints}
      username: \${CASSANDRA_USERNAME:-}
      password: \${CASSANDRA_PASSWORD:-}
      keyspace: ks
      table: users
      columns: { id: uuid }
      primaryKey: id
      connectTimeout: 2s
      ${extra}
`;

test('Cassandra: username and password from the environment are what the server receives; its echo of the password is masked', async () => {
  const server = await startFakeCql();
  try {
    const env = { CASSANDRA_USERNAME: 'pipeline', CASSANDRA_PASSWORD: 'cql-pw-0001' };
    const sink = await create('sink', parseTopology(cassandraTopology(server.address), 'secure.yaml', { env }).pipelines.p.sink);
    await assert.rejects(sink.start(), (error: Error) => {
      assert.equal(error.name, 'UserFacingError');
      assert.match(error.message, new RegExp(`^Cassandra at ${server.address} refused the credentials of user "pipeline" \\(Provided username pipeline and/or password \\*\\*\\* are incorrect\\)`));
      return true;
    });
    assert.deepEqual(server.credentials, [{ username: 'pipeline', password: 'cql-pw-0001' }], 'the driver logged in with the configured credentials (PlainTextAuthProvider)');

    // `${CASSANDRA_USERNAME:-}` unset: no login is attempted, and the error says a password is needed.
    const anonymous = await create('sink', parseTopology(cassandraTopology(server.address), 'secure.yaml', { env: {} }).pipelines.p.sink);
    await assert.rejects(anonymous.start(), /requires authentication .*\n {2}→ set username and password in the sink config/);
    assert.equal(server.credentials.length, 1, 'no credentials were sent');

    // `ssl: {}`: the connection opens with a TLS handshake, so the password never crosses in clear.
    const tls = await create('sink', parseTopology(cassandraTopology(server.address, 'ssl: {}'), 'secure.yaml', { env }).pipelines.p.sink);
    await assert.rejects(tls.start(), /cannot reach Cassandra/);
    assert.ok(server.tlsHellos >= 1, 'a TLS ClientHello');
    assert.equal(server.credentials.length, 1, 'no credentials in clear text');
  } finally {
    await server.close();
  }
});

test('http-poll: `authorization` from the environment and credentials in the url are sent with the requests', async () => {
  const seen: Array<string | undefined> = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"results":[]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const topology = `
pipelines:
  token:
    source: { type: http-poll, url: "http://127.0.0.1:${port}/api/", authorization: "\${API_AUTHORIZATION}", maxRequests: 1 }
    sink: { type: memory, channel: t }
  basic:
    source: { type: http-poll, url: "http://reader:\${API_PASSWORD}@127.0.0.1:${port}/api/", maxRequests: 1 }
    sink: { type: memory, channel: b }
`;
  const { pipelines } = parseTopology(topology, 'secure.yaml', { env: { API_AUTHORIZATION: 'Bearer tok-0001', API_PASSWORD: 'url-pw-0001' } });
  try {
    for (const name of ['token', 'basic']) {
      const source = await create('source', pipelines[name].source);
      await source.start();
      const deadline = Date.now() + 5000;
      while (!(await source.read(10, 100)).finished) assert.ok(Date.now() < deadline, `${name}: one request within 5 s`);
      await source.close();
    }
    assert.deepEqual(seen, ['Bearer tok-0001', `Basic ${Buffer.from('reader:url-pw-0001').toString('base64')}`]);
  } finally {
    server.close();
  }
});
