/**
 * Readiness of a cluster node, asked of that node itself: a broker is ready when a metadata request
 * through it lists every broker of the cluster (so the controller quorum has a leader and every
 * broker has registered); a Cassandra node is ready when it answers CQL and its gossip shows each
 * expected node NORMAL, i.e. joined the ring and owning its tokens (nodetool's "UN", asked over CQL:
 * the local servers run without JMX).
 */
import cassandra from 'cassandra-driver';
import Kafka from 'node-rdkafka';

export type BrokersSeen = { ok: true; brokerIds: number[] } | { ok: false; error: string };

/** The broker ids a metadata request through `address` (host:port) returns. */
export function kafkaBrokersSeenBy(address: string, timeoutMs: number): Promise<BrokersSeen> {
  return new Promise((resolve) => {
    const producer = new Kafka.Producer({ 'metadata.broker.list': address, 'socket.timeout.ms': timeoutMs, log_level: 0 });
    producer.connect({ timeout: timeoutMs }, (error, metadata) => {
      // A failed connect has already closed the client; disconnecting again would throw.
      if (error) resolve({ ok: false, error: error.message });
      else producer.disconnect(() => resolve({ ok: true, brokerIds: metadata.brokers.map((b) => b.id).sort((a, b) => a - b) }));
    });
  });
}

export type RingSeen = { ok: true; version: string; statusByHost: Record<string, string> } | { ok: false; error: string };

/**
 * The gossip status (NORMAL, BOOT, LEFT, shutdown…) of every node `contactPoint` (host:port) knows of,
 * by host, from its system_views.gossip_info; every query goes to that node only.
 */
export async function cassandraRingSeenBy(contactPoint: string, localDataCenter: string, timeoutMs: number): Promise<RingSeen> {
  const client = new cassandra.Client({
    contactPoints: [contactPoint],
    localDataCenter,
    socketOptions: { connectTimeout: timeoutMs, readTimeout: timeoutMs },
    policies: {
      loadBalancing: new cassandra.policies.loadBalancing.AllowListPolicy(new cassandra.policies.loadBalancing.DCAwareRoundRobinPolicy(localDataCenter), [contactPoint]),
      // One attempt per probe: the caller decides when to try again.
      reconnection: new cassandra.policies.reconnection.ConstantReconnectionPolicy(timeoutMs * 10),
    },
  });
  try {
    await client.connect();
    const version = String((await client.execute('SELECT release_version FROM system.local')).first()?.get('release_version'));
    const gossip = await client.execute('SELECT address, status_with_port, status FROM system_views.gossip_info');
    const statusByHost: Record<string, string> = {};
    for (const row of gossip.rows) statusByHost[String(row.get('address'))] = gossipStatusWord(row.get('status_with_port') ?? row.get('status'));
    return { ok: true, version, statusByHost };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}

/** `NORMAL,-9223372036854775808` → `NORMAL`; a node without a status yet → `unknown`. */
export function gossipStatusWord(value: unknown): string {
  return typeof value === 'string' && value !== '' ? value.split(',')[0] : 'unknown';
}

/** The expected hosts not (yet) NORMAL in `statusByHost`, each with what it shows instead. */
export function notNormal(statusByHost: Record<string, string>, expectedHosts: readonly string[]): string[] {
  return expectedHosts.filter((host) => statusByHost[host] !== 'NORMAL').map((host) => `${host} ${statusByHost[host] ?? 'not in gossip'}`);
}
