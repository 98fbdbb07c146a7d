/**
 * The `window` operator's semantics, run through the test driver in virtual time: one `advance(1000)`
 * is one micro-batch, so each test says exactly which records share a batch, and so when the
 * watermark moves. Event times are the records' timestamps (`eventTime: timestamp`) unless a test
 * says otherwise. The durable-state tests restart the topology (`driver.restart()`: operators start
 * empty and restore their tasks from the in-process changelogs of `state: { type: memory }`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../../operators/window/index.ts';
import { TopologyTestDriver } from '../../../testing/driver.ts';
import { windowOperator, type WindowConfig } from '../../../operators/window/index.ts';
import { parseIsoTime as parseTime } from '../../../topology/time.ts';

const parseIsoTime = (text: string) => parseTime(text, { withoutZone: 'refuse' });
import { memoryStore } from '../../../testing/memory-channels.ts';
import { configErrors, decodeOperator, fakeContext, loadProblems, record, run } from './helpers.ts';

const T0 = Date.parse('2026-11-21T10:00:00.000Z');
/** T0 + `s` seconds. */
const at = (s: number): number => T0 + s * 1000;

interface Input {
  nat: string;
  t: number;
  [field: string]: unknown;
}
const rec = (nat: string, s: number, fields: Record<string, unknown> = {}): Input => ({ nat, t: at(s), ...fields });

function topology(window: Record<string, unknown>, pipeline = ''): string {
  return `
name: windows
pipelines:
  p:
    source: { type: memory, channel: in }
    operators:
      - ${JSON.stringify({ type: 'window', ...window })}
    sink: { type: memory, channel: out }
    trigger: { interval: 1s }
${pipeline}`;
}

/** A decoded config, for creating the operator directly. */
function config(overrides: Partial<WindowConfig> = {}): WindowConfig {
  return { kind: 'tumbling', size: 10_000, eventTime: 'timestamp', groupBy: [], aggregations: { users: { fn: 'count' } }, allowedLateness: 0, lateRecords: 'drop', outputMode: 'append', watermarkPer: 'process', closeAtEnd: false, ...overrides };
}

type Row = Record<string, unknown>;

/** Pipe `records` and run one micro-batch; the rows it wrote. */
async function batch(driver: TopologyTestDriver, records: Input[]): Promise<Row[]> {
  const out = driver.output('p');
  const before = out.records.length;
  driver.pipe('p', records, { timestamp: (v) => (v as Input).t });
  await driver.advance(1000);
  return out.values().slice(before) as Row[];
}

/** `<start in seconds from T0> <nat> <users>`: a row in one short string. */
const brief = (row: Row): string => `${(Date.parse(row.window_start as string) - T0) / 1000} ${row.nat} ${row.users}`;

function lastMetrics(driver: TopologyTestDriver): Record<string, number> {
  const event = driver.progress.at(-1)!;
  return event.stateOperators[0].metrics;
}

// ---------------------------------------------------------------------------------------------------
// One scenario, four batches, for both kinds, both output modes and both ways of handling late records.
// Tumbling windows of 10 s (allowed lateness 5 s): [0,10) [10,20) [20,30) …; sliding ones of 10 s every
// 5 s: [-5,5) [0,10) [5,15) …  The watermark after each batch is its largest event time minus 5 s.
const SCENARIO: Input[][] = [
  // In order, and out of order within a window (8 after 12). Watermark 12 - 5 = 7.
  [rec('FR', 1), rec('FR', 3), rec('DE', 2), rec('FR', 12), rec('FR', 8)],
  // 9 comes after 21, but the watermark moves only at the end of the batch: it is still 7, and [0,10)
  // is open, so 9 counts. Watermark 16.
  [rec('FR', 21), rec('DE', 15), rec('FR', 9)],
  // 4: its windows ended by 10 ≤ 16, late. 14 is behind the watermark (16) but its tumbling window [10,20)
  // is open: counted (a sliding one counts it in [10,20) only, [5,15) being closed). Watermark 20.
  [rec('FR', 4), rec('DE', 19), rec('FR', 14), rec('FR', 25), rec('FR', 22)],
  // 19: its tumbling window [10,20) ended exactly at the watermark (20): late; its sliding window [15,25)
  // is open. Watermark 40: closes every window that ends by 40.
  [rec('FR', 45), rec('FR', 19)],
];

