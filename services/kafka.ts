/**
 * Kafka as a single-node KRaft cluster: one JVM that is broker and controller, no ZooKeeper. On the
 * first start its storage directory is formatted with a fresh cluster id (Kafka's StorageTool);
 * afterwards the data survives restarts until the state directory is deleted.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UserFacingError } from '../topology/errors.ts';
import { serviceBasics, type LaunchContext, type ServiceDefinition } from './definition.ts';
import { probeKafka } from './probes.ts';
import { ownershipMarkers } from './processes.ts';
import { hostPort } from './settings.ts';
import { renderTemplate } from './template.ts';

const run = promisify(execFile);

/**
 * A cluster id as Kafka makes them: 16 random bytes, base64url without padding. Kafka never hands
 * out one starting with '-' (its CLIs would read it as an option), so neither do we.
 */
export function newClusterId(): string {
  while (true) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function configFile(ctx: LaunchContext): string {
  return join(ctx.dirs.root, 'server.properties');
}

function log4jConfig(repoDir: string): string {
  return join(repoDir, 'services', 'kafka', 'log4j2.xml');
}

export const kafka: ServiceDefinition = {
  ...serviceBasics({ name: 'kafka', title: 'Kafka', section: (settings) => settings.kafka, envPrefix: 'KAFKA' }),
  otherPorts: (settings) => [{ port: settings.kafka.controllerPort, envVar: 'KAFKA_CONTROLLER_PORT', what: 'KRaft controller' }],
  probeDescription: 'a metadata request',
  probe: (settings, timeoutMs) => probeKafka(hostPort(settings.host, settings.kafka.port), timeoutMs),
  stopGraceMs: 30_000,

  async prepare(ctx) {
    const { settings, dirs } = ctx;
    await mkdir(dirs.data, { recursive: true });
    const template = await readFile(join(ctx.repoDir, 'services', 'kafka', 'server.properties'), 'utf8');
    await writeFile(
      configFile(ctx),
      renderTemplate(template, { host: settings.host, port: settings.kafka.port, controller_port: settings.kafka.controllerPort, data_dir: dirs.data }),
    );
    if (existsSync(join(dirs.data, 'meta.properties'))) return;

    const clusterId = newClusterId();
    ctx.log(`kafka: formatting ${dirs.data} for a new single-node cluster (id ${clusterId})`);
    await formatKafkaStorage({ java: ctx.java.path, repoDir: ctx.repoDir, libDir: ctx.libDir, root: dirs.root, data: dirs.data, configFile: configFile(ctx), clusterId, who: 'kafka' });
  },

  javaArgs(ctx) {
    return [
      ...kafkaJvmOptions({ heap: ctx.settings.kafka.heap, root: ctx.dirs.root, repoDir: ctx.repoDir }),
      ...ownershipMarkers('kafka', ctx.settings.stateDir),
      '-cp',
      join(ctx.libDir, '*'),
      'kafka.Kafka',
      configFile(ctx),
    ];
  },
};

/** The JVM options of a broker (before the ownership markers and the classpath), alike in both modes. */
export function kafkaJvmOptions(opts: { heap: string; root: string; repoDir: string }): string[] {
  return [
    `-Xmx${opts.heap}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:InitiatingHeapOccupancyPercent=35',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-Djava.awt.headless=true',
    `-XX:ErrorFile=${join(opts.root, 'hs_err_pid%p.log')}`,
    `-Dlog4j2.configurationFile=${log4jConfig(opts.repoDir)}`,
  ];
}

/**
 * Formats a broker's storage directory for cluster `clusterId` with Kafka's StorageTool (a short JVM
 * run); `who` names the broker in the error, `upCommand` the command to run again after fixing it.
 */
export async function formatKafkaStorage(opts: { java: string; repoDir: string; libDir: string; root: string; data: string; configFile: string; clusterId: string; who: string; upCommand?: string }): Promise<void> {
  try {
    await run(opts.java, ['-Xmx256m', `-Dlog4j2.configurationFile=${log4jConfig(opts.repoDir)}`, '-cp', join(opts.libDir, '*'), 'kafka.tools.StorageTool', 'format', '-t', opts.clusterId, '-c', opts.configFile], {
      cwd: opts.root,
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new UserFacingError(
      `${opts.who}: formatting the storage directory ${opts.data} failed: ${(error as Error).message.split('\n')[0]}\n${`${stdout ?? ''}${stderr ?? ''}`.trim().split('\n').slice(-30).join('\n')}`,
      `delete ${opts.data} if it holds a broken half-formatted state, then run \`${opts.upCommand ?? 'npm run services -- up'}\` again`,
    );
  }
}
