/**
 * The benchmark's report: everything measured, as JSON (bench/results/<name>.json), and the figures
 * that matter as a markdown table (bench/results/<name>.md, copied to latest.md). A target that is not
 * met is reported, never an error.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { IngestCeilings, Measured, Throughput, WriteTrial } from './ceilings.ts';
import type { IngestTrial } from './settings.ts';
import type { PhaseLatency } from './latency.ts';
import type { StateRestoreResult } from './state-restore.ts';
import type { Distribution } from './stats.ts';
import { round } from './stats.ts';

export interface IngestTrialResult extends IngestTrial {
  users: number;
  usersPerSecond: number;
  seconds: number;
  cpuSecondsPer100k: number;
}

export interface ResourceFigures {
  cpuSecondsPer100k: number;
  /** MiB */
  peakRss: number;
  peakHeapUsed: number;
}

/** One stage of a pipeline run (topology/stages.ts; the whole pipeline when it has no repartition). */
export interface StageRunFigures {
  /** `<pipeline>.repartition` (source → repartition topic) or the pipeline's name (its last stage). */
  stage: string;
  batches: number;
  meanBatch: number;
  /** Mean ms per batch in each step (they overlap when maxInFlight > 1). */
  stepMsPerBatch: { getBatch: number; process: number; write: number; commit: number };
  stateChangesPerBatch: number;
  /** Repeats of the repartition topic a replay-filter dropped. */
  replaysDropped: number;
}

/** One flat-out run of a pipeline over the prepared topic (the process and window legs). */
export interface PipelineRunFigures extends ResourceFigures {
  rowsWritten: number;
  deadLetters: number;
  /** From the first batch's trigger to the last stage's last commit, less a restore of the first stage's state within that time. */
  seconds: number;
  groupJoinSeconds: number;
  /** Batches, their mean size, durations and steps: of the last stage (each stage's in `stages`). */
  batches: number;
  meanBatch: number;
  batchMs: Distribution;
  writeMs: Distribution;
  /** Mean ms per batch in each step (they overlap when maxInFlight > 1). */
  stepMsPerBatch: { getBatch: number; process: number; write: number; commit: number };
  stages: StageRunFigures[];
  /** CPU of the process (all its stages) per record of the source. */
  cpuUsPerRecord: number;
  /** 1-minute load average when the run ended. */
  loadAverage: number;
}

export interface ProcessLeg extends PipelineRunFigures {
  users: number;
  rowsPerSecond: number;
}

/** CPU of the local servers per record during a pass (when they are this tool's processes), and of the machine. */
export interface ServerCpu {
  cassandraUsPerRecord?: number;
  kafkaUsPerRecord?: number;
  machineBusyPercent?: number;
}

export interface ProcessRound {
  round: number;
  process: ProcessLeg;
  cassandra: Measured & WriteTrial;
  consume: Measured;
  servers: { pipeline?: ServerCpu; cassandraCeiling?: ServerCpu; consumeCeiling?: ServerCpu };
  ratioToCassandra: number;
  ratioToConsume: number;
}

export interface ProcessFigures extends ResourceFigures {
  rounds: ProcessRound[];
  sweep: WriteTrial[];
  best: WriteTrial;
  settings: Record<string, unknown>;
  /** Medians over the rounds. */
  rowsPerSecond: number;
  cassandraCeiling: number;
  consumeCeiling: number;
  ratioToCassandra: number;
  ratioToConsume: number;
}

export type WindowState = 'durable' | 'memory';

/**
 * durable: the file as it is (state in kafka, read through the repartition topic); memory: its `state`
 * removed; noRepartition: durable, with `repartition: { enabled: false }` (one stage).
 */
export type WindowPass = 'durable' | 'memory' | 'noRepartition';

export interface WindowRun extends PipelineRunFigures {
  pass: WindowPass;
  state: WindowState;
  /** Whether it ran as two stages joined by a repartition topic. */
  repartition: boolean;
  records: number;
  /** Input records consumed per second (the sink writes only a row per closed window and group). */
  recordsPerSecond: number;
  /** Keys of window state the batches changed, in all, and per batch of the last stage. */
  stateChanges: number;
  stateChangesPerBatch: number;
  /** Messages in the run's changelog topics when it ended (0 in memory). */
  changelogMessages: number;
  /** Messages in its repartition topic when it ended: the records, and any repeats (0 without a repartition). */
  repartitionMessages: number;
  /** The restore of the (empty) changelogs when the tasks were assigned, their topics created (left out of `seconds` when within it and of the first stage). */
  startupRestoreMs: number;
  servers: ServerCpu;
}

