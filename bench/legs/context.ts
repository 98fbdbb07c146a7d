/**
 * What the bench's legs share: the run's context (options, settings, services, report), the clean-up of
 * what a run creates, and small helpers (log line, number format, environment of a pipeline worker).
 *
 * See also: ../run.ts (the command line, which builds the context), the legs beside this file.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cassandra from 'cassandra-driver';
import type { ServiceAddresses } from '../../services/local.ts';
import type { WorkerHandle } from '../child.ts';
import { deleteTopics } from '../kafka.ts';
import type { Report } from '../report.ts';
import type { BenchSettings } from '../settings.ts';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
export const fmt = (value: number): string => Math.round(value).toLocaleString('en-US');

/** What the legs use of the command line. */
export interface RunOptions {
  name: string;
  /** Extra Node options of the pipeline workers (runtime settings under test). */
  nodeOptions: string[];
  cpuProf: boolean;
}

/** What a run created, deleted at the end (also after a failure or Ctrl-C). */
export class Cleanup {
  readonly topics: string[] = [];
  readonly keyspaces: string[] = [];
  readonly dirs: string[] = [];
  readonly workers: Array<WorkerHandle<unknown>> = [];

  topic(name: string): string {
    this.topics.push(name, `${name}_dead`);
    return name;
  }

  keyspace(name: string): string {
    this.keyspaces.push(name);
    return name;
  }

  async run(addresses: ServiceAddresses, keep: boolean): Promise<void> {
    for (const worker of this.workers) worker.stop();
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
    if (keep) {
      log(`kept topics ${this.topics.join(', ')} and keyspaces ${this.keyspaces.join(', ')} (--keep)`);
      return;
    }
    const failed = await deleteTopics(addresses.kafkaBrokers, this.topics);
    for (const failure of failed) log(`could not delete topic ${failure}`);
    const client = cassandraClient(addresses);
    try {
      await client.connect();
      for (const keyspace of this.keyspaces) await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], { readTimeout: 60_000 });
    } catch (error) {
      log(`could not drop keyspaces ${this.keyspaces.join(', ')}: ${(error as Error).message}`);
    } finally {
      await client.shutdown();
    }
    log(`deleted ${this.topics.length} topics and ${this.keyspaces.length} keyspaces of this run`);
  }
}

export function cassandraClient(addresses: ServiceAddresses): cassandra.Client {
  return new cassandra.Client({ contactPoints: addresses.cassandraContactPoints.split(','), localDataCenter: addresses.cassandraLocalDc });
}

/** Everything a leg needs. */
export interface Context {
  options: RunOptions;
  settings: BenchSettings;
  run: string;
  addresses: ServiceAddresses;
  /** The local Kafka's and Cassandra's pids, when they are this tool's processes (for their CPU time). */
  servicePids: Record<string, number>;
  cleanup: Cleanup;
  logDir: string;
  report: Report;
}

/** The topology's `${VAR}` knobs pointing at this run's services and names. */
export function baseEnv(ctx: Context): Record<string, string> {
  return { KAFKA_BROKERS: ctx.addresses.kafkaBrokers, CASSANDRA_CONTACT_POINTS: ctx.addresses.cassandraContactPoints, CASSANDRA_LOCAL_DC: ctx.addresses.cassandraLocalDc };
}

/** With --cpu-prof: where the worker of `leg` writes its CPU profile. */
export function profileDir(ctx: Context, leg: string): string | undefined {
  if (!ctx.options.cpuProf) return undefined;
  const dir = path.join(RESULTS_DIR, 'profiles', ctx.options.name, leg);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export const cpuPer100k = (cpuSeconds: number, records: number): number => (records > 0 ? (cpuSeconds * 100_000) / records : NaN);
