/**
 * The Prometheus metrics: what each progress event, failed batch and swap adds; source errors from
 * running totals (with a source restart); the registry is the topology's own; the endpoint's
 * settings; the HTTP server; and the dashboard and scrape config agree with the metric names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { register as globalRegistry, type Registry } from 'prom-client';
import { parse } from 'yaml';
import { DEFAULT_METRICS_PORT, TopologyMetrics, metricsEndpoint, portOption, serveMetrics } from '../../../operations/metrics.ts';
import { parseTopology } from '../../../topology/load.ts';
import { ConfigError, UserFacingError } from '../../../topology/errors.ts';
import '../../../components.ts';
import type { RuntimeEvent } from '../../../topology/events.ts';
import { failedBatch, progressEvent, swap } from './helpers.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The value of one series, by its full name (`…_bucket`, `…_count` for a histogram) and some of its labels. */
async function valueOf(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const v of metric.values) {
      const series = (v as { metricName?: string }).metricName ?? metric.name;
      if (series === name && Object.entries(labels).every(([key, value]) => String(v.labels[key]) === value)) return v.value;
    }
  }
  return undefined;
}

test('a progress event adds its records in and out, dead letters, a batch and its duration; lag is set', async () => {
  const metrics = new TopologyMetrics('t');
  metrics.observeProgress(progressEvent({ pipeline: 'process', at: 0, in: 100, out: 90, dead: 10, durationMs: 40, sourceMetrics: { lag: 700 } }));
  metrics.observeProgress(progressEvent({ pipeline: 'process', at: 1000, in: 50, out: 50, durationMs: 2500, sourceMetrics: { lag: 650 } }));
  const r = metrics.registry;
  assert.equal(await valueOf(r, 'userstream_records_in_total', { pipeline: 'process', component: 'source' }), 150);
  assert.equal(await valueOf(r, 'userstream_records_out_total', { pipeline: 'process', component: 'sink' }), 140);
  assert.equal(await valueOf(r, 'userstream_dead_letters_total', { pipeline: 'process' }), 10);
  assert.equal(await valueOf(r, 'userstream_batches_total', { pipeline: 'process' }), 2);
  assert.equal(await valueOf(r, 'userstream_consumer_lag', { pipeline: 'process' }), 650, 'the latest lag');
  assert.equal(await valueOf(r, 'userstream_batch_duration_seconds_count', { pipeline: 'process' }), 2);
  assert.equal(await valueOf(r, 'userstream_batch_duration_seconds_sum', { pipeline: 'process' }), 2.54);
  assert.equal(await valueOf(r, 'userstream_batch_duration_seconds_bucket', { pipeline: 'process', le: '0.05' }), 1, '40 ms is under 0.05 s');
  assert.equal(await valueOf(r, 'userstream_batch_duration_seconds_bucket', { pipeline: 'process', le: '2.5' }), 2, '2.5 s is in the 2.5 s bucket');
  const text = await r.metrics();
  assert.match(text, /userstream_records_in_total\{pipeline="process",component="source",topology="t"\} 150/, 'every series carries the topology');
});

test('source errors: the running totals by kind become counter increments, and a source restart counts from 0 again', async () => {
  const metrics = new TopologyMetrics('t');
  const batch = (at: number, network: number, http5xx: number) => progressEvent({ pipeline: 'ingest', at, in: 1, sourceMetrics: { requests: 9, failures: { network, http5xx, timeout: 0 } } });
  metrics.observeProgress(batch(0, 2, 0));
  metrics.observeProgress(batch(1000, 5, 1));
  metrics.observeProgress(batch(2000, 5, 1)); // no new failure
  metrics.observeProgress(batch(3000, 1, 0)); // a new source instance (a swap restarted the pipeline)
  const errors = (kind: string) => valueOf(metrics.registry, 'userstream_source_errors_total', { pipeline: 'ingest', kind });
  assert.equal(await errors('network'), 6, '2 + 3 + 0 + 1');
  assert.equal(await errors('http5xx'), 1);
  assert.equal(await errors('timeout'), 0, 'a kind never seen is listed at 0');
});

