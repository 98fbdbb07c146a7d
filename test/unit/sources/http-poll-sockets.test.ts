/**
 * The http-poll source on real sockets (HTTP servers on 127.0.0.1 started here, port 0) and the real
 * clock, for what only the default transport does: headers and query on the wire, keep-alive
 * connections, basic auth from the url's credentials, a large body, a real timeout and abort, a refused
 * connection; and a whole pipeline. No wall-clock upper bound is asserted: waits have generous safety
 * limits only (against a hang), so a busy machine makes these tests slower, not red.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { asyncScheduler } from 'rxjs';
import winston from 'winston';
import { CaptureTransport, type LogEntry } from '../../../testing/capture.ts';
import '../../../components.ts';
import { gotTransport } from '../../../sources/http-poll/index.ts';
import { parseTopology } from '../../../topology/load.ts';
import { TopologyRuntime } from '../../../topology/runtime.ts';
import { memoryStore } from '../../../testing/memory-channels.ts';
import type { Source } from '../../../topology/types.ts';
import { context, httpPoll, metricsOf, users } from './http-poll-helpers.ts';

interface SeenRequest {
  n: number;
  /** performance.now() when it arrived. */
  at: number;
  url: URL;
  headers: http.IncomingHttpHeaders;
  /** Which connection it came on (the client's port). */
  socket: number;
  /** performance.now() when the client closed it before an answer, if it did. */
  abortedAt?: number;
}

interface TestServer {
  url: string;
  port: number;
  requests: SeenRequest[];
  close(): Promise<void>;
}

/** `handler` answers request number `n` (from 0); it may also leave it unanswered (a hang). */
async function serve(handler: (n: number, req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const seen: SeenRequest = { n: requests.length, at: performance.now(), url: new URL(req.url!, 'http://x'), headers: req.headers, socket: req.socket.remotePort! };
    requests.push(seen);
    res.on('close', () => {
      if (!res.writableFinished) seen.abortedAt = performance.now();
    });
    handler(seen.n, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** A source on the real transport and the real clock. */
function realSource(config: Record<string, unknown>, logs: LogEntry[] = []): Source {
  return httpPoll(config, context(logs, asyncScheduler));
}

/** Poll `condition` until it holds. The limit is a safety net against a hang, not a timing assertion. */
async function until(condition: () => boolean | Promise<boolean>, what: string, limitMs = 30_000): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`gave up after ${limitMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** `promise`, or a failure if it is still pending after `limitMs` (a safety net, so a hang fails instead of hanging the run). */
async function within<T>(promise: Promise<T>, limitMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${limitMs} ms`)), limitMs);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

async function readAll(source: Source): Promise<number> {
  let count = 0;
  await until(async () => {
    const batch = await source.read(100_000, 50);
    count += batch.records.length;
    if (batch.records.length > 0) await source.commit(batch);
    return batch.finished;
  }, 'the source to finish');
  return count;
}

/** Fast retries: these tests wait on the real clock. */
const quickRetry = { initialBackoff: '1ms', maxBackoff: '2ms' };

test('the default transport: any status is an answer, headers read, the body read whole as text; an abort rejects', async () => {
  const server = await serve((n, _req, res) => (n === 0 ? json(res, 503, 'busy', { 'Retry-After': '7' }) : undefined));
  const client = gotTransport({ headers: { accept: 'application/json', 'x-trace': 'on' }, connections: 1 });
  try {
    const answer = await client.get(`${server.url}/api/?results=1`, new AbortController().signal);
    assert.deepEqual([answer.status, answer.headers['retry-after'], answer.body], [503, '7', 'busy']);
    assert.equal(server.requests[0].headers['x-trace'], 'on');
    assert.equal(server.requests[0].url.search, '?results=1');

    const controller = new AbortController();
    const hanging = client.get(`${server.url}/api/`, controller.signal);
    await until(() => server.requests.length === 2, 'the second request');
    controller.abort();
    await assert.rejects(within(hanging, 30_000, 'the aborted request'), { name: 'AbortError' });
    await until(() => server.requests[1].abortedAt !== undefined, 'the server to see the request closed');
  } finally {
    client.close();
    await server.close();
  }
});