const EXPECTED: Record<string, { rows: string[][]; windowsInState: number }> = {
  'tumbling append': {
    rows: [[], ['0 FR 4', '0 DE 1'], ['10 FR 2', '10 DE 2'], ['20 FR 3']],
    windowsInState: 1,
  },
  'tumbling update': {
    rows: [['0 FR 3', '0 DE 1', '10 FR 1'], ['0 FR 4', '10 DE 1', '20 FR 1'], ['10 DE 2', '10 FR 2', '20 FR 3'], ['40 FR 1']],
    windowsInState: 1,
  },
  'sliding append': {
    rows: [['-5 FR 2', '-5 DE 1'], ['0 FR 4', '0 DE 1', '5 FR 3'], ['10 FR 2', '10 DE 2'], ['15 FR 3', '15 DE 2', '20 FR 3', '25 FR 1']],
    windowsInState: 2,
  },
  'sliding update': {
    rows: [
      ['-5 FR 2', '-5 DE 1', '0 FR 3', '0 DE 1', '5 FR 2', '10 FR 1'],
      ['0 FR 4', '5 FR 3', '10 DE 1', '15 FR 1', '15 DE 1', '20 FR 1'],
      ['10 DE 2', '10 FR 2', '15 DE 2', '15 FR 2', '20 FR 3', '25 FR 1'],
      ['15 FR 3', '40 FR 1', '45 FR 1'],
    ],
    windowsInState: 2,
  },
};

const LATE_REASONS = {
  tumbling: [
    [4, 'late: event time 2026-11-21T10:00:04.000Z is before the watermark 2026-11-21T10:00:16.000Z, which has closed its window [2026-11-21T10:00:00.000Z, 2026-11-21T10:00:10.000Z)'],
    [19, 'late: event time 2026-11-21T10:00:19.000Z is before the watermark 2026-11-21T10:00:20.000Z, which has closed its window [2026-11-21T10:00:10.000Z, 2026-11-21T10:00:20.000Z)'],
  ],
  sliding: [[4, 'late: event time 2026-11-21T10:00:04.000Z is before the watermark 2026-11-21T10:00:16.000Z, which has closed all its windows, the last [2026-11-21T10:00:00.000Z, 2026-11-21T10:00:10.000Z)']],
} as const;

for (const kind of ['tumbling', 'sliding'] as const) {
  for (const outputMode of ['append', 'update'] as const) {
    for (const lateRecords of ['drop', 'deadLetter'] as const) {
      test(`${kind} windows, ${outputMode} mode, late records ${lateRecords === 'drop' ? 'dropped' : 'dead-lettered'}: exact counts per batch`, async () => {
        const driver = await TopologyTestDriver.start(
          topology({
            kind,
            size: '10s',
            ...(kind === 'sliding' ? { slide: '5s' } : {}),
            eventTime: 'timestamp',
            groupBy: ['nat'],
            aggregations: { users: { fn: 'count' } },
            allowedLateness: '5s',
            lateRecords,
            outputMode,
          }),
        );
        const expected = EXPECTED[`${kind} ${outputMode}`];
        const written: string[][] = [];
        for (const records of SCENARIO) written.push((await batch(driver, records)).map(brief));
        assert.deepEqual(written, expected.rows);
        assert.deepEqual(
          driver.progress.map((p) => p.watermark),
          [at(7), at(16), at(20), at(40)],
        );
        const emitted = expected.rows.flat().length;
        const late = LATE_REASONS[kind];
        const lateDropped = lateRecords === 'drop' ? late.length : 0;
        assert.deepEqual(lastMetrics(driver), { windowsInState: expected.windowsInState, tasks: 1, lateRecordsDropped: lateDropped, lateRecordsDeadLettered: late.length - lateDropped, windowsEmitted: emitted });
        const deadLetters = driver.deadLetters('p').values() as Array<{ reason: string; value: Input }>;
        assert.deepEqual(
          deadLetters.map((d) => [d.value, d.reason]),
          lateRecords === 'drop' ? [] : late.map(([s, reason]) => [rec('FR', s), reason]),
        );
        assert.equal(driver.input('p').committed, SCENARIO.flat().length, 'every batch committed');
        await driver.close();
      });
    }
  }
}