export interface WindowRound {
  round: number;
  durable: WindowRun;
  memory: WindowRun;
  noRepartition: WindowRun;
  /** durable ÷ memory, records/s and CPU µs per record. */
  ratio: number;
  cpuRatio: number;
  /** durable ÷ noRepartition: with ÷ without the repartition topic, records/s and CPU µs per record. */
  repartitionRatio: number;
  repartitionCpuRatio: number;
}

interface WindowSummary {
  recordsPerSecond: number;
  cpuUsPerRecord: number;
  stateChangesPerBatch: number;
  changelogMessages: number;
  peakRss: number;
}

export interface WindowFigures {
  records: number;
  settings: Record<string, unknown>;
  rounds: WindowRound[];
  /** Medians over the rounds (peak RSS: the largest). */
  durable: WindowSummary;
  memory: WindowSummary;
  noRepartition: WindowSummary;
  /** durable ÷ memory, of the medians. */
  ratio: number;
  cpuRatio: number;
  /** durable ÷ noRepartition, of the medians. */
  repartitionRatio: number;
  repartitionCpuRatio: number;
}

/** One worker process of a scale run. */
export interface ScaleWorker {
  /** Source records its first stage read; records through its last stage (less repeats), or dead-lettered before it. */
  inputRows: number;
  completedRows: number;
  cpuSeconds: number;
  /** MiB */
  peakRss: number;
  /** s from the start signal to its first batch. */
  firstBatchSeconds: number;
  stages: StageRunFigures[];
}

/** The windowed pipeline run by `processes` workers of one consumer group at once, until both stages committed everything. */
export interface ScaleRun {
  processes: number;
  /** The topic's records. */
  records: number;
  /** From the first batch of any worker to the last commit of the last stage in any worker. */
  seconds: number;
  recordsPerSecond: number;
  /** CPU of every worker (both stages) per record. */
  cpuUsPerRecord: number;
  /** The workers' CPU seconds ÷ seconds: cores the pipeline kept busy. */
  pipelineCores: number;
  /** s from the start signal to the first batch, and from the first worker's first batch to the last worker's. */
  groupJoinSeconds: number;
  firstBatchSpreadSeconds: number;
  /** Source records read by the first stages of all workers (more than `records` when a moved partition was read again). */
  sourceReads: number;
  /** Messages in the repartition topic: the records, and the repeats of an at-least-once write. */
  repartitionMessages: number;
  replaysDropped: number;
  /** State restores when tasks were assigned (every start, and every partition moved), and their ms and keys summed over the workers. */
  restores: number;
  restoreMs: number;
  restoredKeys: number;
  workers: ScaleWorker[];
  servers: ServerCpu;
  /**
   * From the moment every process had committed a batch (so had its partitions) to the end: the records
   * still to go then, their rate, and the CPU spent on them. Absent when nothing was left by then.
   */
  steady?: { records: number; seconds: number; recordsPerSecond: number; cpuUsPerRecord: number; pipelineCores: number; machineBusyPercent?: number };
  loadAverage: number;
}

export interface ScaleRound {
  round: number;
  /** In the order of the settings' process counts (not the order they ran in). */
  runs: ScaleRun[];
  /** records/s ÷ the first count's (1 process) in the same round; the same of the steady rates. */
  speedup: number[];
  steadySpeedup: number[];
}

/** Medians over the rounds for one process count. */
export interface ScaleCount {
  processes: number;
  recordsPerSecond: number;
  /** Median of the rounds' speed-ups. */
  speedup: number;
  cpuUsPerRecord: number;
  pipelineCores: number;
  machineBusyPercent: number;
  /** cores × 1,000,000 ÷ cpuUsPerRecord: records/s if the pipeline had every core to itself. */
  pipelineCpuBound: number;
  /** records/s ÷ one bare consumer reading the same topic. */
  ratioToConsume: number;
  /** Medians of the runs' `steady` figures, and of the rounds' speed-ups in them. */
  steady: { recordsPerSecond: number; speedup: number; cpuUsPerRecord: number; pipelineCores: number; machineBusyPercent: number };
}

