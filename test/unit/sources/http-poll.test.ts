/**
 * The http-poll source in virtual time: a fake transport whose answers and delays each test scripts,
 * a VirtualClock as the scheduler and a fixed "random" jitter, so every time is asserted exactly —
 * records and keys, every failure kind counted and retried without producing records, backoff,
 * Retry-After, timeouts, 4xx and maxAttempts failing the read, rollback/commit, backpressure,
 * interval and concurrency, duration/maxRequests/drain finishing, close; and the config.
 * What only the real transport does (sockets, keep-alive, basic auth) is in http-poll-sockets.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../../components.ts';
import { parseRetryAfter, retryDelay, type Failure } from '../../../sources/http-poll/index.ts';
import { registry } from '../../../topology/registry.ts';
import { formatErrors, UserFacingError } from '../../../topology/errors.ts';
import type { SourceBatch } from '../../../topology/types.ts';
import { advance, clocked, context, drain, FakeHttp, httpPoll, metricsOf, ok, runUntil, settle, T0, users, VirtualClock, type Answer, type LogEntry } from './http-poll-helpers.ts';

/** A clock at T0, a fake server answering with `answer`, and a source on both (jitter fixed at half the bound unless given). */
function setup(answer: (n: number, url: URL) => Answer | undefined, config: Record<string, unknown>, random: () => number = () => 0.5) {
  const clock = new VirtualClock(T0);
  const server = new FakeHttp(clock, answer);
  const logs: LogEntry[] = [];
  const source = httpPoll(config, context(logs, clock), { transport: server.transport, random });
  return { clock, server, logs, source };
}

const url = 'http://api.test:8080/api/';
/** Backoff bounds 100, 200, 400, 800 ms, then 1 s: with the jitter at 0.5, pauses of 50, 100, 200, 400, 500 ms. */
const retry = { initialBackoff: '100ms', maxBackoff: '1s' };

// ---------------------------------------------------------------------------------------------
// Records

test('each element of the array at recordsPath becomes a record, keyed by keyPath', async () => {
  const { clock, server, source } = setup((n) => ({ body: { results: users(n, 3), info: { seed: 'abc', results: 3, page: 1, version: '1.4' } }, after: 30 }), {
    url: `${url}?seed=abc`,
    query: { results: 3, nat: 'us,gb' },
    headers: { 'X-Trace': 'on' },
    authorization: 'Bearer sekrit-token-1',
    keyPath: 'login.uuid',
    maxRequests: 1,
  });
  await source.start();
  try {
    const { value: batch, at } = await clocked(clock, source.read(10, 2000));
    assert.equal(at, 30, 'the read waited for the response, not for its whole 2 s');
    assert.deepEqual(batch.records.map((r) => r.key), ['u0-0', 'u0-1', 'u0-2']);
    assert.deepEqual(batch.records.map((r) => r.value), users(0, 3));
    for (const [i, record] of batch.records.entries()) {
      assert.equal(record.raw, JSON.stringify(record.value), 'raw is the element as JSON (what a dead letter carries)');
      assert.deepEqual(record.origin, { topic: 'api.test:8080/api/', offset: i });
      assert.equal(record.timestamp, T0 + 30, 'timestamp is the fetch time');
    }
    assert.deepEqual(batch.startOffsets, { seq: 0 });
    assert.deepEqual(batch.endOffsets, { seq: 3 });
    assert.equal(batch.caughtUp, true);
    assert.equal(batch.finished, false, 'not finished while the records are uncommitted');

    const [request] = server.requests;
    assert.deepEqual(Object.fromEntries(request.url.searchParams), { seed: 'abc', results: '3', nat: 'us,gb' }, "query added to the URL's own parameters");
    assert.equal(request.url.pathname, '/api/');
    assert.deepEqual(server.options, { headers: { accept: 'application/json', 'x-trace': 'on', authorization: 'Bearer sekrit-token-1' }, connections: 1 }, 'every request carries these headers');

    assert.equal(source.describe(), `http-poll ${url} (seed=abc&results=3&nat=us,gb every 1s, concurrency 1, at most 1 requests)`);
    assert.doesNotMatch(source.describe(), /sekrit/);

    await source.commit(batch);
    const end = await source.read(10, 0);
    assert.equal(end.records.length, 0);
    assert.equal(end.finished, true, 'maxRequests reached, nothing buffered, nothing uncommitted');
    assert.deepEqual(end.startOffsets, { seq: 3 });
    await advance(clock, 60_000);
    assert.equal(server.requests.length, 1);
  } finally {
    await source.close();
  }
  assert.equal(server.closed, true, 'close releases the transport');
});

