/**
 * Hot swap: unchanged pipelines keep running, a changed one drains, commits and restarts from its
 * committed position with the new config, added and removed ones start and stop; an invalid file is
 * refused while the old version keeps running.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { CaptureTransport, type LogEntry } from '../../../testing/capture.ts';
import { TopologyTestDriver } from '../../../testing/driver.ts';
import { loadTopology } from '../../../topology/load.ts';
import { TopologyRuntime, type SwapReport } from '../../../topology/runtime.ts';
import { watchTopology } from '../../../operations/reload.ts';
import { memoryStore } from '../../../testing/memory-channels.ts';

const two = (maxA: number, extra = '') => `
name: swap
pipelines:
  a:
    source: { type: memory, channel: a }
    operators: [{ type: mapping, fields: { n: n, tag: { value: "v${maxA}" } } }]
    sink: { type: memory, channel: a-out }
    trigger: { interval: 100ms, maxRecordsPerTrigger: ${maxA} }
  b:
    source: { type: memory, channel: b }
    sink: { type: memory, channel: b-out }
    trigger: { interval: 100ms }
${extra}`;

const values = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ n: from + i }));

test('a changed pipeline restarts from its committed position with the new config; the unchanged one is untouched', async () => {
  const driver = await TopologyTestDriver.start(two(10));
  const runnerB = driver.runtime.runners.get('b');
  const runnerA = driver.runtime.runners.get('a');
  driver.pipe('a', values(100));
  driver.pipe('b', values(5));
  await driver.advance(250); // a: 2 batches of 10 (at t=100 and t=200; the one at t=0 found nothing)
  const writtenBefore = driver.output('a').records.length;
  assert.equal(writtenBefore, 20);
  const report = await driver.swap(two(40));
  assert.deepEqual(report.changed, ['a']);
  assert.deepEqual(report.unchanged, ['b']);
  assert.deepEqual([report.added, report.removed], [[], []]);
  assert.equal(driver.runtime.runners.get('b'), runnerB, 'b kept running: same runner');
  assert.notEqual(driver.runtime.runners.get('a'), runnerA, 'a was replaced');
  assert.equal(runnerA!.state, 'stopped');
  await driver.advance(1000);
  const out = driver.output('a').values() as Array<{ n: number; tag: string }>;
  assert.deepEqual(out.map((v) => v.n), [...Array(100).keys()], 'every record exactly once, in order, across the swap');
  const switchAt = out.findIndex((v) => v.tag === 'v40');
  assert.ok(switchAt >= writtenBefore, `the batches before the swap carry the old mapping; first new at ${switchAt}`);
  assert.ok(out.slice(0, switchAt).every((v) => v.tag === 'v10') && out.slice(switchAt).every((v) => v.tag === 'v40'), 'old mapping, then only the new one');
  const sizesAfter = driver.progress.filter((p) => p.pipeline === 'a').slice(-2).map((p) => p.numInputRows);
  assert.ok(sizesAfter.every((n) => n <= 40) && sizesAfter.some((n) => n > 10), `new maxRecordsPerTrigger applies: ${sizesAfter}`);
  assert.ok(driver.logs.some((l) => /^swap: changed a; paused \d+ ms/.test(l.message)), 'the swap is logged');
  await driver.close();
});

test('an added pipeline starts and a removed one drains and stops', async () => {
  const driver = await TopologyTestDriver.start(two(10));
  driver.pipe('b', values(3));
  await driver.advance(150);
  const removedRunner = driver.runtime.runners.get('b')!;
  const withoutB = two(10).slice(0, two(10).indexOf('  b:\n'));
  const report = await driver.swap(`${withoutB}  c:
    source: { type: memory, channel: c }
    sink: { type: memory, channel: c-out }
    trigger: { interval: 100ms }
`);
  assert.deepEqual(report.added, ['c']);
  assert.deepEqual(report.removed, ['b']);
  assert.equal(removedRunner.state, 'stopped');
  assert.equal(driver.runtime.runners.has('b'), false);
  assert.equal(driver.input('b').committed, 3, 'the removed pipeline committed what it had written');
  driver.pipe('c', values(4));
  await driver.advance(300);
  assert.equal(driver.output('c').records.length, 4);
  await driver.close();
});

test('an unknown function name refuses the swap before anything stops', async () => {
  const driver = await TopologyTestDriver.start(two(10));
  const runnerA = driver.runtime.runners.get('a');
  await assert.rejects(driver.swap(two(10).replace('{ type: mapping, fields: { n: n, tag: { value: "v10" } } }', '{ type: map, fn: no-such-function }')), /unknown function "no-such-function"/);
  assert.equal(driver.runtime.runners.get('a'), runnerA);
  assert.equal(runnerA!.state, 'running');
  await driver.close();
});

test('the watched file: an invalid version is refused with the listing, the old one keeps running; a valid one is applied', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'reload-'));
  const file = path.join(dir, 'live.yaml');
  const version = (interval: string) => `
pipelines:
  p:
    source: { type: memory, channel: in }
    sink: { type: memory, channel: out }
    trigger: { interval: ${interval} }
`;
  writeFileSync(file, version('20ms'));
  const lines: LogEntry[] = [];
  const logger = winston.createLogger({ transports: [new CaptureTransport(lines)] });
  const { config } = loadTopology(file, { env: {} });
  memoryStore.reset(config.name);
  const runtime = new TopologyRuntime(config, { logger });
  const outcomes: Array<{ report?: SwapReport; refused?: string[] }> = [];
  const watcher = watchTopology(file, runtime, logger, { intervalMs: 20, onReload: (o) => outcomes.push(o) });
  await runtime.start();
  const original = runtime.runners.get('p');
  try {
    writeFileSync(file, version('-5ms').replace('sink:', 'sinc:'));
    for (let i = 0; i < 200 && outcomes.length < 1; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(outcomes[0].refused, [
      'pipelines.p.sinc: unknown field "sinc"; known fields: description, enabled, source, operators, sink, deadLetter, state, repartition, trigger, maxInFlight, processing, onFailure, stopTimeout',
      'pipelines.p.sink: required field is missing (Where records go: a sink component, chosen by `type`.)',
      'pipelines.p.trigger.interval: expected a duration such as 500ms, 2s, 1m or 1h, got "-5ms"',
    ]);
    assert.ok(lines.some((l) => String(l.message).startsWith('reload refused:') && String(l.message).includes('pipelines.p.trigger.interval')), 'the refusal and its listing are logged');
    assert.equal(runtime.runners.get('p'), original);
    assert.equal(original!.state, 'running', 'the old version keeps running');
    memoryStore.channel(config.name, 'in').append({ n: 1 });
    for (let i = 0; i < 100 && memoryStore.channel(config.name, 'out').records.length < 1; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(memoryStore.channel(config.name, 'out').records.length, 1, 'and keeps processing');

    writeFileSync(file, version('30ms'));
    for (let i = 0; i < 200 && outcomes.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(outcomes[1].report?.changed, ['p']);
    assert.equal(runtime.runners.get('p')!.config.trigger.interval, 30);
    await watcher.reload('SIGHUP');
    assert.deepEqual(outcomes[2].report?.changed, [], 'a reload of an unchanged file changes nothing');
  } finally {
    watcher.close();
    await runtime.stop();
  }
});
