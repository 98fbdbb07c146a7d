/**
 * Security basics, end to end:
 * - no secret reaches a log file, the console, --describe, an error message, a config error listing or
 *   a progress event — while servers echo the credentials back in their error bodies and messages, as
 *   careless servers do: http-poll with a bearer token and with credentials in the url (against a
 *   local echo server), a Kafka sink with SASL (against the real broker's PLAINTEXT listener, which
 *   refuses it), one with a TLS key password, and a Cassandra sink with a password (against a fake CQL
 *   server that refuses it, quoting it). `npm start` runs as a child process with a real file logger in
 *   a temp dir; then the log files and the console output are searched for every secret.
 * - every HTTP server the commands open listens on loopback unless told otherwise (npm run randomuser,
 *   npm start --offline, --metrics-port), and so do the local Kafka and Cassandra.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../components.ts';
import { loadTopology } from '../../topology/load.ts';
import { createTopologyLogger } from '../../operations/logger.ts';
import { TopologyRuntime } from '../../topology/runtime.ts';
import type { ProgressEvent } from '../../topology/progress.ts';
import { readSettings } from '../../services/settings.ts';
import { startFakeCql, type FakeCql } from '../unit/security/fake-cql.ts';
import { isLoopbackAddress, listeningAddresses } from '../unit/security/listeners.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const CONTACT_POINTS = process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042';

const unique = (label: string) => `${label}-${randomBytes(6).toString('hex')}`;
const secrets = {
  API_TOKEN: unique('tok'),
  URL_PASSWORD: unique('urlpw'),
  KAFKA_PASSWORD: unique('kafkapw'),
  KEY_PASSWORD: unique('keypw'),
  CASSANDRA_PASSWORD: unique('cqlpw'),
};
/** Every form a secret could be printed in: as set, and the basic-auth header's base64 of user:password. */
const forbidden = [...Object.values(secrets), Buffer.from(`reader:${secrets.URL_PASSWORD}`).toString('base64')];

let echo: http.Server;
let echoPort: number;
const authorizations: string[] = [];
let cql: FakeCql;
const dir = mkdtempSync(path.join(tmpdir(), 'security-it-'));
const logDir = path.join(dir, 'logs');

/**
 * Answers in a cycle of three — a 500, a 200 with an `{"error": …}` body, a 200 with one record — and
 * every error quotes the credentials it got: the bare bearer token, the basic-auth header and the
 * password in it. `/denied` answers 401, quoting the token.
 */
function answer(req: http.IncomingMessage, res: http.ServerResponse, n: number): void {
  const header = req.headers.authorization ?? '';
  authorizations.push(header);
  const [scheme, credential = ''] = header.split(' ');
  const decoded = scheme === 'Basic' ? Buffer.from(credential, 'base64').toString('utf8').split(':')[1] : credential;
  const quote = `credentials ${header} (${decoded}) refused`;
  const json = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (req.url?.startsWith('/denied')) return json(401, { error: quote });
  if (n % 3 === 0) return json(500, { error: quote });
  if (n % 3 === 1) return json(200, { error: quote });
  json(200, { results: [{ n }] });
}

before(async () => {
  let n = 0;
  echo = http.createServer((req, res) => answer(req, res, n++));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as AddressInfo).port;
  cql = await startFakeCql();
});

after(async () => {
  echo.closeAllConnections();
  echo.close();
  await cql.close();
});

