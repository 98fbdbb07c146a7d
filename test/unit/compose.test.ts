/**
 * docker-compose.yml, Dockerfile and .dockerignore, checked without Docker: the addresses, ports and
 * names must agree with each other and with the project's defaults (services/settings.ts,
 * config/user-pipeline.yaml, services/maven/pom.xml, package.json). The original demo's classic
 * failure was a Kafka advertising a hostname its clients could not reach; these checks make that and
 * its cousins a test failure instead of an empty table.
 *
 * The last test also runs the Compose implementation's own validation (`docker compose config`, or
 * Debian's `docker-compose` v1) when one is installed; neither needs a Docker daemon for that.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { DEFAULT_CASSANDRA_CONTACT_POINTS, DEFAULT_CASSANDRA_LOCAL_DC, DEFAULT_KAFKA_BROKERS, DEFAULT_SCHEMA_REGISTRY_URL } from '../../services/settings.ts';
import { REGISTRY_COMPATIBILITY } from '../../services/registry.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(REPO, path), 'utf8');

type Service = Record<string, any>;
// merge: the file shares settings between services with YAML merge keys (<<), as Compose does.
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services ?? {};
const dockerfile = read('Dockerfile');

/** A value as Compose would see it with none of the variables set: `${X:-default}` → default. */
function interpolate(value: string): string {
  return value.replace(/\$\{(\w+)(?::?-([^}]*))?\}/g, (_all, _name, fallback: string | undefined) => fallback ?? '');
}

function environment(service: Service): Record<string, string | null> {
  const env = service.environment ?? {};
  const entries: Array<[string, unknown]> = Array.isArray(env) ? env.map((line: string) => { const i = line.indexOf('='); return i < 0 ? [line, null] : [line.slice(0, i), line.slice(i + 1)]; }) : Object.entries(env);
  return Object.fromEntries(entries.map(([key, value]) => [key, value === null || value === undefined ? null : interpolate(String(value))]));
}

interface PortBinding { hostIp?: string; published?: number; target: number; raw: string }

/** Short (`[IP:]PUBLISHED:TARGET[/proto]`) and long port syntax, normalised. */
function ports(service: Service): PortBinding[] {
  return (service.ports ?? []).map((port: unknown): PortBinding => {
    if (typeof port === 'object' && port !== null) {
      const p = port as Record<string, unknown>;
      return { hostIp: p.host_ip as string | undefined, published: p.published === undefined ? undefined : Number(p.published), target: Number(p.target), raw: JSON.stringify(p) };
    }
    const raw = String(port);
    const spec = raw.split('/')[0];
    const ipv6 = /^\[([^\]]+)\]:(.*)$/.exec(spec);
    const parts = ipv6 ? [ipv6[1], ...ipv6[2].split(':')] : spec.split(':');
    if (parts.length === 3) return { hostIp: parts[0], published: Number(parts[1]), target: Number(parts[2]), raw };
    if (parts.length === 2) return { published: Number(parts[0]), target: Number(parts[1]), raw };
    return { target: Number(parts[0]), raw };
  });
}

function hostPort(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address.trim());
  assert.ok(match, `${address} is not HOST:PORT`);
  return { host: match[1], port: Number(match[2]) };
}

/** `NAME://host:port,…` (Kafka's listeners / advertised.listeners). */
function listeners(value: string | null | undefined): Array<{ name: string; host: string; port: number }> {
  return (value ?? '').split(',').filter(Boolean).map((entry) => {
    const match = /^(\w+):\/\/(.*):(\d+)$/.exec(entry.trim());
    assert.ok(match, `listener ${entry} is not NAME://HOST:PORT`);
    return { name: match[1], host: match[2], port: Number(match[3]) };
  });
}

function words(command: unknown): string[] {
  return Array.isArray(command) ? command.map(String) : typeof command === 'string' ? command.split(/\s+/).filter(Boolean) : [];
}