test('failed batches and swaps are counted from the runtime events, whatever the log says', async () => {
  const metrics = new TopologyMetrics('t');
  const events: RuntimeEvent[] = [
    failedBatch('process', 4, 'boom'),
    failedBatch('process', 4, 'boom'),
    swap({ changed: ['process'] }, 'changed process; paused 3 ms; 0 record(s) were in flight and were committed before the switch'),
    swap({ changed: ['process'], revertedTo: { process: 'previous config' } }, 'changed process; paused 9 ms; 0 record(s) were in flight and were committed before the switch'),
    swap({}, 'the topology file changed, but no pipeline did; nothing to do'),
    { event: 'swap-refused', topology: 't', cause: 'invalid', reason: 'bad', problems: ['bad'] },
    { event: 'swap-refused', topology: 't', cause: 'failed', reason: 'bad again', problems: [] },
    { event: 'source-idle', topology: 't', pipeline: 'process', source: 'memory channel in', idleMs: 30_000 },
  ];
  for (const event of events) metrics.observe(event);
  const r = metrics.registry;
  assert.equal(await valueOf(r, 'userstream_failed_batches_total', { pipeline: 'process' }), 2);
  assert.deepEqual(
    await Promise.all(['applied', 'reverted', 'unchanged', 'refused'].map((outcome) => valueOf(r, 'userstream_swaps_total', { outcome }))),
    [1, 1, 1, 2],
  );
  metrics.observe(progressEvent({ at: 8, in: 1000 }));
  assert.equal(await valueOf(r, 'userstream_records_in_total', { pipeline: 'process', component: 'source' }), 1000, 'a progress event is counted once');
});

test('declared pipelines are listed at 0 before their first batch', async () => {
  const metrics = new TopologyMetrics('t');
  metrics.declarePipelines(['ingest', 'process']);
  const r = metrics.registry;
  for (const pipeline of ['ingest', 'process']) {
    assert.equal(await valueOf(r, 'userstream_records_in_total', { pipeline, component: 'source' }), 0);
    assert.equal(await valueOf(r, 'userstream_failed_batches_total', { pipeline }), 0);
    assert.equal(await valueOf(r, 'userstream_batch_duration_seconds_count', { pipeline }), 0);
  }
});

test('the registry is the topology\'s own, with the process metrics, and not prom-client\'s global one', async () => {
  const metrics = new TopologyMetrics('t');
  metrics.observeProgress(progressEvent({ at: 0, in: 1 }));
  const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
  assert.ok(names.includes('process_cpu_seconds_total') && names.includes('nodejs_eventloop_lag_p99_seconds'), 'default process metrics');
  assert.equal(globalRegistry.getSingleMetric('userstream_records_in_total'), undefined);
  assert.doesNotThrow(() => new TopologyMetrics('t'), 'a second instance registers its own metrics without a name clash');
});

