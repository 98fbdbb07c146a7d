/**
 * The topologies the benchmark runs: config/user-pipeline.yaml itself, pointed at the run's own topics,
 * keyspaces and groups through its `${VAR}` knobs, with as few edits as a leg needs (producer settings
 * for the ingest sweep; one extra column for the latency legs). The text is validated by the worker
 * exactly as `npm start` validates the file.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

export const USER_PIPELINE_FILE = fileURLToPath(new URL('../config/user-pipeline.yaml', import.meta.url));

let file = USER_PIPELINE_FILE;

/** Benchmark another version of the user pipeline file (e.g. before and after a change of its defaults). */
export function useTopologyFile(path: string): void {
  file = path;
}

export function topologyFile(): string {
  return file;
}

/** Field of a latency-leg user: when the load generator meant to produce it, µs since the epoch. */
export const PRODUCED_AT_FIELD = 'bench_produced_at_us';
/** The column it is mapped to. */
export const PRODUCED_AT_COLUMN = 'produced_at';

/** Producer settings of the ingest pipeline's kafka sink, as the sweep varies them. */
export interface IngestProducerSettings {
  compression: string;
  /** ms */
  linger: number;
  /** Rows per sink write call and chunks written at once (the framework's sink policy). */
  batchMaxRows: number;
  batchConcurrency: number;
}

type Doc = { pipelines: Record<string, Record<string, any>> };

function load(): Doc {
  return parse(readFileSync(file, 'utf8')) as Doc;
}

/** The file as it is (every leg's settings come from its `${VAR}` knobs). */
export function userPipeline(): string {
  return readFileSync(file, 'utf8');
}

/** The file's own ingest producer settings, for the report. */
export function fileIngestSettings(): IngestProducerSettings {
  const sink = load().pipelines.ingest.sink;
  return { compression: sink.compression ?? 'none', linger: sink.linger ?? 5, batchMaxRows: sink.batch?.maxRows ?? 1000, batchConcurrency: sink.batch?.concurrency ?? 4 };
}

/** The file with the ingest sink's producer settings replaced. */
export function withIngestProducer(settings: IngestProducerSettings): string {
  const doc = load();
  const sink = doc.pipelines.ingest.sink;
  sink.compression = settings.compression;
  sink.linger = `${settings.linger}ms`;
  sink.batch = { ...sink.batch, maxRows: settings.batchMaxRows, concurrency: settings.batchConcurrency };
  return stringify(doc);
}

/**
 * The file with the process pipeline also mapping the load generator's timestamp into a bigint column,
 * so that each row carries when its record was produced next to Cassandra's WRITETIME. Nothing else
 * changes: same operators, sink settings and trigger.
 */
export function withProducedAtColumn(): string {
  const doc = load();
  const process = doc.pipelines.process;
  const mapping = process.operators.find((op: { type: string }) => op.type === 'mapping');
  mapping.fields[PRODUCED_AT_COLUMN] = PRODUCED_AT_FIELD;
  process.sink.columns[PRODUCED_AT_COLUMN] = 'bigint';
  return stringify(doc);
}

/** The process pipeline's trigger and sink settings as the file sets them, for the report. */
export function fileProcessSettings(): Record<string, unknown> {
  const process = load().pipelines.process;
  return { trigger: process.trigger, maxInFlight: process.maxInFlight ?? 1, sinkBatch: process.sink.batch, sinkConcurrency: process.sink.concurrency ?? 64 };
}

/** The process sink's columns, so the raw Cassandra ceiling writes to a table of the same shape. */
export function processSinkColumns(): Record<string, string> {
  return { ...load().pipelines.process.sink.columns };
}

/** The pipeline the window leg runs. */
export const WINDOW_PIPELINE = 'nat_minute';

/**
 * The file as it is (its window pipeline's state durable, in the `state` backend it names, and read
 * through a repartition topic, topology/stages.ts), or with that pipeline's `state` removed (its windows
 * then live in the process's memory only), or with `repartition: { enabled: false }` (one stage: each
 * task of the input holds part of every group, which only one process can merge).
 */
export function windowPipeline(options: { durable: boolean; repartition: boolean } = { durable: true, repartition: true }): string {
  if (options.durable && options.repartition) return userPipeline();
  const doc = load();
  const pipeline = doc.pipelines[WINDOW_PIPELINE];
  if (!options.durable) delete pipeline.state;
  if (!options.repartition) pipeline.repartition = { ...pipeline.repartition, enabled: false };
  return stringify(doc);
}

/** The window pipeline's trigger, window, state and repartition settings as the file sets them, for the report. */
export function fileWindowSettings(): Record<string, unknown> {
  const pipeline = load().pipelines[WINDOW_PIPELINE];
  const window = pipeline.operators.find((op: { type: string }) => op.type === 'window');
  return {
    trigger: pipeline.trigger,
    window: { kind: window.kind, size: window.size, groupBy: window.groupBy, allowedLateness: window.allowedLateness },
    state: { type: pipeline.state?.type },
    // The defaults of topology/model.ts when the file says nothing.
    repartition: { enabled: true, partitions: 6, ...pipeline.repartition },
  };
}
