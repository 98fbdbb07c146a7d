/**
 * The `aggregate` operator, run through the test driver in virtual time (one `advance(1000)` is one
 * micro-batch): totals per group over batches, dead letters, config errors, a failed write redelivered,
 * and its state kept by the `memory` state backend over a restart, a crash and a swap. Records of one
 * group in two tasks need two partitions, which the driver's memory source does not have: that test
 * runs the operator directly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregateOperator, GROUPS_STORE, type AggregateConfig } from '../../../operators/aggregate.ts';
import { batchScope } from '../../../testing/batch-scope.ts';
import { TopologyTestDriver } from '../../../testing/driver.ts';
import { memoryStore } from '../../../testing/memory-channels.ts';
import type { StoreEntries, StreamRecord, TaskId } from '../../../topology/types.ts';
import { configErrors, loadProblems, run, topologyErrors } from './helpers.ts';

const T0 = Date.parse('2026-11-21T10:00:00.000Z');
/** T0 + `s` seconds. */
const at = (s: number): number => T0 + s * 1000;

interface User {
  name: string;
  location: { nat: unknown };
  age?: unknown;
  t: number;
}
const user = (name: string, nat: unknown, age: unknown, s: number): User => ({ name, location: { nat }, age, t: at(s) });

const AGGREGATIONS = {
  users: { fn: 'count' },
  total: { fn: 'sum', path: 'age' },
  youngest: { fn: 'min', path: 'age' },
  oldest: { fn: 'max', path: 'age' },
  mean: { fn: 'avg', path: 'age' },
  last: { fn: 'latest', path: 'name' },
} as const;
const OPERATOR = { type: 'aggregate', groupBy: [{ path: 'location.nat', name: 'nat' }], aggregations: AGGREGATIONS };

function topology(options: { state?: boolean; interval?: string; perBatch?: number; sink?: string } = {}): string {
  return `
name: totals
pipelines:
  p:
    source: { type: memory, channel: in }
    operators:
      - ${JSON.stringify(OPERATOR)}
    sink: { type: memory, channel: out${options.sink ?? ''} }
    trigger: { interval: ${options.interval ?? '1s'}, maxRecordsPerTrigger: ${options.perBatch ?? 100} }
    stopTimeout: 100ms
${options.state === false ? '' : '    state: { type: memory }'}
`;
}

interface Row {
  nat: unknown;
  users: number;
  total: number | null;
  youngest: number | null;
  oldest: number | null;
  mean: number | null;
  last: unknown;
}

/** A row as the sink got it: its key and timestamp (seconds from T0) with its value. */
const written = (r: StreamRecord) => ({ key: r.key, s: (r.timestamp - T0) / 1000, ...(r.value as Row) });

/** Pipe `users` and run one micro-batch; what it wrote. */
async function batch(driver: TopologyTestDriver, users: User[]) {
  const out = driver.output('p');
  const before = out.records.length;
  driver.pipe('p', users, { timestamp: (v) => (v as User).t });
  await driver.advance(1000);
  return out.records.slice(before).map(written);
}

const metricsOf = (driver: TopologyTestDriver) => driver.progress.at(-1)!.stateOperators[0].metrics;