/** Names other containers can reach a service by on the compose network. */
function namesOf(name: string): string[] {
  const service = services[name];
  const aliases = Object.values(service.networks ?? {}).flatMap((n: any) => n?.aliases ?? []);
  return [name, service.hostname, ...aliases].filter(Boolean);
}

/** The repo's own services: built from the Dockerfile. */
const appServices = Object.entries(services).filter(([, s]) => s.build !== undefined);
/** The script a service runs: its entrypoint override's, else the Dockerfile ENTRYPOINT's. */
function scriptOf(service: Service): string | undefined {
  const entrypoint = service.entrypoint ? words(service.entrypoint).join(' ') : (/^ENTRYPOINT\s+(.*)$/m.exec(dockerfile)?.[1] ?? '');
  return /(bin\/[\w-]+\.ts)/.exec(entrypoint)?.[1];
}
const pipelines = appServices.filter(([, s]) => scriptOf(s) === 'bin/run.ts');
/** The cluster profile's services: three brokers, three Cassandra nodes and a pipeline on them. */
const inCluster = (service: Service): boolean => (service.profiles ?? []).includes('cluster');
/** The pipelines of the single Kafka and Cassandra (the cluster profile's have a test of their own). */
const singleNodePipelines = pipelines.filter(([, s]) => !inCluster(s));

function kafka() {
  assert.ok(services.kafka, 'no kafka service');
  const env = environment(services.kafka);
  const advertised = listeners(env.KAFKA_ADVERTISED_LISTENERS);
  const names = namesOf('kafka');
  return {
    env,
    advertised,
    bound: listeners(env.KAFKA_LISTENERS),
    /** Advertised under a name the compose network resolves to the kafka container. */
    inCompose: advertised.filter((l) => names.includes(l.host)).map((l) => `${l.host}:${l.port}`),
    /** Advertised under a loopback address, for clients on the host through a published port. */
    forHost: advertised.filter((l) => l.host === '127.0.0.1' || l.host === 'localhost'),
  };
}

test('the expected services exist, and each has an image or a build whose Dockerfile exists', () => {
  for (const name of ['kafka', 'cassandra', 'pipeline']) assert.ok(services[name], `no ${name} service`);
  assert.ok(Object.values(services).some((s) => /kafka-ui/.test(String(s.image))), 'no Kafka web UI service');
  assert.ok(pipelines.length > 0, 'no service runs bin/run.ts');
  for (const [name, service] of Object.entries(services)) {
    assert.ok(service.image || service.build, `service ${name} has neither image nor build`);
    if (service.build !== undefined) {
      const build = typeof service.build === 'string' ? { context: service.build } : service.build;
      const file = join(REPO, build.context ?? '.', build.dockerfile ?? 'Dockerfile');
      assert.ok(existsSync(file), `service ${name} builds from ${file}, which does not exist`);
    }
  }
});

test('every published port binds to 127.0.0.1 on the host', () => {
  for (const [name, service] of Object.entries(services)) {
    for (const port of ports(service)) {
      assert.equal(port.hostIp, '127.0.0.1', `service ${name} publishes ${port.raw} on every interface; write "127.0.0.1:${port.published ?? port.target}:${port.target}"`);
      assert.ok(Number.isInteger(port.published) && Number.isInteger(port.target), `service ${name}: ${port.raw} has no single published and target port`);
    }
  }
});