export interface ScaleFigures {
  records: number;
  partitions: number;
  /** Cores of the machine (os.cpus()). */
  cores: number;
  settings: Record<string, unknown>;
  /** One bare node-rdkafka consumer reading the whole topic (ceilings.ts). */
  consumeCeiling: Measured & { groupJoinMs: number };
  rounds: ScaleRound[];
  counts: ScaleCount[];
}

/** The restore leg: the figures of state-restore.ts, and the load when it ended. */
export interface RestoreFigures extends Omit<StateRestoreResult, 'rssAfterRestore'> {
  /** MiB */
  rssAfterRestore: number;
  loadAverage: number;
}

export interface LatencyPhase extends PhaseLatency {
  rate: number;
  seconds: number;
  produced: number;
  achievedRate: number;
  generatorLatenessMs: Distribution;
  /** Records produced but not read by the pipeline when the phase's drain wait ended. */
  backlogAfterDrain: number;
  cpuSecondsPer100k: number;
  batches: number;
  meanBatch: number;
  /** Durations of the phase's batches, per step (read, operators, write, commit) and whole. */
  batchStepsMs: Record<'getBatch' | 'process' | 'write' | 'commit' | 'total', Distribution>;
}

export interface SteadyLeg extends LatencyPhase {
  warmupSeconds: number;
  /** MiB, from the samples */
  rss: {
    start: number;
    end: number;
    firstTenthMean: number;
    lastTenthMean: number;
    min: number;
    max: number;
    changePercent: number;
    tenthsChangePercent: number;
    /** Change of the least-squares line over the run, % of its start value. */
    trendChangePercent: number;
    slopeMiBPerMinute: number;
  };
  heapUsed: { start: number; end: number; min: number; max: number };
  peakRss: number;
  /** [s since pipeline start, RSS MiB, heapUsed MiB] */
  samples: Array<[number, number, number]>;
}

export interface Target {
  what: string;
  target: string;
  measured: string;
  met: boolean | undefined;
}

/** The formats leg: the same users through the process pipeline from a JSON topic and from an Avro one. */
export interface FormatFigures {
  users: number;
  json: FormatRun;
  avro: FormatRun;
}

export interface FormatRun {
  /** Mean bytes of a message value, before compression. */
  bytesPerMessage: number;
  /** Median over the rounds, and each round's. */
  rowsPerSecond: number;
  rounds: number[];
  cpuSecondsPer100k: number;
}

export interface Report {
  name: string;
  mode: 'quick' | 'full';
  /** The topology file benchmarked, and extra Node options of its processes. */
  topology: string;
  pipelineNodeOptions: string;
  startedAt: string;
  durationSeconds: number;
  machine: Record<string, unknown>;
  services: Record<string, string>;
  notes: string[];
  ingest?: { trials: IngestTrialResult[]; best: IngestTrialResult; ceilings: IngestCeilings; serverNote: string };
  process?: ProcessFigures;
  window?: WindowFigures;
  scale?: ScaleFigures;
  restore?: RestoreFigures;
  latency?: { phases: LatencyPhase[]; trigger: Record<string, unknown>; method: string };
  steady?: SteadyLeg;
  formats?: FormatFigures;
  targets: Target[];
}

const n = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
const tp = (t: Throughput, unit: string): string => `${n(t.perSecond)} ${unit}/s`;
const check = (met: boolean | undefined): string => (met === undefined ? 'not measured' : met ? 'met' : 'NOT met');

export function targets(report: Report): Target[] {
  const out: Target[] = [];
  if (report.process) {
    const ratio = report.process.ratioToCassandra;
    out.push({ what: 'process leg ÷ raw Cassandra write ceiling', target: '≥ 0.80', measured: n(ratio, 2), met: ratio >= 0.8 });
  }
  const at1000 = report.latency?.phases.find((p) => p.rate === 1000);
  out.push({ what: 'p99 end-to-end (written) at 1,000 records/s', target: '≤ 250 ms', measured: at1000 ? `${n(at1000.written.p99, 1)} ms` : '–', met: at1000 ? at1000.written.p99 <= 250 : undefined });
  if (report.ingest) out.push({ what: 'ingest from the local server', target: '≥ 20,000 users/s', measured: `${n(report.ingest.best.usersPerSecond)} users/s`, met: report.ingest.best.usersPerSecond >= 20_000 });
  if (report.steady) {
    const { changePercent, tenthsChangePercent, trendChangePercent } = report.steady.rss;
    const signed = (value: number) => `${value > 0 ? '+' : ''}${n(value, 1)} %`;
    out.push({
      what: `RSS over the steady run (${n(report.steady.seconds)} s at ${n(report.steady.rate)}/s): trend (least squares) over the run [last vs first sample; last vs first tenth's mean]`,
      target: 'within ±10 %',
      measured: `${signed(trendChangePercent)} [${signed(changePercent)}; ${signed(tenthsChangePercent)}]`,
      met: Math.abs(trendChangePercent) <= 10,
    });
  }
  return out;
}