test('on the wire: the query and headers on every request, one keep-alive connection per poller, a 5,000-record body read whole', async () => {
  const filler = { street: { number: 8929, name: 'Valwood Pkwy' }, city: 'Billings', state: 'Michigan', country: 'United States', postcode: '63104' };
  const big = JSON.stringify({ results: Array.from({ length: 5000 }, (_, i) => ({ login: { uuid: `uuid-${i}` }, location: filler })) });
  const server = await serve((n, _req, res) => (n === 0 ? json(res, 200, big) : json(res, 200, { results: users(n, 1) })));
  const source = realSource({
    url: `${server.url}/api/?seed=abc`,
    query: { results: 3 },
    headers: { 'X-Trace': 'on' },
    authorization: 'Bearer sekrit-token-1',
    interval: 0,
    concurrency: 2,
    maxRequests: 8,
  });
  await source.start();
  try {
    assert.equal(await readAll(source), 5000 + 7);
    assert.equal(server.requests.length, 8);
    for (const { url, headers } of server.requests) {
      assert.deepEqual(Object.fromEntries(url.searchParams), { seed: 'abc', results: '3' });
      assert.equal(headers.accept, 'application/json');
      assert.equal(headers.authorization, 'Bearer sekrit-token-1');
      assert.equal(headers['x-trace'], 'on');
    }
    const connections = new Set(server.requests.map((r) => r.socket));
    assert.ok(connections.size <= 2, `8 requests of 2 pollers on at most 2 kept-alive connections, were ${connections.size}`);
  } finally {
    await source.close();
    await server.close();
  }
});

test('credentials in the url are sent as basic auth but never described or logged', async () => {
  const server = await serve((_n, _req, res) => json(res, 500, 'no'));
  const logs: LogEntry[] = [];
  const source = realSource({ url: `http://reader:pa55word-x@127.0.0.1:${server.port}/api/`, interval: 0, retry: quickRetry }, logs);
  await source.start();
  try {
    await until(() => logs.some((l) => l.level === 'warn'), 'a warning');
    assert.equal(server.requests[0].headers.authorization, `Basic ${Buffer.from('reader:pa55word-x').toString('base64')}`);
    assert.equal(source.describe(), `http-poll http://127.0.0.1:${server.port}/api/ (back to back, concurrency 1)`);
    assert.doesNotMatch(JSON.stringify(logs), /pa55word|reader@/);
  } finally {
    await source.close();
    await server.close();
  }
});

test('a real timeout aborts the request (the server sees it closed) and the request is retried', async () => {
  const server = await serve((n, _req, res) => (n === 0 ? undefined : json(res, 200, { results: users(n, 1) })));
  const source = realSource({ url: server.url, interval: 0, timeout: '200ms', maxRequests: 1, retry: quickRetry });
  await source.start();
  try {
    assert.equal(await readAll(source), 1);
    const [hung, retried] = server.requests;
    assert.ok(hung.abortedAt !== undefined, 'the request was aborted');
    // Timers fire late on a busy machine, never early (1 ms of rounding aside).
    assert.ok(hung.abortedAt - hung.at >= 190, `not before the timeout: ${Math.round(hung.abortedAt - hung.at)} ms`);
    assert.ok(retried.at >= hung.abortedAt);
    assert.equal((await metricsOf(source)).failures.timeout, 1);
  } finally {
    await source.close();
    await server.close();
  }
});

test('close aborts the request in flight: the server sees it closed, and no request follows', async () => {
  const server = await serve(() => undefined);
  const source = realSource({ url: server.url, interval: 0, timeout: '1h' });
  await source.start();
  try {
    await until(() => server.requests.length === 1, 'the request');
    await within(source.close(), 30_000, 'close'); // with an hour's timeout: this returns only because the request is aborted
    await until(() => server.requests[0].abortedAt !== undefined, 'the server to see the request closed');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(server.requests.length, 1);
  } finally {
    await server.close();
  }
});

