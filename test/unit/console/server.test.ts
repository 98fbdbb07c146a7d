/**
 * The web console's server (operations/console/server.ts) over a real topology in this process (memory
 * source, flat-map, memory sinks): the pages and the bundled libraries; the runtime's events as
 * server-sent events, equal to what the runtime emitted; the overview, pipeline and graph endpoints;
 * replay refused — and nothing replayed — without the token, with a wrong one, from another origin, by
 * GET or through another host name; allowed with both; secrets masked; a busy port moves to the next.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import '../../../components.ts';
import { loadTopology } from '../../../topology/load.ts';
import { silentLogger } from '../../../operations/logger.ts';
import { TopologyRuntime } from '../../../topology/runtime.ts';
import type { ProgressEvent } from '../../../topology/progress.ts';
import type { RuntimeEvent } from '../../../topology/events.ts';
import { registerSecret } from '../../../topology/secrets.ts';
import { memoryStore } from '../../../testing/memory-channels.ts';
import { startConsole, type ConsoleServer } from '../../../operations/console/server.ts';
import type { DataStore } from '../../../operations/console/data.ts';
import type { DeadLetterStore, ReplayRequest } from '../../../operations/console/dead-letters.ts';

const NAME = 'console-unit';
const SECRET = 'hunter2-console-secret';
const dir = mkdtempSync(path.join(tmpdir(), 'console-unit-'));
const file = path.join(dir, `${NAME}.yaml`);
writeFileSync(
  file,
  `name: ${NAME}
description: a topology whose description holds a secret, ${SECRET}, that no answer may show
pipelines:
  main:
    source: { type: memory, channel: in }
    operators: [{ type: flat-map, path: items }]
    sink: { type: memory, channel: out }
    deadLetter: { type: memory, channel: dead }
    trigger: { interval: 50ms }
logging: { dir: ${JSON.stringify(dir)}, console: "off" }
`,
);

/** A dead-letter store that only records what it was asked to replay. */
function recordingDeadLetters(): DeadLetterStore & { replays: ReplayRequest[] } {
  const replays: ReplayRequest[] = [];
  return {
    replays,
    topics: () => ['in_dead'],
    list: async () => [],
    originalBytes: async () => undefined,
    replay: async (request) => {
      replays.push(request);
      return { replayed: 1, duplicates: 0, withoutOrigin: 0, missing: 0, byTopic: { in: 1 } };
    },
  };
}

const noData: DataStore = { topics: async () => [], peek: async () => [], tables: async () => [], close: async () => undefined };

let runtime: TopologyRuntime;
let server: ConsoleServer;
let deadLetters: ReturnType<typeof recordingDeadLetters>;
const emitted: RuntimeEvent[] = [];

before(async () => {
  registerSecret(SECRET);
  const { config } = loadTopology(file, { env: {} });
  runtime = new TopologyRuntime(config, { logger: silentLogger() });
  runtime.events$.subscribe((event) => emitted.push(event));
  deadLetters = recordingDeadLetters();
  server = await startConsole(runtime, { port: 0, file, deadLetters, data: noData });
});