test('exact totals per group over batches: a row for each group changed in a batch, none for the others', async () => {
  const driver = await TopologyTestDriver.start(topology({ state: false }));
  assert.deepEqual(await batch(driver, [user('ann', 'FR', 30, 1), user('bob', 'FR', 20, 2), user('carl', 'DE', 40, 3)]), [
    { key: '["FR"]', s: 2, nat: 'FR', users: 2, total: 50, youngest: 20, oldest: 30, mean: 25, last: 'bob' },
    { key: '["DE"]', s: 3, nat: 'DE', users: 1, total: 40, youngest: 40, oldest: 40, mean: 40, last: 'carl' },
  ]);
  // Out of order: eve (4 s) comes after dora (5 s), so dora stays the latest and 5 s the row's time.
  // A null age is left out of the numbers, not of the count of records.
  assert.deepEqual(await batch(driver, [user('dora', 'DE', 50, 5), user('eve', 'DE', null, 4)]), [
    { key: '["DE"]', s: 5, nat: 'DE', users: 3, total: 90, youngest: 40, oldest: 50, mean: 45, last: 'dora' },
  ]);
  assert.deepEqual(await batch(driver, []), [], 'no input, no row');
  // A numeric string counts as its number; a group whose ages are all missing has null results; a
  // number or a boolean is a group value like a string.
  assert.deepEqual(await batch(driver, [user('fred', 'FR', '10', 6), user('gil', 'ES', undefined, 7), user('hal', 7, 1, 8), user('ivy', true, 2, 9), user('jo', 'FR', 70, 6)]), [
    { key: '["FR"]', s: 6, nat: 'FR', users: 4, total: 130, youngest: 10, oldest: 70, mean: 32.5, last: 'jo' },
    { key: '["ES"]', s: 7, nat: 'ES', users: 1, total: null, youngest: null, oldest: null, mean: null, last: 'gil' },
    { key: '[7]', s: 8, nat: 7, users: 1, total: 1, youngest: 1, oldest: 1, mean: 1, last: 'hal' },
    { key: '[true]', s: 9, nat: true, users: 1, total: 2, youngest: 2, oldest: 2, mean: 2, last: 'ivy' },
  ]);
  assert.deepEqual(metricsOf(driver), { groupsInState: 5, tasks: 1 });
  assert.equal(driver.deadLetters('p').records.length, 0);
  await driver.close();
});

test('records with an unusable group value or a non-number to aggregate are dead-lettered with the reason, and not counted at all', async () => {
  const driver = await TopologyTestDriver.start(topology({ state: false }));
  await batch(driver, [user('ann', 'FR', 30, 1)]);
  const rows = await batch(driver, [
    { name: 'nobody', t: at(2) } as unknown as User,
    user('null', null, 1, 3),
    user('obj', { code: 'FR' }, 1, 4),
    user('arr', ['FR'], 1, 5),
    user('nan', Number.NaN, 1, 6),
    user('text', 'FR', 'thirty', 7),
    user('bool', 'FR', true, 8),
    user('deep', 'FR', { years: 3 }, 9),
    user('bob', 'FR', 20, 10),
  ]);
  assert.deepEqual(rows, [{ key: '["FR"]', s: 10, nat: 'FR', users: 2, total: 50, youngest: 20, oldest: 30, mean: 25, last: 'bob' }], 'only ann and bob are counted');
  const deadLetters = driver.deadLetters('p').values() as Array<{ reason: string; stage: string; value: User }>;
  assert.deepEqual(
    deadLetters.map((d) => `${d.value.name}: ${d.reason}`),
    [
      'nobody: group field location.nat is missing, expected a string, number or boolean',
      'null: group field location.nat is null, expected a string, number or boolean',
      'obj: group field location.nat is an object, expected a string, number or boolean',
      'arr: group field location.nat is an array, expected a string, number or boolean',
      'nan: group field location.nat is NaN, expected a string, number or boolean',
      'text: aggregation total (sum of age) is "thirty", expected a number',
      'bool: aggregation total (sum of age) is true, expected a number',
      'deep: aggregation total (sum of age) is an object, expected a number',
    ],
  );
  assert.ok(deadLetters.every((d) => d.stage === 'operators[0] (aggregate)'));
  assert.equal(driver.input('p').committed, 10, 'dead letters are committed with their batch');
  await driver.close();
});