test('recordsPath "" takes the body itself; numeric keys become strings; a missing key is null and counted', async () => {
  const { clock, source } = setup(() => ({ body: [{ id: 7, v: 'a' }, { v: 'no id' }, { id: 'x9', v: 'c' }] }), { url, recordsPath: '', keyPath: 'id', maxRequests: 1 });
  await source.start();
  try {
    const { value: batch } = await clocked(clock, source.read(10, 2000));
    assert.deepEqual(batch.records.map((r) => r.key), ['7', null, 'x9']);
    assert.equal((batch.metrics as Record<string, number>).keylessRecords, 1);
  } finally {
    await source.close();
  }
});

test('read waits up to waitMs for records, and no longer', async () => {
  const { clock, source } = setup(() => ok(users(0, 2), 500), { url, maxRequests: 1 });
  await source.start();
  try {
    const early = await clocked(clock, source.read(10, 200));
    assert.deepEqual([early.at, early.value.records.length, early.value.caughtUp], [200, 0, true], 'nothing yet: an empty batch after waitMs');
    const later = await clocked(clock, source.read(10, 1000));
    assert.deepEqual([later.at, later.value.records.length], [500, 2], 'returns as soon as the response is in');
  } finally {
    await source.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Failures, backoff, Retry-After, timeouts

test('every failure kind is counted, logged and retried after its backoff, and none of them yields a record', async () => {
  const script: Answer[] = [
    { status: 500, body: 'internal error' },
    { status: 503, body: 'unavailable' },
    { status: 429, body: 'slow down' },
    { status: 200, body: { error: 'Uh oh, something has gone wrong. Please tweet us @randomapi about the issue. Thank you.' } },
    { status: 200, body: '{"results": [{"login": {"uuid": "partial-1"}}, {"login": {"uu' },
    { status: 200, body: { results: { login: { uuid: 'not-an-array' } } } },
    'hang', // never answers: a timeout
    ok([{ login: { uuid: 'the-only-good-one' } }]),
  ];
  const { clock, server, logs, source } = setup((n) => script[n], { url, keyPath: 'login.uuid', maxRequests: 1, interval: 0, timeout: '150ms', retry });
  await source.start();
  try {
    const { records, last } = await drain(clock, source);
    assert.deepEqual(records.map((r) => r.key), ['the-only-good-one'], 'only the good response produced records');
    const metrics = last.metrics as Record<string, any>;
    assert.deepEqual(metrics.failures, { network: 0, timeout: 1, http5xx: 2, http429: 1, http4xx: 0, invalidJson: 1, errorBody: 1, unexpectedShape: 1 });
    assert.equal(metrics.requests, 8);
    assert.equal(metrics.recordsFetched, 1);
    // Pauses of half the bound (the jitter), the bound doubling from 100 ms and capped at 1 s; the
    // hanging request is aborted 150 ms after it started.
    assert.deepEqual(server.times(), [0, 50, 150, 350, 750, 1250, 1750, 2400]);
    assert.equal(server.requests[6].abortedAt! - T0, 1900);

    const warnings = logs.filter((l) => l.level === 'warn');
    assert.deepEqual(
      warnings.map((w) => [w.kind, w.attempt, w.status, w.retryInMs]),
      [
        ['http5xx', 1, 500, 50],
        ['http429', 3, 429, 200],
        ['errorBody', 4, 200, 400],
        ['invalidJson', 5, 200, 500],
        ['unexpectedShape', 6, 200, 500],
        ['timeout', 7, undefined, 500],
      ],
      'a warning per failure with its kind, attempt, status and pause; the 503 was a second http5xx within 10 s: counted, not logged',
    );
    assert.ok(warnings.every((w) => w.url === url));
    assert.match(warnings[2].message, /Uh oh, something has gone wrong/);
    assert.match(warnings[3].message, /not valid JSON/);
    assert.match(warnings[4].message, /"results" is not an array/);
    assert.ok(logs.some((l) => l.level === 'info' && /succeeded again after 7 failed attempt/.test(l.message)));
    assert.deepEqual(metrics.lastError, { 'timeout: no complete response within 150ms': T0 + 1900 });
  } finally {
    await source.close();
  }
});

test('network failures: retried, warned about at most once per 10 s per kind, and the URL reported unreachable once', async () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.9:8080'), { code: 'ECONNREFUSED' });
  const { clock, server, logs, source } = setup(() => ({ error: refused }), { url, interval: 0, retry });
  await source.start();
  try {
    await advance(clock, 10_600);
    // Pauses of 50, 100, 200, 400 ms, then 500 ms (the cap's half) for good.
    assert.deepEqual(server.times(), [0, 50, 150, 350, 750, 1250, 1750, 2250, 2750, 3250, 3750, 4250, 4750, 5250, 5750, 6250, 6750, 7250, 7750, 8250, 8750, 9250, 9750, 10_250]);
    const metrics = await metricsOf(source);
    assert.equal(metrics.failures.network, 24);
    assert.equal(metrics.recordsFetched, 0);
    assert.equal(metrics.buffered, 0);
    const errors = logs.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1, 'the unreachable error is logged once');
    assert.equal(errors[0].message, `cannot reach ${url}: the first 3 attempts failed (connect ECONNREFUSED 10.0.0.9:8080) — no internet, or a proxy in the way? Check the url, or run offline: npm start -- --topology test --offline`);
    const warnings = logs.filter((l) => l.level === 'warn');
    assert.deepEqual(
      warnings.map((w) => [w.attempt, w.notLoggedSinceLast]),
      [
        [1, undefined],
        [24, 22],
      ],
      'rate-limited: the first failure, then the first one 10 s later (attempt 24, at 10 250 ms), saying how many were not logged',
    );
    assert.deepEqual(metrics.lastError, { 'network: connect ECONNREFUSED 10.0.0.9:8080': T0 + 10_250 });
    assert.equal((await source.read(10, 0)).finished, false, 'an unbounded source never finishes');
  } finally {
    await source.close();
  }
});

test('a network error whose message lacks its code gets the code appended', async () => {
  const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  const { clock, source } = setup((n) => (n === 0 ? { error: reset } : ok([1])), { url, interval: 0, maxRequests: 1, retry });
  await source.start();
  try {
    const { last } = await drain(clock, source);
    assert.deepEqual((last.metrics as Record<string, any>).lastError, { 'network: socket hang up (ECONNRESET)': T0 });
  } finally {
    await source.close();
  }
});

test('timeout: a response not complete within `timeout` is aborted at that moment, counted and retried; one just under it is not', async () => {
  const { clock, server, source } = setup((n) => (n === 0 ? 'hang' : n === 1 ? ok(users(1, 1), 300) : ok(users(2, 1), 299)), {
    url,
    interval: 0,
    maxRequests: 2,
    timeout: '300ms',
    retry: { initialBackoff: 0 },
  });
  await source.start();
  try {
    const { records, last, at } = await drain(clock, source);
    assert.deepEqual(server.requests.map((r) => [r.at - T0, r.endedAt! - T0, r.abortedAt === undefined ? 'answered' : 'aborted']), [
      [0, 300, 'aborted'],
      [300, 600, 'aborted'],
      [600, 899, 'answered'],
      [899, 1198, 'answered'],
    ]);
    assert.equal((last.metrics as Record<string, any>).failures.timeout, 2);
    assert.deepEqual(records.map((r) => r.key), [null, null]);
    assert.equal(at, 1198);
  } finally {
    await source.close();
  }
});

test('Retry-After on a 503 and a 429, as seconds or an HTTP date: the next request waits exactly as long, up to maxRetryAfter', async () => {
  const cases: Array<{ header: string; status: number; config?: Record<string, unknown>; next: number; logged: number }> = [
    { header: '1', status: 503, next: 1000, logged: 1000 },
    { header: 'Sat, 21 Nov 2026 12:00:30 GMT', status: 429, next: 30_000, logged: 30_000 },
    { header: '600', status: 429, config: { maxRetryAfter: '1m' }, next: 60_000, logged: 60_000 },
    // The poller that got it waits at least its own backoff too.
    { header: '1', status: 503, config: { initialBackoff: '10s', maxBackoff: '10s' }, next: 5000, logged: 5000 },
  ];
  for (const { header, status, config, next, logged } of cases) {
    const { clock, server, logs, source } = setup((n) => (n === 0 ? { status, body: 'maintenance', headers: { 'retry-after': header } } : ok(users(n, 1))), {
      url,
      interval: 0,
      maxRequests: 1,
      retry: { initialBackoff: '1ms', maxBackoff: '2ms', ...config },
    });
    await source.start();
    try {
      await drain(clock, source);
      assert.deepEqual(server.times(), [0, next], `${status} with Retry-After: ${header}`);
      assert.deepEqual(logs.filter((l) => l.level === 'warn').map((l) => l.retryInMs), [logged]);
    } finally {
      await source.close();
    }
  }
});

test('a Retry-After is ignored on statuses other than 429 and 503', async () => {
  const { clock, server, source } = setup((n) => (n === 0 ? { status: 500, body: 'oops', headers: { 'retry-after': '60' } } : ok([1])), { url, interval: 0, maxRequests: 1, retry });
  await source.start();
  try {
    await drain(clock, source);
    assert.deepEqual(server.times(), [0, 50], 'the backoff only');
  } finally {
    await source.close();
  }
});

test('429 with Retry-After holds back every poller, not only the one that got it', async () => {
  // Request 0 is refused at once; request 1, answered 100 ms later, must not be followed before 1 s.
  const { clock, server, source } = setup((n) => (n === 0 ? { status: 429, body: 'too many', headers: { 'retry-after': '1' } } : ok(users(n, 1), 100)), {
    url,
    interval: 0,
    concurrency: 2,
    maxRequests: 3,
    retry: { initialBackoff: '1ms', maxBackoff: '2ms' },
  });
  await source.start();
  try {
    const { records, at } = await drain(clock, source);
    assert.deepEqual(server.times(), [0, 0, 1000, 1000], "the second poller's first request was under way; its next one waits for the server's second like the retry");
    assert.equal(records.length, 3);
    assert.equal(at, 1100);
  } finally {
    await source.close();
  }
});

test('Retry-After is read as seconds or as an HTTP date, and obeyed up to maxRetryAfter', () => {
  const now = Date.parse('2026-11-21T12:00:00Z');
  assert.equal(parseRetryAfter('7', now), 7000);
  assert.equal(parseRetryAfter(' 7 ', now), 7000);
  assert.equal(parseRetryAfter('Sat, 21 Nov 2026 12:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Sat, 21 Nov 2026 11:00:00 GMT', now), 0, 'a date in the past means now');
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);

  const retry = { initialBackoff: 500, maxBackoff: 30_000, maxRetryAfter: 60_000 };
  const failure = (retryAfterMs?: number): Failure => ({ kind: 'http429', status: 429, message: '', retryable: true, retryAfterMs });
  const max = () => 1;
  assert.equal(retryDelay(failure(10_000), 1, retry, max), 10_000, "the server's wish beats a shorter backoff");
  assert.equal(retryDelay(failure(10 * 60_000), 1, retry, max), 60_000, 'capped by maxRetryAfter');
  assert.equal(retryDelay(failure(100), 5, retry, max), 8000, 'never shorter than the backoff');
  assert.equal(retryDelay(failure(), 3, retry, max), 2000, 'no Retry-After: the backoff');
  assert.equal(retryDelay(failure(), 3, retry, () => 0.25), 500, 'with full jitter below the bound');
});