function topologyFile(): string {
  const file = path.join(dir, 'secrets.yaml');
  const retry = '{ initialBackoff: 50ms, maxBackoff: 100ms }';
  writeFileSync(
    file,
    `name: secrets
pipelines:
  token:
    source: { type: http-poll, url: "http://127.0.0.1:${echoPort}/token", authorization: "Bearer \${API_TOKEN}", interval: 100ms, retry: ${retry} }
    sink: { type: memory, channel: token }
  basic:
    source: { type: http-poll, url: "http://reader:\${URL_PASSWORD}@127.0.0.1:${echoPort}/basic", interval: 100ms, retry: ${retry} }
    sink: { type: memory, channel: basic }
  denied:
    source: { type: http-poll, url: "http://127.0.0.1:${echoPort}/denied", authorization: "Bearer \${API_TOKEN}" }
    sink: { type: memory, channel: denied }
    onFailure: { initialBackoff: 100ms, maxBackoff: 200ms }
  kafka:
    source: { type: rate, rowsPerSecond: 10 }
    sink: { type: kafka, brokers: "\${KAFKA_BROKERS}", topic: security_it, connectTimeout: 4s, sasl: { mechanism: PLAIN, username: pipeline, password: "\${KAFKA_PASSWORD}" } }
  kafkatls:
    source: { type: rate, rowsPerSecond: 10 }
    sink: { type: kafka, brokers: "\${KAFKA_BROKERS}", topic: security_it, connectTimeout: 4s, ssl: { keyPassword: "\${KEY_PASSWORD}" } }
  cassandra:
    source: { type: rate, rowsPerSecond: 10 }
    sink: { type: cassandra, contactPoints: "${cql.address}", username: pipeline, password: "\${CASSANDRA_PASSWORD}", keyspace: ks, table: t, columns: { id: int }, primaryKey: id }
logging: { dir: ${JSON.stringify(logDir)}, console: pretty }
`,
  );
  return file;
}

interface Outcome {
  code: number | null;
  output: string;
  ms: number;
}

/** `npm start` with the secrets in its environment; asynchronous, so this process's servers keep answering. */
async function start(args: string[]): Promise<Outcome> {
  const startedAt = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/run.ts', ...args], { cwd: repo, env: { ...process.env, KAFKA_BROKERS: BROKERS, ...secrets }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  return { code, output, ms: Date.now() - startedAt };
}

function assertNoSecret(text: string, where: string): void {
  for (const secret of forbidden) {
    const at = text.indexOf(secret);
    assert.equal(at, -1, `${where} contains a secret: …${text.slice(Math.max(0, at - 120), at + secret.length + 20)}…`);
  }
}

