/**
 * The process side of one cluster node: finding our own running node again, checking its ports are
 * free before it starts, spawning it (pid file, fresh log), stopping it, and waiting for a condition
 * while watching that the processes it depends on are still alive. The same pid-file and ownership
 * rules as the single-node servers (processes.ts): a pid is ours only while its command line carries
 * the node's markers, and nothing is ever stopped by name.
 */
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { UserFacingError } from '../topology/errors.ts';
import type { ClusterNode, ClusterSettings } from './cluster-settings.ts';
import { describeLogTail } from './log-tail.ts';
import { canBind } from './probes.ts';
import { isOurProcessRunning, readPidFile, removePidFile, spawnDetached, stopProcess, writePidFile, type PidRecord } from './processes.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How long a node may take to shut down cleanly after SIGTERM: as the single-node servers (Cassandra drains). */
export function stopGraceMs(node: ClusterNode): number {
  return node.service === 'kafka' ? 30_000 : 60_000;
}

/** The ports a node binds on its own address, each with the variable that moves it. */
export function nodePorts(node: ClusterNode, settings: ClusterSettings): Array<{ port: number; envVar: string; what: string }> {
  return node.service === 'kafka'
    ? [
        { port: settings.kafka.port, envVar: 'KAFKA_PORT', what: 'client' },
        { port: settings.kafka.controllerPort, envVar: 'KAFKA_CONTROLLER_PORT', what: 'KRaft controller' },
      ]
    : [
        { port: settings.cassandra.port, envVar: 'CASSANDRA_PORT', what: 'CQL' },
        { port: settings.cassandra.storagePort, envVar: 'CASSANDRA_STORAGE_PORT', what: 'inter-node (storage)' },
      ];
}

/** Our live process of `node`, if there is one; a stale pid file is removed. */
export async function findOurNode(node: ClusterNode, log: (line: string) => void): Promise<PidRecord | undefined> {
  const record = await readPidFile(node.dirs.pidFile);
  if (record && (await isOurProcessRunning(record))) {
    if (record.address !== node.address) {
      throw new UserFacingError(
        `${node.name}: already running at ${record.address} (pid ${record.pid}), started with other settings than the current ${node.address}`,
        'run `npm run services -- down --cluster` first, then `up --cluster` again with the settings you want',
      );
    }
    return record;
  }
  if (record) {
    log(`${node.name}: removing stale pid file ${node.dirs.pidFile} (pid ${record.pid} is no longer our node)`);
    await removePidFile(node.dirs.pidFile);
  }
  return undefined;
}

/** Throws naming the port and its variable when one of the node's ports cannot be bound on its address. */
export async function checkPortsFree(node: ClusterNode, settings: ClusterSettings): Promise<void> {
  for (const { port, envVar, what } of nodePorts(node, settings)) {
    if (!(await canBind(node.host, port))) {
      throw new UserFacingError(
        `${node.name}: cannot start, its ${what} port ${port} on ${node.host} is in use or the address is not usable here`,
        `stop the program holding it (\`ss -ltnp 'sport = :${port}'\` names it) or set ${envVar} to a free port; ` +
          'on macOS, where only 127.0.0.1 is up, add the other addresses first (`sudo ifconfig lo0 alias 127.0.0.2 up`) or set USER_STREAM_CLUSTER_HOSTS',
      );
    }
  }
}

/**
 * Starts the node detached with a fresh log (the previous one kept as .log.1) and records it in its
 * pid file; `stateDir` is the one in the node's ownership markers.
 */