test('metrics are on when a port is given (topology or command line), unless enabled: false; the command line wins', () => {
  const section = (yaml: string) => parseTopology(`pipelines: { p: { source: { type: memory, channel: a }, sink: { type: console } } }\n${yaml}`, 't', { env: {} }).metrics;
  assert.deepEqual(section(''), { host: '127.0.0.1' });
  assert.equal(metricsEndpoint(section('')), undefined);
  assert.deepEqual(metricsEndpoint(section('metrics: { port: 9100 }')), { host: '127.0.0.1', port: 9100 });
  assert.deepEqual(metricsEndpoint(section('metrics: { enabled: true }')), { host: '127.0.0.1', port: DEFAULT_METRICS_PORT });
  assert.equal(metricsEndpoint(section('metrics: { enabled: false, port: 9100 }')), undefined);
  assert.deepEqual(metricsEndpoint(section('metrics: { port: "0", host: 0.0.0.0 }')), { host: '0.0.0.0', port: 0 }, 'text from ${VAR} is a number');
  assert.deepEqual(metricsEndpoint(section(''), { port: 0 }), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(metricsEndpoint(section('metrics: { enabled: false, port: 9100 }'), { port: 9200, host: '0.0.0.0' }), { host: '0.0.0.0', port: 9200 });
  assert.throws(
    () => section('metrics: { port: 70000, bind: x }'),
    (e: unknown) => e instanceof ConfigError && e.problems.some((p) => /^metrics\.port: expected a port number from 0 to 65535, got 70000$/.test(p)) && e.problems.some((p) => /^metrics\.bind: unknown field/.test(p)),
  );
});

test('--metrics-port takes 0 to 65535; anything else is an invalid option value', () => {
  assert.equal(portOption('--metrics-port', '0'), 0);
  assert.equal(portOption('--metrics-port', '65535'), 65535);
  for (const bad of ['65536', '-1', '9x', '', '1e3']) {
    assert.throws(() => portOption('--metrics-port', bad), (e: unknown) => e instanceof TypeError && (e as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /^--metrics-port: expected a port number from 0 to 65535, got /.test(e.message));
  }
});

test('the server: GET /metrics in the Prometheus text format, 404 elsewhere, 405 for other methods, a busy port named', async () => {
  const metrics = new TopologyMetrics('t');
  metrics.observeProgress(progressEvent({ at: 0, in: 3 }));
  const server = await serveMetrics(metrics.registry, { host: '127.0.0.1', port: 0 });
  try {
    assert.equal(server.address.address, '127.0.0.1');
    assert.equal(server.url, `http://127.0.0.1:${server.address.port}/metrics`);
    const response = await fetch(server.url);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(await response.text(), /userstream_records_in_total\{pipeline="process",component="source",topology="t"\} 3/);
    assert.equal((await fetch(server.url.replace('/metrics', '/'))).status, 404);
    assert.equal((await fetch(server.url, { method: 'POST' })).status, 405);
    await assert.rejects(serveMetrics(metrics.registry, { host: '127.0.0.1', port: server.address.port }), (e: unknown) => e instanceof UserFacingError && e.message.includes(`port ${server.address.port} on 127.0.0.1 is already in use`));
  } finally {
    await server.close();
  }
});

test('the Grafana dashboard queries only metrics that exist, and Prometheus scrapes the default port at /metrics', async () => {
  const metrics = new TopologyMetrics('t');
  metrics.declarePipelines(['process']);
  metrics.observeProgress(progressEvent({ at: 0, in: 1, sourceMetrics: { lag: 1, failures: { network: 1 } } }));
  const exported = new Set((await metrics.registry.getMetricsAsJSON()).flatMap((m) => (String(m.type) === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name])));
  const dashboardText = readFileSync(path.join(REPO, 'config/grafana/user-pipeline-dashboard.json'), 'utf8');
  const dashboard = JSON.parse(dashboardText) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
  const queried = new Set([...dashboardText.matchAll(/\b((?:userstream|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]));
  assert.ok(queried.size >= 8, `the dashboard queries the metrics (${[...queried].join(', ')})`);
  for (const name of queried) assert.ok(exported.has(name), `the dashboard queries ${name}, which the registry does not export`);
  const titles = dashboard.panels.map((p) => p.title).join(' | ');
  for (const wanted of [/Records in and out/, /Batch duration p50 \/ p99/, /lag/i, /Dead-lettered/, /Source errors by kind/, /Swaps/]) assert.match(titles, wanted);

  const prometheus = parse(readFileSync(path.join(REPO, 'config/prometheus/prometheus.yml'), 'utf8')) as { scrape_configs: Array<{ metrics_path: string; static_configs: Array<{ targets: string[] }> }> };
  const [job] = prometheus.scrape_configs;
  assert.equal(job.metrics_path, '/metrics');
  const targets = job.static_configs.flatMap((c) => c.targets);
  assert.ok(targets.length > 0 && targets.every((t) => t.endsWith(`:${DEFAULT_METRICS_PORT}`)), targets.join(', '));
});
