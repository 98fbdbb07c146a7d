/**
 * The local cluster: `npm run services -- up --cluster` starts three Kafka brokers (each also a KRaft
 * controller) and a three-node Cassandra ring as processes on 127.0.0.2-4 (cluster-settings.ts);
 * `down --cluster` stops exactly those processes; `status --cluster` shows each node.
 *
 * The brokers start together: none can serve before a majority of controllers elects a leader. The
 * Cassandra nodes start one at a time, each once the previous one is NORMAL in every node's gossip:
 * nodes joining at once can race for the schema and the ring. Kafka and the Cassandra ring start side
 * by side. If anything fails, what this call started is stopped again.
 *
 * @example
 * const up = await clusterUp({ log: console.error });
 * // up.addresses: { kafkaBrokers: '127.0.0.2:9092,127.0.0.3:9092,127.0.0.4:9092', ... }
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserFacingError } from '../topology/errors.ts';
import { cassandraNodeArgs, kafkaNodeArgs, prepareCassandraNode, prepareKafkaNode, type NodeLaunchContext } from './cluster-nodes.ts';
import { cassandraRingSeenBy, kafkaBrokersSeenBy, notNormal } from './cluster-probes.ts';
import { checkPortsFree, findOurNode, spawnNode, stopNode, waitFor, type NodeDown } from './cluster-process.ts';
import { clusterAddresses, clusterDir, clusterNodes, readClusterSettings, type ClusterNode, type ClusterSettings } from './cluster-settings.ts';
import { findJava } from './java.ts';
import { ensureServerJars, readPinnedVersions } from './jars.ts';
import { acceptsConnections } from './probes.ts';
import type { ServicesOptions, ServicesUpOptions } from './local.ts';
import { isOurProcessRunning, readPidFile, withLock, type PidRecord } from './processes.ts';
import { SERVICE_NAMES, type ServiceName } from './settings.ts';

export type { NodeDown } from './cluster-process.ts';

const REPO_DIR = fileURLToPath(new URL('..', import.meta.url));
const PROBE_TIMEOUT_MS = 5000;

/**
 * The single-node services' options (which services, progress lines, settings, abort), and `nodes`:
 * only these nodes (e.g. `['cassandra-2']`) are started or stopped — to restart one node, or to leave one
 * down. The nodes' own services are implied.
 */
export type ClusterOptions = ServicesOptions & { nodes?: readonly string[] };
export type ClusterUpOptions = ServicesUpOptions & { nodes?: readonly string[] };

export interface NodeUp {
  node: string;
  service: ServiceName;
  address: string;
  /** started: by this call; already-running: started earlier by `up --cluster`. */
  outcome: 'started' | 'already-running';
  pid: number;
  logFile: string;
  /** Seconds from this call's start of the node to its readiness (started nodes only). */
  readyAfterSeconds?: number;
}

export interface ClusterUpResult {
  nodes: NodeUp[];
  /** The nodes this call started. */
  started: string[];
  addresses: ReturnType<typeof clusterAddresses>;
}

export interface NodeStatus {
  node: string;
  service: ServiceName;
  address: string;
  /** Our process of the node, if it is running. */
  pid?: number;
  /** Whether our process of the node runs. */
  live: boolean;
  /** Whether the node answers its readiness request (it may still be starting, or be someone else's). */
  answering: boolean;
  /** What it answered (the brokers or ring it sees), or why there was no answer. */
  answer: string;
  logFile: string;
}

const discard = (): void => undefined;

/** The addresses of the local cluster under `env` (default process.env), whether or not it runs. */
export function localClusterAddresses(env: Record<string, string | undefined> = process.env): ReturnType<typeof clusterAddresses> {
  return clusterAddresses(readClusterSettings(env, REPO_DIR));
}

/** Where the local cluster keeps its nodes under `env`, and its addresses. */
export function localClusterLocation(env: Record<string, string | undefined> = process.env): { clusterDir: string; addresses: ReturnType<typeof clusterAddresses> } {
  const settings = readClusterSettings(env, REPO_DIR);
  return { clusterDir: clusterDir(settings.stateDir), addresses: clusterAddresses(settings) };
}