test('Kafka listens and advertises consistently: one listener for containers, one for the host on the project default', () => {
  const { env, advertised, bound, inCompose, forHost } = kafka();
  const protocols = new Set((env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? '').split(',').map((pair) => pair.split(':')[0]));
  const controllers = (env.KAFKA_CONTROLLER_LISTENER_NAMES ?? '').split(',').filter(Boolean);
  for (const l of advertised) {
    const listener = bound.find((b) => b.name === l.name);
    assert.ok(listener, `advertised listener ${l.name} is not in KAFKA_LISTENERS`);
    assert.equal(listener.port, l.port, `${l.name} is advertised on port ${l.port} but listens on ${listener.port}`);
    assert.ok(protocols.has(l.name), `listener ${l.name} is not in KAFKA_LISTENER_SECURITY_PROTOCOL_MAP`);
    assert.ok(!controllers.includes(l.name), `the controller listener ${l.name} must not be advertised to clients`);
  }
  assert.ok(inCompose.length > 0, `no advertised listener uses a name containers resolve to Kafka (${namesOf('kafka').join(', ')}): ${env.KAFKA_ADVERTISED_LISTENERS}`);
  assert.ok(advertised.some((l) => l.name === env.KAFKA_INTER_BROKER_LISTENER_NAME && inCompose.includes(`${l.host}:${l.port}`)), 'the inter-broker listener must be the in-compose one');

  // The host's clients use the project default (npm start, npm run inspect): it must be advertised
  // exactly, and published to the port its listener listens on inside the container.
  assert.deepEqual(forHost.map((l) => `${l.host}:${l.port}`), [DEFAULT_KAFKA_BROKERS], 'the host listener must advertise the project default address');
  const hostListener = bound.find((b) => b.name === forHost[0].name);
  const { port: defaultPort } = hostPort(DEFAULT_KAFKA_BROKERS);
  const published = ports(services.kafka).find((p) => p.published === defaultPort);
  assert.ok(published, `kafka does not publish port ${defaultPort}`);
  assert.equal(published.target, hostListener?.port, `host port ${defaultPort} must reach the ${forHost[0].name} listener`);
  for (const l of advertised.filter((a) => inCompose.includes(`${a.host}:${a.port}`))) {
    assert.ok(!ports(services.kafka).some((p) => p.target === l.port), `the in-compose listener ${l.name} is published: host clients would be sent to ${l.host}, which the host cannot resolve`);
  }

  // KRaft: the single voter is this node, on the controller listener, by a name that resolves here.
  const voter = /^(\d+)@(.+):(\d+)$/.exec(env.KAFKA_CONTROLLER_QUORUM_VOTERS ?? '');
  assert.ok(voter, `KAFKA_CONTROLLER_QUORUM_VOTERS=${env.KAFKA_CONTROLLER_QUORUM_VOTERS} is not ID@HOST:PORT`);
  assert.equal(voter[1], String(env.KAFKA_NODE_ID), 'the quorum voter is not this node');
  assert.ok(namesOf('kafka').includes(voter[2]), `quorum voter host ${voter[2]} is not the kafka service`);
  assert.deepEqual(bound.filter((b) => controllers.includes(b.name)).map((b) => b.port), [Number(voter[3])], 'the quorum voter port is not the controller listener');
  assert.deepEqual(env.KAFKA_PROCESS_ROLES?.split(',').sort(), ['broker', 'controller']);
  // kafka-storage format takes a base64url UUID: 16 bytes, 22 characters.
  assert.match(env.CLUSTER_ID ?? '', /^[A-Za-z0-9_-]{22}$/, 'CLUSTER_ID is not a base64url UUID');
  assert.equal(Buffer.from(env.CLUSTER_ID ?? '', 'base64url').length, 16, 'CLUSTER_ID does not decode to 16 bytes');
});

test('the pipelines and the UI bootstrap from the listener Kafka advertises to containers', () => {
  const { inCompose } = kafka();
  const clients = [
    ...singleNodePipelines.map(([name, s]) => [name, environment(s).KAFKA_BROKERS] as const),
    ...Object.entries(services).filter(([, s]) => /kafka-ui/.test(String(s.image))).map(([name, s]) => [name, environment(s).KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS] as const),
  ];
  for (const [name, brokers] of clients) {
    assert.ok(brokers, `service ${name} sets no Kafka bootstrap address`);
    for (const address of brokers.split(',')) assert.ok(inCompose.includes(address.trim()), `service ${name} bootstraps from ${address}, but Kafka advertises ${inCompose.join(', ')} to containers`);
  }
});

