/**
 * `npm start` refuses bad configuration with one line that names the problem and the fix, a non-zero
 * exit code, and nothing written (no log file, nothing started).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function start(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'bin/run.ts', ...args], { cwd: repo, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stderr: result.stderr.trim(), stdout: result.stdout };
}

/** A topology file in a fresh folder whose log folder is beside it. */
function topology(body: string): { file: string; logs: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'bad-config-'));
  const logs = path.join(dir, 'logs');
  const file = path.join(dir, 'bad.yaml');
  writeFileSync(file, `${body}\nlogging: { dir: ${JSON.stringify(logs)} }\n`);
  return { file, logs };
}

test('an unknown component type: exit 2, one line listing the known types, nothing written', () => {
  const { file, logs } = topology('pipelines:\n  p:\n    source: { type: kafak, topics: [x] }\n    sink: { type: console }');
  const { code, stderr } = start(['--topology', file]);
  assert.equal(code, 2);
  assert.equal(stderr.split('\n').length, 1, stderr);
  assert.match(stderr, /pipelines\.p\.source\.type: unknown source type "kafak"; known source types: http-poll, kafka, memory, rate$/);
  assert.equal(existsSync(logs), false, 'no log file');
});

test('an invalid keyspace identifier is refused before anything connects', () => {
  const { file, logs } = topology(`pipelines:
  p:
    source: { type: memory, channel: a }
    sink: { type: cassandra, contactPoints: "127.0.0.1:9042", keyspace: spark-streams, table: users, columns: { id: uuid }, primaryKey: id }`);
  const { code, stderr } = start(['--topology', file]);
  assert.equal(code, 2);
  assert.equal(stderr.split('\n').length, 1, stderr);
  assert.match(stderr, /pipelines\.p\.sink\.keyspace: expected .*got "spark-streams"/);
  assert.equal(existsSync(logs), false);
});

test('a rule of a component\'s check (across its fields) is one line, exit 2, nothing written', () => {
  const { file, logs } = topology(`pipelines:
  p:
    source: { type: memory, channel: a }
    operators:
      - { type: window, kind: tumbling, size: 1m, slide: 10s, eventTime: timestamp, aggregations: { n: { fn: count } }, allowedLateness: 0s }
    sink: { type: console }`);
  for (const args of [['--topology', file], ['--topology', file, '--describe']]) {
    const { code, stderr } = start(args);
    assert.equal(code, 2, stderr);
    assert.equal(stderr, `${file} is not a valid topology: pipelines.p.operators[0].slide: only sliding windows have a slide; remove it, or make kind: sliding`);
  }
  assert.equal(existsSync(logs), false);
});

test('a kafka sink with payload: raw after operators is refused: their output would be lost', () => {
  const { file, logs } = topology(`pipelines:
  p:
    source: { type: memory, channel: a }
    operators:
      - { type: validate, schema: randomuser-user }
      - { type: mapping, fields: { id: login.uuid } }
    sink: { type: kafka, brokers: "127.0.0.1:9092", topic: users, payload: raw }`);
  const { code, stderr } = start(['--topology', file]);
  assert.equal(code, 2, stderr);
  assert.equal(stderr.split('\n').length, 1, stderr);
  assert.match(stderr, /pipelines\.p\.sink\.payload: raw sends the bytes the source read, so what the operators \(validate, mapping\) make of the records would be lost; remove `payload: raw`/);
  assert.equal(existsSync(logs), false);
  // The same sink straight after the source is fine: --describe creates it.
  const plain = topology('pipelines:\n  p:\n    source: { type: memory, channel: a }\n    sink: { type: kafka, brokers: "127.0.0.1:9092", topic: users, payload: raw }');
  const described = start(['--topology', plain.file, '--describe']);
  assert.equal(described.code, 0, described.stderr);
});

test('a missing required environment variable names it and the way to give a default', () => {
  const { file } = topology('pipelines:\n  p:\n    source: { type: memory, channel: "${CHANNEL_FOR_BAD_CONFIG_TEST}" }\n    sink: { type: console }');
  const { code, stderr } = start(['--topology', file], { CHANNEL_FOR_BAD_CONFIG_TEST: '' });
  assert.equal(code, 2);
  assert.equal(stderr, `${file} is not a valid topology: pipelines.p.source.channel: environment variable CHANNEL_FOR_BAD_CONFIG_TEST is not set (set it, or write \${CHANNEL_FOR_BAD_CONFIG_TEST:-default} in the file)`);
});

test('an unreachable host fails at once, naming the address and the fix; nothing is written', () => {
  const { file, logs } = topology(`pipelines:
  p:
    source: { type: memory, channel: a }
    sink: { type: kafka, brokers: "\${KAFKA_BROKERS:-127.0.0.1:9092}", topic: t }`);
  const started = Date.now();
  const { code, stderr } = start(['--topology', file, '--brokers', '127.0.0.1:1']);
  assert.equal(code, 1);
  assert.equal(stderr, 'error: cannot reach Kafka at 127.0.0.1:1; check the address in KAFKA_BROKERS (or --brokers), or unset it to use the local services (npm run services -- up)');
  assert.ok(Date.now() - started < 30_000);
  assert.equal(existsSync(logs), false, 'no log file');
});

test('a port already in use names the port and the variable that moves it', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as AddressInfo).port;
  try {
    const { code, stderr } = start(['--topology', 'rate-demo', '--offline', '--describe'], { RANDOMUSER_PORT: String(port) });
    assert.equal(code, 1);
    assert.equal(stderr, `error: port ${port} is already in use, so the bundled RandomUser server cannot start\n  → set RANDOMUSER_PORT to a free port, or unset it to pick one`);
  } finally {
    blocker.close();
  }
});

test('--help, an unknown option and a missing --topology', () => {
  const help = start(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: npm start -- --topology NAME\|PATH/);
  assert.match(help.stdout, /known: .*user-pipeline/);
  const unknown = start(['--topology', 'user-pipeline', '--brokerz', 'x']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^error: Unknown option '--brokerz'/);
  const missing = start([]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^error: no topology given\n {2}→ use --topology NAME \(known: .*user-pipeline.*\)/);
});

test('--describe prints the graph without connecting anything', () => {
  const { code, stdout } = start(['--topology', 'user-pipeline', '--describe', '--brokers', '127.0.0.1:1', '--contact-points', '127.0.0.1:2']);
  assert.equal(code, 0);
  assert.match(stdout, /Pipeline: ingest/);
  assert.match(stdout, /Source: kafka topic users_created \(group user-pipeline, from earliest\)/);
  assert.match(stdout, /--> Sink: cassandra spark_streams\.created_users \(127\.0\.0\.1:2\)/);
  assert.match(stdout, /--> Dead letters: kafka dead-letter topic users_created_dead/);
});
