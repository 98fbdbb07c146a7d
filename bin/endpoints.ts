/**
 * Before a topology runs: every Kafka / Cassandra / schema registry address its components will use must answer. Where
 * the address is the local services' own and nothing answers, the local services are started (with
 * progress); any other silent address is an error at once, naming it and saying how to fix it — the
 * original demo's worst failure was a wrong hostname that showed up only as an empty table.
 */
import { acceptsConnections } from '../services/probes.ts';
import { localServiceAddresses, servicesUp, type ServiceName } from '../services/local.ts';
import { UserFacingError } from '../topology/errors.ts';
import type { Endpoint } from '../topology/registry.ts';

const SERVICE_LABEL: Record<string, string> = { kafka: 'Kafka', cassandra: 'Cassandra', registry: 'the schema registry' };
const SERVICE_ENV: Record<string, string> = { kafka: 'KAFKA_BROKERS (or --brokers)', cassandra: 'CASSANDRA_CONTACT_POINTS (or --contact-points)', registry: 'SCHEMA_REGISTRY_URL' };

function hostPort(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address.trim());
  return match ? { host: match[1], port: Number(match[2]) } : { host: address.trim(), port: 0 };
}

/** Whether any of the comma-separated addresses accepts a TCP connection. */
async function anyAnswers(address: string): Promise<boolean> {
  const results = await Promise.all(address.split(',').map((a) => hostPort(a)).map(({ host, port }) => (port > 0 ? acceptsConnections(host, port, 1500) : Promise.resolve(false))));
  return results.some(Boolean);
}

export async function ensureEndpoints(endpoints: Endpoint[], options: { startLocal: boolean; log: (line: string) => void }): Promise<void> {
  const local = localServiceAddresses();
  const localAddress: Record<string, string> = { kafka: local.kafkaBrokers, cassandra: local.cassandraContactPoints, registry: new URL(local.schemaRegistryUrl).host };
  const unique = [...new Map(endpoints.map((e) => [`${e.service} ${e.address}`, e])).values()];
  const toStart = new Set<ServiceName>();
  const problems: string[] = [];
  for (const endpoint of unique) {
    if (await anyAnswers(endpoint.address)) continue;
    const label = SERVICE_LABEL[endpoint.service] ?? endpoint.service;
    if (localAddress[endpoint.service] === endpoint.address) {
      if (options.startLocal) toStart.add(endpoint.service as ServiceName);
      else problems.push(`nothing answers at ${endpoint.address} (${label}); start the local services with "npm run services -- up", or drop --no-services`);
    } else {
      problems.push(
        `cannot reach ${label} at ${endpoint.address}; check the address in ${SERVICE_ENV[endpoint.service] ?? 'the topology'}, or unset it to use the local services (npm run services -- up)`,
      );
    }
  }
  if (problems.length > 0) throw new UserFacingError(problems.join('\n  '));
  if (toStart.size > 0) {
    const names = [...toStart];
    options.log(`${names.map((n) => SERVICE_LABEL[n]).join(' and ')} not answering at the local default address: starting the local services (the first run downloads the servers from Maven Central)`);
    const result = await servicesUp({ only: names, log: options.log });
    for (const service of result.services) options.log(`${SERVICE_LABEL[service.name]} ready at ${service.address} (${service.detail}); it keeps running after this process — "npm run services -- down" stops it`);
  }
}