function latencyRows(phases: LatencyPhase[]): string[] {
  return phases.map(
    (p) =>
      `| ${n(p.rate)}/s × ${n(p.seconds)} s | ${n(p.achievedRate)}/s | ${n(p.rows)} | ${n(p.written.p50, 1)} | ${n(p.written.p95, 1)} | ${n(p.written.p99, 1)} | ${n(p.written.max, 1)} | ${n(p.committed.p50, 1)} | ${n(p.committed.p99, 1)} | ${n(p.meanBatch, 1)} | ${n(p.cpuSecondsPer100k, 1)} |`,
  );
}

/** `read, process, write, commit` ms per batch of each stage, the stages apart by `/`. */
const stageSteps = (run: PipelineRunFigures): string => run.stages.map(({ stepMsPerBatch: s }) => `${n(s.getBatch)}, ${n(s.process)}, ${n(s.write)}, ${n(s.commit)}`).join(' / ');
/** The local servers' CPU µs per record, when their pids are known. */
const serversCell = (cpu: ServerCpu): string => `${n(cpu.kafkaUsPerRecord ?? NaN, 1)} / ${n(cpu.cassandraUsPerRecord ?? NaN, 1)}`;
const stageBatches = (run: PipelineRunFigures): string => run.stages.map((s) => `${s.batches} × ${n(s.meanBatch)}`).join(' / ');

