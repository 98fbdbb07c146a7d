// The Pipeline page, like Spark's streaming tab: live charts of one pipeline's batches — rows/s,
// batch duration by phase, lag, watermark, state size, dead letters and failures — each with the
// figures of its latest point, the recent batches with their full progress events, the last error.
// Every point is one progress event (from /api/pipeline at load, then from the event stream).
'use strict';

const MAX_POINTS = 300;
const params = new URLSearchParams(location.search);
let pipelineName = params.get('name');
let failures = 0;
let recent = [];
const charts = {};

/** The charts: their series, each read from a progress event. */
const CHARTS = [
  { id: 'rates', title: 'Input and processed rows/s', series: [
    { key: 'inputRowsPerSecond', label: 'input rows/s', color: '#2f6fdb', of: (p) => p.inputRowsPerSecond },
    { key: 'processedRowsPerSecond', label: 'processed rows/s', color: '#238636', of: (p) => p.processedRowsPerSecond },
  ] },
  { id: 'durations', title: 'Batch duration by phase (ms)', series: [
    { key: 'getBatch', label: 'read', color: '#2f6fdb', of: (p) => p.durationMs.getBatch },
    { key: 'process', label: 'operators', color: '#8250df', of: (p) => p.durationMs.process },
    { key: 'write', label: 'write', color: '#bf8700', of: (p) => p.durationMs.write },
    { key: 'commit', label: 'commit', color: '#cf222e', of: (p) => p.durationMs.commit },
    { key: 'triggerExecution', label: 'whole batch', color: '#57606a', of: (p) => p.durationMs.triggerExecution },
  ] },
  { id: 'lag', title: 'Consumer lag (records behind the end), in all and per partition', series: 'lag' },
  { id: 'watermark', title: 'Watermark (seconds behind the batch)', series: [
    { key: 'watermarkDelay', label: 'watermark delay s', color: '#8250df', of: (p) => (p.watermark === undefined ? null : Math.round((Date.parse(p.timestamp) - p.watermark) / 100) / 10) },
  ] },
  { id: 'state', title: 'State size', series: 'state' },
  { id: 'dead', title: 'Dead letters per batch and failed batches', series: [
    { key: 'numDeadLetterRows', label: 'dead letters', color: '#cf222e', of: (p) => p.numDeadLetterRows },
    { key: 'failedBatches', label: 'failed batches (total)', color: '#57606a', of: (p) => p.failedSoFar ?? null },
  ] },
];

/** The state operators' metrics as series: `op[i] name` for each metric of the first batch that had them. */
function stateSeries(events) {
  const first = events.find((p) => p.stateOperators.length > 0);
  if (!first) return [{ key: 'none', label: 'no state', color: '#57606a', of: () => null }];
  const colors = ['#2f6fdb', '#238636', '#bf8700', '#8250df', '#cf222e', '#57606a'];
  return first.stateOperators.flatMap((op, i) => Object.keys(op.metrics).map((metric, j) => ({ key: `state.${i}.${metric}`, label: `op ${i}: ${metric}`, color: colors[(i * 3 + j) % colors.length], of: (p) => p.stateOperators[i]?.metrics?.[metric] ?? null })));
}

const COLORS = ['#2f6fdb', '#238636', '#bf8700', '#8250df', '#cf222e', '#57606a', '#1b7c83', '#a40e26'];

/** The source's lag in all, and per partition (`lagByPartition`, Kafka) for every partition seen in these batches. */
function lagSeries(events) {
  const partitions = [...new Set(events.flatMap((p) => Object.keys(p.sources[0]?.metrics?.lagByPartition ?? {})))].sort();
  // One topic (the usual case): its partitions by number; several: by topic/partition.
  const topics = new Set(partitions.map((key) => key.slice(0, key.lastIndexOf('/'))));
  return [
    { key: 'lag', label: 'lag', color: '#cf222e', of: (p) => (typeof p.sources[0]?.metrics?.lag === 'number' ? p.sources[0].metrics.lag : null) },
    ...partitions.map((partition, i) => ({ key: `lag.${partition}`, label: topics.size > 1 ? partition : `partition ${partition.split('/').pop()}`, color: COLORS[i % COLORS.length], of: (p) => p.sources[0]?.metrics?.lagByPartition?.[partition] ?? null })),
  ];
}