test('Cassandra: published on the project default, reached by service name on its CQL port, in the default datacenter', () => {
  assert.ok(services.cassandra, 'no cassandra service');
  const { port: defaultPort } = hostPort(DEFAULT_CASSANDRA_CONTACT_POINTS);
  const published = ports(services.cassandra).find((p) => p.published === defaultPort);
  assert.ok(published, `cassandra does not publish the project default port ${defaultPort}`);
  const env = environment(services.cassandra);
  // cassandra-env.sh refuses one without the other.
  assert.ok(env.MAX_HEAP_SIZE && env.HEAP_NEWSIZE, 'set both MAX_HEAP_SIZE and HEAP_NEWSIZE (a modest heap, not one sized from the host RAM)');
  for (const [name, service] of singleNodePipelines) {
    const penv = environment(service);
    assert.ok(penv.CASSANDRA_CONTACT_POINTS, `service ${name} sets no CASSANDRA_CONTACT_POINTS`);
    for (const address of penv.CASSANDRA_CONTACT_POINTS.split(',')) {
      const { host, port } = hostPort(address);
      assert.ok(namesOf('cassandra').includes(host), `service ${name} reaches Cassandra at ${host}, not by the cassandra service's name`);
      assert.equal(port, published.target, `service ${name} uses port ${port}; Cassandra's CQL port in the container is ${published.target}`);
    }
    assert.equal(penv.CASSANDRA_LOCAL_DC, DEFAULT_CASSANDRA_LOCAL_DC, `service ${name}: the local datacenter must be the one a single node reports`);
  }
});

test('the pipelines run the user-pipeline topology with --no-services, after Kafka and Cassandra are healthy', () => {
  for (const dependency of ['kafka', 'cassandra']) {
    const check = services[dependency].healthcheck;
    assert.ok(check && !check.disable && words(check.test).length > 1 && words(check.test)[0] !== 'NONE', `${dependency} has no healthcheck`);
  }
  const topologyDefaultUrl = /\$\{RANDOMUSER_URL:-([^}]*)\}/.exec(read('config/user-pipeline.yaml'))?.[1];
  for (const [name, service] of singleNodePipelines) {
    const args = words(service.command);
    const topology = args[args.indexOf('--topology') + 1];
    assert.ok(args.includes('--topology') && existsSync(join(REPO, 'config', `${topology}.yaml`)), `service ${name} runs no topology of config/: ${args.join(' ')}`);
    assert.equal(topology, 'user-pipeline');
    assert.ok(args.includes('--no-services'), `service ${name} must pass --no-services: the app must never start local Java services in a container`);
    for (const dependency of ['kafka', 'cassandra']) {
      assert.equal(service.depends_on?.[dependency]?.condition, 'service_healthy', `service ${name} must wait for ${dependency} to be healthy`);
    }
    assert.equal(environment(service).RANDOMUSER_URL, topologyDefaultUrl, `service ${name}: RANDOMUSER_URL defaults to the topology's own default`);
  }
  // `docker compose up` runs the online pipeline; the offline one only when asked for by its profile.
  assert.equal(services.pipeline.profiles, undefined, 'the pipeline service must start without a profile');
  assert.ok(!words(services.pipeline.command).includes('--offline'), 'the pipeline service (no profile) must poll the real API; --offline belongs to the offline profile');
  for (const [name, service] of pipelines.filter(([, s]) => words(s.command).includes('--offline'))) {
    assert.ok(service.profiles?.includes('offline'), `service ${name} runs --offline outside the offline profile: it would run beside the online pipeline`);
  }
});