/** Starts every node of the selected services that is not running yet and resolves when all are ready. */
export async function clusterUp(opts: ClusterUpOptions = {}): Promise<ClusterUpResult> {
  const log = opts.log ?? discard;
  const env = opts.env ?? process.env;
  const settings = readClusterSettings(env, REPO_DIR);
  const { services, wanted } = nodeSelection(settings, opts);

  return withLock(join(settings.stateDir, 'services.lock'), log, async () => {
    const running = new Map<string, PidRecord>();
    for (const node of services.flatMap((service) => clusterNodes(settings, service))) {
      const record = await findOurNode(node, log);
      if (record) {
        running.set(node.name, record);
        if (wanted.has(node.name)) log(`${node.name}: already running at ${node.address} (pid ${record.pid}, started ${record.startedAt})`);
      } else if (wanted.has(node.name)) await checkPortsFree(node, settings);
    }

    const libDirs = new Map<ServiceName, string>();
    let java = { path: 'java', major: 0, description: '' };
    if ([...wanted].some((name) => !running.has(name))) {
      java = await findJava(env);
      const versions = await readPinnedVersions(REPO_DIR);
      // One Maven at a time: concurrent runs can corrupt files in the shared ~/.m2 repository.
      for (const service of services) {
        libDirs.set(service, (await ensureServerJars({ repoDir: REPO_DIR, cacheDir: settings.cacheDir, service, version: versions[service], log })).libDir);
      }
    }

    const started: NodeUp[] = [];
    const launch = (service: ServiceName): NodeLaunchContext => ({ repoDir: REPO_DIR, settings, java, libDir: libDirs.get(service) ?? '', log });
    // The first failure stops the other service's wait too, so what started is stopped without delay.
    const stopWaiting = new AbortController();
    opts.signal?.addEventListener('abort', () => stopWaiting.abort(), { once: true });
    const run = { settings, running, wanted, started, log, signal: stopWaiting.signal };
    const failures: string[] = [];
    await Promise.all(
      services.map((service) =>
        (service === 'kafka' ? kafkaUp(run, launch('kafka')) : cassandraUp(run, launch('cassandra'))).catch((error: unknown) => {
          // A wait given up because the other service failed is not a failure of its own.
          if (!stopWaiting.signal.aborted || opts.signal?.aborted) failures.push(error instanceof Error ? error.message : String(error));
          stopWaiting.abort();
        }),
      ),
    );
    if (failures.length > 0) {
      if (started.length > 0) log(`stopping the ${started.length} node(s) this command started, since not every node came up`);
      const startedNodes = clusterNodes(settings).filter((node) => started.some((up) => up.node === node.name));
      await Promise.all(startedNodes.map((node) => stopNode(node, log).catch(() => undefined)));
      throw new UserFacingError(failures.join('\n\n'));
    }

    const nodes = services.flatMap((service) =>
      nodesToRun(run, service).map((node): NodeUp => {
        const ours = started.find((up) => up.node === node.name);
        if (ours) return ours;
        const record = running.get(node.name)!;
        return { node: node.name, service, address: node.address, outcome: 'already-running', pid: record.pid, logFile: record.logFile };
      }),
    );
    return { nodes, started: started.map((up) => up.node), addresses: clusterAddresses(settings) };
  });
}

/** Stops our processes of the selected services' nodes (all of them at once); anything else is left alone. */
export async function clusterDown(opts: ClusterOptions = {}): Promise<NodeDown[]> {
  const log = opts.log ?? discard;
  const settings = readClusterSettings(opts.env ?? process.env, REPO_DIR);
  const { services, wanted } = nodeSelection(settings, opts);
  const nodes = services.flatMap((service) => clusterNodes(settings, service)).filter((node) => wanted.has(node.name));
  return withLock(join(settings.stateDir, 'services.lock'), log, () => Promise.all(nodes.map((node) => stopNode(node, log))));
}

/** Each node of the selected services: address, our pid, live or not, and what it answers. */
export async function clusterStatus(opts: Omit<ClusterOptions, 'log'> = {}): Promise<NodeStatus[]> {
  const settings = readClusterSettings(opts.env ?? process.env, REPO_DIR);
  const nodes = selection(opts.only).flatMap((service) => clusterNodes(settings, service));
  return Promise.all(
    nodes.map(async (node): Promise<NodeStatus> => {
      const record = await readPidFile(node.dirs.pidFile);
      const live = record !== undefined && (await isOurProcessRunning(record));
      const probe = await probeNode(node, settings);
      return { node: node.name, service: node.service, address: node.address, pid: live ? record.pid : undefined, live, ...probe, logFile: node.dirs.logFile };
    }),
  );
}