test('config errors by path: groupBy and aggregations required, at least one group field, known emit modes, output names that collide', () => {
  const aggregations = { users: { fn: 'count' } };
  assert.deepEqual(configErrors({ type: 'aggregate', aggregations }), [
    'groupBy: required field is missing (The values to group by, each output under the last field name of its path (`location.country` → `country`) or `{ path, name }`. A record whose value there is missing, null, an object or an array goes to the dead-letter output. At least one.)',
  ]);
  assert.deepEqual(configErrors({ type: 'aggregate', groupBy: ['nat'], aggregations: {}, emit: 'all' }), [
    'aggregations: expected a map of output names to aggregations, e.g. { users: { fn: count } }, got {}',
    'emit: expected one of "changes", got "all"',
  ]);
  assert.deepEqual(configErrors({ type: 'aggregate', groupBy: ['a['], aggregations: { total: { fn: 'sum' } } }), [
    'groupBy[0]: "a[" is not a valid path: "[" at character 2 is not closed',
    'aggregations.total: sum needs a path: the value it aggregates, e.g. { fn: sum, path: dob.age }',
  ]);
  // The spec's check runs when the topology is loaded: each problem refuses it, listed by path.
  assert.deepEqual(topologyErrors({ type: 'aggregate', groupBy: [], aggregations }), ['pipelines.main.operators[0].groupBy: name at least one value to group by, e.g. groupBy: [location.nat]']);
  assert.deepEqual(topologyErrors({ type: 'aggregate', groupBy: ['location.nat', 'origin.nat', { path: 'gender', name: 'users' }], aggregations }), [
    'pipelines.main.operators[0].groupBy[1]: output field "nat" is already groupBy[0]\'s; name it differently (a group field as { path, name })',
    'pipelines.main.operators[0].aggregations.users: output field "users" is already groupBy[2]\'s; name it differently (a group field as { path, name })',
  ]);
  assert.deepEqual(loadProblems({ type: 'aggregate', groupBy: ['location.nat', { path: 'origin.nat', name: 'origin' }], aggregations, emit: 'changes' }), [], 'renamed, it loads');
  assert.deepEqual(loadProblems({ ...OPERATOR }), []);
});

test('records of one group in two tasks: the row merges them; each task keeps and writes only its own', async () => {
  const config = { groupBy: [{ path: 'location.nat', name: 'nat' }], aggregations: AGGREGATIONS, emit: 'changes' } as AggregateConfig;
  const rec = (u: User, partition: number): StreamRecord => ({ key: null, value: u, timestamp: u.t, origin: { topic: 'users', partition, offset: 0 } });
  /** The changes the operator noted, in order, each value copied as JSON (as the pipeline's scope copies it). */
  let changes: Array<{ store: string; task: TaskId; key: string; value: { group: unknown[]; acc: number[]; time: number } }> = [];
  const scope = batchScope({ changed: (store, task, key, value) => void changes.push({ store, task, key, value: JSON.parse(JSON.stringify(value)) }) });
  /** `<task> <key> users=<count> at <s>`: a changelog value in short (acc[0] is the count of `users`, the first aggregation). */
  const brief = () => changes.map((c) => `${c.store === GROUPS_STORE ? '' : `${c.store}? `}${c.task} ${c.key} users=${c.value.acc[0]} at ${(c.value.time - T0) / 1000}`);
  const rows = async (op: ReturnType<typeof aggregateOperator>, records: StreamRecord[]) => (await run(op, records, scope)).map(written);

  // Task 1 was first another instance's: what it wrote to its changelog is handed to this one.
  const previous = aggregateOperator(config);
  await rows(previous, [rec(user('ann', 'FR', 30, 1), 1), rec(user('bob', 'FR', 50, 2), 1), rec(user('carl', 'DE', 40, 3), 1)]);
  const task1: StoreEntries = new Map(changes.map((c) => [c.key, c.value]));
  assert.deepEqual(brief(), ['1 "FR" users=2 at 2', '1 "DE" users=1 at 3']);

  const op = aggregateOperator(config);
  op.loadTask!(0, new Map([[GROUPS_STORE, new Map()]]));
  op.loadTask!(1, new Map([[GROUPS_STORE, task1]]));
  assert.deepEqual(op.metrics!(), { groupsInState: 2, tasks: 2 });
  changes = [];
  assert.deepEqual(await rows(op, [rec(user('cy', 'FR', 10, 3), 0)]), [{ key: '["FR"]', s: 3, nat: 'FR', users: 3, total: 90, youngest: 10, oldest: 50, mean: 30, last: 'cy' }]);
  assert.deepEqual(brief(), ['0 "FR" users=1 at 3'], 'task 0 writes its own count, not the merged one');

  changes = [];
  // Both tasks in one batch: one row; dee (5 s, task 1) is later than dan (4 s, task 0), which came first.
  assert.deepEqual(await rows(op, [rec(user('dan', 'FR', 60, 4), 0), rec(user('dee', 'FR', 20, 5), 1)]), [{ key: '["FR"]', s: 5, nat: 'FR', users: 5, total: 170, youngest: 10, oldest: 60, mean: 34, last: 'dee' }]);
  assert.deepEqual(brief(), ['0 "FR" users=2 at 4', '1 "FR" users=3 at 5']);

  // Task 1 moves elsewhere: its records no longer count here.
  op.dropTask!(1);
  changes = [];
  assert.deepEqual(await rows(op, [rec(user('eli', 'FR', 0, 6), 0)]), [{ key: '["FR"]', s: 6, nat: 'FR', users: 3, total: 70, youngest: 0, oldest: 60, mean: 70 / 3, last: 'eli' }]);
  assert.deepEqual(brief(), ['0 "FR" users=3 at 6']);
  assert.deepEqual(op.metrics!(), { groupsInState: 1, tasks: 1 });
});

