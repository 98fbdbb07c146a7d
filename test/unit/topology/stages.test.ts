/** How a pipeline is cut into stages around repartition topics (topology/stages.ts), and what --describe shows of it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import winston from 'winston';
import '../../../components.ts';
import { parseTopology } from '../../../topology/load.ts';
import { registry } from '../../../topology/registry.ts';
import { registerFunction } from '../../../topology/functions.ts';
import { stagesOf, type Stage } from '../../../topology/stages.ts';
import { TopologyRuntime } from '../../../topology/runtime.ts';
import { describeTopology } from '../../../topology/describe.ts';

const kafka = { type: 'kafka', brokers: '127.0.0.1:9092', topics: ['users'], groupId: 'counts', sessionTimeout: '7s' };
const window = { type: 'window', kind: 'tumbling', size: '1m', eventTime: 'timestamp', groupBy: ['nat'], aggregations: { users: { fn: 'count' } }, allowedLateness: '10s' };
const sink = { type: 'memory', channel: 'out' };

function load(pipeline: Record<string, unknown>) {
  const config = parseTopology(JSON.stringify({ name: 'topo', pipelines: { p: { sink, ...pipeline } } }), 'test.yaml', { env: {} });
  return config.pipelines.p;
}

const stages = (pipeline: Record<string, unknown>): Stage[] => stagesOf('topo', 'p', load(pipeline), registry);

const types = (stage: Stage) => stage.config.operators.map((op) => op.type);

test('a window grouped by a field over a kafka source: a stage that keys records by the group into a repartition topic, and one that reads it', () => {
  const pipeline = load({ source: kafka, operators: [{ type: 'filter', where: { path: 'nat', exists: true } }, window], deadLetter: sink, repartition: { partitions: 4, replicationFactor: 2 } });
  const [first, last, ...more] = stagesOf('topo', 'p', pipeline, registry);
  assert.equal(more.length, 0);
  assert.equal(first.name, 'p.repartition');
  assert.equal(last.name, 'p', 'the last stage keeps the pipeline name');
  assert.ok(first.pipeline === 'p' && last.pipeline === 'p');
  assert.equal(first.config.source, pipeline.source, 'the first stage reads the source');
  assert.deepEqual(types(first), ['filter', 'repartition-key']);
  assert.deepEqual(first.config.operators[1].groupBy, ['nat']);
  const topic = 'topo.p.counts.repartition';
  assert.equal(first.config.sink.type, 'kafka');
  assert.equal(first.config.sink.topic, topic);
  assert.equal(first.config.sink.brokers, '127.0.0.1:9092');
  assert.deepEqual(first.config.sink.createTopic, { partitions: 4, replicationFactor: 2, minInsyncReplicas: 'auto' });
  assert.deepEqual(first.config.sink.batch, { maxRows: 10_000, concurrency: 1 }, 'one write at a time: source partitions stay in order');
  assert.equal(first.config.sink.payload, 'unchanged-raw', 'a filter with `where` and repartition-key keep values: the bytes read go out as they are');
  assert.equal(first.config.maxInFlight, 1);
  assert.deepEqual(types(last), ['replay-filter', 'window']);
  // Each group lives in one task of the last stage: the window keeps a watermark per task there.
  assert.equal((last.config.operators[1] as { watermarkPer?: string }).watermarkPer, 'task');
  assert.equal((pipeline.operators[1] as { watermarkPer?: string }).watermarkPer, 'process', 'the pipeline as written keeps the default');
  assert.equal(last.config.source.type, 'kafka');
  assert.deepEqual(last.config.source.topics, [topic]);
  assert.equal(last.config.source.groupId, 'counts.repartition');
  assert.equal(last.config.source.sessionTimeout, 7000, 'the reader keeps the source\'s group settings');
  assert.equal(last.config.sink, pipeline.sink, 'the last stage writes the sink');
  assert.deepEqual(first.config.deadLetter, last.config.deadLetter, 'both stages dead-letter to the pipeline\'s output');
});

// Modifies the value it is given, and returns it: what `unchanged-raw` must not trust.
registerFunction('stages-test-tag-in-place', { summary: 'tags the value in place', fn: (value) => Object.assign(value as object, { tagged: true }) });
registerFunction('stages-test-has-nat', { summary: 'has a nat', fn: (value) => (value as { nat?: unknown }).nat !== undefined });

test('the repartition topic gets the bytes the source read only when every operator before it keeps the values it is given', () => {
  const payload = (operators: unknown[]) => stages({ source: kafka, operators: [...operators, window] })[0].config.sink.payload;
  assert.equal(payload([]), 'unchanged-raw');
  assert.equal(payload([{ type: 'validate', schema: 'randomuser-user' }, { type: 'key-by', field: 'nat' }]), 'unchanged-raw');
  assert.equal(payload([{ type: 'flat-map', path: 'results' }]), 'unchanged-raw', 'elements are new values: encoded, as they are not what was parsed');
  assert.equal(payload([{ type: 'map', fn: 'stages-test-tag-in-place' }]), 'value', 'a function may modify the value in place: encode it');
  assert.equal(payload([{ type: 'filter', fn: 'stages-test-has-nat' }]), 'value');
  assert.equal(payload([{ type: 'flat-map', fn: 'stages-test-tag-in-place' }]), 'value');
  // Only the operators of the stage that writes the topic count: the map after the window is in the last stage.
  const [first] = stages({ source: kafka, operators: [window, { type: 'map', fn: 'stages-test-tag-in-place' }] });
  assert.equal(first.config.sink.payload, 'unchanged-raw');
});

test('a kafka sink with payload unchanged-raw is refused after an operator that may modify values in place', () => {
  const kafkaSink = { type: 'kafka', brokers: '127.0.0.1:9092', topic: 'out', payload: 'unchanged-raw' };
  const loaded = (operators: unknown[]) => parseTopology(JSON.stringify({ name: 'topo', pipelines: { p: { source: kafka, operators, sink: kafkaSink } } }), 'test.yaml', { env: {} });
  assert.throws(() => loaded([{ type: 'validate', schema: 'randomuser-user' }, { type: 'map', fn: 'stages-test-tag-in-place' }]), /payload.*unchanged-raw sends the bytes the source read.*map may modify the value/s);
  assert.doesNotThrow(() => loaded([{ type: 'validate', schema: 'randomuser-user' }, { type: 'filter', where: { path: 'nat', exists: true } }]));
});

test('two stateful operators with their own groups: three stages, each repartition named apart', () => {
  const aggregate = { type: 'aggregate', groupBy: ['country'], aggregations: { n: { fn: 'count' } } };
  const all = stages({ source: kafka, operators: [window, aggregate] });
  assert.deepEqual(all.map((s) => s.name), ['p.repartition', 'p.repartition-2', 'p']);
  assert.deepEqual(all.map(types), [['repartition-key'], ['replay-filter', 'window', 'repartition-key'], ['replay-filter', 'aggregate']]);
  assert.deepEqual(all[1].config.source.topics, ['topo.p.counts.repartition']);
  assert.deepEqual(all[2].config.source.topics, ['topo.p.counts.repartition-2']);
  assert.equal(all[2].config.source.groupId, 'counts.repartition-2');
});

test('one stage: repartition turned off, a source without an exchange, availableNow, stateless operators, dedupe by record key', () => {
  const one = (pipeline: Record<string, unknown>) => stages(pipeline).map((s) => s.name);
  assert.deepEqual(one({ source: kafka, operators: [window], repartition: { enabled: false } }), ['p']);
  assert.deepEqual(one({ source: { type: 'memory', channel: 'in' }, operators: [window] }), ['p']);
  assert.deepEqual(one({ source: kafka, operators: [window], trigger: { mode: 'availableNow' } }), ['p']);
  assert.deepEqual(one({ source: kafka, operators: [{ type: 'key-by', field: 'id' }] }), ['p']);
  assert.deepEqual(one({ source: kafka, operators: [{ type: 'dedupe' }] }), ['p']);
  assert.deepEqual(one({ source: kafka, operators: [{ type: 'dedupe', field: 'id' }] }), ['p.repartition', 'p']);
});

test('the runtime runs every stage, and --describe shows the repartition topic and where each store is kept', async () => {
  const config = parseTopology(
    JSON.stringify({ name: 'topo', pipelines: { p: { source: kafka, operators: [window], sink, state: { type: 'memory' } }, q: { source: { type: 'memory', channel: 'in' }, sink } } }),
    'test.yaml',
    { env: {} },
  );
  const runtime = new TopologyRuntime(config, { logger: winston.createLogger({ silent: true }), pipelines: ['p'] });
  await runtime.create();
  assert.deepEqual([...runtime.runners.keys()], ['p.repartition', 'p'], '--pipeline p selects every stage of p, and only those');
  const text = describeTopology(config, undefined, [...runtime.runners.values()]);
  assert.match(text, /Pipeline: p\.repartition\n {4}Repartitions p's records by the group of operators\[0\] \(window\) into kafka topic topo\.p\.counts\.repartition \(6 partitions\)/);
  assert.match(text, /Sink: kafka topic topo\.p\.counts\.repartition \(lz4\)/);
  assert.match(text, /State: operators\[1\] windows: in-process changelog topo\.p\.counts\.repartition\.1-window\.windows/);
  assert.match(text, /State: operators\[0\] origins: in-process changelog topo\.p\.counts\.repartition\.0-replay-filter\.origins/);
});