function seriesOf(spec, events) {
  return spec.series === 'state' ? stateSeries(events) : spec.series === 'lag' ? lagSeries(events) : spec.series;
}

/** Whether a chart's series (partitions, state metrics) changed with the batches: it is then rebuilt. */
function seriesChanged() {
  return CHARTS.some((spec) => seriesOf(spec, recent).map((s) => s.key).join() !== charts[spec.id].series.map((s) => s.key).join());
}

function chartData(series, events) {
  return [events.map((p) => Date.parse(p.timestamp) / 1000), ...series.map((s) => events.map((p) => s.of(p)))];
}

/** The figures under a chart: the values of its last point, as drawn. */
function showFigures(spec) {
  const chart = charts[spec.id];
  const data = chart.plot.data;
  const last = data[0].length - 1;
  const box = document.getElementById(`figures-${spec.id}`);
  if (last < 0) return box.replaceChildren(h('span', { class: 'muted', text: 'no batch yet' }));
  const batch = recent[recent.length - 1];
  box.replaceChildren(
    ...[h('span', { 'data-figure': 'batchId' }, 'batch ', h('b', { text: String(chart.batchIds[last]) })),
    ...chart.series.map((s, i) => h('span', { 'data-figure': s.key, 'data-value': data[i + 1][last] ?? '' }, `${s.label} `, h('b', { text: fmt(data[i + 1][last]) }))),
    spec.id === 'watermark' && batch?.watermark !== undefined ? h('span', { 'data-figure': 'watermark', 'data-value': batch.watermark }, 'watermark ', h('b', { text: time(new Date(batch.watermark).toISOString()) })) : null,
    ].filter(Boolean),
  );
}

function buildCharts() {
  const container = document.getElementById('charts');
  container.replaceChildren();
  for (const spec of CHARTS) {
    const series = seriesOf(spec, recent);
    const box = h('div', { class: 'chart', id: `chart-${spec.id}` }, h('h3', { text: spec.title }));
    const figures = h('div', { class: 'figures', id: `figures-${spec.id}` });
    container.append(box);
    const plot = new uPlot(
      { width: 500, height: 180, legend: { show: true, live: false }, scales: { x: { time: true } }, axes: [{}, { size: 64 }], series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: true }))] },
      chartData(series, recent),
      box,
    );
    box.append(figures);
    charts[spec.id] = { plot, series, batchIds: recent.map((p) => p.batchId) };
    showFigures(spec);
  }
}

function updateCharts() {
  for (const spec of CHARTS) {
    const chart = charts[spec.id];
    chart.plot.setData(chartData(chart.series, recent));
    chart.batchIds = recent.map((p) => p.batchId);
    showFigures(spec);
  }
}

function showBatches() {
  const rows = recent.slice(-20).reverse();
  document.getElementById('batches').replaceChildren(
    h('table', {},
      h('tr', {}, ...['batch', 'trigger', 'in', 'out', 'dead letters', 'in rows/s', 'processed rows/s', 'ms', 'progress event'].map((t) => h('th', { text: t }))),
      ...rows.map((p) =>
        h('tr', { 'data-batch': p.batchId },
          h('td', { class: 'num', text: p.batchId }),
          h('td', { text: time(p.timestamp) }),
          h('td', { class: 'num', text: fmt(p.numInputRows) }),
          h('td', { class: 'num', text: fmt(p.sink.numOutputRows) }),
          h('td', { class: 'num', text: fmt(p.numDeadLetterRows) }),
          h('td', { class: 'num', text: fmt(p.inputRowsPerSecond) }),
          h('td', { class: 'num', text: fmt(p.processedRowsPerSecond) }),
          h('td', { class: 'num', text: fmt(p.durationMs.triggerExecution) }),
          h('td', {}, h('details', {}, h('summary', { text: 'show' }), h('pre', { text: JSON.stringify(p, null, 2) }))),
        ),
      ),
    ),
  );
}