test('a row: ISO window bounds, group fields by their last name or given name, a stable key, the window end as timestamp', async () => {
  const driver = await TopologyTestDriver.start(
    topology({
      kind: 'tumbling',
      size: '1m',
      eventTime: 'timestamp',
      groupBy: ['location.nat', { path: 'gender', name: 'sex' }],
      aggregations: { users: { fn: 'count' } },
      allowedLateness: '0s',
    }),
  );
  await batch(driver, [{ ...rec('FR', 5), location: { nat: 'FR' }, gender: 'female' }, { ...rec('FR', 6), location: { nat: 'FR' }, gender: 'female' }]);
  await batch(driver, [{ ...rec('FR', 61), location: { nat: 1 }, gender: 'male' }]);
  const [row] = driver.output('p').records;
  assert.deepEqual(row.value, { window_start: '2026-11-21T10:00:00.000Z', window_end: '2026-11-21T10:01:00.000Z', nat: 'FR', sex: 'female', users: 2 });
  assert.equal(row.key, '["2026-11-21T10:00:00.000Z","FR","female"]');
  assert.equal(row.timestamp, at(60));
  assert.equal(driver.output('p').records.length, 1);
  await driver.close();
});

test('sum, min, max and avg, tumbling and sliding; null and missing values are left out, numeric strings count', async () => {
  for (const kind of ['tumbling', 'sliding'] as const) {
    const driver = await TopologyTestDriver.start(
      topology({
        kind,
        size: '10s',
        ...(kind === 'sliding' ? { slide: '5s' } : {}),
        eventTime: 'timestamp',
        groupBy: ['nat'],
        aggregations: {
          users: { fn: 'count' },
          with_age: { fn: 'count', path: 'age' },
          total_age: { fn: 'sum', path: 'age' },
          min_age: { fn: 'min', path: 'age' },
          max_age: { fn: 'max', path: 'age' },
          avg_age: { fn: 'avg', path: 'age' },
        },
        allowedLateness: '0s',
      }),
    );
    await batch(driver, [rec('FR', 11, { age: 30 }), rec('FR', 12, { age: '-2.5' }), rec('FR', 13, { age: null }), rec('FR', 17, { age: 51 }), rec('FR', 14), rec('DE', 18, { age: null })]);
    await batch(driver, [rec('FR', 40)]);
    const rows = driver.output('p').values() as Row[];
    const byWindow = Object.fromEntries(rows.map((r) => [`${(Date.parse(r.window_start as string) - T0) / 1000} ${r.nat}`, r]));
    const strip = ({ window_start: _s, window_end: _e, nat: _n, ...aggregates }: Row) => aggregates;
    if (kind === 'tumbling') {
      assert.deepEqual(Object.keys(byWindow), ['10 FR', '10 DE']);
      assert.deepEqual(strip(byWindow['10 FR']), { users: 5, with_age: 3, total_age: 78.5, min_age: -2.5, max_age: 51, avg_age: 78.5 / 3 });
    } else {
      // [5,15) holds 11..14; [10,20) holds 11..18; [15,25) holds 17 and 18.
      assert.deepEqual(Object.keys(byWindow), ['5 FR', '10 FR', '10 DE', '15 FR', '15 DE']);
      assert.deepEqual(strip(byWindow['5 FR']), { users: 4, with_age: 2, total_age: 27.5, min_age: -2.5, max_age: 30, avg_age: 13.75 });
      assert.deepEqual(strip(byWindow['10 FR']), { users: 5, with_age: 3, total_age: 78.5, min_age: -2.5, max_age: 51, avg_age: 78.5 / 3 });
      assert.deepEqual(strip(byWindow['15 FR']), { users: 1, with_age: 1, total_age: 51, min_age: 51, max_age: 51, avg_age: 51 });
    }
    // A group whose values were all null: counted, with null aggregates (as SQL has it).
    assert.deepEqual(strip(byWindow['10 DE']), { users: 1, with_age: 0, total_age: null, min_age: null, max_age: null, avg_age: null });
    await driver.close();
  }
});