export async function spawnNode(node: ClusterNode, stateDir: string, java: string, args: string[], log: (line: string) => void): Promise<PidRecord> {
  if (existsSync(node.dirs.logFile)) await rename(node.dirs.logFile, `${node.dirs.logFile}.1`);
  const child = spawnDetached(java, args, { cwd: node.dirs.root, logFile: node.dirs.logFile });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  if (child.pid === undefined) throw new UserFacingError(`${node.name}: could not run ${java}: ${(await spawnError).message}`);
  const record: PidRecord = { service: node.service, node: node.name, pid: child.pid, address: node.address, stateDir, logFile: node.dirs.logFile, startedAt: new Date().toISOString() };
  await writePidFile(node.dirs.pidFile, record);
  log(`${node.name}: started ${node.service === 'kafka' ? 'Kafka broker+controller' : 'Cassandra node'} on ${node.host} (pid ${child.pid}), log: ${node.dirs.logFile}`);
  return record;
}

export interface NodeDown {
  node: string;
  outcome: 'stopped' | 'killed' | 'not-running';
  pid?: number;
  detail: string;
}

/** Stops our process of `node` (SIGTERM, then SIGKILL after its grace time) and removes its pid file. */
export async function stopNode(node: ClusterNode, log: (line: string) => void): Promise<NodeDown> {
  const record = await readPidFile(node.dirs.pidFile);
  if (!record) return { node: node.name, outcome: 'not-running', detail: 'not running' };
  if (await isOurProcessRunning(record)) log(`${node.name}: stopping pid ${record.pid} (SIGTERM)…`);
  const outcome = await stopProcess(record, { graceMs: stopGraceMs(node), log });
  await removePidFile(node.dirs.pidFile);
  const detail = outcome === 'not-running' ? `not running (removed the stale pid file of pid ${record.pid})` : `${outcome} pid ${record.pid}`;
  return { node: node.name, outcome, pid: record.pid, detail };
}

export interface WaitSpec {
  /** What is awaited, for messages: `kafka: the controller quorum and 3 brokers`. */
  what: string;
  timeoutMs: number;
  /** The variable that raises the timeout. */
  envVar: string;
  /** The processes that must stay alive meanwhile; a dead one fails the wait with its log quoted. */
  watch: ReadonlyArray<{ node: ClusterNode; record: PidRecord }>;
  /** One attempt: done, or what is still missing (shown in the progress lines and the timeout error). */
  attempt: () => Promise<{ done: true } | { done: false; missing: string }>;
  log: (line: string) => void;
  signal?: AbortSignal;
}

/** Polls `attempt` once a second until it is done; says what it waits for, then every 10 s how long and for what. */
export async function waitFor(spec: WaitSpec): Promise<number> {
  const started = Date.now();
  let nextReport = started + 10_000;
  let announced = false;
  let missing = 'not tried yet';
  while (true) {
    if (spec.signal?.aborted) throw new UserFacingError(`interrupted while waiting for ${spec.what}`);
    const result = await spec.attempt();
    if (result.done) return Date.now() - started;
    missing = result.missing;
    for (const { node, record } of spec.watch) {
      if (!(await isOurProcessRunning(record))) {
        throw new UserFacingError(
          `${node.name}: its process (pid ${record.pid}) exited while waiting for ${spec.what}.\n${await describeLogTail(record.logFile)}`,
          `read ${record.logFile} for the cause; fix it, then run \`npm run services -- up --cluster\` again`,
        );
      }
    }
    const elapsed = Date.now() - started;
    if (elapsed >= spec.timeoutMs) {
      const tails = await Promise.all(spec.watch.map(({ record }) => describeLogTail(record.logFile, 15)));
      throw new UserFacingError(
        `timed out after ${Math.round(spec.timeoutMs / 1000)} s waiting for ${spec.what} (still missing: ${missing}).\n${tails.join('\n')}`,
        `read the nodes' logs; on a busy machine raise ${spec.envVar} (seconds)`,
      );
    }
    if (!announced) {
      announced = true;
      spec.log(`waiting for ${spec.what} (up to ${Math.round(spec.timeoutMs / 1000)} s)`);
    } else if (Date.now() >= nextReport) {
      nextReport += 10_000;
      spec.log(`still waiting for ${spec.what}: ${Math.round(elapsed / 1000)} s of ${Math.round(spec.timeoutMs / 1000)} s (${missing})`);
    }
    await sleep(1000);
  }
}