function showHeader(view) {
  document.getElementById('header').replaceChildren(
    h('span', { class: `state ${view.state}`, id: 'state', text: view.state }),
    ` ${fmt(view.summary.batches)} batches · ${fmt(view.summary.inputRows)} in · ${fmt(view.summary.outputRows)} out · ${fmt(view.summary.deadLetters)} dead letters · `,
    h('span', { id: 'failures', text: `${fmt(view.summary.failures)} failed batches` }),
  );
  const error = view.lastError;
  document.getElementById('last-error').replaceChildren(error ? h('div', { class: 'error', id: 'error-text', text: `${time(error.at)} batch ${error.batchId} (${error.action}${error.retryInMs !== undefined ? `, retry in ${error.retryInMs} ms` : ''}): ${error.error}` }) : h('span', { class: 'muted', text: 'none' }));
}

async function load() {
  const overview = await getJSON('/api/overview');
  pipelineName ??= overview.pipelines[0]?.name;
  document.getElementById('tabs').replaceChildren(...overview.pipelines.map((p) => h('a', { href: `/pipeline?name=${encodeURIComponent(p.name)}`, class: p.name === pipelineName ? 'active' : undefined, text: p.name })));
  document.querySelector('h1').textContent = `Pipeline ${pipelineName}`;
  const view = await getJSON(`/api/pipeline?name=${encodeURIComponent(pipelineName)}`);
  failures = view.summary.failures;
  recent = view.recent.map((p) => ({ ...p, failedSoFar: undefined })).slice(-MAX_POINTS);
  if (recent.length > 0) recent[recent.length - 1].failedSoFar = failures;
  buildCharts();
  showBatches();
  showHeader(view);
  document.body.dataset.loaded = String(Date.now());
  return view;
}

document.addEventListener('DOMContentLoaded', () => {
  navigation('/pipeline');
  document.getElementById('main').append(
    h('h1', { text: 'Pipeline' }),
    h('div', { class: 'tabs', id: 'tabs' }),
    h('p', { id: 'header' }),
    h('div', { class: 'charts', id: 'charts' }),
    h('h2', { text: 'Last error' }),
    h('div', { id: 'last-error' }),
    h('h2', { text: 'Recent batches' }),
    h('div', { id: 'batches' }),
  );
  load().then(
    (view) => {
      let header = view;
      onRuntimeEvents((event) => {
        if (event.pipeline !== pipelineName) return;
        if (event.event === 'progress') {
          recent.push({ ...event, failedSoFar: failures });
          if (recent.length > MAX_POINTS) recent.shift();
          // A new partition or state metric is a new series: the charts are rebuilt for it.
          if (seriesChanged()) buildCharts();
          else updateCharts();
          showBatches();
          header = { ...header, state: 'running', summary: { ...header.summary, batches: header.summary.batches + 1, inputRows: header.summary.inputRows + event.numInputRows, outputRows: header.summary.outputRows + event.sink.numOutputRows, deadLetters: header.summary.deadLetters + event.numDeadLetterRows } };
        } else if (event.event === 'batch-failed') {
          failures += 1;
          header = { ...header, state: event.action === 'stop' ? 'failed' : 'failing', summary: { ...header.summary, failures }, lastError: { at: new Date().toISOString(), batchId: event.batchId, error: event.error, action: event.action, retryInMs: event.retryInMs } };
        } else if (event.event === 'pipeline-stopped') {
          header = { ...header, state: event.outcome };
        } else if (event.event === 'pipeline-started') {
          header = { ...header, state: 'running' };
        }
        showHeader(header);
        document.body.dataset.updated = String(Date.now());
      });
    },
    (error) => showError('charts', error),
  );
});