interface UpRun {
  settings: ClusterSettings;
  /** Our nodes that were running before this call, by name. */
  running: Map<string, PidRecord>;
  /** The nodes this call is to start when they are not running (`nodes`, or every node of the services). */
  wanted: ReadonlySet<string>;
  /** Filled in as nodes start, so a failure elsewhere can stop them. */
  started: NodeUp[];
  log: (line: string) => void;
  signal?: AbortSignal;
}

/** Starts the brokers that are not running, all at once, then waits until each lists every broker. */
async function kafkaUp(run: UpRun, ctx: NodeLaunchContext): Promise<void> {
  const { settings, log } = run;
  const nodes = nodesToRun(run, 'kafka');
  const watch: Array<{ node: ClusterNode; record: PidRecord }> = [];
  const startedAt = new Map<string, number>();
  for (const node of nodes.filter((n) => !run.running.has(n.name))) {
    // Formatting runs a short JVM: one at a time, so the brokers' own starts do not queue behind three of them.
    await prepareKafkaNode(node, ctx);
    const record = await spawnNode(node, settings.stateDir, ctx.java.path, kafkaNodeArgs(node, ctx), log);
    startedAt.set(node.name, Date.now());
    run.started.push({ node: node.name, service: 'kafka', address: node.address, outcome: 'started', pid: record.pid, logFile: record.logFile });
    watch.push({ node, record });
  }
  const expected = nodes.map((node) => node.id);
  const ready = new Set<string>();
  await waitFor({
    what: `the Kafka controller quorum and all ${nodes.length} brokers (${nodes.map((n) => n.address).join(', ')})`,
    timeoutMs: settings.kafka.readyTimeoutMs,
    envVar: 'KAFKA_READY_TIMEOUT',
    watch,
    log,
    signal: run.signal,
    attempt: async () => {
      const missing: string[] = [];
      for (const node of nodes.filter((n) => !ready.has(n.name))) {
        const seen = (await acceptsConnections(node.host, settings.kafka.port)) ? await kafkaBrokersSeenBy(node.address, PROBE_TIMEOUT_MS) : { ok: false as const, error: 'not listening yet' };
        if (seen.ok && expected.every((id) => seen.brokerIds.includes(id))) {
          ready.add(node.name);
          reportReady(run, node, startedAt, `sees brokers ${seen.brokerIds.join(', ')}`);
        } else missing.push(`${node.name}: ${seen.ok ? `sees brokers ${seen.brokerIds.join(', ') || 'none'}` : firstLine(seen.error)}`);
      }
      return missing.length === 0 ? { done: true } : { done: false, missing: missing.join('; ') };
    },
  });
}

/** Starts the Cassandra nodes that are not running one at a time, each once the ring before it is all NORMAL. */
async function cassandraUp(run: UpRun, ctx: NodeLaunchContext): Promise<void> {
  const { settings, log } = run;
  const nodes = nodesToRun(run, 'cassandra');
  const watch: Array<{ node: ClusterNode; record: PidRecord }> = [];
  const startedAt = new Map<string, number>();
  for (const [i, node] of nodes.entries()) {
    if (!run.running.has(node.name)) {
      await prepareCassandraNode(node, ctx);
      const record = await spawnNode(node, settings.stateDir, ctx.java.path, cassandraNodeArgs(node, ctx), log);
      startedAt.set(node.name, Date.now());
      run.started.push({ node: node.name, service: 'cassandra', address: node.address, outcome: 'started', pid: record.pid, logFile: record.logFile });
      watch.push({ node, record });
    }
    // The ring so far: the nodes up to this one, and any later one that was already running.
    const ring = nodes.filter((other, j) => j <= i || run.running.has(other.name));
    const ringHosts = ring.map((other) => other.host);
    await waitFor({
      what: `${node.name} to answer CQL and ${ring.map((n) => n.name).join(', ')} to be NORMAL in every node's gossip`,
      timeoutMs: settings.cassandra.readyTimeoutMs,
      envVar: 'CASSANDRA_READY_TIMEOUT',
      watch,
      log,
      signal: run.signal,
      attempt: async () => {
        const missing: string[] = [];
        for (const member of ring) {
          const seen = (await acceptsConnections(member.host, settings.cassandra.port)) ? await cassandraRingSeenBy(member.address, settings.cassandra.localDc, PROBE_TIMEOUT_MS) : { ok: false as const, error: 'CQL not listening yet' };
          if (!seen.ok) missing.push(`${member.name}: ${firstLine(seen.error)}`);
          else {
            const pending = notNormal(seen.statusByHost, ringHosts);
            if (pending.length > 0) missing.push(`${member.name} sees ${pending.join(', ')}`);
          }
        }
        return missing.length === 0 ? { done: true } : { done: false, missing: missing.join('; ') };
      },
    });
    if (startedAt.has(node.name)) reportReady(run, node, startedAt, `${ring.length} of ${nodes.length} nodes answering CQL and NORMAL in every node's gossip`);
  }
}

