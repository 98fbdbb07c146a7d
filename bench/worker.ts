/**
 * A benchmark worker process (see child.ts): receives one task over IPC, reports events while it runs
 * and one result at the end, then exits.
 *
 * - `pipeline`: runs one pipeline of a topology with the real runtime, as `npm start` would (file log
 *   included), and measures itself: CPU (process.cpuUsage covers librdkafka's and libuv's threads too),
 *   RSS and heap sampled on a timer, peak RSS from getrusage, and marks the parent asks for. A pipeline
 *   with a repartition runs as stages (topology/stages.ts), each with progress events of its own: the
 *   figures are kept per stage, and the pipeline's input is counted once, at its first stage.
 * - `server`: the bundled RandomUser-compatible server, optionally with seeded pages rendered ahead.
 * - `ingest-ceilings`, `process-ceilings`, `consume-ceiling`: the raw client measurements of ceilings.ts.
 * - `state-restore`: the restore time of a store of N keys with the kafka state backend (state-restore.ts).
 */
import { mkdirSync } from 'node:fs';
import '../components.ts';
import { parseTopology } from '../topology/load.ts';
import { registry } from '../topology/registry.ts';
import { stagesOf, type Stage } from '../topology/stages.ts';
import { PipelineStores } from '../topology/stores.ts';
import type { Operator } from '../topology/types.ts';
import { changelogTopic } from '../state/kafka/changelog.ts';
import { componentContext } from '../testing/component-context.ts';
import { createTopologyLogger } from '../operations/logger.ts';
import { TopologyRuntime } from '../topology/runtime.ts';
import type { ProgressEvent } from '../topology/progress.ts';
import { startRandomUserServer } from '../randomuser/server.ts';
import { consumeCeiling, ingestCeilings, processCeilings, type ConsumeCeilingTask, type IngestCeilingsTask, type ProcessCeilingsCommand, type ProcessCeilingsTask } from './ceilings.ts';
import { stateRestore, type StateRestoreTask } from './state-restore.ts';
import { nowUs } from './stats.ts';

export interface PipelineTask {
  kind: 'pipeline';
  /** Topology YAML text. */
  topology: string;
  env: Record<string, string>;
  pipeline: string;
  /**
   * `finished`: until the pipeline ends by itself; a number: until that many source records went through
   * the whole pipeline (`completedRows`); `stop`: until told.
   */
  until: 'finished' | 'stop' | number;
  sampleMs: number;
  logDir: string;
  /** Report every batch (with its offsets) as an event. */
  batchEvents: boolean;
  /**
   * Load and prepare, report `ready`, and start the pipeline only when the parent says `go`: several
   * workers of one consumer group then join it at the same moment, not one after another's start-up.
   */
  gate?: boolean;
}

export interface ServerTask {
  kind: 'server';
  cacheBytes: number;
  /** Render these seeded pages before reporting ready, so that serving them costs only the transfer. */
  warm: Array<{ seed: string; results: number; pages: number }>;
}

export type Task = PipelineTask | ServerTask | IngestCeilingsTask | ProcessCeilingsTask | ConsumeCeilingTask | StateRestoreTask;

export type WorkerMessage = { type: 'event'; event: Record<string, any> } | { type: 'result'; value: unknown } | { type: 'error'; message: string };