test('eventTime from a field: ISO-8601 with a zone or epoch milliseconds; records without a usable one are dead-lettered', async () => {
  const driver = await TopologyTestDriver.start(
    topology({
      kind: 'tumbling',
      size: '1h',
      eventTime: { field: 'registered.date' },
      groupBy: ['nat'],
      aggregations: { users: { fn: 'count' } },
      allowedLateness: '0s',
    }),
  );
  const user = (date: unknown) => ({ nat: 'FR', t: 0, registered: { date } });
  await batch(driver, [
    user('2026-11-21T08:59:59Z'),
    user('2026-11-21T10:15:00.123456Z'),
    user('2026-11-21T12:30:00+02:00'),
    user(Date.parse('2026-11-21T10:59:59.999Z')),
    user('2026-11-21T10:30:00'),
    user('2026-02-30T10:00:00Z'),
    user(null),
    user('2026-11-22'),
  ]);
  const rows = driver.output('p').values() as Row[];
  assert.deepEqual(
    rows,
    [
      { window_start: '2026-11-21T08:00:00.000Z', window_end: '2026-11-21T09:00:00.000Z', nat: 'FR', users: 1 },
      { window_start: '2026-11-21T10:00:00.000Z', window_end: '2026-11-21T11:00:00.000Z', nat: 'FR', users: 3 },
    ],
    'the last record (midnight UTC, 22 Nov) closed the 08:00 and 10:00 windows',
  );
  assert.deepEqual(
    (driver.deadLetters('p').values() as Array<{ reason: string }>).map((d) => d.reason),
    [
      'event time field registered.date is "2026-11-21T10:30:00", expected an ISO-8601 date-time with a zone or milliseconds since the epoch',
      'event time field registered.date is "2026-02-30T10:00:00Z", expected an ISO-8601 date-time with a zone or milliseconds since the epoch',
      'event time field registered.date is null, expected an ISO-8601 date-time with a zone or milliseconds since the epoch',
    ],
  );
  await driver.close();
});

test('records whose group value or aggregated value is unusable are dead-lettered and counted nowhere', async () => {
  const { ctx, deadLetters } = fakeContext();
  const op = windowOperator(config({ groupBy: ['nat'], aggregations: { total: { fn: 'sum', path: 'n' } } }), ctx);
  const inputs = [record({ nat: 'FR', n: 1 }, { timestamp: at(1) }), record({ n: 2 }, { timestamp: at(2) }), record({ nat: { code: 'FR' }, n: 3 }, { timestamp: at(3) }), record({ nat: 'FR', n: 'four' }, { timestamp: at(4) })];
  assert.deepEqual(await run(op, inputs), []);
  assert.deepEqual(
    deadLetters.map((d) => [d.record, d.reason]),
    [
      [inputs[1], 'group field nat is missing, expected a string, number or boolean'],
      [inputs[2], 'group field nat is an object, expected a string, number or boolean'],
      [inputs[3], 'aggregation total (sum of n) is "four", expected a number'],
    ],
  );
  assert.equal(op.metrics!().windowsInState, 1, 'only the first record was aggregated');
});