after(async () => {
  await runtime.stop();
  await server.close();
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request with exactly these headers (fetch would not let a test set Host or leave Origin out). */
function request(method: string, route: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.address.port, method, path: route, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const origin = () => `http://127.0.0.1:${server.address.port}`;

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('listens on 127.0.0.1; serves the pages with the token, and uPlot and dagre from node_modules', async () => {
  assert.equal(server.address.address, '127.0.0.1');
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  for (const page of ['/', '/pipeline', '/dead-letters', '/data', '/file']) {
    const answer = await request('GET', page);
    assert.equal(answer.status, 200, page);
    assert.match(String(answer.headers['content-type']), /^text\/html/);
    assert.ok(answer.body.includes(`<meta name="console-token" content="${server.token}">`), `${page} carries the token`);
    assert.match(String(answer.headers['content-security-policy']), /script-src 'self'/);
  }
  for (const [asset, marker] of [['/vendor/uPlot.iife.min.js', 'uPlot'], ['/vendor/dagre.min.js', 'dagre'], ['/vendor/uPlot.min.css', '.uplot'], ['/assets/common.js', 'onRuntimeEvents']]) {
    const answer = await request('GET', asset);
    assert.equal(answer.status, 200, asset);
    assert.ok(answer.body.includes(marker) && answer.body.length > 1000, `${asset} is the library`);
  }
  assert.equal((await request('GET', '/assets/../server.ts')).status, 404);
});

test('server-sent events carry the runtime events as emitted; the endpoints count the same batches', async () => {
  const frames: RuntimeEvent[] = [];
  const stream = await new Promise<http.IncomingMessage>((resolve, reject) => http.get({ host: '127.0.0.1', port: server.address.port, path: '/api/events' }, resolve).on('error', reject));
  assert.equal(stream.headers['content-type'], 'text/event-stream; charset=utf-8');
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (frame.startsWith('data: ')) frames.push(JSON.parse(frame.slice(6)) as RuntimeEvent);
    }
  });
  try {
    await runtime.start();
    const input = memoryStore.channel(NAME, 'in');
    input.append(...Array.from({ length: 12 }, (_, i) => (i % 4 === 3 ? { n: i } : { n: i, items: [{ i }, { i }] })));
    await until(() => input.committed === 12, 'the 12 records to be committed');
    const progress = () => emitted.filter((e): e is ProgressEvent => e.event === 'progress');
    await until(() => frames.filter((e) => e.event === 'progress').length === progress().length, 'every progress event to reach the stream');
    // The stream was open before the runtime started: it carries every event.
    assert.deepEqual(frames, emitted, 'the events, in order, as the runtime emitted them');
    assert.ok(frames.some((e) => e.event === 'pipeline-started'));

    const overview = JSON.parse((await request('GET', '/api/overview')).body);
    assert.equal(overview.topology, NAME);
    const main = overview.pipelines.find((p: { name: string }) => p.name === 'main');
    const sum = (pick: (e: ProgressEvent) => number) => progress().reduce((n, e) => n + pick(e), 0);
    assert.deepEqual(main.summary, { batches: progress().length, inputRows: 12, outputRows: sum((e) => e.sink.numOutputRows), deadLetters: 3, failures: 0 });
    assert.equal(main.state, 'running');

    const view = JSON.parse((await request('GET', '/api/pipeline?name=main')).body);
    assert.deepEqual(view.recent, progress(), 'the recent batches are the progress events');
    assert.equal((await request('GET', '/api/pipeline?name=nope')).status, 404);

    const graph = JSON.parse((await request('GET', '/api/graph')).body);
    assert.deepEqual(
      graph.nodes.filter((n: { pipeline?: string }) => n.pipeline === 'main').map((n: { kind: string; label: string }) => `${n.kind} ${n.label}`),
      ['source memory', 'operator flat-map', 'sink memory', 'dead-letter dead letters'],
    );
    assert.ok(graph.edges.some((e: { flow?: string; from: string }) => e.flow === 'input' && e.from === 'external:memory channel in'));
  } finally {
    stream.destroy();
  }
});

