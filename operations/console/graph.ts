/**
 * The graph the console's Topology page draws: for every running stage of every pipeline its source,
 * operators, sink, dead-letter output and state stores, joined through the topics and tables they
 * read and write (a topic one stage writes and another reads is one node, so the stages of a
 * repartitioned pipeline and the pipelines sharing a topic appear connected). Built from the
 * runners' configs and the components' own descriptions; the browser lays it out (dagre).
 */
import type { PipelineRunner } from '../../topology/pipeline.ts';
import type { ComponentConfig } from '../../topology/registry.ts';

export type NodeKind = 'topic' | 'table' | 'external' | 'source' | 'operator' | 'sink' | 'dead-letter' | 'store';

export interface GraphNode {
  id: string;
  kind: NodeKind;
  label: string;
  /** The stage it belongs to; none for topics, tables and outside systems, which stages share. */
  pipeline?: string;
  detail?: string;
}

export interface GraphEdge {
  from: string;
  to: string;
  /** What the edge's live rate is: records read, records written, dead letters; none for state. */
  flow?: 'input' | 'output' | 'dead-letters';
  pipeline: string;
}

export interface TopologyGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** The topics, table or outside system a component config reads or writes, as graph nodes. */
export function resourcesOf(config: ComponentConfig, description: string): GraphNode[] {
  const c = config as Record<string, unknown>;
  if ((config.type === 'kafka' || config.type === 'dead-letter') && typeof c.topic === 'string') return [{ id: `topic:${c.topic}`, kind: 'topic', label: c.topic }];
  if (config.type === 'kafka' && Array.isArray(c.topics)) return (c.topics as string[]).map((topic) => ({ id: `topic:${topic}`, kind: 'topic', label: topic }));
  if (config.type === 'cassandra' && typeof c.keyspace === 'string' && typeof c.table === 'string') {
    const table = `${c.keyspace}.${c.table}`;
    return [{ id: `table:${table}`, kind: 'table', label: table }];
  }
  return [{ id: `external:${description}`, kind: 'external', label: description }];
}

export function topologyGraph(runners: Iterable<PipelineRunner>): TopologyGraph {
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  const add = (node: GraphNode) => {
    if (!nodes.has(node.id)) nodes.set(node.id, node);
    return node.id;
  };
  for (const runner of runners) {
    const stage = runner.name;
    const config = runner.config;
    const source = add({ id: `${stage}/source`, kind: 'source', label: config.source.type, pipeline: stage, detail: runner.source?.describe() });
    for (const resource of resourcesOf(config.source, runner.source?.describe() ?? config.source.type)) edges.push({ from: add(resource), to: source, flow: 'input', pipeline: stage });
    let previous = source;
    const operatorIds = config.operators.map((op, i) => {
      const id = add({ id: `${stage}/operators[${i}]`, kind: 'operator', label: op.type, pipeline: stage, detail: runner.operators[i]?.describe() });
      edges.push({ from: previous, to: id, pipeline: stage });
      previous = id;
      return id;
    });
    const sink = add({ id: `${stage}/sink`, kind: 'sink', label: config.sink.type, pipeline: stage, detail: runner.sink?.describe() });
    edges.push({ from: previous, to: sink, pipeline: stage });
    for (const resource of resourcesOf(config.sink, runner.sink?.describe() ?? config.sink.type)) edges.push({ from: sink, to: add(resource), flow: 'output', pipeline: stage });
    if (config.deadLetter) {
      const dead = add({ id: `${stage}/deadLetter`, kind: 'dead-letter', label: 'dead letters', pipeline: stage, detail: runner.deadLetterSink?.describe() });
      // Every stage of the pipeline may reject records; the source is where the stage's records enter.
      edges.push({ from: source, to: dead, flow: 'dead-letters', pipeline: stage });
      for (const resource of resourcesOf(config.deadLetter, runner.deadLetterSink?.describe() ?? config.deadLetter.type)) edges.push({ from: dead, to: add(resource), pipeline: stage });
    }
    // The store lines say which operator keeps each store: `operators[1] windows: kafka changelog topic … (compacted)`.
    const stores = runner.source ? runner.storeLines() : [];
    stores.forEach((line, i) => {
      const match = /^operators\[(\d+)\] ([^:]+): (.*)$/.exec(line);
      const store = add({ id: `${stage}/store[${i}]`, kind: 'store', label: match ? `state: ${match[2]}` : 'state', pipeline: stage, detail: match ? match[3] : line });
      const owner = match ? operatorIds[Number(match[1])] : undefined;
      edges.push({ from: owner ?? sink, to: store, pipeline: stage });
    });
  }
  return { nodes: [...nodes.values()], edges };
}