test('connection refused is a network failure naming ECONNREFUSED, and the URL is reported unreachable', async () => {
  const closed = await serve(() => undefined);
  await closed.close(); // nothing listens on this port any more
  const logs: LogEntry[] = [];
  const source = realSource({ url: `http://127.0.0.1:${closed.port}/api/`, interval: 0, retry: quickRetry }, logs);
  await source.start();
  try {
    await until(async () => (await metricsOf(source)).failures.network >= 3, '3 refused connections');
    assert.match(Object.keys((await metricsOf(source)).lastError)[0], /^network: .*ECONNREFUSED/);
    const errors = logs.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${closed.port}/api/: the first 3 attempts failed \\(.*ECONNREFUSED`));
  } finally {
    await source.close();
  }
});

test('a whole pipeline: http-poll → memory sink; a failed write loses nothing, and the run ends after maxRequests', async () => {
  const server = await serve((n, _req, res) => (n === 0 ? json(res, 503, 'warming up') : json(res, 200, { results: users(n, 50) })));
  const yaml = `
name: http-poll-e2e
pipelines:
  users:
    source:
      type: http-poll
      url: \${RANDOMUSER_URL:-https://randomuser.me/api/}
      query: { results: 50 }
      keyPath: login.uuid
      interval: 0
      concurrency: 2
      maxRequests: 6
      retry: { initialBackoff: 1ms, maxBackoff: 5ms }
    sink: { type: memory, channel: out, retry: { maxAttempts: 1 } }
    trigger: { interval: 0, maxRecordsPerTrigger: 70, idleDelay: 10ms, readWait: 50ms }
    onFailure: { initialBackoff: 10ms, maxBackoff: 10ms }
`;
  const config = parseTopology(yaml, 'e2e', { env: { RANDOMUSER_URL: `${server.url}/api/` } });
  memoryStore.reset(config.name);
  const out = memoryStore.channel(config.name, 'out');
  out.behaviour.failNextWrites = 1;
  const logs: LogEntry[] = [];
  const logger = winston.createLogger({ level: 'debug', transports: [new CaptureTransport(logs)] });
  const runtime = new TopologyRuntime(config, { logger, scheduler: asyncScheduler });
  const progress: Array<{ numInputRows: number; sources: Array<{ metrics?: Record<string, any> }> }> = [];
  runtime.progress$.subscribe((event) => progress.push(event));
  try {
    await runtime.start();
    // A safety net against a hang (the run takes a few tens of ms), not a timing assertion.
    const hang = new Promise((_resolve, reject) => setTimeout(() => reject(new Error('the pipeline did not end by itself within 60 s')), 60_000).unref());
    await Promise.race([runtime.wait(), hang]);
    const expected = Array.from({ length: 6 }, (_, i) => users(i + 1, 50).map((u) => u.login.uuid)).flat();
    const written = out.records.map((r) => r.key);
    assert.equal(written.length, 300, 'every record written exactly once (the failed write wrote nothing)');
    assert.deepEqual([...written].sort(), [...expected].sort());
    assert.equal(runtime.runners.get('users')!.summary.failures, 1, 'the failed batch was rolled back and redone');
    assert.equal(progress.reduce((n, p) => n + p.numInputRows, 0), 300);
    const metrics = progress.at(-1)!.sources[0].metrics!;
    assert.equal(metrics.failures.http5xx, 1, 'progress events carry the failure counts');
    assert.equal(metrics.recordsFetched, 300);
    assert.ok(logs.some((l) => /^started: http-poll .*\/api\/ \(results=50 back to back, concurrency 2, at most 6 requests\)/.test(l.message)));
  } finally {
    await runtime.stop();
    await server.close();
  }
});