test('no secret in log files, console output, --describe, error messages or config error listings', { timeout: 240_000 }, async (t) => {
  const file = topologyFile();
  const runs: Record<string, Outcome> = {
    // The http-poll pipelines run while the Kafka sink's start fails (SASL on a PLAINTEXT listener).
    http: await start(['--topology', file, '--pipeline', 'token', '--pipeline', 'basic', '--pipeline', 'denied', '--pipeline', 'kafka']),
    kafkatls: await start(['--topology', file, '--pipeline', 'kafkatls']),
    cassandra: await start(['--topology', file, '--pipeline', 'cassandra']),
    describe: await start(['--topology', file, '--describe']),
  };
  const invalid = path.join(dir, 'invalid.yaml');
  writeFileSync(
    invalid,
    readFileSync(file, 'utf8')
      .replace('mechanism: PLAIN, username: pipeline, password: "${KAFKA_PASSWORD}"', `mechanism: PLAN, username: pipeline, password: ${secrets.KAFKA_PASSWORD.length}`)
      .replace(`url: "http://reader:\${URL_PASSWORD}@127.0.0.1:${echoPort}/basic"`, 'url: "htp://reader:${URL_PASSWORD}@127.0.0.1/basic"')
      .replace('authorization: "Bearer ${API_TOKEN}"', 'authorization: 12345678')
      .replace('username: pipeline, password: "${CASSANDRA_PASSWORD}"', 'password: "${CASSANDRA_PASSWORD}"'),
  );
  runs.invalid = await start(['--topology', invalid]);
  for (const [name, run] of Object.entries(runs)) t.diagnostic(`${name}: exit ${run.code} after ${run.ms} ms, ${run.output.split('\n').length} lines of console output`);

  // The runs did meet the secrets: the servers got them and the runs failed where they should.
  assert.ok(authorizations.includes(`Bearer ${secrets.API_TOKEN}`), 'the echo server got the token');
  assert.ok(authorizations.includes(`Basic ${Buffer.from(`reader:${secrets.URL_PASSWORD}`).toString('base64')}`), 'the echo server got the url credentials');
  assert.ok(cql.credentials.some((c) => c.password === secrets.CASSANDRA_PASSWORD), 'the CQL server got the password');
  assert.equal(runs.http.code, 1, runs.http.output);
  assert.match(runs.http.output, /cannot reach Kafka at .* within 4 s/);
  assert.match(runs.http.output, /GET http:\/\/127\.0\.0\.1:\d+\/basic failed \(http5xx, attempt \d\): HTTP 500: \{"error":"credentials Basic \*\*\* \(\*\*\*\) refused"\}/);
  assert.match(runs.http.output, /GET http:\/\/127\.0\.0\.1:\d+\/token failed \(errorBody, attempt \d\): the body is an error: credentials \*\*\* \(\*\*\*\) refused/);
  assert.equal(runs.kafkatls.code, 1, runs.kafkatls.output);
  assert.equal(runs.cassandra.code, 1, runs.cassandra.output);
  assert.match(runs.cassandra.output, /refused the credentials of user "pipeline" \(Provided username pipeline and\/or password \*\*\* are incorrect\)/);
  assert.equal(runs.describe.code, 0, runs.describe.output);
  assert.match(runs.describe.output, /Source: http-poll http:\/\/127\.0\.0\.1:\d+\/basic/);
  assert.equal(runs.invalid.code, 2, runs.invalid.output);
  assert.match(runs.invalid.output, /pipelines\.basic\.source\.url: expected an http\(s\) URL, got "htp:\/\/reader:\*\*\*@127\.0\.0\.1\/basic"/);
  assert.match(runs.invalid.output, /pipelines\.kafka\.sink\.sasl\.password: expected a non-empty string, got "\*\*\*"/);

  const logs = readdirSync(logDir).map((name) => [name, readFileSync(path.join(logDir, name), 'utf8')] as const);
  assert.ok(logs.length > 0, 'a log file was written');
  const progress = logs.flatMap(([, text]) => text.split('\n')).filter((line) => line.includes('"event":"progress"'));
  assert.ok(progress.some((line) => line.includes('"pipeline":"token"')) && progress.some((line) => line.includes('"pipeline":"basic"')), 'progress events were logged');
  for (const [name, text] of logs) assertNoSecret(text, `log file ${name}`);
  for (const [name, run] of Object.entries(runs)) assertNoSecret(run.output, `the console output of the ${name} run`);
});