// ---------------------------------------------------------------------------------------------
// Giving up

test('any other 4xx stops polling at once, with an error naming the URL and status; the read fails once what was fetched is committed', async () => {
  const { clock, server, logs, source } = setup((n) => (n === 0 ? ok(users(0, 2)) : { status: 404, body: 'Not Found' }), { url: `${url}apii/`, interval: 0, retry });
  await source.start();
  try {
    await advance(clock, 60_000);
    assert.deepEqual(server.times(), [0, 0], 'no request after the 404');
    const error = logs.find((l) => l.level === 'error')!;
    assert.match(error.message, new RegExp(`GET ${url}apii/ answered HTTP 404: Not Found; polling has stopped`));
    assert.equal(error.status, 404);

    const batch = await source.read(10, 0);
    assert.equal(batch.records.length, 2, 'what was fetched before is still delivered');
    assert.equal((batch.metrics as Record<string, any>).failures.http4xx, 1);
    const whilePending = await source.read(10, 0);
    assert.equal(whilePending.records.length, 0, 'no failure while records are uncommitted (a rollback may still need them)');
    assert.equal(whilePending.finished, false);
    await source.commit(batch);
    await assert.rejects(source.read(10, 0), (e: unknown) => e instanceof UserFacingError && /404/.test(e.message) && /check the path in `url`/.test(e.message));
    source.drain();
    assert.equal((await source.read(10, 0)).finished, true, 'once stopping, a source that gave up finishes instead of failing again');
  } finally {
    await source.close();
  }
});