test('the cluster profile: three brokers of one KRaft quorum, each advertising its own name; a ring of three; the cluster pipeline on all of them, started after each is healthy', () => {
  const brokers = ['kafka-1', 'kafka-2', 'kafka-3'];
  const nodes = ['cassandra-1', 'cassandra-2', 'cassandra-3'];
  for (const name of [...brokers, ...nodes, 'pipeline-cluster']) {
    assert.ok(services[name], `no ${name} service`);
    assert.deepEqual(services[name].profiles, ['cluster'], `${name} belongs to the cluster profile only: \`docker compose up\` must not start it`);
  }
  const voters = brokers.map((name, i) => `${i + 1}@${name}:9093`).join(',');
  const advertised: string[] = [];
  for (const [i, name] of brokers.entries()) {
    const env = environment(services[name]);
    assert.equal(env.KAFKA_NODE_ID, String(i + 1), `${name}: node id`);
    assert.equal(env.KAFKA_CONTROLLER_QUORUM_VOTERS, voters, `${name}: every broker is a voter of the one quorum`);
    const [listener, ...others] = listeners(env.KAFKA_ADVERTISED_LISTENERS);
    assert.deepEqual(others, [], `${name} advertises one listener`);
    assert.ok(namesOf(name).includes(listener.host), `${name} advertises ${listener.host}, not its own name: clients would be sent to another broker`);
    assert.ok(listeners(env.KAFKA_LISTENERS).some((l) => l.name === listener.name && l.port === listener.port), `${name} listens where it advertises`);
    assert.equal(env.KAFKA_DEFAULT_REPLICATION_FACTOR, '3');
    assert.equal(env.KAFKA_MIN_INSYNC_REPLICAS, '2');
    assert.equal(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR, '3');
    assert.equal(env.CLUSTER_ID, environment(services['kafka-1']).CLUSTER_ID, 'one cluster id');
    assert.equal(Buffer.from(env.CLUSTER_ID ?? '', 'base64url').length, 16, 'CLUSTER_ID is a base64url UUID');
    advertised.push(`${listener.host}:${listener.port}`);
  }
  assert.notEqual(environment(services['kafka-1']).CLUSTER_ID, environment(services.kafka).CLUSTER_ID, 'the cluster is not the single broker\'s');
  for (const name of nodes) {
    const env = environment(services[name]);
    assert.equal(env.CASSANDRA_CLUSTER_NAME, environment(services['cassandra-1']).CASSANDRA_CLUSTER_NAME, `${name}: one ring`);
    assert.equal(env.CASSANDRA_DC, DEFAULT_CASSANDRA_LOCAL_DC, `${name}: the data center the pipeline treats as local`);
    for (const seed of (env.CASSANDRA_SEEDS ?? '').split(',')) assert.ok(nodes.includes(seed), `${name}: seed ${seed} is a node of the ring`);
    assert.ok(env.MAX_HEAP_SIZE && env.HEAP_NEWSIZE, `${name}: a modest heap, both sizes set`);
    assert.ok(services[name].healthcheck, `${name} has a healthcheck`);
  }
  assert.equal(services['cassandra-2'].depends_on?.['cassandra-1']?.condition, 'service_healthy', 'the nodes join one at a time');
  assert.equal(services['cassandra-3'].depends_on?.['cassandra-2']?.condition, 'service_healthy', 'the nodes join one at a time');
  const pipeline = services['pipeline-cluster'];
  const env = environment(pipeline);
  assert.deepEqual(env.KAFKA_BROKERS?.split(','), advertised, 'the cluster pipeline bootstraps from every broker\'s advertised listener');
  assert.deepEqual(env.CASSANDRA_CONTACT_POINTS?.split(','), nodes.map((n) => `${n}:9042`), 'the cluster pipeline knows every node');
  for (const name of [...brokers, ...nodes]) assert.equal(pipeline.depends_on?.[name]?.condition, 'service_healthy', `the cluster pipeline waits for ${name}`);
  assert.ok(words(pipeline.command).includes('--no-services'));
});