test('no secret in progress events, as published on progress$ (before any log mask)', { timeout: 60_000 }, async () => {
  const { config } = loadTopology(topologyFile(), { env: { ...process.env, KAFKA_BROKERS: BROKERS, ...secrets } });
  const { logger, file, close } = createTopologyLogger(config.name, { ...config.logging, dir: mkdtempSync(path.join(tmpdir(), 'security-progress-')), console: 'off' });
  const runtime = new TopologyRuntime(config, { logger, pipelines: ['token', 'basic'] });
  const events: ProgressEvent[] = [];
  runtime.progress$.subscribe((event) => events.push(event));
  await runtime.start();
  try {
    const deadline = Date.now() + 30_000;
    const withError = (pipeline: string) => events.filter((e) => e.pipeline === pipeline && e.sources[0].metrics?.lastError).length;
    while (withError('token') < 3 || withError('basic') < 3) {
      assert.ok(Date.now() < deadline, `3 progress events with a last error per pipeline within 30 s (got ${events.length} events)`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await runtime.stop();
    await close();
  }
  assertNoSecret(JSON.stringify(events), 'a progress event');
  assertNoSecret(readFileSync(file, 'utf8'), 'the log file');
});

/** Start a command, wait for lines matching every pattern in its output; give the matches and a stop function. */
async function running(args: string[], patterns: RegExp[], env: NodeJS.ProcessEnv = {}): Promise<{ matches: RegExpMatchArray[]; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: repo, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    child.kill('SIGTERM');
    return exited;
  };
  try {
    const matches = await new Promise<RegExpMatchArray[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${patterns.join(', ')} within 60 s in:\n${output}`)), 60_000);
      const look = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const found = patterns.map((p) => output.match(p));
        if (found.every(Boolean)) {
          clearTimeout(timer);
          resolve(found as RegExpMatchArray[]);
        }
      };
      child.stdout.on('data', look);
      child.stderr.on('data', look);
      void exited.then((code) => reject(new Error(`exited with ${code} before ${patterns.join(', ')}:\n${output}`)));
    });
    return { matches, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function assertLoopbackOnly(port: number, what: string): void {
  const addresses = listeningAddresses(port);
  assert.ok(addresses.length > 0, `${what}: something listens on ${port}`);
  assert.ok(addresses.every(isLoopbackAddress), `${what} listens on ${addresses.join(', ')}`);
}

test('npm run randomuser listens on 127.0.0.1 only, unless --host says otherwise', { timeout: 90_000 }, async () => {
  const { matches, stop } = await running(['bin/randomuser.ts', '--port', '0'], [/listening at http:\/\/([\d.]+):(\d+)\/api\//]);
  try {
    assert.equal(matches[0][1], '127.0.0.1');
    assertLoopbackOnly(Number(matches[0][2]), 'npm run randomuser');
  } finally {
    assert.equal(await stop(), 0);
  }
});

test('npm start --offline --metrics-port 0: the offline RandomUser server and the metrics endpoint listen on 127.0.0.1 only', { timeout: 90_000 }, async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'security-bind-')), 'idle.yaml');
  writeFileSync(file, `pipelines:\n  p:\n    source: { type: rate, rowsPerSecond: 1 }\n    sink: { type: memory, channel: out }\nlogging: { dir: ${JSON.stringify(path.join(path.dirname(file), 'logs'))} }\n`);
  const { matches, stop } = await running(
    ['bin/run.ts', '--topology', file, '--offline', '--metrics-port', '0'],
    [/offline: serving RandomUser-compatible users at http:\/\/([\d.]+):(\d+)\/api\//, /Prometheus metrics at http:\/\/([\d.]+):(\d+)\/metrics/],
  );
  try {
    const [offline, metrics] = matches;
    assert.deepEqual([offline[1], metrics[1]], ['127.0.0.1', '127.0.0.1']);
    assertLoopbackOnly(Number(offline[2]), 'the --offline RandomUser server');
    assertLoopbackOnly(Number(metrics[2]), 'the metrics endpoint');
  } finally {
    assert.equal(await stop(), 0, 'stopped gracefully');
  }
});

test('the local Kafka and Cassandra listen on loopback only (client, controller, inter-node ports)', (t) => {
  const settings = readSettings(process.env, repo);
  const ports: Array<[string, number, boolean]> = [
    ['Kafka clients', settings.kafka.port, BROKERS === `${settings.host}:${settings.kafka.port}`],
    ['Kafka controller', settings.kafka.controllerPort, BROKERS === `${settings.host}:${settings.kafka.port}`],
    ['Cassandra CQL', settings.cassandra.port, CONTACT_POINTS === `${settings.host}:${settings.cassandra.port}`],
    ['Cassandra inter-node', settings.cassandra.storagePort, CONTACT_POINTS === `${settings.host}:${settings.cassandra.port}`],
  ];
  const local = ports.filter(([, , isLocal]) => isLocal);
  if (local.length < ports.length) t.diagnostic(`not the local services (KAFKA_BROKERS=${BROKERS}, CASSANDRA_CONTACT_POINTS=${CONTACT_POINTS}): checked ${local.map(([name]) => name).join(', ') || 'nothing'}`);
  for (const [name, port] of local) assertLoopbackOnly(port, name);
  assert.ok(local.length > 0 || process.env.KAFKA_BROKERS !== undefined, 'the test harness runs the local services unless told to use others');
});