test('a failed write is redelivered without double counting: the sink\'s, and the changelog\'s after the sink wrote', async () => {
  const driver = await TopologyTestDriver.start(topology({ sink: ', retry: { maxAttempts: 1 }' }));
  const changelog = memoryStore.changelog(driver.config.name, `${driver.config.name}.p.p.in.0-aggregate.${GROUPS_STORE}`);
  const out = driver.output('p');
  await batch(driver, [user('ann', 'FR', 30, 1), user('bob', 'DE', 20, 2)]);

  // Twice: the redelivered batch fails too, and the state is restored again before the third try.
  out.behaviour.failNextWrites = 2;
  const failed = await batch(driver, [user('cy', 'FR', 10, 3)]);
  assert.deepEqual(failed, [], 'nothing written');
  assert.equal(driver.input('p').committed, 2, 'the failed batch is not committed');
  assert.ok(driver.logs.some((l) => /batch 1 failed; 1 record\(s\) rolled back/.test(String(l.message))));
  await driver.advanceUntil(() => driver.input('p').committed === 3);
  assert.equal(driver.logs.filter((l) => /failed; 1 record\(s\) rolled back/.test(String(l.message))).length, 2, 'it failed twice');
  const fr = { key: '["FR"]', s: 3, nat: 'FR', users: 2, total: 40, youngest: 10, oldest: 30, mean: 20, last: 'cy' };
  assert.deepEqual(out.records.slice(2).map(written), [fr], 'redelivered and counted once');

  // The changelog fails after the sink wrote the batch: the rows are written again (the same totals,
  // an idempotent upsert), the counts are not doubled.
  changelog.failNextWrites = 1;
  await batch(driver, [user('dan', 'FR', 50, 4)]);
  assert.equal(driver.input('p').committed, 3);
  await driver.advanceUntil(() => driver.input('p').committed === 4);
  const fr2 = { key: '["FR"]', s: 4, nat: 'FR', users: 3, total: 90, youngest: 10, oldest: 50, mean: 30, last: 'dan' };
  assert.deepEqual(out.records.slice(3).map(written), [fr2, fr2]);
  assert.deepEqual(await batch(driver, [user('eve', 'DE', 40, 5), user('fay', 'FR', 60, 6)]), [
    { key: '["DE"]', s: 5, nat: 'DE', users: 2, total: 60, youngest: 20, oldest: 40, mean: 30, last: 'eve' },
    { key: '["FR"]', s: 6, nat: 'FR', users: 4, total: 150, youngest: 10, oldest: 60, mean: 37.5, last: 'fay' },
  ]);
  // One entry per group changed in each committed batch, tagged with the batch's end position.
  assert.deepEqual(
    changelog.entries.map((e) => `${e.position.index} ${e.key}`),
    ['2 "FR"', '2 "DE"', '3 "FR"', '4 "FR"', '6 "DE"', '6 "FR"'],
  );
  await driver.close();
});