test('408 and 425 are retried; a 401 stops polling with a hint about the credentials', async () => {
  const statuses = [408, 425, 401];
  const { clock, server, source } = setup((n) => ({ status: statuses[n], body: '' }), { url, interval: 0, retry });
  await source.start();
  try {
    await advance(clock, 60_000);
    assert.deepEqual(server.times(), [0, 50, 150]);
    await assert.rejects(source.read(10, 0), (e: unknown) => e instanceof UserFacingError && /answered HTTP 401; polling has stopped/.test(e.message) && /check `authorization` and `headers`/.test(e.message));
  } finally {
    await source.close();
  }
});

test('retry.maxAttempts: after that many failures in a row the source gives up and the read fails', async () => {
  const { clock, server, source } = setup(() => ({ status: 500, body: 'down' }), { url, interval: 0, retry: { ...retry, maxAttempts: 3 } });
  await source.start();
  try {
    await advance(clock, 60_000);
    assert.deepEqual(server.times(), [0, 50, 150], 'three attempts, backing off, then none');
    await assert.rejects(source.read(10, 0), (e: unknown) => e instanceof UserFacingError && /gave up after 3 failed attempts \(retry\.maxAttempts\); the last: HTTP 500: down/.test(e.message) && /raise retry\.maxAttempts/.test(e.message));
  } finally {
    await source.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Commit, rollback, backpressure

test('rollback puts every uncommitted record back at the front, in order; commit forgets them for good', async () => {
  const { clock, server, source } = setup((n) => ({ body: { results: [0, 1, 2, 3].map((i) => ({ id: n * 4 + i })) } }), { url, interval: 0, maxRequests: 3, keyPath: 'id' });
  await source.start();
  const ids = (b: SourceBatch) => b.records.map((r) => Number(r.key));
  try {
    await runUntil(clock, () => server.requests.filter((r) => r.endedAt !== undefined).length === 3, 'three responses');
    assert.equal((await metricsOf(source)).buffered, 12);
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
  }
});

test('maxBuffered: the pollers pause while the pipeline holds that many records (handed out or not), and resume on commit', async () => {
  // Request 1 is slow: it lands at 100 ms, while the first 10 records are handed out but not committed.
  const { clock, server, source } = setup((n) => ok(users(n, 5), n === 1 ? 100 : 10), { url, interval: 0, concurrency: 2, maxBuffered: 10 });
  await source.start();
  try {
    await advance(clock, 50);
    assert.deepEqual(server.times(), [0, 0, 10], 'paused at 10 buffered records (and one request in flight)');
    const batch = await source.read(10, 0);
    assert.equal(batch.records.length, 10);
    await advance(clock, 60_000);
    assert.deepEqual(server.times(), [0, 0, 10], 'handed out but uncommitted records still count when the slow response lands');
    assert.equal((await metricsOf(source)).buffered, 5);
    await source.commit(batch);
    await advance(clock, 60_000);
    assert.deepEqual(server.times(), [0, 0, 10, 60_050, 60_050], 'both pollers resumed at once on commit, and paused again');
    assert.equal((await metricsOf(source)).buffered, 15, 'a response in flight still lands: exceeded by up to `concurrency` responses');
  } finally {
    await source.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Timing: interval, concurrency

test('interval: from the start of one request to the start of the next; a slower response is followed at once', async () => {
  const latency = [50, 250, 10, 10];
  const { clock, server, source } = setup((n) => ok([n], latency[n]), { url, interval: '200ms', maxRequests: 4 });
  await source.start();
  try {
    const { at } = await drain(clock, source);
    assert.deepEqual(server.times(), [0, 200, 450, 650]);
    assert.equal(at, 660);
  } finally {
    await source.close();
  }
});

test('pollers are spread over the interval', async () => {
  const { clock, server, source } = setup((n) => ok(users(n, 1), 20), { url, interval: '200ms', concurrency: 2, maxRequests: 4 });
  await source.start();
  try {
    await drain(clock, source);
    assert.deepEqual(server.times(), [0, 100, 200, 300]);
  } finally {
    await source.close();
  }
  const three = setup((n) => ok([n]), { url, interval: '1s', concurrency: 3, maxRequests: 6 });
  await three.source.start();
  try {
    await drain(three.clock, three.source);
    assert.deepEqual(three.server.times(), [0, 333, 667, 1000, 1333, 1667]);
  } finally {
    await three.source.close();
  }
});

test('concurrency: that many requests in parallel, never more', async () => {
  const { clock, server, source } = setup((n) => ok(users(n, 1), 150), { url, interval: 0, concurrency: 3, maxRequests: 9 });
  await source.start();
  try {
    const { records, at } = await drain(clock, source);
    assert.equal(records.length, 9);
    assert.equal(server.maxActive, 3);
    assert.deepEqual(server.times(), [0, 0, 0, 150, 150, 150, 300, 300, 300]);
    assert.equal(at, 450, '9 requests of 150 ms in 3 rounds');
    assert.equal(server.options!.connections, 3, 'as many connections as pollers');
  } finally {
    await source.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Ending: maxRequests, pageParam, duration, drain, close

test('maxRequests counts successful requests exactly, across pollers and failures', async () => {
  // Latencies of 0 to 30 ms, so that the pollers' responses land (and they claim requests) one at a time.
  const { clock, server, source } = setup((n) => (n % 3 === 1 ? { status: 500, body: 'flaky' } : ok(users(n, 2), (n % 4) * 10)), { url, interval: 0, concurrency: 3, maxRequests: 7, retry });
  await source.start();
  try {
    const { records, last } = await drain(clock, source);
    const metrics = last.metrics as Record<string, any>;
    assert.equal(records.length, 14, '7 successful requests of 2 records');
    assert.equal(metrics.requests, 7 + metrics.failures.http5xx, 'no request beyond the 7 successful ones and the failed attempts');
    assert.equal(server.requests.length, metrics.requests);
    assert.ok(metrics.failures.http5xx >= 2);
    assert.equal(new Set(records.map((r) => (r.value as { login: { uuid: string } }).login.uuid)).size, 14);
    assert.deepEqual(
      records.map((r) => r.origin?.offset),
      [...Array(14).keys()],
      'sequence numbers follow the records across responses',
    );
  } finally {
    await source.close();
  }

  // The last request in flight: the poller that is done starts no other one.
  const last = setup((n) => ok([n], n === 0 ? 10 : 100), { url, interval: 0, concurrency: 2, maxRequests: 2 });
  await last.source.start();
  try {
    const { records, at } = await drain(last.clock, last.source);
    assert.deepEqual(last.server.times(), [0, 0]);
    assert.deepEqual([records.length, at], [2, 100]);
  } finally {
    await last.source.close();
  }
});

test('pageParam numbers successive requests from firstPage; a retried request keeps its page', async () => {
  const { clock, server, source } = setup((n) => (n === 1 ? { status: 503, body: 'busy' } : ok(users(n, 1))), {
    url: `${url}?seed=abc`,
    pageParam: 'page',
    firstPage: 3,
    interval: 0,
    maxRequests: 4,
    retry,
  });
  await source.start();
  try {
    const { records } = await drain(clock, source);
    assert.equal(records.length, 4);
    const pages = server.requests.map((r) => r.url.searchParams.get('page'));
    assert.deepEqual(pages, ['3', '4', '4', '5', '6'], 'request 4 failed once and was retried with the same page');
    assert.ok(server.requests.every((r) => r.url.searchParams.get('seed') === 'abc'), 'the rest of the query is kept');
  } finally {
    await source.close();
  }
});

test('duration: no request after it, and finished once everything fetched is committed', async () => {
  const { clock, server, source } = setup((n) => ok(users(n, 2)), { url, interval: '50ms', duration: '300ms' });
  await source.start();
  try {
    const firstRead = await clocked(clock, source.read(100, 50));
    assert.equal(firstRead.value.finished, false);
    await source.rollback();
    await advance(clock, 249 - firstRead.at);
    assert.equal((await source.read(0, 0)).finished, false, 'not before the duration');
    const { records, last, at } = await drain(clock, source);
    assert.equal(last.finished, true);
    assert.equal(at, 300, 'finished the moment the duration is over (nothing was left to commit)');
    assert.deepEqual(server.times(), [0, 50, 100, 150, 200, 250], 'a request every 50 ms, none at or after 300 ms');
    assert.equal(records.length, server.requests.length * 2, 'every record fetched was handed out');
    await advance(clock, 60_000);
    assert.equal(server.requests.length, 6);
  } finally {
    await source.close();
  }
});

test('drain: no new request, the one in flight still lands, finished once everything is committed', async () => {
  const { clock, server, source } = setup((n) => ok(users(n, 2), 30), { url, interval: '100ms' });
  await source.start();
  try {
    await advance(clock, 215);
    source.drain();
    const whileInFlight = await source.read(100, 0);
    assert.equal(whileInFlight.records.length, 4);
    assert.equal(whileInFlight.finished, false);
    await source.commit(whileInFlight);
    assert.equal((await source.read(100, 0)).finished, false, 'a response is still in flight');
    const { records, at } = await drain(clock, source);
    assert.deepEqual(records.map((r) => r.key), [null, null], 'the response in flight when draining began');
    assert.equal(at, 230);
    await advance(clock, 60_000);
    assert.deepEqual(server.times(), [0, 100, 200], 'no request after the drain');
  } finally {
    await source.close();
  }
});

test('close aborts the request in flight at once and stops polling', async () => {
  const { clock, server, source } = setup(() => 'hang', { url, interval: 0, timeout: '30s' });
  await source.start();
  await advance(clock, 1000);
  let closed = false;
  void source.close().then(() => (closed = true));
  await settle();
  assert.equal(closed, true, 'close does not wait for the 30 s timeout (the clock did not move)');
  assert.equal(server.requests[0].abortedAt! - T0, 1000);
  assert.equal(server.closed, true);
  await advance(clock, 60_000);
  assert.equal(server.requests.length, 1);
});

test('credentials in the url reach the transport, but never the description, the logs or the metrics', async () => {
  const basic = Buffer.from('reader:pa55word-x').toString('base64');
  const { clock, server, logs, source } = setup(() => ({ status: 500, body: `no: reader:pa55word-x / Basic ${basic}` }), { url: 'http://reader:pa55word-x@api.test/api/', interval: 0, retry });
  await source.start();
  try {
    await advance(clock, 100);
    assert.equal(server.requests[0].url.username, 'reader', 'sent for the transport to use as basic auth');
    assert.equal(server.requests[0].url.password, 'pa55word-x');
    assert.equal(source.describe(), 'http-poll http://api.test/api/ (back to back, concurrency 1)');
    const metrics = await metricsOf(source);
    assert.doesNotMatch(JSON.stringify([logs, metrics]), new RegExp(`pa55word|reader@|${basic}`));
    assert.match(logs.find((l) => l.level === 'warn')!.message, /HTTP 500: no: reader:\*\*\* \/ Basic \*\*\*/, 'a server quoting them back is masked');
  } finally {
    await source.close();
  }
});

test('throughput: 5,000-record responses are turned into records at well over 10,000 records/s', async (t) => {
  // RandomUser-like elements (about 600 bytes each), one body built once and answered again and again.
  const filler = { street: { number: 8929, name: 'Valwood Pkwy' }, city: 'Billings', state: 'Michigan', country: 'United States', postcode: '63104' };
  const element = (i: number) => ({ ...users(0, 1)[0], login: { uuid: `uuid-${i}`, username: 'yellowpeacock117', sha256: 'a1b2c3d4'.repeat(8) }, location: filler, picture: 'https://randomuser.me/api/portraits/med/men/75.jpg'.repeat(6) });
  const body = JSON.stringify({ results: Array.from({ length: 5000 }, (_, i) => element(i)), info: { results: 5000 } });
  const { clock, source } = setup(() => ({ body }), { url, query: { results: 5000 }, keyPath: 'login.uuid', interval: 0, concurrency: 2, maxRequests: 10 });
  const startedAt = performance.now();
  await source.start();
  try {
    const { records } = await drain(clock, source);
    const perSecond = Math.round((records.length / (performance.now() - startedAt)) * 1000);
    t.diagnostic(`${records.length} records (${Math.round(body.length / 5000)} bytes each) at ${perSecond} records/s (parsing and record making; no sockets)`);
    assert.equal(records.length, 50_000);
    assert.equal(records[49_999].key, 'uuid-4999');
    assert.ok(perSecond > 10_000, `${perSecond} records/s`);
  } finally {
    await source.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Config

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
