/**
 * The http-poll source against real HTTP servers on 127.0.0.1 (started here, port 0), on the real
 * clock: records and keys, every failure kind counted and retried without producing records,
 * Retry-After, backoff, 4xx and maxAttempts failing the read, rollback/commit, backpressure,
 * duration/maxRequests/finished, concurrency, close, config validation, and a whole pipeline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { asyncScheduler } from 'rxjs';
import winston from 'winston';
import { CaptureTransport, type LogEntry } from '../../../testing/capture.ts';
import '../../../components.ts';
import { parseRetryAfter, retryDelay, type Failure } from '../../../sources/http-poll/index.ts';
import { registry } from '../../../topology/registry.ts';
import { formatErrors, UserFacingError } from '../../../topology/errors.ts';
import { parseTopology } from '../../../topology/load.ts';
import { TopologyRuntime } from '../../../topology/runtime.ts';
import { memoryStore } from '../../../sources/memory.ts';
import type { ComponentContext, Source, SourceBatch, StreamRecord } from '../../../topology/types.ts';

// ---------------------------------------------------------------------------------------------
// Helpers: a scripted HTTP server, a source with a capturing logger, bounded waits.

interface SeenRequest {
  n: number;
  at: number;
  url: URL;
  headers: http.IncomingHttpHeaders;
}

interface TestServer {
  url: string;
  port: number;
  requests: SeenRequest[];
  /** Most requests being answered at the same time. */
  maxActive: number;
  close(): Promise<void>;
}

