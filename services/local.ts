/**
 * Local services: a real Kafka broker, a real Cassandra node and a schema registry (Apicurio, with the
 * Confluent-compatible API), run as Java processes on loopback for development and tests. `servicesUp` fetches the jars once (jars.ts), starts whatever is not
 * already answering, and waits until each answers a real request; `servicesDown` stops exactly the
 * processes it started (by pid file, never by name); `servicesStatus` says what runs where.
 *
 * Progress goes to the `log` option, never straight to the console, so a CLI, the test harness or a
 * pipeline can each decide where it shows.
 *
 * @example
 * const up = await servicesUp({ log: console.error });
 * // up.started: the services this call started (stop them with servicesDown({ only: up.started }))
 * // up.addresses: { kafkaBrokers: '127.0.0.1:9092', cassandraContactPoints: '127.0.0.1:9042', ... }
 *
 * See docs/services.md; bin/services.ts is the CLI.
 */
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserFacingError } from '../topology/errors.ts';
import { cassandra } from './cassandra.ts';
import { serviceDirs, type LaunchContext, type ServiceDefinition } from './definition.ts';
import { findJava } from './java.ts';
import { cachedJars, ensureServerJars, readPinnedVersions } from './jars.ts';
import { kafka } from './kafka.ts';
import { localRegistryUrl, registry } from './registry.ts';
import { describeLogTail } from './log-tail.ts';
import { acceptsConnections, canBind } from './probes.ts';
import { isAlive, isOurProcessRunning, readPidFile, removePidFile, spawnDetached, stopProcess, withLock, writePidFile, type PidRecord } from './processes.ts';
import { readSettings, SERVICE_NAMES, type ServiceName, type ServiceSettings } from './settings.ts';
import { beginUse, endUse } from './shared-use.ts';

export {
  DEFAULT_CASSANDRA_CONTACT_POINTS,
  DEFAULT_CASSANDRA_LOCAL_DC,
  DEFAULT_KAFKA_BROKERS,
  DEFAULT_SCHEMA_REGISTRY_URL,
  ENVIRONMENT_VARIABLES,
  SERVICE_NAMES,
  type ServiceName,
} from './settings.ts';

const REPO_DIR = fileURLToPath(new URL('..', import.meta.url));
const DEFINITIONS: Record<ServiceName, ServiceDefinition> = { kafka, cassandra, registry };

export interface ServicesOptions {
  /** Which services to act on (default: all). */
  only?: readonly ServiceName[];
  /** Receives one line per progress step (default: discarded). */
  log?: (line: string) => void;
  /** Where settings are read from (default: process.env). */
  env?: Record<string, string | undefined>;
}

export interface ServicesUpOptions extends ServicesOptions {
  /** Aborting stops what this call has started so far, then rejects. */
  signal?: AbortSignal;
}

/** How clients reach the services under the current settings. */
export interface ServiceAddresses {
  kafkaBrokers: string;
  cassandraContactPoints: string;
  cassandraLocalDc: string;
  /** The registry's Confluent-compatible API, e.g. http://127.0.0.1:8081/apis/ccompat/v7. */
  schemaRegistryUrl: string;
}

export interface ServiceUp {
  name: ServiceName;
  address: string;
  /** started: by this call; already-running: started earlier by this tool; external: something else answers there. */
  outcome: 'started' | 'already-running' | 'external';
  /** Of our process (started or already-running). */
  pid?: number;
  logFile?: string;
  /** What the readiness request answered, e.g. `Cassandra 5.0.9`. */
  detail: string;
}

export interface ServicesUpResult {
  services: ServiceUp[];
  /** The services this call started: what a caller that cleans up after itself should stop. */
  started: ServiceName[];
  addresses: ServiceAddresses;
}

export interface ServiceDown {
  name: ServiceName;
  outcome: 'stopped' | 'killed' | 'not-running';
  pid?: number;
  detail: string;
}

export interface ServiceStatus {
  name: ServiceName;
  address: string;
  version: string;
  /** Whether the version's jars are in the cache. */
  jarsCached: boolean;
  /** Our process, if it is running. */
  pid?: number;
  /** Whether something answers the readiness request at `address`. */
  answering: boolean;
  /** The readiness answer, or why there was none. */
  answer: string;
  /** ours: our process serves it; external: something we did not start answers; none: nothing answers. */
  managedBy: 'ours' | 'external' | 'none';
  stateDir: string;
  logFile: string;
}

const discard = (): void => undefined;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The addresses of the local services under `env` (default process.env), whether or not they run. */
export function localServiceAddresses(env: Record<string, string | undefined> = process.env): ServiceAddresses {
  const settings = readSettings(env, REPO_DIR);
  return {
    kafkaBrokers: kafka.address(settings),
    cassandraContactPoints: cassandra.address(settings),
    cassandraLocalDc: settings.cassandra.localDc,
    schemaRegistryUrl: localRegistryUrl(settings),
  };
}