test('every flag a service passes is an option of the script it runs', () => {
  for (const [name, service] of appServices) {
    const script = scriptOf(service);
    assert.ok(script && existsSync(join(REPO, script)), `service ${name} runs no script of bin/`);
    const source = read(script);
    for (const flag of words(service.command).filter((w) => w.startsWith('--'))) {
      const option = flag.slice(2);
      assert.match(source, new RegExp(`['"]?${option}['"]?\\s*:\\s*\\{\\s*type:`), `service ${name} passes ${flag}, which ${script} does not define`);
    }
  }
});

test('the topics the compose file names are the topology\'s', () => {
  const topology = parse(read('config/user-pipeline.yaml')) as { pipelines: Record<string, any> };
  const topics = new Set(
    Object.values(topology.pipelines).flatMap((p) => [p.source, p.sink, p.deadLetter].filter(Boolean).flatMap((c) => [c.topic, ...(c.topics ?? [])]).filter(Boolean).map((t: string) => interpolate(t))),
  );
  assert.ok(topics.has('users_created'), `config/user-pipeline.yaml names ${[...topics].join(', ')}`);
  const named: Array<[string, string]> = [];
  for (const [name, service] of Object.entries(services)) {
    for (const [key, value] of Object.entries(environment(service))) if (/(^|_)TOPICS?$/.test(key) && value) named.push([`${name} ${key}`, value]);
    const commands = [service.command, service.entrypoint, service.healthcheck?.test].map((c) => words(c).join(' '));
    for (const command of commands) for (const match of command.matchAll(/--topic[= ](\S+)/g)) named.push([`${name} command`, match[1]]);
  }
  for (const [where, topic] of named) assert.ok(topics.has(topic), `${where} names topic ${topic}; the topology uses ${[...topics].join(', ')}`);
});

test('image versions follow services/maven/pom.xml', () => {
  const pom = read('services/maven/pom.xml');
  const kafkaVersion = /<kafka\.version>([^<]+)</.exec(pom)?.[1];
  const cassandraVersion = /<cassandra\.version>([^<]+)</.exec(pom)?.[1];
  assert.equal(services.kafka.image, `apache/kafka:${kafkaVersion}`, 'the kafka image is not the official apache/kafka at the version the local services use');
  const [, cassandraImage, cassandraTag] = /^(.*):(.*)$/.exec(services.cassandra.image) ?? [];
  assert.equal(cassandraImage, 'cassandra');
  assert.ok(`${cassandraVersion}.`.startsWith(`${cassandraTag}.`), `cassandra:${cassandraTag} is not the ${cassandraVersion} series of the local services`);
});

test('the schema registry: the Apicurio version services/registry/pom.xml builds, on 127.0.0.1 at the local default port, BACKWARD, reached by the pipelines by service name', () => {
  const version = /<apicurio\.version>([^<]+)</.exec(read('services/registry/pom.xml'))?.[1];
  assert.equal(services.registry?.image, `quay.io/apicurio/apicurio-registry-mem:${version}`);
  assert.deepEqual(services.registry.ports, [`127.0.0.1:${new URL(DEFAULT_SCHEMA_REGISTRY_URL).port}:8080`]);
  assert.equal(environment(services.registry).REGISTRY_RULES_GLOBAL_COMPATIBILITY, REGISTRY_COMPATIBILITY);
  for (const name of ['pipeline', 'pipeline-offline']) {
    const url = new URL(environment(services[name]).SCHEMA_REGISTRY_URL ?? '');
    assert.equal(url.host, 'registry:8080', name);
    assert.equal(url.pathname, new URL(DEFAULT_SCHEMA_REGISTRY_URL).pathname, `${name}: the Confluent-compatible API`);
    assert.equal(services[name].depends_on?.registry?.condition, 'service_healthy', name);
  }
});

