import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { parse } from 'yaml';
import { cassandra } from '../../../services/cassandra.ts';
import { serviceDirs, type LaunchContext } from '../../../services/definition.ts';
import { parseJavaMajor } from '../../../services/java.ts';
import { cachedJars, pinnedVersions } from '../../../services/jars.ts';
import { kafka, newClusterId } from '../../../services/kafka.ts';
import { localRegistryUrl, registry } from '../../../services/registry.ts';
import { readSettings } from '../../../services/settings.ts';
import { mkdir, writeFile } from 'node:fs/promises';

const repoDir = fileURLToPath(new URL('../../..', import.meta.url));

async function context(service: 'kafka' | 'cassandra' | 'registry', env: Record<string, string> = {}): Promise<LaunchContext> {
  const stateDir = await mkdtemp(join(tmpdir(), 'services-state-'));
  const libDir = join(stateDir, 'lib');
  await mkdir(libDir);
  await writeFile(join(libDir, 'jamm-0.4.0.jar'), '');
  const settings = readSettings({ ...env, USER_STREAM_STATE_DIR: stateDir }, repoDir);
  return { repoDir, settings, dirs: serviceDirs(stateDir, service), java: { path: 'java', major: 17, description: 'test' }, libDir, log: () => undefined };
}

test('the rendered server.properties binds Kafka to loopback on the configured ports', async () => {
  // KRaft storage already "formatted": prepare must then only render the config, not run Java.
  const ctx = await context('kafka', { KAFKA_PORT: '19092', KAFKA_CONTROLLER_PORT: '19093' });
  await mkdir(ctx.dirs.data, { recursive: true });
  await writeFile(join(ctx.dirs.data, 'meta.properties'), 'cluster.id=x\n');
  await kafka.prepare(ctx);
  const properties = Object.fromEntries(
    (await readFile(join(ctx.dirs.root, 'server.properties'), 'utf8'))
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  assert.equal(properties.listeners, 'PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093');
  assert.equal(properties['advertised.listeners'], 'PLAINTEXT://127.0.0.1:19092');
  assert.equal(properties['controller.quorum.voters'], '1@127.0.0.1:19093');
  assert.equal(properties['process.roles'], 'broker,controller');
  assert.equal(properties['log.dirs'], ctx.dirs.data);
  assert.equal(properties['offsets.topic.replication.factor'], '1');
});

test('the rendered cassandra.yaml is valid YAML with loopback addresses, the ports and dirs in the state dir', async () => {
  const ctx = await context('cassandra', { CASSANDRA_PORT: '19042', CASSANDRA_STORAGE_PORT: '17000' });
  await cassandra.prepare(ctx);
  const config = parse(await readFile(join(ctx.dirs.root, 'cassandra.yaml'), 'utf8'));
  assert.equal(config.listen_address, '127.0.0.1');
  assert.equal(config.rpc_address, '127.0.0.1');
  assert.equal(config.native_transport_port, 19042);
  assert.equal(config.storage_port, 17000);
  assert.equal(config.seed_provider[0].parameters[0].seeds, '127.0.0.1:17000');
  assert.deepEqual(config.data_file_directories, [join(ctx.dirs.data, 'data')]);
  assert.equal(config.commitlog_directory, join(ctx.dirs.data, 'commitlog'));
  assert.equal(config.num_tokens, 1);
  assert.equal(config.auto_snapshot, false);
  assert.equal(config.commitlog_sync, 'periodic');
  assert.equal(config.endpoint_snitch, 'SimpleSnitch');
});

test('Kafka runs with its heap cap, the ownership markers and the rendered config', async () => {
  const ctx = await context('kafka', { KAFKA_HEAP: '384m' });
  const args = kafka.javaArgs(ctx);
  assert.ok(args.includes('-Xmx384m'));
  assert.ok(args.includes(`-Duser-stream.service=kafka`));
  assert.ok(args.includes(`-Duser-stream.state-dir=${ctx.settings.stateDir}`));
  assert.deepEqual(args.slice(-4), ['-cp', join(ctx.libDir, '*'), 'kafka.Kafka', join(ctx.dirs.root, 'server.properties')]);
});

test('Cassandra runs with its heap cap, the Java 17 module options, fast-start flags and jamm as agent', async () => {
  const ctx = await context('cassandra');
  const args = cassandra.javaArgs(ctx);
  assert.ok(args.includes('-Xmx1g'));
  for (const option of ['--add-opens=java.base/sun.nio.ch=ALL-UNNAMED', '--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED', '-Djdk.attach.allowAttachSelf=true']) {
    assert.ok(args.includes(option), option);
  }
  assert.ok(args.includes('-Dcassandra.skip_wait_for_gossip_to_settle=0'));
  assert.ok(args.includes('-Dcassandra-foreground=yes'), 'without it Cassandra closes stdout, the log');
  assert.ok(args.includes(`-javaagent:${join(ctx.libDir, 'jamm-0.4.0.jar')}`));
  assert.ok(args.includes(`-Dcassandra.config=file://${join(ctx.dirs.root, 'cassandra.yaml')}`));
  assert.equal(args[args.length - 1], 'org.apache.cassandra.service.CassandraDaemon');
});

test('the registry runs its built jar bound to loopback on its port, with the heap cap and the ownership markers', async () => {
  const ctx = await context('registry', { SCHEMA_REGISTRY_PORT: '18081', SCHEMA_REGISTRY_HEAP: '300m' });
  await registry.prepare(ctx);
  assert.ok(existsSync(ctx.dirs.root), 'its directory (log, pid file) exists');
  const args = registry.javaArgs(ctx);
  assert.ok(args.includes('-Xmx300m'));
  assert.ok(args.includes('-Dquarkus.http.host=127.0.0.1'));
  assert.ok(args.includes('-Dquarkus.http.port=18081'));
  assert.ok(args.includes('-Duser-stream.service=registry'));
  assert.ok(args.includes(`-Duser-stream.state-dir=${ctx.settings.stateDir}`));
  assert.deepEqual(args.slice(-2), ['-jar', join(ctx.libDir, 'quarkus-run.jar')]);
  assert.equal(localRegistryUrl(ctx.settings), 'http://127.0.0.1:18081/apis/ccompat/v7');
});

test('cluster ids look like Kafka’s: 22 base64url characters, never starting with a dash', () => {
  for (let i = 0; i < 500; i++) {
    const id = newClusterId();
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  }
});

test('the pinned versions come from the pom', async () => {
  assert.deepEqual(pinnedVersions('<kafka.version>4.3.1</kafka.version>\n<cassandra.version> 5.0.9 </cassandra.version>', '<apicurio.version>2.4.2.Final</apicurio.version>'), {
    kafka: '4.3.1',
    cassandra: '5.0.9',
    registry: '2.4.2.Final',
  });
  const real = pinnedVersions(await readFile(join(repoDir, 'services', 'maven', 'pom.xml'), 'utf8'), await readFile(join(repoDir, 'services', 'registry', 'pom.xml'), 'utf8'));
  assert.match(real.kafka, /^[34]\.\d+\.\d+$/);
  assert.match(real.cassandra, /^5\.0\.\d+$/);
  assert.equal(real.registry, '2.4.2.Final');
  assert.throws(() => pinnedVersions('<project/>', ''), /no <kafka.version>/);
  assert.throws(() => pinnedVersions('<kafka.version>1</kafka.version><cassandra.version>2</cassandra.version>', '<project/>'), /registry\/pom.xml has no <apicurio.version>/);
});

test('cached jars count only when the marker lists them and every listed jar is there', async () => {
  const cache = await mkdtemp(join(tmpdir(), 'services-cache-'));
  const dir = join(cache, 'kafka-9.9.9');
  assert.equal(await cachedJars(cache, 'kafka', '9.9.9'), undefined, 'nothing fetched yet');
  await mkdir(join(dir, 'lib'), { recursive: true });
  await writeFile(join(dir, 'lib', 'a.jar'), '');
  assert.equal(await cachedJars(cache, 'kafka', '9.9.9'), undefined, 'jars without a marker: an interrupted download');
  await writeFile(join(dir, 'complete.json'), JSON.stringify({ version: '9.9.9', jars: ['a.jar', 'b.jar'], fetchedAt: '' }));
  assert.equal(await cachedJars(cache, 'kafka', '9.9.9'), undefined, 'a listed jar is missing');
  await writeFile(join(dir, 'lib', 'b.jar'), '');
  assert.equal(await cachedJars(cache, 'kafka', '9.9.9'), join(dir, 'lib'));
  assert.ok(existsSync(join(dir, 'lib', 'a.jar')));
});

test('the Java major version is read from `java -version` output, old and new styles', () => {
  assert.equal(parseJavaMajor('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment'), 17);
  assert.equal(parseJavaMajor('java version "1.8.0_392"'), 8);
  assert.equal(parseJavaMajor('openjdk version "21" 2023-09-19'), 21);
  assert.equal(parseJavaMajor('bash: java: command not found'), undefined);
});