test('a failed sink write is redelivered without double counting (state restored), in both output modes', async () => {
  for (const outputMode of ['append', 'update'] as const) {
    const driver = await TopologyTestDriver.start(
      topology(
        { kind: 'tumbling', size: '10s', eventTime: 'timestamp', groupBy: ['nat'], aggregations: { users: { fn: 'count' } }, allowedLateness: '0s', outputMode },
        '    onFailure: { initialBackoff: 1s, maxBackoff: 1s }',
      ).replace('sink: { type: memory, channel: out }', 'sink: { type: memory, channel: out, retry: { maxAttempts: 1 } }'),
    );
    const out = driver.output('p');
    await batch(driver, [rec('FR', 1), rec('FR', 2)]);
    // This batch adds to [0,10), closes it, and opens [10,20); its write fails once, so it is run again.
    out.behaviour.failNextWrites = 1;
    driver.pipe('p', [rec('FR', 3), rec('FR', 11)], { timestamp: (v) => (v as Input).t });
    await driver.advance(1000);
    assert.equal(out.records.length, outputMode === 'append' ? 0 : 1, 'the failed write wrote nothing (update mode wrote [0,10) after the first batch)');
    assert.equal(driver.input('p').committed, 2, 'the failed batch is not committed');
    await driver.advance(2000);
    assert.equal(driver.input('p').committed, 4, 'redelivered and committed');
    await batch(driver, [rec('FR', 25)]);
    const rows = (out.values() as Row[]).map(brief);
    if (outputMode === 'append') assert.deepEqual(rows, ['0 FR 3', '10 FR 1']);
    else assert.deepEqual(rows, ['0 FR 2', '0 FR 3', '10 FR 1', '20 FR 1']);
    assert.deepEqual(lastMetrics(driver), { windowsInState: 1, tasks: 1, lateRecordsDropped: 0, lateRecordsDeadLettered: 0, windowsEmitted: rows.length });
    assert.ok(driver.logs.some((l) => /batch 1 failed; 2 record\(s\) rolled back/.test(l.message)));
    await driver.close();
  }
});

// ---------------------------------------------------------------------------------------------------
// Durable state. The input is 60 s of users, 3 a second, out of order by up to 0.8 s, and a last
// record an hour later that closes every window. The topology keeps its windows in the `memory` state
// backend; runs are cut by restarts (operators start empty and restore their tasks) or swaps, and what
// all runs wrote together is compared with the true count of every window.

const JITTER = [0, 0.8, -0.4];
const STREAM: Input[] = [...Array.from({ length: 180 }, (_, i) => rec(i % 3 === 0 ? 'DE' : 'FR', i / 3 + JITTER[i % 3] + 1)), rec('FR', 3600)];
const WINDOW = { kind: 'tumbling', size: '10s', eventTime: 'timestamp', groupBy: ['nat'], aggregations: { users: { fn: 'count' } }, allowedLateness: '2s' };
const DURABLE = (window: Record<string, unknown> = {}, pipeline = '    state: { type: memory }') =>
  topology({ ...WINDOW, ...window }, pipeline).replace('trigger: { interval: 1s }', 'trigger: { interval: 1s, maxRecordsPerTrigger: 20 }');

const windowOf = (row: Row) => `${(Date.parse(row.window_start as string) - T0) / 1000} ${row.nat}`;

/** The true count of every (window, nat), from the whole input (nothing in it is late). */
const TRUE_COUNTS = new Map<string, number>();
for (const r of STREAM.slice(0, -1)) {
  const key = `${Math.floor((r.t - T0) / 10_000) * 10} ${r.nat}`;
  TRUE_COUNTS.set(key, (TRUE_COUNTS.get(key) ?? 0) + 1);
}

/** The last row of every window: what a table upserted by (window_start, nat) holds. */
function table(rows: Row[]): Map<string, number> {
  const held = new Map<string, number>();
  for (const row of rows) held.set(windowOf(row), row.users as number);
  return held;
}

