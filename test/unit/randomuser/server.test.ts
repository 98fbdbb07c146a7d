import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ERROR_BODY, type FaultKind } from '../../../randomuser/faults.ts';
import type { RandomUserResponse } from '../../../randomuser/generator.ts';
import { startRandomUserServer, type RandomUserServer } from '../../../randomuser/server.ts';

const NOW = new Date('2026-11-21T12:00:00Z');

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.json() };
}

describe('RandomUser server: the API', () => {
  let server: RandomUserServer;
  before(async () => {
    server = await startRandomUserServer({ now: () => NOW });
  });
  after(() => server.close());

  test('listens on loopback at a free port and answers on every API path', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
    assert.ok(server.port > 0);
    const origin = server.url.replace('/api/', '');
    for (const path of ['/api/', '/api', '/api/1.4/', '/api/1.4']) {
      const { status, body } = await getJson(`${origin}${path}?results=2`);
      assert.equal(status, 200, path);
      assert.equal(body.results.length, 2, path);
      assert.equal(body.info.version, '1.4');
    }
    const missing = await getJson(`${origin}/api/1.3/`);
    assert.equal(missing.status, 404);
    assert.match(missing.body.error, /\/api\//);
  });

  test('seed and page give the same answer every time; info echoes them', async () => {
    const first = await (await fetch(`${server.url}?seed=abc&page=2&results=20`)).text();
    const again = await (await fetch(`${server.url}?page=2&results=20&seed=abc`)).text();
    assert.equal(again, first);
    const body = JSON.parse(first) as RandomUserResponse;
    assert.deepEqual(body.info, { seed: 'abc', results: 20, page: 2, version: '1.4' });
    const page3 = (await getJson(`${server.url}?seed=abc&page=3&results=20`)).body as RandomUserResponse;
    const uuids = new Set(body.results.map((u) => u.login?.uuid));
    assert.ok(page3.results.every((u) => !uuids.has(u.login?.uuid)));
  });

  test('without a seed the answer reports a random one that reproduces it', async () => {
    const { body } = await getJson(`${server.url}?results=3`);
    assert.match(body.info.seed, /^[0-9a-f]{16}$/);
    const replay = await getJson(`${server.url}?results=3&seed=${body.info.seed}`);
    assert.deepEqual(replay.body.results, body.results);
  });

  test('seedless answers are rendered ahead of their request, and each has a fresh seed and fresh users', async () => {
    const before = server.stats().prefetchHits;
    const seeds = new Set<string>();
    const uuids = new Set<string>();
    for (let i = 0; i < 10 && server.stats().prefetchHits === before; i++) {
      const { body } = await getJson(`${server.url}?results=50`);
      seeds.add(body.info.seed);
      for (const user of body.results) uuids.add(user.login.uuid);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(server.stats().prefetchHits > before, 'no answer came from the prefetch');
    assert.equal(uuids.size, seeds.size * 50, 'a prefetched answer repeated users');

    const other = server.stats().prefetchHits;
    await getJson(`${server.url}?results=7`);
    assert.equal(server.stats().prefetchHits, other, 'an answer prefetched for results=50 served results=7');
  });

  test('results are clamped to 1..5000; nonsense means the default of 1', async () => {
    assert.equal((await getJson(`${server.url}?results=7000&inc=nat`)).body.results.length, 5000);
    assert.equal((await getJson(`${server.url}?results=abc`)).body.results.length, 1);
    assert.equal((await getJson(`${server.url}?results=0`)).body.results.length, 1);
    assert.equal((await getJson(server.url)).body.results.length, 1);
  });

  test('nat is comma-separated and case-insensitive; gender filters', async () => {
    const { body } = await getJson(`${server.url}?results=200&nat=ua,Ir&gender=FEMALE`);
    assert.deepEqual(new Set(body.results.map((u: any) => u.nat)), new Set(['UA', 'IR']));
    assert.ok(body.results.every((u: any) => u.gender === 'female'));
    const unknownOnly = await getJson(`${server.url}?results=300&nat=xx&inc=nat`);
    assert.ok(new Set(unknownOnly.body.results.map((u: any) => u.nat)).size > 10, 'unknown nationalities are ignored');
  });

  test('inc and exc remove whole blocks; noinfo removes info', async () => {
    const inc = await getJson(`${server.url}?inc=name,login,bogus&results=3`);
    assert.deepEqual(Object.keys(inc.body.results[0]), ['name', 'login']);
    const exc = await getJson(`${server.url}?exc=login,picture&results=3`);
    assert.ok(exc.body.results.every((u: any) => !('login' in u) && !('picture' in u) && 'name' in u));
    const noinfo = await getJson(`${server.url}?noinfo&results=1`);
    assert.deepEqual(Object.keys(noinfo.body), ['results']);
  });

  test('format=pretty is indented JSON of the same users; other formats answer 400 with a reason', async () => {
    const pretty = await (await fetch(`${server.url}?seed=p&results=2&format=pretty`)).text();
    const compact = await (await fetch(`${server.url}?seed=p&results=2`)).text();
    assert.match(pretty, /\n {2}"results": \[/);
    assert.deepEqual(JSON.parse(pretty), JSON.parse(compact));
    const csv = await getJson(`${server.url}?format=csv`);
    assert.equal(csv.status, 400);
    assert.match(csv.body.error, /format=csv .*json.*pretty/);
  });

  test('only GET is allowed on the API', async () => {
    const res = await fetch(server.url, { method: 'POST', body: '{}' });
    assert.equal(res.status, 405);
    await res.body?.cancel();
  });
});

describe('RandomUser server: faults', () => {
  let server: RandomUserServer;
  before(async () => {
    server = await startRandomUserServer({ now: () => NOW });
  });
  beforeEach(() => server.setFaults({ errorRate: 0 }));
  after(() => server.close());

  const only = (kind: FaultKind, extra: object = {}) => server.setFaults({ errorRate: 1, kinds: [kind], ...extra });

  test('error-body: status 200 with the real error message and no results', async () => {
    only('error-body');
    const { status, body } = await getJson(`${server.url}?results=5`);
    assert.equal(status, 200);
    assert.deepEqual(body, ERROR_BODY);
    assert.match(body.error, /^Uh oh, something has gone wrong/);
  });

  test('503 carries Retry-After; 500 is a plain server error', async () => {
    only('503', { retryAfterSeconds: 7 });
    const unavailable = await fetch(server.url);
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.headers.get('retry-after'), '7');
    await assert.rejects(unavailable.json(), SyntaxError);
    only('500');
    const broken = await fetch(server.url);
    assert.equal(broken.status, 500);
    assert.equal(broken.headers.get('retry-after'), null);
    await broken.body?.cancel();
  });

  test('latency delays a correct answer by the configured time', async () => {
    only('latency', { latencyMs: 150 });
    const started = performance.now();
    const { status, body } = await getJson(`${server.url}?results=3`);
    assert.ok(performance.now() - started >= 145, 'answered too early');
    assert.equal(status, 200);
    assert.equal(body.results.length, 3);
  });

  test('hang never answers: the client times out', async () => {
    only('hang');
    const started = performance.now();
    await assert.rejects(fetch(server.url, { signal: AbortSignal.timeout(300) }), { name: 'TimeoutError' });
    assert.ok(performance.now() - started >= 290);
    assert.equal(server.stats().faults.hang >= 1, true);
  });

  test('truncated is a complete 200 whose body is a cut prefix that JSON.parse refuses', async () => {
    const whole = await (await fetch(`${server.url}?seed=t&results=50`)).text();
    only('truncated');
    const res = await fetch(`${server.url}?seed=t&results=50`);
    assert.equal(res.status, 200);
    const cut = await res.text();
    assert.ok(cut.length > 0 && cut.length < whole.length, `cut ${cut.length} of ${whole.length}`);
    assert.ok(whole.startsWith(cut));
    assert.throws(() => JSON.parse(cut), SyntaxError);
  });

  test('reset drops the connection in the middle of the body', async () => {
    only('reset');
    const res = await fetch(`${server.url}?results=200`);
    assert.equal(res.status, 200);
    await assert.rejects(res.text());
  });

  test('a fault seed makes the sequence of faults repeatable, and errorRate sets their share', async () => {
    const statuses = async () => {
      server.setFaults({ errorRate: 0.5, kinds: ['503', '500'], seed: 'repeat' });
      const seen: number[] = [];
      for (let i = 0; i < 40; i++) {
        const res = await fetch(server.url);
        seen.push(res.status);
        await res.body?.cancel();
      }
      return seen;
    };
    const first = await statuses();
    assert.deepEqual(await statuses(), first);
    const failed = first.filter((status) => status !== 200).length;
    assert.ok(failed >= 8 && failed <= 32, `${failed} of 40 failed at rate 0.5`);
    assert.ok(first.includes(503) && first.includes(500) && first.includes(200));
  });

  test('maxFaults stops injecting after that many faults', async () => {
    server.setFaults({ errorRate: 1, kinds: ['503'], maxFaults: 2 });
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(server.url);
      seen.push(res.status);
      await res.body?.cancel();
    }
    assert.deepEqual(seen, [503, 503, 200, 200]);
  });

  test('setFaults refuses invalid settings, naming each problem', () => {
    assert.throws(() => server.setFaults({ errorRate: 2, kinds: ['teapot' as FaultKind] }), /errorRate: expected a number from 0 to 1[\s\S]*kinds\[0\]/);
    assert.equal(server.faults().errorRate, 0);
  });
});