export interface MemorySample {
  /** s since the pipeline started */
  t: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

export interface Mark {
  name: string;
  at: number;
  /** CPU seconds (user + system) since the pipeline started */
  cpu: number;
  inputRows: number;
  completedRows: number;
  rss: number;
  heapUsed: number;
}

/** One batch as the latency analysis needs it. */
export interface BatchEvent {
  kind: 'batch';
  /** The stage it belongs to (the pipeline's name when it runs as one stage). */
  stage: string;
  /** µs since the epoch, when its progress event was emitted (right after its commit). */
  committedAtUs: number;
  startedAt: number;
  input: number;
  output: number;
  dead: number;
  durationMs: ProgressEvent['durationMs'];
  startOffset: Record<string, number | string>;
  endOffset: Record<string, number | string>;
}

/** What one stage of the pipeline did (topology/stages.ts): its committed batches, from their progress events. */
export interface StageResult {
  /** The runner's name: the pipeline's for its last stage, `<pipeline>.repartition` for the one before it. */
  name: string;
  batches: number;
  inputRows: number;
  outputRows: number;
  deadLetters: number;
  stateChanges: number;
  /** Records a replay-filter dropped as repeats of an at-least-once write into the repartition topic (cumulative). */
  replaysDropped: number;
  /** ms spent in each step of a batch, summed over the stage's batches. */
  stepTotals: Omit<ProgressEvent['durationMs'], 'triggerExecution'>;
  /** Epoch ms: the stage's first batch's trigger, its last commit. */
  firstBatchAt: number | undefined;
  lastCommitAt: number | undefined;
}

export interface PipelineResult {
  /**
   * Epoch ms: started (connected, subscribed), first non-empty batch's trigger (of any stage: the first
   * stage's), the last commit of the last stage.
   */
  startedAt: number;
  firstBatchAt: number | undefined;
  lastCommitAt: number | undefined;
  endedAt: number;
  /** The stages in order; the last one's sink is the pipeline's sink. One stage without a repartition. */
  stages: StageResult[];
  /** Batches of the last stage (the whole pipeline when it runs as one stage); each stage's in `stages`. */
  batches: number;
  /** Records the pipeline read from its source: its first stage's input. */
  inputRows: number;
  /**
   * Source records that went through the whole pipeline: taken in by its last stage (less repeats its
   * replay-filter dropped), or dead-lettered by a stage before it. `inputRows` when it runs as one stage.
   */
  completedRows: number;
  /** Rows the pipeline's sink wrote (its last stage's). */
  outputRows: number;
  /** Over every stage. */
  deadLetters: number;
  retries: number;
  /** CPU seconds from start to end. */
  cpu: { user: number; system: number };
  /** Bytes; peakRss from getrusage (the whole life of the process), the rest sampled. */
  memory: { peakRss: number; peakHeapUsed: number; samples: MemorySample[] };
  marks: Mark[];
  /** Batch durations (ms) of the last stage, unless every batch was reported as an event. */
  batchDurations: number[];
  writeDurations: number[];
  /** ms spent in each step of a batch, summed over the last stage's batches. */
  stepTotals: Omit<ProgressEvent['durationMs'], 'triggerExecution'>;
  /** Keys of operator state the batches of every stage changed (each one changelog message when the state is in Kafka). */
  stateChanges: number;
  /** State restores (when tasks were assigned), of every stage; `at`: epoch ms when it ended. */
  restores: Array<{ stage: string; at: number; ms: number; keys: number; entriesRead: number }>;
  /** The changelog topics of the stages' stores, when the pipeline's `state` backend is kafka. */
  changelogTopics: string[];
  /** The repartition topics between its stages (the runtime creates them). */
  internalTopics: string[];
}

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => (process.send ? process.send(message, undefined, {}, () => resolve()) : resolve()));
}

const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return { user: used.user / 1e6, system: used.system / 1e6 };
};

/**
 * The changelog topics a stage writes to when the pipeline's `state` backend is kafka: its store ids, from
 * its components created as the runtime creates them (no I/O), named as the backend names them.
 */
async function changelogTopics(topology: string, stage: Stage): Promise<string[]> {
  const p = stage.config;
  if (p.state?.type !== 'kafka') return [];
  const context = (path: string) => componentContext({ topology, pipeline: stage.name, path });
  const source = await registry.create('source', p.source, context('source'));
  const operators: Operator[] = [];
  for (const [i, op] of p.operators.entries()) operators.push(await registry.create('operator', op, context(`operators[${i}]`)));
  const where = { topology, pipeline: stage.name, operatorTypes: p.operators.map((op) => op.type), positionScope: source.positionScope };
  return new PipelineStores(where, operators, undefined).all().map((store) => changelogTopic(store.id));
}

/** The topics a stage's sink writes for the next stage to read: the repartition topics (each stage but the last). */
function internalTopics(stages: readonly Stage[]): string[] {
  return stages.slice(0, -1).flatMap((stage) => {
    const topic = (stage.config.sink as { topic?: unknown }).topic;
    return typeof topic === 'string' ? [topic] : [];
  });
}

/** A stage's consumer group and topics, when its source is a kafka one. */
export interface StageSource {
  stage: string;
  groupId?: string;
  topics: string[];
}

function stageSource(stage: Stage): StageSource {
  const { groupId, topics } = stage.config.source as { groupId?: unknown; topics?: unknown };
  return { stage: stage.name, ...(typeof groupId === 'string' ? { groupId } : {}), topics: Array.isArray(topics) ? topics.filter((t): t is string => typeof t === 'string') : [] };
}

const emptyStage = (name: string): StageResult => ({
  name,
  batches: 0,
  inputRows: 0,
  outputRows: 0,
  deadLetters: 0,
  stateChanges: 0,
  replaysDropped: 0,
  stepTotals: { getBatch: 0, process: 0, write: 0, commit: 0 },
  firstBatchAt: undefined,
  lastCommitAt: undefined,
});