async function committedUpTo(driver: TopologyTestDriver, n: number): Promise<void> {
  await driver.advanceUntil(() => driver.input('p').committed >= n, 600_000, 1000);
}

/** Every window in the table with its true count; in append mode each written once. */
function assertExact(rows: Row[], outputMode: string, what: string): void {
  const held = table(rows);
  // Update mode also writes the window still open: the one of the last record.
  if (outputMode === 'update') assert.equal(held.get('3600 FR'), 1);
  held.delete('3600 FR');
  assert.deepEqual(held, TRUE_COUNTS, what);
  if (outputMode === 'append') assert.equal(rows.length, TRUE_COUNTS.size, `${what}: each window written once`);
  for (const row of rows) assert.ok((row.users as number) <= (TRUE_COUNTS.get(windowOf(row)) ?? 1), `${what}: ${windowOf(row)} never above its true count (${row.users})`);
}

test('restarts with durable state: every window written with its true count, in both output modes', async () => {
  for (const outputMode of ['append', 'update']) {
    for (const restartsAt of [[100], [40, 100, 150]]) {
      const driver = await TopologyTestDriver.start(DURABLE({ outputMode }));
      driver.pipe('p', STREAM, { timestamp: (v) => (v as Input).t });
      for (const cut of restartsAt) {
        await committedUpTo(driver, cut);
        await driver.restart();
      }
      await committedUpTo(driver, STREAM.length);
      assertExact(driver.output('p').values() as Row[], outputMode, `${outputMode}, restarts after ${restartsAt.join(', ')}`);
      const restores = driver.logs.filter((l) => l.event === 'state-restored');
      assert.equal(restores.length, restartsAt.length + 1, 'each start restores the task');
      const said = driver.logs.filter((l) => l.event === 'state-restoring' || l.event === 'state-restored').map((l) => l.event);
      assert.deepEqual(said, restores.flatMap(() => ['state-restoring', 'state-restored']), 'each restore is announced before it runs');
      assert.ok((restores.at(-1)!.keys as number) > 0, 'the last restore brought windows back');
      await driver.close();
    }
  }
});

test('without a state backend a restart starts empty: a window open across it is written short', async () => {
  const driver = await TopologyTestDriver.start(DURABLE({}, ''));
  driver.pipe('p', STREAM, { timestamp: (v) => (v as Input).t });
  await committedUpTo(driver, 100);
  await driver.restart();
  await committedUpTo(driver, STREAM.length);
  const short = [...table(driver.output('p').values() as Row[])].filter(([window, users]) => users < TRUE_COUNTS.get(window)!);
  assert.deepEqual(short.map(([window]) => window), ['30 FR', '30 DE'], 'the window of the restart (records 90-119, 31-41 s) lost what the first run had counted');
  await driver.close();
});

test('changes a batch wrote to the changelog before its commit failed are left out at the restore: counted once', async () => {
  const driver = await TopologyTestDriver.start(DURABLE({}, '    state: { type: memory }\n    onFailure: { initialBackoff: 30s, maxBackoff: 30s }'));
  driver.pipe('p', STREAM, { timestamp: (v) => (v as Input).t });
  await committedUpTo(driver, 60);
  const input = driver.input('p');
  input.failNextCommits = 1;
  await driver.advance(1000);
  assert.equal(input.committed, 60, 'the batch of records 60-79 wrote its rows and its changes, and failed to commit');
  const changelog = memoryStore.changelog(driver.config.name, `${driver.config.name}.p.p.in.0-window.windows`).entries;
  assert.ok(changelog.some((e) => Number(e.position.index) === 80), 'its changes are in the changelog, tagged with position 80');
  // Stopped during the failure's backoff: the next run restores as of position 60, and reads 60-79 again.
  await driver.restart();
  await committedUpTo(driver, STREAM.length);
  const rows = driver.output('p').values() as Row[];
  assert.deepEqual(table(rows), TRUE_COUNTS, 'a commit lost before a restart');
  // The failed batch's rows were written, and written again, the same, when it was read again (at-least-once).
  for (const row of rows) assert.equal(row.users, TRUE_COUNTS.get(windowOf(row)), `${windowOf(row)} written with ${row.users}`);
  await driver.close();
});