/** `handler` answers request number `n` (from 0); it may also leave it unanswered (a hang). */
async function serve(handler: (n: number, req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<TestServer> {
  let active = 0;
  const state = { requests: [] as SeenRequest[], maxActive: 0 };
  const server = http.createServer((req, res) => {
    const n = state.requests.length;
    state.requests.push({ n, at: performance.now(), url: new URL(req.url!, 'http://x'), headers: req.headers });
    active++;
    state.maxActive = Math.max(state.maxActive, active);
    res.on('close', () => active--);
    handler(n, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return state.requests;
    },
    get maxActive() {
      return state.maxActive;
    },
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

const users = (n: number, count: number) => Array.from({ length: count }, (_, i) => ({ login: { uuid: `u${n}-${i}` }, name: { first: `F${n}-${i}` } }));

function context(logs: LogEntry[]): ComponentContext {
  const logger = winston.createLogger({ level: 'debug', transports: [new CaptureTransport(logs)] });
  return { topology: 'test', pipeline: 'main', path: 'pipelines.main.source', logger, scheduler: asyncScheduler};
}

/** An http-poll source from a config as a topology file would give it (validated, defaults filled in). */
async function httpPoll(config: Record<string, unknown>, logs: LogEntry[] = []): Promise<Source> {
  const decoded = registry.codec('source').decode({ type: 'http-poll', ...config });
  if (decoded._tag === 'Left') throw new Error(formatErrors(decoded.left).join('\n'));
  return registry.create('source', decoded.right, context(logs));
}

/** Fast retries, so that failure tests take milliseconds. */
const quickRetry = { initialBackoff: '1ms', maxBackoff: '2ms' };

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// Unref'd: a guard that lost its race must not keep the test process alive.
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** The source's metrics now, without taking any record. */
async function metricsOf(source: Source): Promise<Record<string, any>> {
  return (await source.read(0, 0)).metrics as Record<string, any>;
}

/** Read and commit until the source reports `finished`; every record handed out, in order. */
async function drain(source: Source, timeoutMs = 3000): Promise<{ records: StreamRecord[]; last: SourceBatch }> {
  const records: StreamRecord[] = [];
  let last!: SourceBatch;
  await until(async () => {
    last = await source.read(1000, 50);
    records.push(...last.records);
    if (last.records.length > 0) await source.commit(last);
    return last.finished;
  }, 'the source to finish', timeoutMs);
  return { records, last };
}

// ---------------------------------------------------------------------------------------------

test('each element of the array at recordsPath becomes a record, keyed by keyPath', async () => {
  const server = await serve((n, _req, res) => json(res, 200, { results: users(n, 3), info: { seed: 'abc', results: 3, page: 1, version: '1.4' } }));
  const source = await httpPoll({
    url: `${server.url}/api/?seed=abc`,
    query: { results: 3, nat: 'us,gb' },
    headers: { 'X-Trace': 'on' },
    authorization: 'Bearer sekrit-token-1',
    keyPath: 'login.uuid',
    maxRequests: 1,
  });
  const before = Date.now();
  await source.start();
  const batch = await source.read(10, 2000);
  const after = Date.now();
  try {
    assert.deepEqual(batch.records.map((r) => r.key), ['u0-0', 'u0-1', 'u0-2']);
    assert.deepEqual(batch.records.map((r) => r.value), users(0, 3));
    for (const [i, record] of batch.records.entries()) {
      assert.equal(record.raw, JSON.stringify(record.value), 'raw is the element as JSON (what a dead letter carries)');
      assert.deepEqual(record.origin, { topic: `127.0.0.1:${server.port}/api/`, offset: i });
      assert.ok(record.timestamp >= before && record.timestamp <= after, 'timestamp is the fetch time');
    }
    assert.deepEqual(batch.startOffsets, { seq: 0 });
    assert.deepEqual(batch.endOffsets, { seq: 3 });
    assert.equal(batch.caughtUp, true);
    assert.equal(batch.finished, false, 'not finished while the records are uncommitted');

    const [request] = server.requests;
    assert.deepEqual(Object.fromEntries(request.url.searchParams), { seed: 'abc', results: '3', nat: 'us,gb' }, 'query added to the URL\'s own parameters');
    assert.equal(request.url.pathname, '/api/');
    assert.equal(request.headers.authorization, 'Bearer sekrit-token-1');
    assert.equal(request.headers['x-trace'], 'on');
    assert.equal(request.headers.accept, 'application/json');

    assert.equal(source.describe(), `http-poll ${server.url}/api/ (seed=abc&results=3&nat=us,gb every 1s, concurrency 1, at most 1 requests)`);
    assert.doesNotMatch(source.describe(), /sekrit/);

    await source.commit(batch);
    const end = await source.read(10, 0);
    assert.equal(end.records.length, 0);
    assert.equal(end.finished, true, 'maxRequests reached, nothing buffered, nothing uncommitted');
    assert.deepEqual(end.startOffsets, { seq: 3 });
    assert.equal(server.requests.length, 1);
  } finally {
    await source.close();
    await server.close();
  }
});

test('recordsPath "" takes the body itself; numeric keys become strings; a missing key is null and counted', async () => {
  const server = await serve((_n, _req, res) => json(res, 200, [{ id: 7, v: 'a' }, { v: 'no id' }, { id: 'x9', v: 'c' }]));
  const source = await httpPoll({ url: server.url, recordsPath: '', keyPath: 'id', maxRequests: 1 });
  await source.start();
  try {
    const batch = await source.read(10, 2000);
    assert.deepEqual(batch.records.map((r) => r.key), ['7', null, 'x9']);
    assert.equal((batch.metrics as Record<string, number>).keylessRecords, 1);
  } finally {
    await source.close();
    await server.close();
  }
});

test('every failure kind is counted, logged and retried, and none of them yields a record', async () => {
  const script: Array<(res: http.ServerResponse) => void> = [
    (res) => json(res, 500, 'internal error'),
    (res) => json(res, 503, 'unavailable'),
    (res) => json(res, 429, 'slow down'),
    (res) => json(res, 200, { error: 'Uh oh, something has gone wrong. Please tweet us @randomapi about the issue. Thank you.' }),
    (res) => json(res, 200, '{"results": [{"login": {"uuid": "partial-1"}}, {"login": {"uu'),
    (res) => json(res, 200, { results: { login: { uuid: 'not-an-array' } } }),
    () => undefined, // never answers: a timeout
    (res) => json(res, 200, { results: [{ login: { uuid: 'the-only-good-one' } }] }),
  ];
  const server = await serve((n, _req, res) => script[n](res));
  const logs: LogEntry[] = [];
  const source = await httpPoll({ url: `${server.url}/api/`, keyPath: 'login.uuid', maxRequests: 1, interval: 0, timeout: '150ms', retry: quickRetry }, logs);
  await source.start();
  try {
    const { records, last } = await drain(source);
    assert.deepEqual(records.map((r) => r.key), ['the-only-good-one'], 'only the good response produced records');
    const metrics = last.metrics as Record<string, any>;
    assert.deepEqual(metrics.failures, { network: 0, timeout: 1, http5xx: 2, http429: 1, http4xx: 0, invalidJson: 1, errorBody: 1, unexpectedShape: 1 });
    assert.equal(metrics.requests, 8);
    assert.equal(metrics.recordsFetched, 1);
    assert.equal(server.requests.length, 8);

    const warnings = logs.filter((l) => l.level === 'warn');
    assert.deepEqual(
      warnings.map((w) => [w.kind, w.attempt, w.status]),
      [
        ['http5xx', 1, 500],
        ['http429', 3, 429],
        ['errorBody', 4, 200],
        ['invalidJson', 5, 200],
        ['unexpectedShape', 6, 200],
        ['timeout', 7, undefined],
      ],
      'a warning per failure with its kind, attempt and status; the 503 was a second http5xx within 10 s: counted, not logged',
    );
    assert.ok(warnings.every((w) => w.url === `${server.url}/api/` && typeof w.retryInMs === 'number'));
    assert.match(warnings[2].message, /Uh oh, something has gone wrong/);
    assert.match(warnings[3].message, /not valid JSON/);
    assert.match(warnings[4].message, /"results" is not an array/);
    assert.ok(logs.some((l) => l.level === 'info' && /succeeded again after 7 failed attempt/.test(l.message)));
    assert.equal(Object.keys(metrics.lastError).length, 1);
    assert.match(Object.keys(metrics.lastError)[0], /^timeout: no complete response within 150ms/);
  } finally {
    await source.close();
    await server.close();
  }
});

test('connection refused: network failures are retried, warned about at most once per 10 s, and the URL is reported unreachable once', async () => {
  const closed = await serve(() => undefined);
  await closed.close(); // nothing listens on this port any more
  const logs: LogEntry[] = [];
  const source = await httpPoll({ url: `http://127.0.0.1:${closed.port}/api/`, interval: 0, retry: quickRetry }, logs);
  await source.start();
  try {
    await until(async () => (await metricsOf(source)).failures.network >= 8, '8 refused connections');
    const metrics = await metricsOf(source);
    assert.equal(metrics.recordsFetched, 0);
    assert.equal(metrics.buffered, 0);
    const errors = logs.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1, 'the unreachable error is logged once');
    assert.match(errors[0].message, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${closed.port}/api/: the first 3 attempts failed \\(.*ECONNREFUSED`));
    assert.match(errors[0].message, /npm start -- --topology test --offline/);
    assert.equal(logs.filter((l) => l.level === 'warn').length, 1, 'rate-limited: one warning for the many failures of one kind');
    assert.match(Object.keys(metrics.lastError)[0], /^network: .*ECONNREFUSED/);
    assert.equal((await source.read(10, 0)).finished, false, 'an unbounded source never finishes');
  } finally {
    await source.close();
  }
});

test('503 with Retry-After: the next request waits as long as the server asked, not the short backoff', async () => {
  const server = await serve((n, _req, res) => (n === 0 ? json(res, 503, 'maintenance', { 'retry-after': '1' }) : json(res, 200, { results: users(n, 1) })));
  const logs: LogEntry[] = [];
  const source = await httpPoll({ url: server.url, interval: 0, maxRequests: 1, retry: quickRetry }, logs);
  await source.start();
  try {
    await drain(source);
    const gap = server.requests[1].at - server.requests[0].at;
    assert.ok(gap >= 980 && gap < 1500, `about 1000 ms between the requests, was ${Math.round(gap)}`);
    assert.ok(logs.some((l) => l.level === 'warn' && l.retryInMs === 1000));
  } finally {
    await source.close();
    await server.close();
  }
});

test('429 with Retry-After holds back every poller, not only the one that got it', async () => {
  // Request 0 is refused at once; request 1, answered 100 ms later, must not be followed before 1 s.
  const server = await serve((n, _req, res) => {
    if (n === 0) json(res, 429, 'too many', { 'retry-after': '1' });
    else setTimeout(() => json(res, 200, { results: users(n, 1) }), 100);
  });
  const source = await httpPoll({ url: server.url, interval: 0, concurrency: 2, maxRequests: 3, retry: quickRetry });
  await source.start();
  try {
    await drain(source);
    const [refused, ...later] = server.requests.map((r) => r.at);
    assert.ok(later[0] - refused < 50, 'the second poller\'s first request was already under way');
    assert.ok(later.length >= 2 && later.slice(1).every((at) => at - refused >= 980), `no request within the second asked for: ${later.map((at) => Math.round(at - refused))}`);
  } finally {
    await source.close();
    await server.close();
  }
});

test('pollers are spread over the interval', async () => {
  const server = await serve((n, _req, res) => json(res, 200, { results: users(n, 1) }));
  const source = await httpPoll({ url: server.url, interval: '200ms', concurrency: 2, maxRequests: 4 });
  await source.start();
  try {
    await drain(source);
    const at = server.requests.map((r) => r.at - server.requests[0].at);
    assert.equal(at.length, 4);
    // Timers fire late on a busy machine, never early.
    for (const [i, expected] of [0, 100, 200, 300].entries()) assert.ok(at[i] > expected - 15 && at[i] < expected + 70, `request ${i} at ${Math.round(at[i])} ms, expected about ${expected}`);
  } finally {
    await source.close();
    await server.close();
  }
});

test('Retry-After is read as seconds or as an HTTP date, and obeyed up to maxRetryAfter', () => {
  const now = Date.parse('2026-11-21T12:00:00Z');
  assert.equal(parseRetryAfter('7', now), 7000);
  assert.equal(parseRetryAfter('Sat, 21 Nov 2026 12:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Sat, 21 Nov 2026 11:00:00 GMT', now), 0, 'a date in the past means now');
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);

  const retry = { initialBackoff: 500, maxBackoff: 30_000, maxRetryAfter: 60_000 };
  const failure = (retryAfterMs?: number): Failure => ({ kind: 'http429', status: 429, message: '', retryable: true, retryAfterMs });
  const max = () => 1;
  assert.equal(retryDelay(failure(10_000), 1, retry, max), 10_000, 'the server\'s wish beats a shorter backoff');
  assert.equal(retryDelay(failure(10 * 60_000), 1, retry, max), 60_000, 'capped by maxRetryAfter');
  assert.equal(retryDelay(failure(100), 5, retry, max), 8000, 'never shorter than the backoff');
  assert.equal(retryDelay(failure(), 3, retry, max), 2000, 'no Retry-After: the backoff');
});

test('any other 4xx stops polling at once, with an error naming the URL and status; the read fails once what was fetched is committed', async () => {
  const server = await serve((n, _req, res) => (n === 0 ? json(res, 200, { results: users(0, 2) }) : json(res, 404, 'Not Found')));
  const logs: LogEntry[] = [];
  const source = await httpPoll({ url: `${server.url}/apii/`, interval: 0, retry: quickRetry }, logs);
  await source.start();
  try {
    await until(() => logs.some((l) => l.level === 'error'), 'the error');
    await sleep(100);
    assert.equal(server.requests.length, 2, 'no request after the 404');
    const error = logs.find((l) => l.level === 'error')!;
    assert.match(error.message, new RegExp(`GET ${server.url}/apii/ answered HTTP 404: Not Found; polling has stopped`));
    assert.equal(error.status, 404);

    const batch = await source.read(10, 0);
    assert.equal(batch.records.length, 2, 'what was fetched before is still delivered');
    assert.equal((batch.metrics as Record<string, any>).failures.http4xx, 1);
    const whilePending = await source.read(10, 0);
    assert.equal(whilePending.records.length, 0, 'no failure while records are uncommitted (a rollback may still need them)');
    assert.equal(whilePending.finished, false);
    await source.commit(batch);
    await assert.rejects(source.read(10, 0), (e: unknown) => e instanceof UserFacingError && /404/.test(e.message) && /check the path in `url`/.test(e.message));
  } finally {
    await source.close();
    await server.close();
  }
});

test('retry.maxAttempts: after that many failures in a row the source gives up and the read fails', async () => {
  const server = await serve((_n, _req, res) => json(res, 500, 'down'));
  const logs: LogEntry[] = [];
  const source = await httpPoll({ url: server.url, interval: 0, retry: { ...quickRetry, maxAttempts: 3 } }, logs);
  await source.start();
  try {
    await assert.rejects(
      until(() => source.read(10, 20).then((b) => b.finished), 'a failed read'),
      /gave up after 3 failed attempts \(retry\.maxAttempts\); the last: HTTP 500: down/,
    );
    await sleep(50);
    assert.equal(server.requests.length, 3);
  } finally {
    await source.close();
    await server.close();
  }
});

test('rollback puts every uncommitted record back at the front, in order; commit forgets them for good', async () => {
  const server = await serve((n, _req, res) => json(res, 200, { results: [0, 1, 2, 3].map((i) => ({ id: n * 4 + i })) }));
  const source = await httpPoll({ url: server.url, interval: 0, maxRequests: 3, keyPath: 'id' });
  await source.start();
  const ids = (b: SourceBatch) => b.records.map((r) => Number(r.key));
  try {
    await until(async () => (await metricsOf(source)).buffered === 12, '12 buffered records');
    const first = await source.read(5, 0);
    const second = await source.read(5, 0);
    assert.deepEqual(ids(first), [0, 1, 2, 3, 4]);
    assert.deepEqual(ids(second), [5, 6, 7, 8, 9]);
    await source.rollback();
    const all = await source.read(100, 0);
    assert.deepEqual(ids(all), [...Array(12).keys()], 'both batches back at the front, in order, before the rest');
    assert.deepEqual(all.startOffsets, { seq: 0 });

    await source.rollback();
    const a = await source.read(3, 0);
    const b = await source.read(4, 0);
    await source.commit(a);
    await source.rollback();
    const again = await source.read(100, 0);
    assert.deepEqual(ids(again), [3, 4, 5, 6, 7, 8, 9, 10, 11], 'from the committed position on');
    assert.deepEqual([again.startOffsets, again.endOffsets], [{ seq: 3 }, { seq: 12 }]);
    assert.deepEqual(ids(b), [3, 4, 5, 6]);

    await source.rollback();
    await source.rollback();
    const once = await source.read(100, 0);
    assert.deepEqual(ids(once), [3, 4, 5, 6, 7, 8, 9, 10, 11], 'a second rollback does not duplicate records');
    assert.equal(once.finished, false);
    await source.commit(once);
    await source.rollback();
    const after = await source.read(100, 0);
    assert.deepEqual(ids(after), [], 'committed records never come back');
    assert.equal(after.finished, true);
  } finally {
    await source.close();
    await server.close();
  }
});

test('maxBuffered: the pollers pause while the pipeline holds that many records, and resume on commit', async () => {
  const server = await serve((n, _req, res) => json(res, 200, { results: users(n, 5) }));
  const source = await httpPoll({ url: server.url, interval: 0, maxBuffered: 10 });
  await source.start();
  try {
    await until(() => server.requests.length >= 2, '2 requests');
    await sleep(200);
    assert.equal(server.requests.length, 2, 'paused at 10 buffered records');
    const batch = await source.read(10, 0);
    assert.equal(batch.records.length, 10);
    await sleep(150);
    assert.equal(server.requests.length, 2, 'handed out but uncommitted records still count');
    await source.commit(batch);
    await until(() => server.requests.length >= 4, 'polling to resume');
    await sleep(150);
    assert.equal(server.requests.length, 4, 'and to pause again at 10');
    assert.equal((await metricsOf(source)).buffered, 10);
  } finally {
    await source.close();
    await server.close();
  }
});

test('duration: no request after it, and finished once everything fetched is committed', async () => {
  const server = await serve((n, _req, res) => json(res, 200, { results: users(n, 2) }));
  const source = await httpPoll({ url: server.url, interval: '50ms', duration: '300ms' });
  const startedAt = performance.now();
  await source.start();
  try {
    const firstRead = await source.read(100, 50);
    assert.equal(firstRead.finished, false);
    await source.rollback();
    const { records, last } = await drain(source);
    const endedAt = performance.now();
    assert.equal(last.finished, true);
    assert.ok(endedAt - startedAt >= 290, 'not before the duration');
    assert.ok(endedAt - startedAt < 800, `soon after it (${Math.round(endedAt - startedAt)} ms)`);
    assert.ok(server.requests.every((r) => r.at - startedAt < 360), 'no request started after the duration');
    assert.ok(server.requests.length >= 3 && server.requests.length <= 7, `a request every 50 ms for 300 ms, got ${server.requests.length}`);
    assert.equal(records.length, server.requests.length * 2, 'every record fetched was handed out');
    await sleep(100);
    assert.equal(server.requests.length, records.length / 2);
  } finally {
    await source.close();
    await server.close();
  }
});

test('maxRequests counts successful requests exactly, across pollers and failures', async () => {
  const server = await serve((n, _req, res) => (n % 3 === 1 ? json(res, 500, 'flaky') : json(res, 200, { results: users(n, 2) })));
  const source = await httpPoll({ url: server.url, interval: 0, concurrency: 3, maxRequests: 7, retry: quickRetry });
  await source.start();
  try {
    const { records, last } = await drain(source);
    const metrics = last.metrics as Record<string, any>;
    assert.equal(records.length, 14, '7 successful requests of 2 records');
    assert.equal(metrics.requests, 7 + metrics.failures.http5xx);
    assert.ok(metrics.failures.http5xx >= 2);
    assert.equal(new Set(records.map((r) => (r.value as { login: { uuid: string } }).login.uuid)).size, 14);
    assert.deepEqual(
      records.map((r) => r.origin?.offset),
      [...Array(14).keys()],
      'sequence numbers follow the records across responses',
    );
  } finally {
    await source.close();
    await server.close();
  }
});

test('pageParam numbers successive requests from firstPage; a retried request keeps its page', async () => {
  const server = await serve((n, _req, res) => (n === 1 ? json(res, 503, 'busy') : json(res, 200, { results: users(n, 1) })));
  const source = await httpPoll({ url: `${server.url}/api/?seed=abc`, pageParam: 'page', firstPage: 3, interval: 0, maxRequests: 4, retry: quickRetry });
  await source.start();
  try {
    const { records } = await drain(source);
    assert.equal(records.length, 4);
    const pages = server.requests.map((r) => r.url.searchParams.get('page'));
    assert.deepEqual(pages, ['3', '4', '4', '5', '6'], 'request 4 failed once and was retried with the same page');
    assert.ok(server.requests.every((r) => r.url.searchParams.get('seed') === 'abc'), 'the rest of the query is kept');
  } finally {
    await source.close();
    await server.close();
  }
});

test('concurrency: that many requests in parallel, never more', async () => {
  const server = await serve((n, _req, res) => {
    setTimeout(() => json(res, 200, { results: users(n, 1) }), 150);
  });
  const source = await httpPoll({ url: server.url, interval: 0, concurrency: 3, maxRequests: 9 });
  const startedAt = performance.now();
  await source.start();
  try {
    const { records } = await drain(source);
    const elapsed = performance.now() - startedAt;
    assert.equal(records.length, 9);
    assert.equal(server.maxActive, 3);
    assert.ok(elapsed < 1000, `9 requests of 150 ms in about 3 rounds, took ${Math.round(elapsed)} ms`);
  } finally {
    await source.close();
    await server.close();
  }
});

test('close aborts the request in flight and stops polling', async () => {
  let aborted = false;
  const server = await serve((_n, req) => req.on('close', () => (aborted = true)));
  const source = await httpPoll({ url: server.url, interval: 0, timeout: '30s' });
  await source.start();
  try {
    await until(() => server.requests.length === 1, 'the request');
    const before = performance.now();
    await source.close();
    assert.ok(performance.now() - before < 500, 'close does not wait for the 30 s timeout');
    await until(() => aborted, 'the server to see the request aborted');
    await sleep(50);
    assert.equal(server.requests.length, 1);
  } finally {
    await server.close();
  }
});

test('credentials in the url are sent as basic auth but never described or logged', async () => {
  const server = await serve((_n, _req, res) => json(res, 500, 'no'));
  const logs: LogEntry[] = [];
  const source = await httpPoll({ url: `http://reader:pa55word-x@127.0.0.1:${server.port}/api/`, interval: 0, retry: quickRetry }, logs);
  await source.start();
  try {
    await until(() => logs.some((l) => l.level === 'warn'), 'a warning');
    assert.equal(server.requests[0].headers.authorization, `Basic ${Buffer.from('reader:pa55word-x').toString('base64')}`);
    assert.equal(source.describe(), `http-poll http://127.0.0.1:${server.port}/api/ (every 1s, concurrency 1)`.replace('every 1s', 'back to back'));
    assert.doesNotMatch(JSON.stringify(logs), /pa55word|reader@/);
  } finally {
    await source.close();
    await server.close();
  }
});

test('throughput: 5,000-record responses are turned into records at well over 10,000 records/s', async (t) => {
  // RandomUser-like elements (about 600 bytes each), one body built once and served again and again.
  const filler = { street: { number: 8929, name: 'Valwood Pkwy' }, city: 'Billings', state: 'Michigan', country: 'United States', postcode: '63104' };
  const element = (i: number) => ({ ...users(0, 1)[0], login: { uuid: `uuid-${i}`, username: 'yellowpeacock117', sha256: 'a1b2c3d4'.repeat(8) }, location: filler, picture: 'https://randomuser.me/api/portraits/med/men/75.jpg'.repeat(6) });
  const body = JSON.stringify({ results: Array.from({ length: 5000 }, (_, i) => element(i)), info: { results: 5000 } });
  const server = await serve((_n, _req, res) => json(res, 200, body));
  const source = await httpPoll({ url: server.url, query: { results: 5000 }, keyPath: 'login.uuid', interval: 0, concurrency: 2, maxRequests: 10 });
  const startedAt = performance.now();
  await source.start();
  try {
    const { records } = await drain(source, 8000);
    const perSecond = Math.round((records.length / (performance.now() - startedAt)) * 1000);
    t.diagnostic(`${records.length} records (${Math.round(body.length / 5000)} bytes each) at ${perSecond} records/s, server in the same process`);
    assert.equal(records.length, 50_000);
    assert.equal(records[49_999].key, 'uuid-4999');
    assert.ok(perSecond > 10_000, `${perSecond} records/s`);
  } finally {
    await source.close();
    await server.close();
  }
});

test('config: defaults are filled in, and every problem is reported by path without revealing secrets', () => {
  const codec = registry.codec('source');
  const ok = codec.decode({ type: 'http-poll', url: 'https://randomuser.me/api/', duration: '2m', query: { results: 5, seed: null } });
  assert.equal(ok._tag, 'Right');
  const config = (ok as { right: Record<string, unknown> }).right;
  assert.deepEqual(config, {
    type: 'http-poll',
    url: 'https://randomuser.me/api/',
    query: { results: 5 },
    firstPage: 1,
    headers: {},
    recordsPath: 'results',
    interval: 1000,
    concurrency: 1,
    duration: 120_000,
    timeout: 10_000,
    retry: { initialBackoff: 500, maxBackoff: 30_000, maxRetryAfter: 300_000 },
    maxBuffered: 50_000,
  });

  const bad = codec.decode({
    type: 'http-poll',
    url: 'ftp://randomuser.me/api/',
    interval: 'soon',
    concurrency: 0,
    keyPath: 'login..uuid',
    query: { results: { many: true } },
    retry: { maxBackoff: 'long', maxAttemps: 3 },
    authorization: 12345,
    pollEvery: '1s',
  });
  assert.equal(bad._tag, 'Left');
  const lines = formatErrors((bad as { left: Parameters<typeof formatErrors>[0] }).left);
  const expected = [
    /^pollEvery: unknown field "pollEvery"; known fields: url, query, pageParam, firstPage, headers, authorization, recordsPath, keyPath, interval, concurrency, duration, maxRequests, timeout, retry, maxBuffered$/,
    /^url: expected an http\(s\) URL, got "ftp:\/\/randomuser\.me\/api\/"$/,
    /^query\.results: expected a string, number or boolean, got \{"many":true\}$/,
    /^authorization: expected a non-empty string, got "\*\*\*"$/,
    /^keyPath: expected a dot-separated path such as login\.uuid, got "login\.\.uuid"$/,
    /^interval: expected a duration such as 500ms, 2s, 1m or 1h, got "soon"$/,
    /^concurrency: expected a positive integer, got 0$/,
    /^retry\.maxAttemps: unknown field "maxAttemps"; known fields: maxAttempts, initialBackoff, maxBackoff, maxRetryAfter$/,
    /^retry\.maxBackoff: expected a duration such as 500ms, 2s, 1m or 1h, got "long"$/,
  ];
  for (const pattern of expected) assert.ok(lines.some((l) => pattern.test(l)), `${pattern} in:\n${lines.join('\n')}`);
  assert.equal(lines.length, expected.length, lines.join('\n'));
  assert.doesNotMatch(lines.join('\n'), /12345/);
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
    await Promise.race([runtime.wait(), sleep(5000).then(() => assert.fail('the pipeline did not end by itself'))]);
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