function reportReady(run: UpRun, node: ClusterNode, startedAt: Map<string, number>, detail: string): void {
  const since = startedAt.get(node.name);
  const up = run.started.find((s) => s.node === node.name);
  if (since === undefined || !up) {
    run.log(`${node.name}: ready at ${node.address} (${detail})`);
    return;
  }
  up.readyAfterSeconds = Math.round((Date.now() - since) / 100) / 10;
  run.log(`${node.name}: ready at ${node.address} after ${up.readyAfterSeconds.toFixed(1)} s (${detail})`);
}

async function probeNode(node: ClusterNode, settings: ClusterSettings): Promise<{ answering: boolean; answer: string }> {
  if (!(await acceptsConnections(node.host, node.service === 'kafka' ? settings.kafka.port : settings.cassandra.port))) return { answering: false, answer: 'nothing listens on the port' };
  if (node.service === 'kafka') {
    const seen = await kafkaBrokersSeenBy(node.address, PROBE_TIMEOUT_MS);
    return seen.ok ? { answering: true, answer: `sees brokers ${seen.brokerIds.join(', ')}` } : { answering: false, answer: firstLine(seen.error) };
  }
  const seen = await cassandraRingSeenBy(node.address, settings.cassandra.localDc, PROBE_TIMEOUT_MS);
  if (!seen.ok) return { answering: false, answer: firstLine(seen.error) };
  const ring = Object.entries(seen.statusByHost)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([host, status]) => `${host} ${status}`)
    .join(', ');
  return { answering: true, answer: `Cassandra ${seen.version}; gossip: ${ring}` };
}

/** The services that have a cluster mode: the schema registry runs single-node only (its storage is in memory). */
const CLUSTER_SERVICES: readonly ServiceName[] = ['kafka', 'cassandra'];

/** The nodes of `service` an `up` deals with: those running, and those it is to start; one left down is not waited for. */
function nodesToRun(run: Pick<UpRun, 'settings' | 'running' | 'wanted'>, service: ServiceName): ClusterNode[] {
  return clusterNodes(run.settings, service).filter((node) => run.running.has(node.name) || run.wanted.has(node.name));
}

/** The services and the nodes a command acts on: `nodes` (whose services are implied), or every node of the selected services. */
function nodeSelection(settings: ClusterSettings, opts: { only?: readonly ServiceName[]; nodes?: readonly string[] }): { services: ServiceName[]; wanted: Set<string> } {
  const all = clusterNodes(settings);
  if (opts.nodes === undefined || opts.nodes.length === 0) {
    const services = selection(opts.only);
    return { services, wanted: new Set(all.filter((node) => services.includes(node.service)).map((node) => node.name)) };
  }
  const unknown = opts.nodes.filter((name) => !all.some((node) => node.name === name));
  if (unknown.length > 0) throw new UserFacingError(`unknown node ${unknown.map((name) => `"${name}"`).join(', ')}`, `the nodes are: ${all.map((node) => node.name).join(', ')}`);
  const wanted = new Set(opts.nodes);
  const services = CLUSTER_SERVICES.filter((service) => (opts.only === undefined || opts.only.includes(service)) && all.some((node) => node.service === service && wanted.has(node.name)));
  return { services, wanted };
}

function selection(only: readonly ServiceName[] | undefined): ServiceName[] {
  const names = only ?? CLUSTER_SERVICES;
  for (const name of names) {
    if (!SERVICE_NAMES.includes(name)) throw new UserFacingError(`unknown service "${name}"`, `the services are: ${SERVICE_NAMES.join(', ')}`);
    if (!CLUSTER_SERVICES.includes(name)) throw new UserFacingError(`the ${name} has no cluster mode`, `run it single-node beside the cluster: npm run services -- up ${name}`);
  }
  return CLUSTER_SERVICES.filter((name) => names.includes(name));
}

function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}
