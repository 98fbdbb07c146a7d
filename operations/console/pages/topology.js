// The Topology page: every running stage of every pipeline as a box of its source, operators, sink,
// dead letters and state stores, joined through the topics and tables they share; laid out by dagre,
// redrawn with the live rates (records/s over the last 10 s) on the edges as batches commit.
'use strict';

const KIND_LABEL = { topic: 'topic', table: 'table', external: '', source: 'source', operator: 'operator', sink: 'sink', 'dead-letter': '', store: '' };
const CHAR_WIDTH = 7;

function nodeSize(node) {
  const text = Math.max(node.label.length, (KIND_LABEL[node.kind] ?? '').length);
  return { width: Math.min(260, 24 + text * CHAR_WIDTH), height: KIND_LABEL[node.kind] ? 40 : 30 };
}

function rateText(edge, byName) {
  const rates = byName.get(edge.pipeline)?.rates;
  if (!edge.flow || !rates) return '';
  const value = edge.flow === 'input' ? rates.inputRowsPerSecond : edge.flow === 'output' ? rates.outputRowsPerSecond : rates.deadLettersPerSecond;
  return `${fmt(value)}/s`;
}

function draw(graph) {
  const byName = new Map(graph.pipelines.map((p) => [p.name, p]));
  const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 46, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const p of graph.pipelines) g.setNode(`cluster:${p.name}`, { label: p.name, paddingTop: 26 });
  for (const node of graph.nodes) {
    g.setNode(node.id, { ...nodeSize(node), node });
    if (node.pipeline) g.setParent(node.id, `cluster:${node.pipeline}`);
  }
  graph.edges.forEach((edge, i) => g.setEdge(edge.from, edge.to, { edge, width: edge.flow ? 56 : 0, height: edge.flow ? 14 : 0, labelpos: 'c' }, `e${i}`));
  dagre.layout(g);

  const { width, height } = g.graph();
  const canvas = svg('svg', { class: 'graph', width: width + 20, height: height + 30, viewBox: `0 0 ${width + 20} ${height + 30}` });
  canvas.append(svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#7b8494' }))));
  for (const p of graph.pipelines) {
    const box = g.node(`cluster:${p.name}`);
    if (!box) continue;
    canvas.append(
      svg('g', { class: `cluster ${p.state}`, 'data-pipeline': p.name, 'data-state': p.state },
        svg('rect', { x: box.x - box.width / 2, y: box.y - box.height / 2, width: box.width, height: box.height, rx: 6 }),
        svg('text', { x: box.x - box.width / 2 + 8, y: box.y - box.height / 2 + 16, 'font-weight': 600, text: `${p.name} · ${p.state} · ${fmt(p.summary.batches)} batches` }),
      ),
    );
  }
  for (const e of g.edges()) {
    const { edge, points, x, y } = g.edge(e);
    const d = points.map((pt, i) => `${i === 0 ? 'M' : 'L'} ${pt.x} ${pt.y}`).join(' ');
    const group = svg('g', { class: `edge ${edge.flow ?? ''}`, 'data-from': edge.from, 'data-to': edge.to }, svg('path', { d, 'marker-end': 'url(#arrow)' }));
    const rate = rateText(edge, byName);
    if (rate) group.append(svg('text', { class: 'rate', x, y: y + 4, 'text-anchor': 'middle', 'data-flow': edge.flow, 'data-pipeline': edge.pipeline, text: rate }));
    canvas.append(group);
  }
  for (const id of g.nodes()) {
    const n = g.node(id);
    if (!n?.node) continue;
    const node = n.node;
    const title = svg('title', { text: node.detail ?? node.label });
    const kind = KIND_LABEL[node.kind];
    canvas.append(
      svg('g', { class: `node ${node.kind}`, 'data-node': node.id, 'data-kind': node.kind },
        title,
        svg('rect', { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: node.kind === 'topic' || node.kind === 'table' ? 12 : 3 }),
        kind ? svg('text', { x: n.x, y: n.y - 5, 'text-anchor': 'middle', class: 'muted', 'font-size': 10, fill: '#6b6b70', text: kind }) : null,
        svg('text', { x: n.x, y: n.y + (kind ? 11 : 4), 'text-anchor': 'middle', text: node.label.length > 36 ? `${node.label.slice(0, 35)}…` : node.label }),
      ),
    );
  }
  return canvas;
}

function table(pipelines) {
  return h('table', { id: 'pipelines' },
    h('tr', {}, ...['pipeline', 'state', 'in/s', 'out/s', 'dead letters/s', 'batches', 'in', 'out', 'dead letters', 'failed batches', 'last error'].map((t) => h('th', { text: t }))),
    ...pipelines.map((p) =>
      h('tr', { 'data-pipeline': p.name },
        h('td', {}, h('a', { href: `/pipeline?name=${encodeURIComponent(p.name)}`, text: p.name })),
        h('td', {}, h('span', { class: `state ${p.state}`, text: p.state })),
        h('td', { class: 'num', text: fmt(p.rates.inputRowsPerSecond) }),
        h('td', { class: 'num', text: fmt(p.rates.outputRowsPerSecond) }),
        h('td', { class: 'num', text: fmt(p.rates.deadLettersPerSecond) }),
        h('td', { class: 'num', text: fmt(p.summary.batches) }),
        h('td', { class: 'num', text: fmt(p.summary.inputRows) }),
        h('td', { class: 'num', text: fmt(p.summary.outputRows) }),
        h('td', { class: 'num', text: fmt(p.summary.deadLetters) }),
        h('td', { class: 'num', text: fmt(p.summary.failures) }),
        h('td', { class: 'muted', text: p.lastError ? `${time(p.lastError.at)} batch ${p.lastError.batchId}: ${p.lastError.error}` : '' }),
      ),
    ),
  );
}

async function refresh() {
  try {
    const graph = await getJSON('/api/graph');
    document.getElementById('graph').replaceChildren(draw(graph));
    document.getElementById('table').replaceChildren(table(graph.pipelines));
    document.body.dataset.loaded = String(Date.now());
  } catch (error) {
    showError('graph', error);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  navigation('/');
  document.getElementById('main').append(
    h('h1', { text: 'Topology' }),
    h('div', { class: 'legend muted' }, h('span', { text: 'rates: records/s over the last 10 s' }), h('span', { text: 'dashed: dead letters' })),
    h('div', { id: 'graph' }),
    h('h2', { text: 'Pipelines' }),
    h('div', { id: 'table' }),
  );
  void refresh();
  // The rates are over the last 10 s: redrawn every 5 s even when no batch commits, so they fall to 0.
  setInterval(() => void refresh(), 5000);
  // Redrawn at most every 2 s however many batches commit.
  let pending;
  onRuntimeEvents(() => {
    pending ??= setTimeout(() => {
      pending = undefined;
      void refresh();
    }, 2000);
  });
});