async function runPipeline(task: PipelineTask): Promise<PipelineResult> {
  const config = parseTopology(task.topology, 'bench topology', { env: { ...process.env, ...task.env } });
  const stages = stagesOf(config.name, task.pipeline, config.pipelines[task.pipeline], registry);
  const changelogs: string[] = [];
  for (const stage of stages) changelogs.push(...(await changelogTopics(config.name, stage)));
  const internal = internalTopics(stages);
  // Before anything is created: the parent deletes them at the end, whatever happens to this process.
  if (changelogs.length > 0) await send({ type: 'event', event: { kind: 'changelogs', topics: changelogs } });
  if (internal.length > 0) await send({ type: 'event', event: { kind: 'internal-topics', topics: internal } });
  // Where each stage reads: the parent may check how far each consumer group has committed.
  await send({ type: 'event', event: { kind: 'stage-sources', sources: stages.map((stage) => stageSource(stage)) } });
  mkdirSync(task.logDir, { recursive: true });
  const { logger, close } = createTopologyLogger(config.name, { ...config.logging, dir: task.logDir, console: 'off' });
  const runtime = new TopologyRuntime(config, { logger, pipelines: [task.pipeline] });
  const byName = new Map(stages.map((stage) => [stage.name, emptyStage(stage.name)]));
  const first = byName.get(stages[0].name)!;
  const last = byName.get(stages.at(-1)!.name)!;
  const result: PipelineResult = {
    startedAt: 0,
    firstBatchAt: undefined,
    lastCommitAt: undefined,
    endedAt: 0,
    stages: [...byName.values()],
    batches: 0,
    inputRows: 0,
    completedRows: 0,
    outputRows: 0,
    deadLetters: 0,
    retries: 0,
    cpu: { user: 0, system: 0 },
    memory: { peakRss: 0, peakHeapUsed: 0, samples: [] },
    marks: [],
    batchDurations: [],
    writeDurations: [],
    stepTotals: { getBatch: 0, process: 0, write: 0, commit: 0 },
    stateChanges: 0,
    restores: [],
    changelogTopics: changelogs,
    internalTopics: internal,
  };
  let stopRequested!: () => void;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  let go!: () => void;
  const gone = new Promise<void>((resolve) => (go = resolve));
  process.on('message', (message: { type: string; name?: string }) => {
    if (message.type === 'stop') stopRequested();
    else if (message.type === 'mark') mark(message.name ?? 'mark');
    else if (message.type === 'go') go();
  });

  let cpuStart = process.cpuUsage();
  let startedAt = Date.now();
  const sample = () => {
    const m = process.memoryUsage();
    result.memory.samples.push({ t: (Date.now() - startedAt) / 1000, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external });
    result.memory.peakHeapUsed = Math.max(result.memory.peakHeapUsed, m.heapUsed);
    return m;
  };
  const mark = (name: string) => {
    const m = sample();
    const cpu = cpuSeconds(cpuStart);
    result.marks.push({ name, at: Date.now(), cpu: cpu.user + cpu.system, inputRows: result.inputRows, completedRows: result.completedRows, rss: m.rss, heapUsed: m.heapUsed });
    void send({ type: 'event', event: { kind: 'mark', name } });
  };

  runtime.events$.subscribe((event) => {
    if (event.event === 'state-restored') result.restores.push({ stage: event.pipeline, at: Date.now(), ms: event.ms, keys: event.keys, entriesRead: event.entriesRead });
  });
  runtime.progress$.subscribe((event) => {
    const at = nowUs();
    const stage = byName.get(event.pipeline);
    if (!stage) return;
    const startedAt = Date.parse(event.timestamp);
    stage.batches++;
    stage.inputRows += event.numInputRows;
    stage.outputRows += event.sink.numOutputRows;
    stage.deadLetters += event.numDeadLetterRows;
    stage.stateChanges += event.numStateChanges ?? 0;
    // A cumulative count of the operator's, in its metrics.
    stage.replaysDropped = event.stateOperators.reduce((sum, op) => sum + (op.metrics.replaysDropped ?? 0), 0);
    for (const step of ['getBatch', 'process', 'write', 'commit'] as const) stage.stepTotals[step] += event.durationMs[step];
    stage.firstBatchAt ??= startedAt;
    stage.lastCommitAt = at / 1000;
    result.firstBatchAt = Math.min(result.firstBatchAt ?? startedAt, startedAt);
    result.inputRows = first.inputRows;
    result.outputRows = last.outputRows;
    result.deadLetters += event.numDeadLetterRows;
    result.retries += event.sink.retries;
    result.stateChanges += event.numStateChanges ?? 0;
    const deadBefore = result.stages.slice(0, -1).reduce((sum, s) => sum + s.deadLetters, 0);
    result.completedRows = last.inputRows - last.replaysDropped + deadBefore;
    if (stage === last) {
      result.batches = last.batches;
      result.lastCommitAt = at / 1000;
      for (const step of ['getBatch', 'process', 'write', 'commit'] as const) result.stepTotals[step] += event.durationMs[step];
    }
    if (task.batchEvents) {
      const batch: BatchEvent = {
        kind: 'batch',
        stage: stage.name,
        committedAtUs: at,
        startedAt,
        input: event.numInputRows,
        output: event.sink.numOutputRows,
        dead: event.numDeadLetterRows,
        durationMs: event.durationMs,
        startOffset: event.sources[0].startOffset,
        endOffset: event.sources[0].endOffset,
      };
      void send({ type: 'event', event: batch });
    } else {
      // Kept here only when the parent does not receive every batch: the steady run's memory is measured.
      if (stage === last) {
        result.batchDurations.push(event.durationMs.triggerExecution);
        result.writeDurations.push(event.durationMs.write);
      }
      void send({ type: 'event', event: { kind: 'progress', stage: stage.name, inputRows: result.inputRows, completedRows: result.completedRows, at: at / 1000 } });
    }
    if (typeof task.until === 'number' && result.completedRows >= task.until) stopRequested();
  });

  if (task.gate) {
    await runtime.create();
    void send({ type: 'event', event: { kind: 'ready' } });
    await Promise.race([gone, stopped]);
  }
  await runtime.start();
  startedAt = Date.now();
  cpuStart = process.cpuUsage();
  result.startedAt = startedAt;
  sample();
  const sampler = setInterval(sample, task.sampleMs);
  void send({ type: 'event', event: { kind: 'started' } });
  try {
    await Promise.race([task.until === 'finished' ? runtime.wait() : stopped, stopped]);
    result.endedAt = Date.now();
    result.cpu = cpuSeconds(cpuStart);
    sample();
  } finally {
    clearInterval(sampler);
    await runtime.stop();
    await close();
  }
  result.memory.peakRss = process.resourceUsage().maxRSS * 1024;
  return result;
}

