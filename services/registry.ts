/**
 * The schema registry: Apicurio Registry 2.4 (its Quarkus build, made once by services/registry/pom.xml;
 * see jars.ts), with in-memory storage, serving the Confluent Schema Registry API at
 * `/apis/ccompat/v7`. Confluent's own registry is not on Maven Central; Apicurio's Confluent-compatible
 * API registers and looks up schemas, returns the same id for the same schema and answers 409 to an
 * incompatible one, which is all the Avro format needs.
 *
 * In-memory storage means a restart forgets every schema: the topics' messages then name ids the
 * registry no longer knows. That suits development and tests (each `up` starts clean), not keeping data.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { serviceBasics, type ServiceDefinition } from './definition.ts';
import { REGISTRY_RUNNER } from './jars.ts';
import type { ProbeResult } from './probes.ts';
import { ownershipMarkers } from './processes.ts';
import { hostPort, SCHEMA_REGISTRY_API_PATH, type ServiceSettings } from './settings.ts';

/** The compatibility level `up` sets, the Confluent registry's default; Apicurio answers NONE for a subject without a setting. */
export const REGISTRY_COMPATIBILITY = 'BACKWARD';

/** The Confluent-compatible API of the local registry under `settings`. */
export function localRegistryUrl(settings: Pick<ServiceSettings, 'host' | 'registry'>): string {
  return `http://${hostPort(settings.host, settings.registry.port)}${SCHEMA_REGISTRY_API_PATH}`;
}

/** `GET /apis/registry/v2/system/info`, which names the version, then `GET <ccompat>/subjects`: the API the clients use answers. */
export async function probeRegistry(settings: Pick<ServiceSettings, 'host' | 'registry'>, timeoutMs: number): Promise<ProbeResult> {
  const base = `http://${hostPort(settings.host, settings.registry.port)}`;
  try {
    const info = await fetch(`${base}/apis/registry/v2/system/info`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!info.ok) return { ok: false, error: `GET /apis/registry/v2/system/info answered ${info.status}` };
    const { name, version } = (await info.json()) as { name?: string; version?: string };
    const subjects = await fetch(`${localRegistryUrl(settings)}/subjects`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!subjects.ok) return { ok: false, error: `GET ${SCHEMA_REGISTRY_API_PATH}/subjects answered ${subjects.status}` };
    const count = ((await subjects.json()) as unknown[]).length;
    return { ok: true, detail: `${name ?? 'registry'} ${version ?? '?'}, ${count} subject(s)` };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/** Sets the registry-wide compatibility level (`PUT /config`), which subjects without their own follow. */
export async function setRegistryCompatibility(url: string, level: string, timeoutMs = 10_000): Promise<void> {
  const response = await fetch(`${url}/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: level }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`PUT ${url}/config answered ${response.status}: ${await response.text()}`);
}

export const registry: ServiceDefinition = {
  ...serviceBasics({ name: 'registry', title: 'schema registry', section: (settings) => settings.registry, envPrefix: 'SCHEMA_REGISTRY' }),
  otherPorts: () => [],
  probeDescription: 'GET /apis/registry/v2/system/info and GET /apis/ccompat/v7/subjects',
  probe: probeRegistry,
  stopGraceMs: 15_000,

  async prepare(ctx) {
    // Only the directory for its log and pid file: the configuration is on the command line, the storage in memory.
    await mkdir(ctx.dirs.root, { recursive: true });
  },

  async afterReady(settings, log) {
    await setRegistryCompatibility(localRegistryUrl(settings), REGISTRY_COMPATIBILITY);
    log(`registry: compatibility level ${REGISTRY_COMPATIBILITY} (subjects without their own setting follow it)`);
  },

  javaArgs(ctx) {
    const { settings, dirs } = ctx;
    return [
      `-Xmx${settings.registry.heap}`,
      '-XX:+UseSerialGC',
      '-XX:+ExitOnOutOfMemoryError',
      `-XX:ErrorFile=${join(dirs.root, 'hs_err_pid%p.log')}`,
      `-Dquarkus.http.host=${settings.host}`,
      `-Dquarkus.http.port=${settings.registry.port}`,
      // Loopback only, for development: no authentication, no web console.
      '-Dregistry.auth.enabled=false',
      ...ownershipMarkers('registry', settings.stateDir),
      '-jar',
      join(ctx.libDir, REGISTRY_RUNNER),
    ];
  },
};