/**
 * Starts the selected services unless they already answer, and resolves when every one of them
 * answers its readiness request. On any failure it stops what it started, then rejects with a
 * UserFacingError that quotes the failing server's log.
 */
export async function servicesUp(opts: ServicesUpOptions = {}): Promise<ServicesUpResult> {
  const log = opts.log ?? discard;
  const env = opts.env ?? process.env;
  const settings = readSettings(env, REPO_DIR);
  const selected = selection(opts.only);

  return withLock(join(settings.stateDir, 'services.lock'), log, async () => {
    const found = new Map<ServiceName, ServiceUp>();
    const toStart: ServiceDefinition[] = [];
    for (const def of selected) {
      const existing = await findRunning(def, settings, log, opts.signal);
      if (existing) found.set(def.name, existing);
      else toStart.push(def);
    }

    const started: ServiceUp[] = [];
    if (toStart.length > 0) {
      const java = await findJava(env);
      const versions = await readPinnedVersions(REPO_DIR);
      // One Maven at a time: concurrent runs can corrupt files in the shared ~/.m2 repository.
      const libDirs = new Map<ServiceName, string>();
      for (const def of toStart) {
        const jars = await ensureServerJars({ repoDir: REPO_DIR, cacheDir: settings.cacheDir, service: def.name, version: versions[def.name], log });
        libDirs.set(def.name, jars.libDir);
      }
      const outcomes = await Promise.allSettled(
        toStart.map((def) => startService(def, { repoDir: REPO_DIR, settings, dirs: serviceDirs(settings.stateDir, def.name), java, libDir: libDirs.get(def.name)!, log }, opts.signal)),
      );
      const failures: string[] = [];
      for (const outcome of outcomes) {
        if (outcome.status === 'fulfilled') started.push(outcome.value);
        else failures.push(outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason));
      }
      if (failures.length > 0) {
        for (const service of started) {
          log(`${service.name}: stopping it again, since not every service came up`);
          await stopOurs(DEFINITIONS[service.name], settings, log);
        }
        throw new UserFacingError(failures.join('\n\n'));
      }
    }

    const services = selected.map((def) => found.get(def.name) ?? started.find((s) => s.name === def.name)!);
    // Our own servers only: a registry someone else runs keeps the settings its owner chose.
    for (const service of services) {
      if (service.outcome !== 'external') await DEFINITIONS[service.name].afterReady?.(settings, log);
    }
    return { services, started: started.map((s) => s.name), addresses: localServiceAddresses(env) };
  });
}

/** Stops the selected services' processes that this tool started; leaves anything else alone. */
export async function servicesDown(opts: ServicesOptions = {}): Promise<ServiceDown[]> {
  const log = opts.log ?? discard;
  const settings = readSettings(opts.env ?? process.env, REPO_DIR);
  return withLock(join(settings.stateDir, 'services.lock'), log, () => Promise.all(selection(opts.only).map((def) => stopOurs(def, settings, log))));
}

/** What runs where: our pid, whether the address answers, where state and logs are. */
export async function servicesStatus(opts: Omit<ServicesOptions, 'log'> = {}): Promise<ServiceStatus[]> {
  const settings = readSettings(opts.env ?? process.env, REPO_DIR);
  const versions = await readPinnedVersions(REPO_DIR);
  return Promise.all(
    selection(opts.only).map(async (def): Promise<ServiceStatus> => {
      const dirs = serviceDirs(settings.stateDir, def.name);
      const record = await readPidFile(dirs.pidFile);
      const running = record !== undefined && (await isOurProcessRunning(record));
      const { port } = def.port(settings);
      const listening = await acceptsConnections(settings.host, port);
      const probe = listening ? await def.probe(settings, 5000) : { ok: false as const, error: 'nothing listens on the port' };
      return {
        name: def.name,
        address: def.address(settings),
        version: versions[def.name],
        jarsCached: (await cachedJars(settings.cacheDir, def.name, versions[def.name])) !== undefined,
        pid: running ? record.pid : undefined,
        answering: probe.ok,
        answer: probe.ok ? probe.detail : firstLine(probe.error),
        managedBy: running ? 'ours' : probe.ok ? 'external' : 'none',
        stateDir: dirs.root,
        logFile: dirs.logFile,
      };
    }),
  );
}

/** A registered user of the local services; see `useServices`. */
export interface ServicesUse {
  /** Ends this use; stops `started` (what this user's servicesUp started) unless others still use them. */
  release(started: readonly ServiceUp[]): Promise<ServiceDown[]>;
}