describe('RandomUser server: admin endpoints and stats', () => {
  let server: RandomUserServer;
  let origin: string;
  before(async () => {
    server = await startRandomUserServer({ faults: { errorRate: 1, kinds: ['error-body'], seed: 1 } });
    origin = server.url.replace('/api/', '');
  });
  after(() => server.close());

  test('faults given at start apply; POST /_faults replaces them; bad settings answer 400 with problems', async () => {
    assert.deepEqual((await getJson(server.url)).body, ERROR_BODY);
    const post = (body: string) => fetch(`${origin}/_faults`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

    const ok = await post(JSON.stringify({ errorRate: 1, kinds: ['503'], retryAfterSeconds: 3 }));
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { errorRate: 1, kinds: ['503'], latencyMs: [200, 2000], retryAfterSeconds: 3, seed: null, maxFaults: null });
    const res = await fetch(server.url);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '3');
    await res.body?.cancel();

    const bad = await post(JSON.stringify({ errorRate: -1, kind: ['503'], latencyMs: [900, 100] }));
    assert.equal(bad.status, 400);
    const { problems } = (await bad.json()) as { problems: string[] };
    assert.ok(problems.some((p: string) => p.startsWith('kind: unknown setting')));
    assert.ok(problems.some((p: string) => p.startsWith('errorRate: expected a number from 0 to 1')));
    assert.equal((await post('not json')).status, 400);
    assert.equal((await getJson(`${origin}/_faults`)).body.kinds[0], '503', 'a refused update changes nothing');

    await post('{"errorRate": 0}');
    assert.equal((await getJson(server.url)).status, 200);
  });

  test('stats count requests, users served, faults by kind, bad requests and cache hits; GET /_stats agrees', async () => {
    server.setFaults({ errorRate: 0 });
    const before = server.stats();
    for (let i = 0; i < 3; i++) await (await fetch(`${server.url}?seed=s&results=10`)).text();
    await (await fetch(`${server.url}?results=4`)).text();
    await (await fetch(`${server.url}?format=xml`)).text();
    await (await fetch(`${origin}/nowhere`)).text();
    server.setFaults({ errorRate: 1, kinds: ['500'] });
    await (await fetch(server.url)).text();
    server.setFaults({ errorRate: 1, kinds: ['truncated'] });
    await (await fetch(`${server.url}?results=3`)).text();

    const after = server.stats();
    assert.equal(after.requests - before.requests, 7, 'API requests only (the 404 was not one)');
    assert.equal(after.responses - before.responses, 4);
    assert.equal(after.usersServed - before.usersServed, 34);
    assert.equal(after.cacheHits - before.cacheHits, 2, 'the seeded request repeated twice');
    assert.equal(after.badRequests - before.badRequests, 2);
    assert.equal(after.faults['500'] - before.faults['500'], 1);
    assert.equal(after.faults.truncated - before.faults.truncated, 1);
    assert.deepEqual((await getJson(`${origin}/_stats`)).body, server.stats());
  });
});

describe('RandomUser server: close', () => {
  test('close() drops hanging connections at once', async () => {
    const server = await startRandomUserServer({ faults: { errorRate: 1, kinds: ['hang'] } });
    const pending = fetch(server.url, { signal: AbortSignal.timeout(10_000) });
    const started = performance.now();
    while (server.stats().requests === 0 && performance.now() - started < 2000) await new Promise((resolve) => setTimeout(resolve, 5));
    await server.close();
    await assert.rejects(pending, (error: Error) => error.name !== 'TimeoutError');
    assert.ok(performance.now() - started < 2000);
  });
});