test('snapshot and restore, directly: a batch run again after a restore is counted once, however often the same snapshot is restored', async () => {
  const op = aggregateOperator({ groupBy: ['nat'], aggregations: { users: { fn: 'count' }, total: { fn: 'sum', path: 'n' } }, emit: 'changes' } as AggregateConfig);
  const scope = batchScope();
  const rec = (nat: string, n: number): StreamRecord => ({ key: null, value: { nat, n }, timestamp: T0 });
  const brief = async (records: StreamRecord[]) => (await run(op, records, scope)).map((r) => JSON.stringify(r.value));
  await brief([rec('FR', 1), rec('DE', 2)]);
  const before = op.snapshot!();
  const again = [rec('FR', 10), rec('ES', 20)];
  const rows = ['{"nat":"FR","users":2,"total":11}', '{"nat":"ES","users":1,"total":20}'];
  assert.deepEqual(await brief(again), rows);
  for (let attempt = 0; attempt < 2; attempt++) {
    op.restore!(before);
    assert.deepEqual(op.metrics!(), { groupsInState: 2, tasks: 1 }, 'ES is gone again');
    assert.deepEqual(await brief(again), rows);
  }
  assert.deepEqual(await brief([rec('FR', 100)]), ['{"nat":"FR","users":3,"total":111}']);
});

// ---------------------------------------------------------------------------------------------------
// Durable state: a stream of 40 users, 5 a batch, is cut after 3 batches — by a graceful restart, a
// crash (the 4th batch in flight, never acknowledged) or a swap — and continued. Every row, over both
// runs, must be what one uninterrupted run writes, computed here independently of the operator.

const NATS = ['FR', 'DE', 'ES'];
const STREAM: User[] = Array.from({ length: 40 }, (_, i) => user(`u${i}`, NATS[(i + Math.floor(i / 4)) % 3], i % 11 === 4 ? null : 18 + ((i * 7) % 50), i % 5 === 3 ? i - 2.5 : i));
const PER_BATCH = 5;
const DURABLE = { perBatch: PER_BATCH };

/** The rows of an uninterrupted run of `users`, `PER_BATCH` a batch, and the changelog it writes. */
function reference(users: User[]) {
  const rows: Array<ReturnType<typeof written>> = [];
  const entries: string[] = [];
  for (let end = PER_BATCH; end <= users.length; end += PER_BATCH) {
    const changed = [...new Set(users.slice(end - PER_BATCH, end).map((u) => u.location.nat as string))];
    for (const nat of changed) {
      const group = users.slice(0, end).filter((u) => u.location.nat === nat);
      const ages = group.map((u) => u.age).filter((a): a is number => typeof a === 'number');
      const sum = ages.reduce((a, b) => a + b, 0);
      const latest = group.reduce((a, b) => (b.t >= a.t ? b : a));
      const none = ages.length === 0;
      rows.push({ key: JSON.stringify([nat]), s: (latest.t - T0) / 1000, nat, users: group.length, total: none ? null : sum, youngest: none ? null : Math.min(...ages), oldest: none ? null : Math.max(...ages), mean: none ? null : sum / ages.length, last: latest.name });
      entries.push(`${end} "${nat}"`);
    }
  }
  return { rows, entries };
}

