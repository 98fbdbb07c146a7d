/**
 * Cassandra 5.0 as a single node, tuned to become ready quickly: one token, no wait for gossip to
 * settle, a short ring delay, unsynced system-table writes, no snapshots. Durability is not the
 * point of a development server; a fast `up` is.
 */
import { readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { serviceBasics, type LaunchContext, type ServiceDefinition } from './definition.ts';
import { probeCassandra } from './probes.ts';
import { ownershipMarkers } from './processes.ts';
import { hostPort } from './settings.ts';
import { renderTemplate } from './template.ts';

/**
 * Module access Cassandra needs on Java 17: the --add-exports / --add-opens set of Cassandra 5.0's
 * conf/jvm17-server.options (it reaches into JDK internals for off-heap memory, JMX and Chronicle).
 */
export const JAVA17_MODULE_OPTIONS = [
  '--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED',
  '--add-exports=java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED',
  '--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED',
  '--add-exports=java.rmi/sun.rmi.server=ALL-UNNAMED',
  '--add-exports=java.sql/java.sql=ALL-UNNAMED',
  '--add-exports=java.base/java.lang.ref=ALL-UNNAMED',
  '--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED',
  '--add-exports=jdk.attach/sun.tools.attach=ALL-UNNAMED',
  '--add-opens=java.base/java.lang.module=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.loader=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.reflect=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.math=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.module=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.util.jar=ALL-UNNAMED',
  '--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED',
  '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens=java.base/java.io=ALL-UNNAMED',
  '--add-opens=java.base/java.lang.reflect=ALL-UNNAMED',
  '--add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED',
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '--add-opens=java.base/java.util=ALL-UNNAMED',
];

/** Cassandra's server defaults from jvm-server.options and jvm17-server.options that matter on a small machine. */
export const CASSANDRA_JVM_OPTIONS = [
  '-ea',
  // Chronicle (audit/full-query logging) fails assertions by design under long runs.
  '-da:net.openhft...',
  '-Xss256k',
  '-XX:+UseG1GC',
  '-XX:+ParallelRefProcEnabled',
  '-XX:MaxTenuringThreshold=1',
  '-XX:MaxGCPauseMillis=300',
  '-XX:+PerfDisableSharedMem',
  // A node that ran out of heap may corrupt data if it carries on; better dead, and visibly so.
  '-XX:+ExitOnOutOfMemoryError',
  '-Djdk.attach.allowAttachSelf=true',
  '-Djava.net.preferIPv4Stack=true',
  '-Dio.netty.tryReflectionSetAccessible=true',
  '-Dio.netty.allocator.useCacheForAllThreads=true',
  '-Dio.netty.allocator.maxOrder=11',
];

/** Start-up shortcuts that are safe only for a single throwaway node. */
const FAST_START_OPTIONS = [
  // Nobody else to gossip with: do not wait for gossip to settle, nor the default 30 s ring delay.
  '-Dcassandra.skip_wait_for_gossip_to_settle=0',
  '-Dcassandra.ring_delay_ms=100',
  // Skip fsyncs of system tables, of which first start writes many.
  '-Dcassandra.unsafesystem=true',
  // Stdout stays open and is the log (without this Cassandra closes stdout and stderr once started).
  '-Dcassandra-foreground=yes',
];

/** jamm measures object sizes for memtable accounting; loaded as a Java agent it measures rather than estimates. */
export function jammAgent(libDir: string): string[] {
  const jar = readdirSync(libDir).find((name) => /^jamm-[\d.]+\.jar$/.test(name));
  return jar ? [`-javaagent:${join(libDir, jar)}`] : [];
}

function configFile(ctx: LaunchContext): string {
  return join(ctx.dirs.root, 'cassandra.yaml');
}

/** Where one Cassandra process keeps its files, and what it runs from. */
export interface CassandraPaths {
  root: string;
  data: string;
  configFile: string;
  libDir: string;
  repoDir: string;
}

/** The JVM arguments of a Cassandra process (a single node or a cluster node): `options` (heap, flags, markers), then its paths and main class. */
export function cassandraDaemonArgs(paths: CassandraPaths, options: string[]): string[] {
  return [
    ...options,
    `-XX:ErrorFile=${join(paths.root, 'hs_err_pid%p.log')}`,
    `-Dcassandra.config=${pathToFileURL(paths.configFile).href}`,
    `-Dcassandra.storagedir=${paths.data}`,
    `-Dcassandra.logdir=${paths.root}`,
    `-Dcassandra.triggers_dir=${join(paths.root, 'triggers')}`,
    `-Dlogback.configurationFile=${join(paths.repoDir, 'services', 'cassandra', 'logback.xml')}`,
    '-cp',
    join(paths.libDir, '*'),
    'org.apache.cassandra.service.CassandraDaemon',
  ];
}

export const cassandra: ServiceDefinition = {
  ...serviceBasics({ name: 'cassandra', title: 'Cassandra', section: (settings) => settings.cassandra, envPrefix: 'CASSANDRA' }),
  otherPorts: (settings) => [{ port: settings.cassandra.storagePort, envVar: 'CASSANDRA_STORAGE_PORT', what: 'inter-node (storage)' }],
  probeDescription: 'SELECT release_version FROM system.local',
  probe: (settings, timeoutMs) => probeCassandra(hostPort(settings.host, settings.cassandra.port), settings.cassandra.localDc, timeoutMs),
  // Cassandra drains (flushes memtables) on SIGTERM, which takes a few seconds.
  stopGraceMs: 60_000,

  async prepare(ctx) {
    const { settings, dirs } = ctx;
    await mkdir(dirs.data, { recursive: true });
    await mkdir(join(dirs.root, 'triggers'), { recursive: true });
    const template = await readFile(join(ctx.repoDir, 'services', 'cassandra', 'cassandra.yaml'), 'utf8');
    await writeFile(
      configFile(ctx),
      renderTemplate(template, { host: settings.host, port: settings.cassandra.port, storage_port: settings.cassandra.storagePort, data_dir: dirs.data }),
    );
  },

  javaArgs(ctx) {
    return cassandraDaemonArgs({ root: ctx.dirs.root, data: ctx.dirs.data, configFile: configFile(ctx), libDir: ctx.libDir, repoDir: ctx.repoDir }, [
      `-Xmx${ctx.settings.cassandra.heap}`,
      ...CASSANDRA_JVM_OPTIONS,
      ...JAVA17_MODULE_OPTIONS,
      ...FAST_START_OPTIONS,
      ...jammAgent(ctx.libDir),
      ...ownershipMarkers('cassandra', ctx.settings.stateDir),
    ]);
  },
};
