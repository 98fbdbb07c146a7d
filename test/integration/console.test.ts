/**
 * The web console in a real headless browser (Debian's chromium, driven by puppeteer-core; nothing
 * downloads a browser) against config/user-pipeline.yaml running on the real Kafka and Cassandra, in
 * its "broken deploy" version: the process pipeline's mapping reads post codes `as: integer`, so a
 * user with a British post code is dead-lettered. The test checks that
 * - the Topology page's graph shows every pipeline (every running stage) with its topics and tables;
 * - the Pipeline page's charts' latest figures (rows/s, phase durations, lag in all and per partition,
 *   dead letters) equal the progress event of that batch, at load and after a live update;
 * - the poison user appears on the Dead letters page with the reason its dead letter carries;
 * - a replay request from another origin, or without the token, is refused and replays nothing;
 * - an invalid edit is refused, and its listing is on the Topology file page;
 * - after the fix (the file edited back to `as: string`, hot-swapped), replaying the letter from the
 *   page writes it back to users_created and its row appears in Cassandra; `npm run dead-letters`
 *   lists it with its reason and replays it too;
 * and saves a screenshot of each page to test/integration/screenshots/ (git-ignored).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import '../../components.ts';
import { loadTopology } from '../../topology/load.ts';
import { createTopologyLogger } from '../../operations/logger.ts';
import { TopologyRuntime } from '../../topology/runtime.ts';
import type { ProgressEvent } from '../../topology/progress.ts';
import type { RuntimeEvent } from '../../topology/events.ts';
import { watchTopology } from '../../operations/reload.ts';
import { startConsole, type ConsoleServer } from '../../operations/console/server.ts';
import { kafkaDeadLetters } from '../../operations/console/dead-letters.ts';
import { liveData } from '../../operations/console/data.ts';
import { generateUsers } from '../../randomuser/generator.ts';
import type { RandomUser } from '../../randomuser/codec.ts';
import { deleteTopics, headersOf, produce, readTopic } from './read-topic.ts';
import cassandra from 'cassandra-driver';
import { startRandomUserServer, type RandomUserServer } from '../../randomuser/server.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
/** scripts/test.mjs and .ci/run install Debian's chromium here when it is missing. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = path.join(REPO, 'test/integration/screenshots');

const run = randomUUID().slice(0, 8);
const topic = `it_console_${run}`;
const deadTopic = `${topic}_dead`;
const keyspace = `it_console_${run}`;
const CONTACT_POINTS = process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042';
const LOCAL_DC = process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1';
const fixtures = {} as { server: RandomUserServer; client: cassandra.Client };

const FIXED_MAPPING = 'post_code: { path: location.postcode, as: string }';
const BROKEN_MAPPING = 'post_code: { path: location.postcode, as: integer }';

const dir = mkdtempSync(path.join(tmpdir(), 'console-it-'));
const file = path.join(dir, 'user-pipeline.yaml');
const original = readFileSync(path.join(REPO, 'config/user-pipeline.yaml'), 'utf8');
assert.ok(original.includes(FIXED_MAPPING), 'config/user-pipeline.yaml maps post codes as text');

let runtime: TopologyRuntime;
let server: ConsoleServer;
let browser: Browser;
let closeLogger: () => Promise<void>;
let watcher: { close(): void };
const events: RuntimeEvent[] = [];
const progressOf = (pipeline: string) => events.filter((e): e is ProgressEvent => e.event === 'progress' && e.pipeline === pipeline);

function environment(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    RANDOMUSER_URL: fixtures.server.url,
    RANDOMUSER_SEED: `console-${run}`,
    RESULTS_PER_REQUEST: '3',
    POLL_INTERVAL: '1s',
    USERS_TOPIC: topic,
    CASSANDRA_KEYSPACE: keyspace,
    CONSUMER_GROUP: `it-console-${run}`,
    PROCESS_TRIGGER_INTERVAL: '500ms',
  };
}

async function until<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 120_000, everyMs = 500): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `no chromium at ${CHROMIUM}: install it with apt-get install -y chromium (npm test does when it is missing), or set CHROMIUM_PATH`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  fixtures.server = await startRandomUserServer({ host: '127.0.0.1', port: 0 });
  fixtures.client = new cassandra.Client({ contactPoints: CONTACT_POINTS.split(','), localDataCenter: LOCAL_DC });
  await fixtures.client.connect();
  writeFileSync(file, original.replace(FIXED_MAPPING, BROKEN_MAPPING));
  const { config } = loadTopology(file, { env: environment() });
  const logging = createTopologyLogger(config.name, { ...config.logging, dir, console: 'off' });
  closeLogger = logging.close;
  runtime = new TopologyRuntime(config, { logger: logging.logger });
  runtime.events$.subscribe((event) => events.push(event));
  const stages = () => [...runtime.runners.values()].map((runner) => runner.config);
  server = await startConsole(runtime, { port: 0, file, deadLetters: kafkaDeadLetters(stages), data: liveData(stages) });
  await runtime.start();
  // The file watcher reloads with the process environment: give it this test's.
  Object.assign(process.env, environment());
  watcher = watchTopology(file, runtime, logging.logger, { intervalMs: 200 });
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});

after(async () => {
  await browser?.close();
  watcher?.close();
  await runtime?.stop();
  await server?.close();
  await closeLogger?.();
  await fixtures.client?.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await fixtures.client?.shutdown();
  await fixtures.server?.close();
  await deleteTopics(BROKERS, [topic, deadTopic]).catch(() => undefined);
});

test('the console in a headless browser: graph, live charts, a poison message dead-lettered, replayed after the fix into Cassandra', { timeout: 600_000 }, async (t) => {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));

  await until(() => [...runtime.runners.keys()].every((name) => progressOf(name).length >= 3), 'three batches of every pipeline');

  // Topology: one box per running stage, each drawn with its topics and tables.
  await page.goto(server.url, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('svg.graph g.cluster', { timeout: 60_000 });
  const drawn = await page.$$eval('svg.graph g.cluster', (groups) => groups.map((g) => [g.getAttribute('data-pipeline'), g.getAttribute('data-state')]));
  assert.deepEqual(drawn.map(([name]) => name).sort(), [...runtime.runners.keys()].sort(), 'every pipeline is in the graph');
  assert.deepEqual(drawn.map(([, state]) => state), drawn.map(() => 'running'));
  const nodes = await page.$$eval('svg.graph g.node', (groups) => groups.map((g) => g.getAttribute('data-node')));
  for (const node of [`topic:${topic}`, `topic:${deadTopic}`, `table:${keyspace}.created_users`, `table:${keyspace}.users_by_nat_minute`]) assert.ok(nodes.includes(node), `${node} is drawn`);
  const graphTopics = nodes.filter((node): node is string => node?.startsWith('topic:') === true).map((node) => node.slice('topic:'.length));
  await screenshot(page, 'topology');

  // Pipeline: the charts' latest figures are those of the progress event of their batch.
  await page.goto(`${server.url}pipeline?name=process`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#figures-rates [data-figure="batchId"]', { timeout: 60_000 });
  const figures = () =>
    page.$$eval('.figures', (boxes) =>
      boxes.map((box) => ({
        chart: box.id.replace('figures-', ''),
        batchId: Number(box.querySelector('[data-figure="batchId"] b')?.textContent),
        values: Object.fromEntries([...box.querySelectorAll('[data-value]')].map((span) => [span.getAttribute('data-figure'), span.getAttribute('data-value')])),
      })),
    );
  const expected = (event: ProgressEvent): Record<string, string> => ({
    inputRowsPerSecond: String(event.inputRowsPerSecond),
    processedRowsPerSecond: String(event.processedRowsPerSecond),
    getBatch: String(event.durationMs.getBatch),
    process: String(event.durationMs.process),
    write: String(event.durationMs.write),
    commit: String(event.durationMs.commit),
    triggerExecution: String(event.durationMs.triggerExecution),
    lag: String(event.sources[0].metrics?.lag),
    numDeadLetterRows: String(event.numDeadLetterRows),
    ...Object.fromEntries(Object.entries((event.sources[0].metrics?.lagByPartition ?? {}) as Record<string, number>).map(([partition, lag]) => [`lag.${partition}`, String(lag)])),
    ...(event.watermark !== undefined ? { watermark: String(event.watermark) } : {}),
    ...Object.fromEntries(event.stateOperators.flatMap((op, i) => Object.entries(op.metrics).map(([metric, value]) => [`state.${i}.${metric}`, String(value)]))),
    failedBatches: '0',
  });
  const check = async (pipeline: string, partitions: string[], when: string) => {
    const shown = await figures();
    const batchIds = new Set(shown.map((f) => f.batchId));
    assert.equal(batchIds.size, 1, `${when}: every chart ends at the same batch (${[...batchIds].join(', ')})`);
    const [batchId] = batchIds;
    const event = progressOf(pipeline).find((e) => e.batchId === batchId);
    assert.ok(event, `${when}: batch ${batchId} is a progress event of ${pipeline}`);
    const flat = Object.assign({}, ...shown.map((f) => f.values)) as Record<string, string>;
    assert.deepEqual(Object.keys(flat).filter((k) => k.startsWith('lag.')).sort(), partitions.map((p) => `lag.${p}`), `${when}: the lag of each partition`);
    for (const [figure, value] of Object.entries(expected(event))) assert.equal(flat[figure], value, `${when}: ${figure} of batch ${batchId}`);
    return batchId;
  };
  const first = await check('process', [0, 1, 2].map((p) => `${topic}/${p}`), 'at load');
  // A live update: the next batches arrive over the event stream.
  await page.waitForFunction(`Number(document.querySelector('#figures-rates [data-figure="batchId"] b')?.textContent) > ${first}`, { timeout: 120_000 });
  const later = await check('process', [0, 1, 2].map((p) => `${topic}/${p}`), 'after a live update');
  t.diagnostic(`figures equal the progress events of batches ${first} and ${later}`);
  await screenshot(page, 'pipeline');
  // The windowed pipeline: its watermark and state charts have figures too.
  await page.goto(`${server.url}pipeline?name=nat_minute`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#figures-state [data-figure="batchId"]', { timeout: 60_000 });
  const repartitioned = graphTopics.find((name) => name.endsWith('.repartition'))!;
  const windowed = await check('nat_minute', [0, 1, 2, 3, 4, 5].map((p) => `${repartitioned}/${p}`), 'nat_minute');
  const natEvent = progressOf('nat_minute').find((e) => e.batchId === windowed)!;
  assert.ok(natEvent.watermark !== undefined && natEvent.stateOperators.length === 2, 'nat_minute has a watermark and two state operators, whose figures were compared');
  await screenshot(page, 'pipeline-nat_minute');

  // A poison: a British post code, which the broken mapping cannot read as an integer.
  const [template] = generateUsers({ seed: `console-poison-${run}`, page: 1, results: 1 }).users as unknown as RandomUser[];
  const id = randomUUID();
  const poison = { ...template, login: { ...template.login, uuid: id }, location: { ...template.location, postcode: 'SW1A 1AA' } };
  await produce(BROKERS, topic, [{ key: id, value: JSON.stringify(poison) }]);
  const letter = await until(async () => (await readTopic(BROKERS, deadTopic)).find((m) => String(m.key) === id), 'the poison in the dead-letter topic');
  const reason = headersOf(letter)['dead-letter.reason'];
  t.diagnostic(`dead-lettered: ${reason}`);
  assert.match(reason, /^post_code: /);

  await page.goto(`${server.url}dead-letters?reason=post_code`, { waitUntil: 'domcontentloaded' });
  const row = `tr.letter[data-key="${id}"]`;
  await page.waitForSelector(row, { timeout: 60_000 });
  assert.equal(await page.$eval(`${row} td.reason`, (td) => td.textContent), reason, 'the page shows its reason');
  const headers = headersOf(letter);
  assert.equal(await page.$eval(`${row} td.origin`, (td) => td.textContent), `${topic}/${headers['dead-letter.origin.partition']}@${headers['dead-letter.origin.offset']}`, 'and its origin');
  await screenshot(page, 'dead-letters');

  // Refused: from another origin (with the right token), and without the token. Nothing is replayed.
  const replayUrl = `${server.url}api/dead-letters/replay`;
  const body = JSON.stringify({ reason: 'post_code' });
  const crossOrigin = await fetch(replayUrl, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://attacker.example', 'x-console-token': server.token }, body });
  const noToken = await fetch(replayUrl, { method: 'POST', headers: { 'content-type': 'application/json', origin: server.url.replace(/\/$/, '') }, body });
  assert.deepEqual([crossOrigin.status, noToken.status], [403, 403]);
  const replayed = async () => (await readTopic(BROKERS, topic)).filter((m) => headersOf(m)['dead-letter.replayed-from'] !== undefined);
  assert.deepEqual(await replayed(), [], 'nothing was replayed');

  // A first attempt at the fix is invalid: refused, and the running version continues.
  writeFileSync(file, original.replace(FIXED_MAPPING, 'post_code: { path: location.postcode, as: text }'));
  const refusal = await until(() => events.find((e) => e.event === 'swap-refused'), 'the invalid file to be refused');

  // The fix: the file edited back to `as: string`, applied by a hot swap.
  writeFileSync(file, original);
  await until(() => events.some((e) => e.event === 'swap' && e.changed.includes('process')), 'the hot swap of process');

  // Replay the poison from the page: select it, confirm, read the count.
  await page.goto(`${server.url}dead-letters?reason=post_code`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector(row, { timeout: 60_000 });
  await page.click(`${row} input.pick`);
  await page.click('#replay-selected');
  await page.waitForSelector('dialog#confirm[open]');
  await page.click('#confirm-replay');
  await page.waitForSelector('#replayed', { timeout: 60_000 });
  assert.equal(await page.$eval('#replayed', (div) => div.getAttribute('data-replayed')), '1', 'one message replayed');
  await screenshot(page, 'dead-letters-replayed');
  const back = await replayed();
  assert.deepEqual(back.map((m) => [String(m.key), m.value?.toString()]), [[id, JSON.stringify(poison)]], 'the original bytes and key, back in the source topic');

  // The same from the command line: the letter listed with its reason; replayed once more.
  const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'bin/dead-letters.ts', '--topology', file, ...args], { cwd: REPO, env: { ...process.env, ...environment() }, encoding: 'utf8', timeout: 120_000 });
  const listed = cli('list', '--reason', '"SW1A 1AA"', '--json');
  assert.equal(listed.status, 0, listed.stderr);
  assert.deepEqual(listed.stdout.trim().split('\n').map((line) => JSON.parse(line) as { key: string; reason: string }).map((l) => [l.key, l.reason]), [[id, reason]], 'npm run dead-letters list');
  const again = cli('replay', '--reason', '"SW1A 1AA"');
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout, `replayed 1 message(s): 1 into ${topic}\n`, 'npm run dead-letters replay');
  assert.equal((await replayed()).length, 2, 'the command line replayed it once more');

  const stored = await until(async () => (await fixtures.client.execute(`SELECT id, post_code FROM ${keyspace}.created_users WHERE id = ?`, [id], { prepare: true })).first(), 'the replayed user in Cassandra');
  assert.equal(stored.get('post_code'), 'SW1A 1AA');

  // The other pages render: the data page's topic and table, the file page's swap.
  await page.goto(`${server.url}data`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector(`tr[data-topic="${topic}"]`, { timeout: 120_000 });
  await page.waitForSelector(`h2[data-table="${keyspace}.created_users"]`, { timeout: 120_000 });
  await page.click(`tr[data-topic="${topic}"] button.peek`);
  await page.waitForSelector('#peek td.value', { timeout: 60_000 });
  const peeked = await page.$$eval('#peek tr', (rows) => rows.slice(1).map((tr) => tr.querySelectorAll('td')[3]?.textContent));
  assert.ok(peeked.length > 0 && peeked.length <= 20, `the latest messages of ${topic} (${peeked.length})`);
  await screenshot(page, 'data');
  await page.goto(`${server.url}file`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#swaps tr[data-outcome="applied"]', { timeout: 60_000 });
  assert.ok(await page.$('#swaps tr[data-outcome="refused"]'), 'the refused file is in the swap history');
  assert.equal(await page.$eval('#refused pre', (pre) => pre.textContent), refusal.event === 'swap-refused' ? refusal.reason : '', 'the listing of the refused file');
  assert.match(await page.$eval('#version', (b) => b.textContent ?? ''), /^2$/, 'the fixed file is version 2');
  await screenshot(page, 'topology-file');
  assert.deepEqual(pageErrors, [], 'no script error on any page');
});