/**
 * For callers that stop what they start but may share the services with other such callers at the
 * same time (test runs): registers this process as a user before `servicesUp`. Its `release` stops
 * the services this user started only if no other registered process is still using them; if one
 * is, they are handed over and the last user to release stops them (services/shared-use.ts).
 */
export async function useServices(opts: Pick<ServicesOptions, 'log' | 'env'> = {}): Promise<ServicesUse> {
  const log = opts.log ?? discard;
  const settings = readSettings(opts.env ?? process.env, REPO_DIR);
  await beginUse(settings.stateDir);
  return {
    async release(started) {
      const ours = started.filter((s) => s.outcome === 'started' && s.pid !== undefined).map((s) => ({ service: s.name, pid: s.pid! }));
      const { stopNow, stillUsedBy } = await endUse(settings.stateDir, ours, { isAlive });
      if (stillUsedBy.length > 0) {
        if (ours.length > 0) log(`leaving ${ours.map((s) => s.service).join(' and ')} running: still in use by pid ${stillUsedBy.join(', ')}, the last user stops it`);
        return [];
      }
      // Only what still runs under the handed-over pid: a service restarted since by someone else is theirs.
      const names = new Set<ServiceName>();
      for (const { service, pid } of stopNow) {
        const record = await readPidFile(serviceDirs(settings.stateDir, service).pidFile);
        if (record?.pid === pid) names.add(service);
      }
      return names.size > 0 ? servicesDown({ only: [...names], log, env: opts.env }) : [];
    },
  };
}

function selection(only: readonly ServiceName[] | undefined): ServiceDefinition[] {
  const names = only ?? SERVICE_NAMES;
  for (const name of names) {
    if (!SERVICE_NAMES.includes(name)) throw new UserFacingError(`unknown service "${name}"`, `the services are: ${SERVICE_NAMES.join(', ')}`);
  }
  return SERVICE_NAMES.filter((name) => names.includes(name)).map((name) => DEFINITIONS[name]);
}

/**
 * The service when it already runs: our own process from an earlier `up` (waited for, in case it
 * is still starting), or something else that answers like the real thing. Undefined when it must be
 * started; throws when it cannot be (a port held by something else).
 */
async function findRunning(def: ServiceDefinition, settings: ServiceSettings, log: (line: string) => void, signal?: AbortSignal): Promise<ServiceUp | undefined> {
  const dirs = serviceDirs(settings.stateDir, def.name);
  const address = def.address(settings);
  const record = await readPidFile(dirs.pidFile);
  if (record && (await isOurProcessRunning(record))) {
    if (record.address !== address) {
      throw new UserFacingError(
        `${def.name}: already running at ${record.address} (pid ${record.pid}), started with other settings than the current ${address}`,
        'run `npm run services -- down` first, then `up` again with the settings you want',
      );
    }
    const detail = await waitUntilReady(def, settings, record, log, signal);
    log(`${def.name}: already running at ${address} (pid ${record.pid}, started ${record.startedAt}): ${detail}`);
    return { name: def.name, address, outcome: 'already-running', pid: record.pid, logFile: record.logFile, detail };
  }
  if (record) {
    log(`${def.name}: removing stale pid file ${dirs.pidFile} (pid ${record.pid} is no longer our server)`);
    await removePidFile(dirs.pidFile);
  }

  const { port, envVar } = def.port(settings);
  if (await acceptsConnections(settings.host, port)) {
    const probe = await def.probe(settings, 5000);
    if (probe.ok) {
      log(`${def.name}: ${address} already answers (${probe.detail}) and was not started here; using it as it is`);
      return { name: def.name, address, outcome: 'external', detail: probe.detail };
    }
    throw new UserFacingError(
      `${def.name}: port ${port} on ${settings.host} is taken by a program that does not answer ${def.probeDescription} (${firstLine(probe.error)}), so it is not a working ${def.title}`,
      `stop that program (\`ss -ltnp 'sport = :${port}'\` names it) or set ${envVar} to a free port`,
    );
  }
  for (const other of [{ port, envVar, what: 'client' }, ...def.otherPorts(settings)]) {
    if (!(await canBind(settings.host, other.port))) {
      throw new UserFacingError(
        `${def.name}: cannot start, its ${other.what} port ${other.port} on ${settings.host} is already in use`,
        `stop the program holding it (\`ss -ltnp 'sport = :${other.port}'\` names it) or set ${other.envVar} to a free port`,
      );
    }
  }
  return undefined;
}