test('Dockerfile: Node major of package.json engines, compilers only in the build stage, non-root, runs bin/run.ts; .dockerignore', () => {
  const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
  const major = /(\d+)/.exec(engines)?.[1];
  const stages = dockerfile.split(/^(?=FROM\s)/m).filter((s) => s.startsWith('FROM'));
  assert.ok(stages.length >= 2, 'expected a build stage and a runtime stage');
  for (const stage of stages) {
    const image = /^FROM\s+(\S+)/.exec(stage)?.[1] ?? '';
    assert.equal(/^node:(\d+)/.exec(image)?.[1], major, `${image} is not Node ${major} (package.json engines ${engines})`);
  }
  const installs = (stage: string) => [...stage.matchAll(/apt-get install([^&\n]*(?:\\\n[^&\n]*)*)/g)].map((m) => m[1]).join(' ');
  for (const tool of ['python3', 'make', 'g++']) assert.ok(installs(stages[0]).split(/\s+/).includes(tool), `the build stage does not install ${tool} (node-rdkafka compiles librdkafka)`);
  assert.match(stages[0], /npm ci\b/);
  const runtime = stages.at(-1) ?? '';
  for (const tool of ['g++', 'gcc', 'make', 'build-essential', 'python3']) assert.ok(!installs(runtime).split(/\s+/).includes(tool), `the runtime stage installs ${tool}`);
  const users = [...runtime.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
  assert.equal(users.at(-1), 'node', 'the runtime stage must end as the non-root node user');
  assert.match(runtime, /^ENTRYPOINT\s+\[.*"bin\/run\.ts"\]/m);
  const ignored = read('.dockerignore').split('\n').map((line) => line.trim().replace(/\/$/, ''));
  for (const path of ['node_modules', '.state', '.git', 'bench/results']) assert.ok(ignored.includes(path), `.dockerignore does not exclude ${path}`);
});

/** `docker compose` (v2) if the CLI has it, else `docker-compose` (v1 from Debian, or v2 standalone). */
function composeCommand(): string[] | undefined {
  for (const command of [['docker', 'compose'], ['docker-compose']]) {
    const probe = spawnSync(command[0], [...command.slice(1), 'version'], { encoding: 'utf8', timeout: 30_000 });
    if (probe.status === 0) return command;
  }
  return undefined;
}

test('the Compose implementation accepts the file (its schema and its own checks), when one is installed', (t) => {
  const command = composeCommand();
  if (!command) {
    t.diagnostic('compose schema check NOT RUN: neither `docker compose` nor `docker-compose` is installed (Debian: apt-get install --no-install-recommends docker-compose); the structural checks above still ran');
    return;
  }
  // `config` (not `config -q`) also serialises the result, which catches values the schema lets
  // through, such as a healthcheck interval that is not a duration. No daemon is needed.
  const result = spawnSync(command[0], [...command.slice(1), '-f', 'docker-compose.yml', 'config'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, `${command.join(' ')} config rejected docker-compose.yml:\n${result.stderr}${result.error ? String(result.error) : ''}`);
  const version = spawnSync(command[0], [...command.slice(1), 'version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  t.diagnostic(`compose schema check ran: ${version.trim()} accepted docker-compose.yml`);
});

test('Prometheus scrapes every pipeline service on the port it serves metrics on, and Grafana gets the dashboard', () => {
  const prometheus = parse(read('config/prometheus/prometheus.yml')) as { scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }> };
  const targets = prometheus.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
  for (const [name, service] of pipelines) {
    const args = words(service.command);
    const port = args[args.indexOf('--metrics-port') + 1];
    assert.ok(args.includes('--metrics-port'), `${name} serves metrics`);
    assert.equal(args[args.indexOf('--metrics-host') + 1], '0.0.0.0', `${name} serves them on the compose network`);
    assert.ok(targets.includes(`${name}:${port}`), `Prometheus scrapes ${name}:${port} (targets: ${targets.join(', ')})`);
  }
  const mounts = (services.grafana?.volumes ?? []) as string[];
  assert.ok(mounts.some((m) => m.startsWith('./config/grafana/user-pipeline-dashboard.json:')), 'the dashboard is mounted');
  assert.ok(existsSync(join(REPO, 'config/grafana/user-pipeline-dashboard.json')));
});