test('a hot swap mid-stream (the trigger interval, then allowedLateness) continues every window exactly', async () => {
  const driver = await TopologyTestDriver.start(DURABLE());
  driver.pipe('p', STREAM, { timestamp: (v) => (v as Input).t });
  await committedUpTo(driver, 60);
  await driver.swap(DURABLE().replace('interval: 1s', 'interval: 2s'));
  await committedUpTo(driver, 120);
  await driver.swap(DURABLE({ allowedLateness: '3s' }).replace('interval: 1s', 'interval: 2s'));
  await committedUpTo(driver, STREAM.length);
  assertExact(driver.output('p').values() as Row[], 'append', 'two swaps');
  await driver.close();
});

test('idleTimeout: a stopped input gets its last windows written with their true counts; a record that comes later for one is late', async () => {
  const driver = await TopologyTestDriver.start(DURABLE({ idleTimeout: '30s', lateRecords: 'deadLetter' }));
  driver.pipe('p', STREAM.slice(0, -1), { timestamp: (v) => (v as Input).t });
  await committedUpTo(driver, 180);
  const rows = () => driver.output('p').values() as Row[];
  // The watermark (60.8 s - 2 s) has closed the windows up to [40,50).
  assert.deepEqual([...table(rows()).keys()].slice(-2), ['40 FR', '40 DE']);
  await driver.advance(28_000);
  assert.equal(rows().length, 10, 'not idle for 30 s yet');
  await driver.advance(3000);
  assertExact(rows(), 'append', 'after the idle timeout');
  driver.pipe('p', [rec('FR', 55)], { timestamp: (v) => (v as Input).t });
  await driver.advance(1000);
  assert.match((driver.deadLetters('p').values() as Array<{ reason: string }>)[0].reason, /^late: event time 2026-11-21T10:00:55\.000Z is before the watermark 2026-11-21T10:01:10\.000Z/);
  assertExact(rows(), 'append', 'a late record changes no row');
  await driver.close();
});

test('closeAtEnd: an availableNow run writes every window it holds before it ends; without it the open ones wait', async () => {
  for (const closeAtEnd of [true, false]) {
    const driver = await TopologyTestDriver.start(DURABLE({ closeAtEnd }).replace('trigger: { interval: 1s,', 'trigger: { mode: availableNow, interval: 1s,'));
    // The first run found an empty channel and ended; the next one reads what is there now.
    driver.pipe('p', STREAM.slice(0, -1), { timestamp: (v) => (v as Input).t });
    await driver.restart();
    let ended = false;
    void driver.runtime.wait().then(() => (ended = true));
    await driver.advanceUntil(() => ended, 600_000, 1000);
    const rows = driver.output('p').values() as Row[];
    if (closeAtEnd) assertExact(rows, 'append', 'closeAtEnd');
    else assert.deepEqual([...table(rows).keys()].slice(-2), ['40 FR', '40 DE'], 'the windows the watermark did not close are kept (in the changelog) for the next run');
    await driver.close();
  }
});