for (const cut of ['restart', 'crash', 'swap'] as const) {
  test(`durable state (${cut}): the totals continue exactly where they were, nothing counted twice or lost`, async () => {
    const expected = reference(STREAM);
    const first = await TopologyTestDriver.start(topology(DURABLE));
    first.pipe('p', STREAM, { timestamp: (v) => (v as User).t });
    await first.advance(3000);
    assert.equal(first.input('p').committed, 15);
    const driver = first;
    if (cut === 'swap') {
      const report = await first.swap(topology({ ...DURABLE, interval: '2s' }));
      assert.deepEqual(report.changed, ['p'], 'the pipeline is started again, its operator created anew');
    } else {
      // A crash: the 4th batch is read and processed, its write never acknowledged, so neither its
      // state nor its offsets are committed; the close abandons it after stopTimeout.
      if (cut === 'crash') {
        first.output('p').behaviour.delayMs = 3_600_000;
        await first.advance(1000);
      }
      await first.close();
      assert.equal(first.input('p').committed, 15);
      if (cut === 'crash') assert.ok(first.logs.some((l) => /abandoned uncommitted/.test(String(l.message))), 'the 4th batch was abandoned');
      first.output('p').behaviour.delayMs = 0;
      await first.restart();
    }
    await driver.advanceUntil(() => driver.input('p').committed === STREAM.length);

    const out = driver.output('p');
    assert.deepEqual(out.records.map(written), expected.rows);
    const changelog = memoryStore.changelog(driver.config.name, `${driver.config.name}.p.p.in.0-aggregate.${GROUPS_STORE}`);
    assert.deepEqual(
      changelog.entries.map((e) => `${e.position.index} ${e.key}`),
      expected.entries,
    );
    // The restore read the 3 batches' entries, and got back the 3 groups.
    const entriesAfter3 = expected.entries.filter((e) => Number(e.split(' ')[0]) <= 15).length;
    assert.deepEqual(driver.progress.filter((p) => p.stateRestore).at(-1)!.stateRestore, { tasks: [0], entriesRead: entriesAfter3, keys: 3, ms: 0 });
    // What the changelog holds of a group, exactly: its values, the aggregates (grouping.ts: value and
    // how many values, per aggregation; latest's value is its timestamp) and the latest timestamp.
    const last = new Map(changelog.entries.map((e) => [e.key, JSON.parse(e.value!)]));
    const es = STREAM.filter((u) => u.location.nat === 'ES');
    assert.equal(
      es.map((u) => `${u.name}:${u.age}@${(u.t - T0) / 1000}`).join(' '),
      'u2:32@2 u4:null@4 u7:67@7 u9:31@9 u14:66@14 u16:30@16 u19:51@19 u21:65@21 u26:null@26 u28:64@25.5 u31:35@31 u33:49@30.5 u38:34@35.5',
    );
    // 13 users, 11 ages: sum 524, min 30, max 67; the latest is u38's name, at 35.5 s.
    assert.deepEqual(last.get('"ES"'), {
      group: ['ES'],
      acc: [13, 13, 524, 11, 30, 11, 67, 11, 524, 11, at(35.5), 13],
      latest: [null, null, null, null, null, 'u38'],
      time: at(35.5),
    });
    assert.deepEqual(metricsOf(driver), { groupsInState: 3, tasks: 1 });
    await driver.close();
  });
}

test('without a state backend, a restart starts from zero (what the durable tests above rule out)', async () => {
  const driver = await TopologyTestDriver.start(topology({ ...DURABLE, state: false }));
  driver.pipe('p', STREAM.slice(0, 10), { timestamp: (v) => (v as User).t });
  await driver.advance(1000);
  await driver.close();
  const before = driver.output('p').records.length;
  await driver.restart();
  await driver.advance(1000);
  assert.equal(driver.input('p').committed, 10);
  const rows = driver.output('p').records.slice(before).map(written);
  assert.deepEqual(rows, reference(STREAM.slice(5, 10)).rows, 'the second batch is counted alone');
  assert.notDeepEqual(rows, reference(STREAM.slice(0, 10)).rows.slice(before));
  await driver.close();
});