async function startService(def: ServiceDefinition, ctx: LaunchContext, signal?: AbortSignal): Promise<ServiceUp> {
  const { settings, dirs, log } = ctx;
  await def.prepare(ctx);
  // Each start gets a fresh log, so the tail quoted on failure is about this start; one previous log is kept.
  if (existsSync(dirs.logFile)) await rename(dirs.logFile, `${dirs.logFile}.1`);

  const child = spawnDetached(ctx.java.path, def.javaArgs(ctx), { cwd: dirs.root, logFile: dirs.logFile });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  if (child.pid === undefined) throw new UserFacingError(`${def.name}: could not run ${ctx.java.path}: ${(await spawnError).message}`);
  let exit = '';
  child.once('exit', (code, sig) => (exit = sig ? `killed by ${sig}` : `exited with code ${code}`));

  const record: PidRecord = { service: def.name, pid: child.pid, address: def.address(settings), stateDir: settings.stateDir, logFile: dirs.logFile, startedAt: new Date().toISOString() };
  await writePidFile(dirs.pidFile, record);
  log(`${def.name}: started ${def.title} (pid ${child.pid}), log: ${dirs.logFile}`);
  const startedAt = Date.now();
  try {
    const detail = await waitUntilReady(def, settings, record, log, signal, () => exit);
    log(`${def.name}: ready at ${record.address} after ${((Date.now() - startedAt) / 1000).toFixed(1)} s (${detail})`);
    return { name: def.name, address: record.address, outcome: 'started', pid: child.pid, logFile: dirs.logFile, detail };
  } catch (error) {
    const stopped = await stopProcess(record, { graceMs: 10_000, log }).catch(() => 'not-running');
    if (stopped !== 'not-running') log(`${def.name}: stopped pid ${record.pid} again, since it did not come up`);
    await removePidFile(dirs.pidFile);
    throw error;
  }
}

/** Polls until `def` answers its readiness request; rejects (quoting the log) when the process dies or time runs out. */
async function waitUntilReady(
  def: ServiceDefinition,
  settings: ServiceSettings,
  record: PidRecord,
  log: (line: string) => void,
  signal?: AbortSignal,
  exitDescription: () => string = () => '',
): Promise<string> {
  const { ms: timeoutMs, envVar } = def.readyTimeout(settings);
  const { port } = def.port(settings);
  const started = Date.now();
  let nextReport = started + 10_000;
  let lastError = 'nothing listens on the port yet';
  let announced = false;
  while (true) {
    if (signal?.aborted) throw new UserFacingError(`${def.name}: interrupted while waiting for it to start`);
    if (await acceptsConnections(settings.host, port)) {
      const probe = await def.probe(settings, 5000);
      if (probe.ok) return probe.detail;
      lastError = firstLine(probe.error);
    }
    if (!(await isOurProcessRunning(record))) {
      throw new UserFacingError(
        `${def.name}: ${def.title} (pid ${record.pid}) ${exitDescription() || 'exited'} before it answered ${def.probeDescription}.\n${await describeLogTail(record.logFile)}`,
        `read ${record.logFile} for the cause; fix it, then run \`npm run services -- up\` again`,
      );
    }
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs) {
      throw new UserFacingError(
        `${def.name}: ${def.title} (pid ${record.pid}) did not answer ${def.probeDescription} at ${record.address} within ${Math.round(timeoutMs / 1000)} s (last attempt: ${lastError}).\n${await describeLogTail(record.logFile)}`,
        `read ${record.logFile}; on a busy machine raise ${envVar} (seconds)`,
      );
    }
    // Said only once the first attempt failed: a server that is already up answers at once.
    if (!announced) {
      announced = true;
      log(`${def.name}: waiting for ${record.address} to answer ${def.probeDescription} (up to ${Math.round(timeoutMs / 1000)} s)`);
    } else if (Date.now() >= nextReport) {
      nextReport += 10_000;
      log(`${def.name}: still starting… ${Math.round(elapsed / 1000)} s of ${Math.round(timeoutMs / 1000)} s (${lastError})`);
    }
    await sleep(1000);
  }
}

async function stopOurs(def: ServiceDefinition, settings: ServiceSettings, log: (line: string) => void): Promise<ServiceDown> {
  const dirs = serviceDirs(settings.stateDir, def.name);
  const record = await readPidFile(dirs.pidFile);
  if (!record) {
    const { port } = def.port(settings);
    const other = (await acceptsConnections(settings.host, port)) ? `; something else listens on ${def.address(settings)} (not started here, left alone)` : '';
    return { name: def.name, outcome: 'not-running', detail: `not running${other}` };
  }
  const wasRunning = await isOurProcessRunning(record);
  if (wasRunning) log(`${def.name}: stopping pid ${record.pid} (SIGTERM)…`);
  const outcome = await stopProcess(record, { graceMs: def.stopGraceMs, log });
  await removePidFile(dirs.pidFile);
  const detail = outcome === 'not-running' ? `not running (removed the stale pid file of pid ${record.pid})` : `${outcome} pid ${record.pid}`;
  return { name: def.name, outcome, pid: record.pid, detail };
}

function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}

