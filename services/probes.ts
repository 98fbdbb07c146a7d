/**
 * "Does it really answer?" checks. A listening port proves little (a JVM opens Kafka's port before
 * the broker can serve, and another program may hold it), so readiness means a real request: a
 * Kafka metadata request through node-rdkafka, a CQL query through cassandra-driver.
 */
import { createConnection, createServer } from 'node:net';
import cassandra from 'cassandra-driver';
import Kafka from 'node-rdkafka';

export type ProbeResult = { ok: true; detail: string } | { ok: false; error: string };

/** Whether something accepts TCP connections on host:port. */
export function acceptsConnections(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Whether host:port can be bound right now, i.e. a server started on it will not fail with "address in use". */
export function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A Kafka metadata request to `brokers` (host:port[,...]): ok with the broker count when it answers. */
export function probeKafka(brokers: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const producer = new Kafka.Producer({
      'metadata.broker.list': brokers,
      'socket.timeout.ms': timeoutMs,
      // Connection-refused chatter is expected while a broker starts; the outcome is what counts.
      log_level: 0,
    });
    producer.connect({ timeout: timeoutMs }, (error, metadata) => {
      // A failed connect has already closed the client; disconnecting again would throw.
      if (error) resolve({ ok: false, error: error.message });
      else producer.disconnect(() => resolve({ ok: true, detail: `${metadata.brokers.length} broker(s), ${metadata.topics.length} topic(s)` }));
    });
  });
}

/** `SELECT release_version FROM system.local` on `contactPoint` (host:port): ok with the version when it answers. */
export async function probeCassandra(contactPoint: string, localDataCenter: string, timeoutMs: number): Promise<ProbeResult> {
  const client = new cassandra.Client({
    contactPoints: [contactPoint],
    localDataCenter,
    socketOptions: { connectTimeout: timeoutMs, readTimeout: timeoutMs },
    // One attempt per probe: the caller decides when to try again.
    policies: { reconnection: new cassandra.policies.reconnection.ConstantReconnectionPolicy(timeoutMs * 10) },
  });
  try {
    await client.connect();
    const result = await client.execute('SELECT release_version FROM system.local');
    return { ok: true, detail: `Cassandra ${String(result.first()?.get('release_version'))}` };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}