function windowSection(w: WindowFigures): string[] {
  const lines = ['## Window: Kafka → validate → 1-minute window per nationality and gender → Cassandra, state durable vs in memory, repartition vs none', ''];
  const trigger = Object.entries(w.settings.trigger as Record<string, unknown>).map(([k, v]) => `${k} \`${String(v)}\``).join(', ');
  const repartition = w.settings.repartition as { partitions?: number };
  lines.push(
    `Median of ${w.rounds.length} rounds over the same ${n(w.records)} users, one process each: state durable (kafka changelog) **${n(w.durable.recordsPerSecond)} records/s**, ${n(w.durable.cpuUsPerRecord, 1)} CPU µs/record; in memory (the pipeline's \`state\` removed) **${n(w.memory.recordsPerSecond)} records/s**, ${n(w.memory.cpuUsPerRecord, 1)} CPU µs/record: durable ÷ memory **${n(w.ratio, 2)}** in records/s, ${n(w.cpuRatio, 2)} in CPU per record.`,
    '',
    `Both run as the file has them, in two stages joined by a repartition topic of ${String(repartition.partitions ?? '–')} partitions (\`nat_minute.repartition\`: source → validate → key by group → topic; \`nat_minute\`: topic → replay-filter → window → Cassandra). Without it (\`repartition: { enabled: false }\`, state durable, one stage): **${n(w.noRepartition.recordsPerSecond)} records/s**, ${n(w.noRepartition.cpuUsPerRecord, 1)} CPU µs/record: with ÷ without the repartition **${n(w.repartitionRatio, 2)}** in records/s, **${n(w.repartitionCpuRatio, 2)}** in CPU per record.`,
    '',
    `Each round runs the three one after the other in alternating order, each in a process and consumer group of its own, with the trigger interval ${String(w.settings.benchTriggerInterval)} (flat out; the file's trigger: ${trigger}). Records/s are source records (counted once, at the first stage; the sink writes one row per closed minute and group); the time runs from the first batch to the last stage's last commit, less the start-up restore (of empty changelogs, their topics created) when it falls within it and holds the source back: in one stage; through the repartition the last stage restores while the first goes on, and catches up, so its restore stays in the time. CPU is the whole process's (both stages) per source record.`,
    '',
  );
  lines.push(
    '| round | pass | records/s | CPU µs/record | Kafka / Cassandra CPU µs/record | batches × mean (per stage) | state changes/batch | changelog messages | repartition messages | start-up restore ms | peak RSS MiB | ms/batch: read, process, write, commit (per stage) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  const label: Record<WindowPass, string> = { durable: 'durable', memory: 'memory', noRepartition: 'durable, no repartition' };
  for (const r of w.rounds) {
    for (const run of [r.durable, r.memory, r.noRepartition]) {
      lines.push(
        `| ${r.round} | ${label[run.pass]} | ${n(run.recordsPerSecond)} | ${n(run.cpuUsPerRecord, 1)} | ${serversCell(run.servers)} | ${stageBatches(run)} | ${n(run.stateChangesPerBatch, 1)} | ${n(run.changelogMessages)} | ${run.repartition ? n(run.repartitionMessages) : '–'} | ${run.state === 'durable' ? n(run.startupRestoreMs) : '–'} | ${n(run.peakRss)} | ${stageSteps(run)} |`,
      );
    }
  }
  lines.push(
    '',
    `Per round, durable ÷ memory: ${w.rounds.map((r) => `${n(r.ratio, 2)} (CPU ${n(r.cpuRatio, 2)})`).join('; ')}; with ÷ without the repartition: ${w.rounds.map((r) => `${n(r.repartitionRatio, 2)} (CPU ${n(r.repartitionCpuRatio, 2)})`).join('; ')}. The changelog is written in each batch's commit step; the state lives in the last stage.`,
    '',
  );
  return lines;
}

function scaleSection(s: ScaleFigures): string[] {
  const lines = [`## Scale: the window pipeline (durable state, repartition) run by ${s.counts.map((c) => c.processes).join(', ')} processes of one consumer group`, ''];
  const one = s.counts[0];
  lines.push(
    `${n(s.records)} users in a topic of ${s.partitions} partitions (the repartition topic has ${String((s.settings.repartition as { partitions?: number }).partitions ?? '–')}); every process a worker of its own in one consumer group, started together, trigger interval ${String(s.settings.benchTriggerInterval)}; a run ends when both stages' groups have committed every message of their topics. Time: from the first batch of any process to the last commit of the last stage. Median of ${s.rounds.length} rounds (each round runs every count, in alternating order): ${s.counts.map((c) => `**${c.processes}: ${n(c.recordsPerSecond)} records/s**${c === one ? '' : ` (× ${n(c.speedup, 2)})`}`).join(', ')}. The machine has ${s.cores} cores, shared with Kafka and Cassandra; one bare consumer reads the same topic at ${n(s.consumeCeiling.perSecond)} msgs/s (${n(s.consumeCeiling.cpuUsPerRecord, 1)} CPU µs/message).`,
    '',
  );
  lines.push(
    '| processes | records/s (median) | speed-up over 1 | CPU µs/record (all processes) | cores busy in the pipeline | machine busy | records/s if the pipeline had every core | ÷ bare consume | once every process works: records/s, speed-up, CPU µs/record, cores, machine busy |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const c of s.counts) {
    const st = c.steady;
    lines.push(
      `| ${c.processes} | ${n(c.recordsPerSecond)} | ${n(c.speedup, 2)} | ${n(c.cpuUsPerRecord, 1)} | ${n(c.pipelineCores, 2)} of ${s.cores} | ${n(c.machineBusyPercent)} % | ${n(c.pipelineCpuBound)} | ${n(c.ratioToConsume, 2)} | ${n(st.recordsPerSecond)}, ${n(st.speedup, 2)}, ${n(st.cpuUsPerRecord, 1)}, ${n(st.pipelineCores, 2)}, ${n(st.machineBusyPercent)} % |`,
    );
  }
  lines.push(
    '',
    '"Once every process works": from the moment every process had committed a batch (so had its partitions; joining the group and moving partitions come before) to the end, the records still to go then. CPU per record counts every process\'s CPU, both stages, per source record; "cores busy in the pipeline" is that CPU ÷ the time; "machine busy" is every process on the machine (Kafka, Cassandra, anyone else) from /proc/stat.',
  );
  lines.push('', 'Every run:', '');
  lines.push(
    '| round | processes | records/s | CPU µs/record | Kafka / Cassandra CPU µs/record | cores in the pipeline | machine busy | s to first batch; spread | restores (ms) | source reads | repeats written; dropped | per process: records in, CPU s | once all work: records, s, records/s | load (1 min) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const r of s.rounds) {
    for (const run of r.runs) {
      lines.push(
        `| ${r.round} | ${run.processes} | ${n(run.recordsPerSecond)} | ${n(run.cpuUsPerRecord, 1)} | ${serversCell(run.servers)} | ${n(run.pipelineCores, 2)} | ${run.servers.machineBusyPercent === undefined ? '–' : `${run.servers.machineBusyPercent} %`} | ${n(run.groupJoinSeconds, 1)}; ${n(run.firstBatchSpreadSeconds, 1)} | ${run.restores} (${n(run.restoreMs)}) | ${n(run.sourceReads)} | ${n(run.repartitionMessages - run.records)}; ${n(run.replaysDropped)} | ${run.workers.map((w) => `${n(w.inputRows)}, ${n(w.cpuSeconds, 1)}`).join(' / ')} | ${run.steady ? `${n(run.steady.records)}, ${n(run.steady.seconds, 1)}, ${n(run.steady.recordsPerSecond)}` : '–'} | ${n(run.loadAverage, 2)} |`,
      );
    }
  }
  lines.push(
    '',
    `Speed-up per round: ${s.rounds.map((r) => r.speedup.map((x) => n(x, 2)).join(', ')).join('; ')}; once every process works: ${s.rounds.map((r) => r.steadySpeedup.map((x) => n(x, 2)).join(', ')).join('; ')}. "Repeats written" are messages of the repartition topic beyond the records (a batch written again after its commit was refused in a rebalance); the replay-filter drops them, so the windows count each record once.`,
    '',
  );
  return lines;
}

function restoreSection(r: RestoreFigures): string[] {
  return [
    `## Restore: a store of ${n(r.storeKeys)} keys from its changelog (kafka state backend)`,
    '',
    `**${n(r.keys)} keys** (${n(r.storeKeys)} written, 1 % deleted) from ${n(r.messagesRead)} changelog messages (10 % of the keys overwritten, and a last batch never committed, which the restore leaves out) in **${n(r.seconds, 2)} s**: **${n(r.keysPerSecond)} keys/s**, ${n(r.messagesPerSecond)} messages/s, ${n(r.cpuSeconds, 2)} CPU s; the worker's RSS right after it ${n(r.rssAfterRestore)} MiB. Writing the changelog (batches of 10,000 keys) took ${n(r.writeSeconds, 1)} s. Load average (1 min) at the end: ${n(r.loadAverage, 2)}.`,
    '',
  ];
}

export function markdown(report: Report): string {
  const lines: string[] = [];
  lines.push(`# Benchmark ${report.name} (${report.mode})`, '');
  lines.push(`Topology ${report.topology}${report.pipelineNodeOptions ? `, pipeline processes run with \`${report.pipelineNodeOptions}\`` : ''}. Started ${report.startedAt}, ${n(report.durationSeconds)} s. ${Object.entries(report.machine).map(([k, v]) => `${k}: ${v}`).join('; ')}.`, '');
  lines.push(`Services: ${Object.entries(report.services).map(([k, v]) => `${k} ${v}`).join('; ')}.`, '');
  lines.push('## Targets', '', '| what | target | measured | |', '| --- | --- | --- | --- |');
  for (const t of report.targets) lines.push(`| ${t.what} | ${t.target} | ${t.measured} | ${check(t.met)} |`);
  lines.push('');
  if (report.ingest) {
    const { best, ceilings, trials } = report.ingest;
    const s = best.producer;
    lines.push('## Ingest: bundled RandomUser server → Kafka', '');
    lines.push(`**${n(best.usersPerSecond)} users/s** (${n(best.users)} users in ${n(best.seconds, 1)} s; ${n(best.cpuSecondsPer100k, 1)} CPU s per 100k users) with results=${best.results} per request, concurrency ${best.concurrency}, compression ${s.compression}, linger ${s.linger} ms, sink batch ${s.batchMaxRows} rows × ${s.batchConcurrency}.`, '');
    lines.push(`Ceilings, same run and settings: GET + JSON.parse ${tp(ceilings.http, 'users')} (ratio ${n(best.usersPerSecond / ceilings.http.perSecond, 2)}); bare producer ${tp(ceilings.produce, 'msgs')} (ratio ${n(best.usersPerSecond / ceilings.produce.perSecond, 2)}). ${report.ingest.serverNote}`, '');
    if (trials.length > 1) {
      lines.push('| results | concurrency | compression | linger ms | sink batch | users/s | CPU s/100k |', '| --- | --- | --- | --- | --- | --- | --- |');
      for (const t of trials) lines.push(`| ${t.results} | ${t.concurrency} | ${t.producer.compression} | ${t.producer.linger} | ${t.producer.batchMaxRows} × ${t.producer.batchConcurrency} | ${n(t.usersPerSecond)} | ${n(t.cpuSecondsPer100k, 1)} |`);
      lines.push('');
    }
  }
  if (report.formats) {
    const f = report.formats;
    lines.push('## Formats: the process pipeline from JSON and from Avro', '');
    lines.push(`The same ${n(f.users)} users in a JSON topic and in an Avro topic (Confluent wire format, the randomuser-user schema from the schema registry), each read by the process pipeline (USERS_FORMAT); rounds alternate which runs first.`, '');
    lines.push('| format | bytes per message | rows/s (median) | rounds | CPU s/100k |', '| --- | --- | --- | --- | --- |');
    for (const [name, run] of [['JSON', f.json], ['Avro', f.avro]] as const) lines.push(`| ${name} | ${n(run.bytesPerMessage)} | ${n(run.rowsPerSecond)} | ${run.rounds.map((r) => n(r)).join(', ')} | ${n(run.cpuSecondsPer100k, 1)} |`);
    lines.push('', `Avro ÷ JSON: bytes ${n(f.avro.bytesPerMessage / f.json.bytesPerMessage, 2)}, rows/s ${n(f.avro.rowsPerSecond / f.json.rowsPerSecond, 2)}.`, '');
  }
  if (report.process) {
    const p = report.process;
    lines.push('## Process: Kafka → validate → mapping → Cassandra', '');
    lines.push(
      `Median of ${p.rounds.length} rounds: **${n(p.rowsPerSecond)} rows/s** = **${n(p.ratioToCassandra, 2)} × the raw Cassandra write ceiling** (${n(p.cassandraCeiling)} rows/s, ${p.best.method} with ${p.best.concurrency} in flight) and ${n(p.ratioToConsume, 3)} × the raw consume ceiling (${n(p.consumeCeiling)} msgs/s). Each round runs the ceilings and the pipeline one after the other on the same ${n(p.rounds[0].process.users)} users, in alternating order.`,
      '',
    );
    lines.push(
      '| round | pipeline rows/s | raw Cassandra rows/s | raw consume msgs/s | ÷ Cassandra | ÷ consume | batches × mean | ms/batch: read, process, write, commit |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const r of p.rounds) {
      const s = r.process.stepMsPerBatch;
      lines.push(
        `| ${r.round} | ${n(r.process.rowsPerSecond)} | ${n(r.cassandra.perSecond)} | ${n(r.consume.perSecond)} | ${n(r.ratioToCassandra, 2)} | ${n(r.ratioToConsume, 3)} | ${r.process.batches} × ${n(r.process.meanBatch)} | ${n(s.getBatch)}, ${n(s.process)}, ${n(s.write)}, ${n(s.commit)} |`,
      );
    }
    lines.push('');
    lines.push('CPU per record in each pass (µs; the Node process measuring, and the local servers when they are this tool\'s processes), and how busy the whole 2-core machine was:', '');
    lines.push('| round | pass | Node process | Cassandra | Kafka | machine busy |', '| --- | --- | --- | --- | --- | --- |');
    for (const r of p.rounds) {
      const row = (pass: string, node: number, cpu: ServerCpu | undefined) =>
        `| ${r.round} | ${pass} | ${n(node, 1)} | ${n(cpu?.cassandraUsPerRecord ?? NaN, 1)} | ${n(cpu?.kafkaUsPerRecord ?? NaN, 1)} | ${cpu?.machineBusyPercent === undefined ? '–' : `${cpu.machineBusyPercent} %`} |`;
      lines.push(row('pipeline', r.process.cpuUsPerRecord, r.servers.pipeline), row('raw Cassandra writes', r.cassandra.cpuUsPerRecord, r.servers.cassandraCeiling), row('raw consume', r.consume.cpuUsPerRecord, r.servers.consumeCeiling));
    }
    lines.push('');
    lines.push(`Pipeline process: ${n(p.cpuSecondsPer100k, 1)} CPU s per 100k records (median), peak RSS ${n(p.peakRss)} MiB, peak heap used ${n(p.peakHeapUsed)} MiB (sampled every 200 ms).`, '');
    lines.push(`Raw Cassandra sweep (rows/s): ${p.sweep.map((t) => `${t.method} × ${t.concurrency}: ${n(t.perSecond)}`).join('; ')}.`, '');
  }
  if (report.window) lines.push(...windowSection(report.window));
  if (report.scale) lines.push(...scaleSection(report.scale));
  if (report.restore) lines.push(...restoreSection(report.restore));
  if (report.latency) {
    lines.push('## End-to-end latency (open loop), ms', '');
    lines.push(report.latency.method, '');
    lines.push('| offered | achieved | rows | written p50 | p95 | p99 | max | committed p50 | p99 | mean batch | CPU s/100k |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    lines.push(...latencyRows(report.latency.phases), '');
    lines.push('Batch durations in each phase, ms (p50 / p99 / max):', '', '| offered | read | operators | write | commit | whole batch |', '| --- | --- | --- | --- | --- | --- |');
    const d = (x: Distribution) => `${n(x.p50, 1)} / ${n(x.p99, 1)} / ${n(x.max, 1)}`;
    for (const p of report.latency.phases) lines.push(`| ${n(p.rate)}/s | ${d(p.batchStepsMs.getBatch)} | ${d(p.batchStepsMs.process)} | ${d(p.batchStepsMs.write)} | ${d(p.batchStepsMs.commit)} | ${d(p.batchStepsMs.total)} |`);
    lines.push('');
    const backlog = report.latency.phases.filter((p) => p.backlogAfterDrain > 0);
    if (backlog.length > 0) lines.push(`Not caught up after the drain wait: ${backlog.map((p) => `${n(p.rate)}/s: ${n(p.backlogAfterDrain)} records`).join('; ')}.`, '');
  }
  if (report.steady) {
    const s = report.steady;
    lines.push(`## Steady run: ${n(s.rate)} records/s for ${n(s.seconds)} s (after ${n(s.warmupSeconds)} s at that rate to settle)`, '');
    lines.push(
      `RSS ${n(s.rss.start)} MiB at the start → ${n(s.rss.end)} MiB at the end (${s.rss.changePercent > 0 ? '+' : ''}${n(s.rss.changePercent, 1)} %); mean of the first tenth ${n(s.rss.firstTenthMean)} MiB → of the last tenth ${n(s.rss.lastTenthMean)} MiB (${s.rss.tenthsChangePercent > 0 ? '+' : ''}${n(s.rss.tenthsChangePercent, 1)} %); min ${n(s.rss.min)}, max ${n(s.rss.max)}; trend ${s.rss.trendChangePercent > 0 ? '+' : ''}${n(s.rss.trendChangePercent, 1)} % over the run (${n(s.rss.slopeMiBPerMinute, 2)} MiB/min); heap used ${n(s.heapUsed.start)} → ${n(s.heapUsed.end)} MiB (min ${n(s.heapUsed.min)}, max ${n(s.heapUsed.max)}); peak RSS ${n(s.peakRss)} MiB. ${n(s.cpuSecondsPer100k, 1)} CPU s per 100k records at this rate.`,
      '',
    );
    lines.push('| offered | achieved | rows | written p50 | p95 | p99 | max | committed p50 | p99 | mean batch | CPU s/100k |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    lines.push(...latencyRows([s]), '');
  }
  if (report.notes.length > 0) lines.push('## Notes', '', ...report.notes.map((note) => `- ${note}`), '');
  return lines.join('\n');
}

export function writeReport(report: Report, dir: string): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const json = path.join(dir, `${report.name}.json`);
  const md = path.join(dir, `${report.name}.md`);
  writeFileSync(json, `${JSON.stringify(report, (_key, value) => (typeof value === 'number' ? round(value, 3) : value), 2)}\n`);
  writeFileSync(md, markdown(report));
  copyFileSync(md, path.join(dir, 'latest.md'));
  return { json, md };
}