async function runServer(task: ServerTask): Promise<void> {
  const server = await startRandomUserServer({ host: '127.0.0.1', port: 0, cacheBytes: task.cacheBytes });
  for (const { seed, results, pages } of task.warm) {
    for (let page = 1; page <= pages; page++) await (await fetch(`${server.url}?results=${results}&seed=${seed}&page=${page}`)).arrayBuffer();
  }
  void send({ type: 'event', event: { kind: 'ready', url: server.url } });
  await new Promise<void>((resolve) => process.on('message', (message: { type: string }) => message.type === 'stop' && resolve()));
  const stats = server.stats();
  await server.close();
  await send({ type: 'result', value: stats });
}

/** The parent's messages after the task, one at a time. */
function commands<C>(): () => Promise<C> {
  const queued: C[] = [];
  let waiting: ((command: C) => void) | undefined;
  process.on('message', (command: C) => {
    if (waiting) {
      waiting(command);
      waiting = undefined;
    } else queued.push(command);
  });
  return () => (queued.length > 0 ? Promise.resolve(queued.shift()!) : new Promise<C>((resolve) => (waiting = resolve)));
}

async function main(task: Task): Promise<void> {
  if (task.kind === 'server') return runServer(task);
  let value: unknown;
  if (task.kind === 'pipeline') value = await runPipeline(task);
  else if (task.kind === 'ingest-ceilings') value = await ingestCeilings(task);
  else if (task.kind === 'state-restore') value = await stateRestore(task);
  else if (task.kind === 'consume-ceiling') value = await consumeCeiling(task);
  else await processCeilings(task, (event) => void send({ type: 'event', event }), commands<ProcessCeilingsCommand>());
  await send({ type: 'result', value: value ?? null });
}

process.once('message', (task: Task) => {
  main(task).then(
    // Exit explicitly: client libraries may keep handles open, and --cpu-prof writes its profile on exit.
    () => process.disconnect?.(),
    async (error: unknown) => {
      await send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      process.exitCode = 1;
      process.disconnect?.();
    },
  );
});
process.on('disconnect', () => setTimeout(() => process.exit(), 100).unref());
