/**
 * What services/local.ts needs to know about one server to fetch, configure, start, probe and stop
 * it. kafka.ts and cassandra.ts each export one of these; local.ts knows nothing server-specific.
 */
import { join } from 'node:path';
import type { Java } from './java.ts';
import type { ProbeResult } from './probes.ts';
import { hostPort, type ServiceName, type ServiceSettings } from './settings.ts';

/** Where one server keeps its things, all under `<state dir>/<name>/`. */
export interface ServiceDirs {
  root: string;
  data: string;
  logFile: string;
  pidFile: string;
}

export function serviceDirs(stateDir: string, name: ServiceName): ServiceDirs {
  const root = join(stateDir, name);
  return { root, data: join(root, 'data'), logFile: join(root, `${name}.log`), pidFile: join(root, `${name}.pid`) };
}

/** Everything a definition needs to prepare and launch its server. */
export interface LaunchContext {
  repoDir: string;
  settings: ServiceSettings;
  dirs: ServiceDirs;
  java: Java;
  libDir: string;
  log: (line: string) => void;
}

export interface ServiceDefinition {
  name: ServiceName;
  /** For messages: `Kafka`, `Cassandra`. */
  title: string;
  /** Client address (host:port). */
  address(settings: ServiceSettings): string;
  /** The client port and the variable that changes it. */
  port(settings: ServiceSettings): { port: number; envVar: string };
  /** Further ports the server binds (controller, inter-node), which must be free before it starts. */
  otherPorts(settings: ServiceSettings): Array<{ port: number; envVar: string; what: string }>;
  readyTimeout(settings: ServiceSettings): { ms: number; envVar: string };
  /** The request that proves readiness, for messages. */
  probeDescription: string;
  probe(settings: ServiceSettings, timeoutMs: number): Promise<ProbeResult>;
  /** Writes rendered configs into the state dir and does first-start work (formatting storage). */
  prepare(ctx: LaunchContext): Promise<void>;
  /** Set-up through the server's own API once it answers (started here or already running, not someone else's). */
  afterReady?(settings: ServiceSettings, log: (line: string) => void): Promise<void>;
  /** The `java` arguments that run the server. */
  javaArgs(ctx: LaunchContext): string[];
  /** How long the server may take to shut down cleanly after SIGTERM before it is killed. */
  stopGraceMs: number;
}

/**
 * The parts of a definition every service derives alike: its names, and from its settings section its
 * client address, its port and its ready timeout, each with the variable that changes it
 * (`<PREFIX>_PORT`, `<PREFIX>_READY_TIMEOUT`).
 */
export function serviceBasics(basics: {
  name: ServiceName;
  title: string;
  section: (settings: ServiceSettings) => { port: number; readyTimeoutMs: number };
  envPrefix: string;
}): Pick<ServiceDefinition, 'name' | 'title' | 'address' | 'port' | 'readyTimeout'> {
  const { section, envPrefix } = basics;
  return {
    name: basics.name,
    title: basics.title,
    address: (settings) => hostPort(settings.host, section(settings).port),
    port: (settings) => ({ port: section(settings).port, envVar: `${envPrefix}_PORT` }),
    readyTimeout: (settings) => ({ ms: section(settings).readyTimeoutMs, envVar: `${envPrefix}_READY_TIMEOUT` }),
  };
}
