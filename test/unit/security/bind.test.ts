/**
 * The HTTP servers the project opens in-process listen on 127.0.0.1 unless told otherwise: the
 * bundled RandomUser server and the Prometheus metrics endpoint (with the topology's defaults). The
 * kernel's socket table says where a socket really listens. (The commands that start them, and the
 * local Kafka and Cassandra, are checked in test/integration/security.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import '../../../components.ts';
import { startRandomUserServer } from '../../../randomuser/server.ts';
import { parseTopology } from '../../../topology/load.ts';
import { metricsEndpoint, serveMetrics } from '../../../operations/metrics.ts';
import { isLoopbackAddress, listeningAddresses } from './listeners.ts';

function assertLoopbackOnly(port: number, what: string): void {
  const addresses = listeningAddresses(port);
  assert.ok(addresses.length > 0, `${what}: something listens on ${port}`);
  assert.ok(addresses.every(isLoopbackAddress), `${what} listens on ${addresses.join(', ')}`);
}

test('the sensor works: a server bound to every interface is seen as such', async () => {
  const { createServer } = await import('node:http');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  try {
    const addresses = listeningAddresses((server.address() as { port: number }).port);
    assert.ok(addresses.length > 0 && !addresses.some(isLoopbackAddress), addresses.join(', '));
  } finally {
    server.close();
  }
});

test('the RandomUser server, started without a host, listens on 127.0.0.1 only', async () => {
  const server = await startRandomUserServer({ port: 0 });
  try {
    assert.equal(server.host, '127.0.0.1');
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
    assertLoopbackOnly(server.port, 'the RandomUser server');
  } finally {
    await server.close();
  }
});

test('the metrics endpoint of a topology that only asks for a port listens on 127.0.0.1 only', async () => {
  const { metrics } = parseTopology('pipelines: { p: { source: { type: memory, channel: a }, sink: { type: memory, channel: b } } }\nmetrics: { port: 0 }', 'm.yaml');
  const at = metricsEndpoint(metrics);
  assert.deepEqual(at, { host: '127.0.0.1', port: 0 });
  assert.equal(metricsEndpoint(metrics, { port: 0 })?.host, '127.0.0.1', '--metrics-port alone keeps loopback');
  const server = await serveMetrics(new Registry(), at!);
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    assertLoopbackOnly(server.address.port, 'the metrics endpoint');
  } finally {
    await server.close();
  }
});
