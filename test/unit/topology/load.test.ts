/**
 * Loading and validating topology files: every problem is listed by path, env interpolation, and the
 * topology folder lookup.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import '../../../components.ts';
import { interpolateEnv, listTopologies, loadTopology, parseTopology, resolveTopologyPath } from '../../../topology/load.ts';
import { ConfigError, UserFacingError } from '../../../topology/errors.ts';

function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseTopology(yaml, 'broken.yaml', { env });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.problems;
  }
  assert.fail('the topology was accepted');
}

test('a broken topology is refused with every problem listed by path', () => {
  const problems = problemsOf(`
pipelines:
  process:
    source: { type: memory, chanel: users }
    sink:
      type: memory
      channel: out
      batch: { maxRows: -5, concurrency: 0 }
    trigger: { mode: sometimes, interval: soon }
  other:
    source: { type: htp-poll }
    sink: { type: console, maxRows: many }
    maxInFlight: 0
`);
  assert.deepEqual(problems, [
    'pipelines.process.source.chanel: unknown field "chanel"; known fields: channel, records, finite',
    'pipelines.process.source.channel: required field is missing (Name of the in-process channel to read.)',
    'pipelines.process.sink.batch.maxRows: expected a positive integer, got -5',
    'pipelines.process.sink.batch.concurrency: expected a positive integer, got 0',
    'pipelines.process.trigger.mode: expected one of "processingTime", "availableNow", got "sometimes"',
    'pipelines.process.trigger.interval: expected a duration such as 500ms, 2s, 1m or 1h, got "soon"',
    `pipelines.other.source.type: unknown source type "htp-poll"; known source types: ${problemsKnownSources()}`,
    'pipelines.other.sink.maxRows: expected a positive integer, got "many"',
    'pipelines.other.maxInFlight: expected a positive integer, got 0',
  ]);
});

function problemsKnownSources(): string {
  // The list is whatever is registered: check it names the memory and rate sources at least.
  const known = problemsOf('pipelines: { p: { source: { type: nope }, sink: { type: console } } }')[0];
  assert.match(known, /known source types: .*memory.*rate/);
  return known.split('known source types: ')[1];
}

test('the error message names the file; one problem is one line, several are listed', () => {
  try {
    parseTopology('pipelines: {}', 'config/x.yaml', { env: {} });
    assert.fail('accepted');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.message, 'config/x.yaml is not a valid topology: pipelines: expected at least one pipeline, got {}', 'one problem, one line');
  }
});

test('missing sections and wrong shapes are reported, not thrown as crashes', () => {
  assert.deepEqual(problemsOf('name: x'), ['pipelines: required field is missing (The pipelines, by name; all enabled ones run in one process.)']);
  assert.deepEqual(problemsOf('pipelines: [1, 2]'), ['pipelines: expected a map of pipeline names to pipelines, got [1,2]']);
  assert.deepEqual(problemsOf('pipelines: { "bad name": { source: { type: memory, channel: a }, sink: { type: console } } }'), [
    'pipelines.bad name: expected a pipeline name (letters, digits, "_" or "-"), got "bad name"',
  ]);
  assert.deepEqual(problemsOf('pipelines: { p: { source: memory, sink: { type: console } } }'), [
    'pipelines.p.source: expected a source (an object with a "type" field; known types: memory, rate), got "memory"'.replace('memory, rate', problemsKnownSources()),
  ]);
});

test('YAML syntax errors are reported before validation', () => {
  const problems = problemsOf('pipelines:\n  p: { source: [unclosed\n');
  assert.equal(problems.length, 1, 'one syntax problem, not its echoes');
  assert.match(problems[0], /^YAML: .*at line 3, column 1/);
});

test('${VAR} and ${VAR:-default} are interpolated as text; numeric fields accept the text; empty means absent', () => {
  const config = parseTopology(
    `
pipelines:
  p:
    source:
      type: rate
      rowsPerSecond: \${RATE:-50}
      totalRows: \${TOTAL:-}
    sink: { type: memory, channel: "\${PREFIX}-out" }
    trigger:
      maxRecordsPerTrigger: \${MAX}
`,
    't.yaml',
    { env: { PREFIX: 'demo', MAX: '250' } },
  );
  assert.equal(config.pipelines.p.source.totalRows, undefined, 'an empty default leaves the optional field out');
  assert.equal(config.pipelines.p.source.rowsPerSecond, 50);
  assert.equal(config.pipelines.p.sink.channel, 'demo-out');
  assert.equal(config.pipelines.p.trigger.maxRecordsPerTrigger, 250);
  assert.equal(config.name, 'topology', 'no name in the file and no default given');
});

test('a missing environment variable without a default is a problem with its path', () => {
  const problems = problemsOf('pipelines: { p: { source: { type: memory, channel: "${IN_CHANNEL}" }, sink: { type: console } } }');
  assert.ok(problems.includes('pipelines.p.source.channel: environment variable IN_CHANNEL is not set (set it, or write ${IN_CHANNEL:-default} in the file)'), problems.join('\n'));
});

test('interpolateEnv leaves $${ as a literal and walks arrays', () => {
  const problems: string[] = [];
  assert.deepEqual(interpolateEnv({ a: ['x${A}y', 'cost: $${A}'], b: '${A}', pw: '${PW}' }, { A: '1', PW: '0123' }, problems), { a: ['x1y', 'cost: ${A}'], b: '1', pw: '0123' });
  assert.deepEqual(problems, []);
});

test('defaults are filled in for every optional section', () => {
  const config = parseTopology('pipelines: { p: { source: { type: memory, channel: a }, sink: { type: console } } }', 't', { env: {}, defaultName: 'demo' });
  const p = config.pipelines.p;
  assert.equal(config.name, 'demo');
  assert.deepEqual(p.trigger, { mode: 'processingTime', interval: 0, maxRecordsPerTrigger: 10_000, idleDelay: 100, readWait: 100 });
  assert.deepEqual(p.sink.batch, { maxRows: 1000, concurrency: 4 });
  assert.deepEqual(p.operators, []);
  assert.equal(p.maxInFlight, 1);
  assert.equal(config.logging.dir, '.state/logs');
});

test('topologies are found by name in a folder, or by path', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'topologies-'));
  writeFileSync(path.join(dir, 'alpha.yaml'), 'pipelines: { p: { source: { type: memory, channel: a }, sink: { type: console } } }');
  assert.deepEqual(listTopologies(dir), ['alpha']);
  assert.equal(resolveTopologyPath('alpha', dir), path.join(dir, 'alpha.yaml'));
  assert.throws(() => resolveTopologyPath('beta', dir), (e: unknown) => e instanceof UserFacingError && /no topology called "beta"/.test(e.message) && /known topologies: alpha/.test(e.message));
  const { config, file } = loadTopology(path.join(dir, 'alpha.yaml'), { env: {} });
  assert.equal(file, path.join(dir, 'alpha.yaml'));
  assert.equal(config.name, 'alpha');
});

test('the project topology folder holds topologies only', () => {
  for (const name of listTopologies()) {
    assert.doesNotThrow(() => loadTopology(name, { env: {} }), `config/${name}.yaml is a valid topology`);
  }
  assert.ok(listTopologies().includes('user-pipeline'));
});

test('processing: exactly-once needs one batch in flight and a source, outputs and state backend that join a Kafka transaction', () => {
  const yaml = `pipelines:
  p:
    source: { type: memory, channel: in }
    sink: { type: memory, channel: out }
    deadLetter: { type: memory, channel: dead }
    state: { type: memory }
    processing: exactly-once
    maxInFlight: 2
`;
  assert.throws(() => parseTopology(yaml, 'eos.yaml', { env: {} }), (error: ConfigError) => {
    assert.deepEqual(error.problems, [
      'pipelines.p.maxInFlight: processing: exactly-once commits one transaction at a time: maxInFlight must be 1',
      'pipelines.p.source.type: a memory source cannot join a Kafka transaction, which processing: exactly-once needs (its source, outputs and state backend must be Kafka: kafka, dead-letter); use processing: at-least-once',
      'pipelines.p.sink.type: a memory sink cannot join a Kafka transaction, which processing: exactly-once needs (its source, outputs and state backend must be Kafka: kafka, dead-letter); use processing: at-least-once',
      'pipelines.p.deadLetter.type: a memory sink cannot join a Kafka transaction, which processing: exactly-once needs (its source, outputs and state backend must be Kafka: kafka, dead-letter); use processing: at-least-once',
      'pipelines.p.state.type: a memory state cannot join a Kafka transaction, which processing: exactly-once needs (its source, outputs and state backend must be Kafka: kafka, dead-letter); use processing: at-least-once',
    ]);
    return true;
  });
  assert.equal(parseTopology(yaml.replace('processing: exactly-once', ''), 'alo.yaml', { env: {} }).pipelines.p.processing, 'at-least-once');
});