test('replay: refused without the token, with a wrong one, from another origin, by GET, or under another host name — nothing replayed', async () => {
  const body = JSON.stringify({ reason: '' });
  const json = { 'content-type': 'application/json' };
  const refusals: Array<[string, Answer, number]> = [
    ['no token', await request('POST', '/api/dead-letters/replay', { ...json, origin: origin() }, body), 403],
    ['a wrong token', await request('POST', '/api/dead-letters/replay', { ...json, origin: origin(), 'x-console-token': `${server.token.slice(0, -1)}x` }, body), 403],
    ['another origin', await request('POST', '/api/dead-letters/replay', { ...json, origin: 'http://evil.example', 'x-console-token': server.token }, body), 403],
    ['no origin', await request('POST', '/api/dead-letters/replay', { ...json, 'x-console-token': server.token }, body), 403],
    ['a cross-site fetch', await request('POST', '/api/dead-letters/replay', { ...json, origin: origin(), 'sec-fetch-site': 'cross-site', 'x-console-token': server.token }, body), 403],
    ['GET', await request('GET', '/api/dead-letters/replay', { origin: origin(), 'x-console-token': server.token }), 405],
    [
      'a rebound host name',
      await request('POST', '/api/dead-letters/replay', { ...json, host: `evil.example:${server.address.port}`, origin: `http://evil.example:${server.address.port}`, 'x-console-token': server.token }, body),
      421,
    ],
    ['a form post', await request('POST', '/api/dead-letters/replay', { 'content-type': 'application/x-www-form-urlencoded', origin: origin(), 'x-console-token': server.token }, 'reason='), 415],
  ];
  for (const [what, answer, status] of refusals) assert.equal(answer.status, status, `${what}: ${answer.body}`);
  assert.match(refusals[2][1].body, /another origin/);
  assert.deepEqual(deadLetters.replays, [], 'nothing was replayed');

  const allowed = await request('POST', '/api/dead-letters/replay', { ...json, origin: origin(), 'x-console-token': server.token }, JSON.stringify({ letters: [{ topic: 'in_dead', partition: 0, offset: 7 }] }));
  assert.equal(allowed.status, 200, allowed.body);
  assert.deepEqual(JSON.parse(allowed.body), { replayed: 1, duplicates: 0, withoutOrigin: 0, missing: 0, byTopic: { in: 1 } });
  assert.deepEqual(deadLetters.replays, [{ letters: [{ topic: 'in_dead', partition: 0, offset: 7 }] }]);
  const invalid = await request('POST', '/api/dead-letters/replay', { ...json, origin: origin(), 'x-console-token': server.token }, JSON.stringify({ letters: [{ topic: 'in_dead' }] }));
  assert.equal(invalid.status, 400);
  assert.equal(deadLetters.replays.length, 1);
});

test('a GET under another host name is refused (DNS rebinding); localhost is this server', async () => {
  assert.equal((await request('GET', '/api/overview', { host: `evil.example:${server.address.port}` })).status, 421);
  assert.equal((await request('GET', '/api/overview', { host: `localhost:${server.address.port}` })).status, 200);
});

test('no secret in any answer or event: masked as in the logs', async () => {
  const frames: string[] = [];
  const stream = await new Promise<http.IncomingMessage>((resolve, reject) => http.get({ host: '127.0.0.1', port: server.address.port, path: '/api/events' }, resolve).on('error', reject));
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => frames.push(chunk));
  try {
    await until(() => frames.join('').includes(': connected'), 'the stream to open');
    runtime.events$.next({ event: 'batch-failed', topology: NAME, pipeline: 'main', batchId: 99, error: `login failed for ${SECRET}`, uncommittedRows: 0, consecutiveFailures: 1, action: 'retry', retryInMs: 50 });
    await until(() => frames.join('').includes('"batchId":99'), 'the failed batch on the stream');
    const answers = await Promise.all(['/api/overview', '/api/pipeline?name=main', '/api/topology-file', '/api/graph', '/file'].map((route) => request('GET', route)));
    for (const answer of answers) assert.equal(answer.status, 200);
    const everything = [...answers.map((a) => a.body), frames.join('')].join('\n');
    assert.ok(!everything.includes(SECRET), 'the secret appears nowhere');
    assert.match(JSON.parse(answers[1].body).lastError.error, /^login failed for \*\*\*$/);
    assert.match(JSON.parse(answers[2].body).fileText, /holds a secret, \*\*\*, that/);
  } finally {
    stream.destroy();
  }
});

test('a busy port: the console takes the next free one', async () => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const taken = (busy.address() as AddressInfo).port;
  const second = await startConsole(runtime, { port: taken, deadLetters: recordingDeadLetters(), data: noData });
  try {
    assert.ok(second.address.port > taken && second.address.port < taken + 16, `moved from ${taken} to ${second.address.port}`);
    assert.equal((await fetch(`${second.url}api/overview`)).status, 200);
  } finally {
    await second.close();
    busy.close();
  }
});