test('config: every field checked with its path, and the rules across fields when the topology is loaded', async () => {
  const base = { type: 'window', kind: 'tumbling', size: '1m', eventTime: 'timestamp', aggregations: { users: { fn: 'count' } }, allowedLateness: '10s' };
  assert.deepEqual(decodeOperator(base), { ok: true, config: { ...base, size: 60_000, allowedLateness: 10_000, groupBy: [], lateRecords: 'drop', outputMode: 'append', watermarkPer: 'process', closeAtEnd: false } });
  assert.deepEqual(configErrors({ ...base, size: '0s', eventTime: 'kafka', allowedLateness: undefined }), [
    'size: expected a duration longer than zero, such as 10s, 1m or 1h, got "0s"',
    'eventTime: expected timestamp (the record timestamp), or { field: <path> }, got "kafka"',
    "allowedLateness: required field is missing (How far behind the largest event time seen a record may be and still be counted (Spark's withWatermark delay); the watermark is the largest event time minus this.)",
  ]);
  assert.deepEqual(configErrors({ ...base, aggregations: { total: { fn: 'sum' }, mean: { fn: 'median', path: 'a' } } }), [
    'aggregations.total: sum needs a path: the value it aggregates, e.g. { fn: sum, path: dob.age }',
    'aggregations.mean.fn: expected one of "count", "sum", "min", "max", "avg", "latest", got "median"',
  ]);
  assert.deepEqual(configErrors({ ...base, aggregations: {} }), ['aggregations: expected a map of output names to aggregations, e.g. { users: { fn: count } }, got {}']);
  assert.deepEqual(configErrors({ ...base, groupBy: ['a[', { path: 'b', nom: 'c' }], eventTime: { field: 'x', zone: 'UTC' } }), [
    'eventTime.zone: unknown field "zone"; known fields: field',
    'groupBy[0]: "a[" is not a valid path: "[" at character 2 is not closed',
    'groupBy[1].nom: unknown field "nom"; known fields: path, name',
  ]);
  // The spec's check runs when the topology is loaded: a problem refuses it, listed by path.
  const created = (overrides: Partial<WindowConfig>) => {
    const { size, ...rest } = config(overrides);
    const problems = loadProblems({ type: 'window', ...rest, size: `${size}ms`, allowedLateness: '0ms' });
    return problems.length === 0 ? 'created' : problems.join('\n');
  };
  assert.equal(created({ kind: 'sliding' }), 'pipelines.main.operators[0].slide: a sliding window needs slide, the time between window starts (e.g. slide: 10s)');
  assert.equal(created({ slide: 5000 }), 'pipelines.main.operators[0].slide: only sliding windows have a slide; remove it, or make kind: sliding');
  assert.equal(created({ kind: 'sliding', slide: 20_000 }), 'pipelines.main.operators[0].slide: 20000 ms is longer than size (10000 ms), which would leave records between windows in none');
  assert.equal(created({ kind: 'sliding', slide: 3000 }), 'created', 'a slide need not divide the size');
  assert.equal(
    created({ groupBy: ['user.nat', 'location.nat'] }),
    'pipelines.main.operators[0].groupBy[1]: output field "nat" is already groupBy[0]\'s; name it differently (a group field as { path, name })',
  );
  assert.equal(created({ groupBy: ['window_start'] }), 'pipelines.main.operators[0].groupBy[0]: output field "window_start" is already the window\'s; name it differently (a group field as { path, name })');
  assert.equal(created({ groupBy: ['nat'], aggregations: { nat: { fn: 'count' } } }), 'pipelines.main.operators[0].aggregations.nat: output field "nat" is already groupBy[0]\'s; name it differently (a group field as { path, name })');
});

test('parseIsoTime: zones, fractions and calendar checks', () => {
  assert.equal(parseIsoTime('2026-11-21T10:00:00Z'), T0);
  assert.equal(parseIsoTime('2026-11-21T11:30:00.5+0130'), T0 + 500);
  assert.equal(parseIsoTime('2026-11-21T05:00:00-05'), T0);
  assert.equal(parseIsoTime('2026-11-21'), Date.parse('2026-11-21T00:00:00Z'));
  assert.equal(parseIsoTime('2024-02-29T00:00:00Z'), Date.parse('2024-02-29T00:00:00Z'));
  for (const bad of ['2026-11-21T10:00:00', '2025-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '2026-11-21T24:00:00Z', '2026-11-21T10:00:00+25:00', 'yesterday', '1763719200000']) {
    assert.equal(parseIsoTime(bad), undefined, bad);
  }
});
