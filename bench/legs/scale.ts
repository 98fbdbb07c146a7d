/**
 * The scale leg: the windowed pipeline as the file has it (nat_minute: durable state, read through its
 * repartition topic) over a users topic of its own with 6 partitions, run by 1, 2 and 3 worker processes
 * of one consumer group at once, flat out, until every record has gone through the last stage: total
 * records/s, speed-up over one process, CPU per record, and how much of the 2 cores the processes and
 * the whole machine used. Each round runs every process count, in alternating order (1, 2, 3; 3, 2, 1).
 *
 * The workers load and prepare, then start together (the `go` after every `ready`), so that they join
 * the group at about the same moment; a member that joins later moves partitions (and their window
 * state, restored from the changelog) while the run goes on, which is in its time, as it would be in
 * production. The run ends when both stages' consumer groups have committed every message of their
 * topics (the source topic and the repartition topic), checked with the group coordinator.
 *
 * See also: ./window.ts (one process, with and without the repartition), ../ceilings.ts (the raw
 * consume ceiling measured here on the same topic).
 */
import path from 'node:path';
import os from 'node:os';
import type { ConsumeCeilingTask } from '../ceilings.ts';
import { startWorker, type WorkerHandle } from '../child.ts';
import { CpuMeter } from '../cpu.ts';
import { GroupBacklog, topicOffsets } from '../kafka.ts';
import type { Measured } from '../ceilings.ts';
import type { ScaleCount, ScaleRound, ScaleRun, ServerCpu } from '../report.ts';
import { median, mib, round, sleep } from '../stats.ts';
import { fileWindowSettings, WINDOW_PIPELINE, windowPipeline } from '../topology.ts';
import type { PipelineResult, StageSource } from '../worker.ts';
import { baseEnv, fmt, log, type Context } from './context.ts';
import { alternating, round3, serverCpu, stageFigures } from './pipeline-run.ts';
import { TRIGGER_INTERVAL } from './window.ts';

/** A run that has not finished by then has failed. */
const RUN_TIMEOUT_MS = 10 * 60_000;
/** How often the groups' committed offsets are checked once the progress events say every record went through. */
const BACKLOG_POLL_MS = 100;

/** Everything of a run that is not a figure yet. */
interface Started {
  workers: Array<WorkerHandle<PipelineResult>>;
  ready: Promise<void>;
  /** Resolves when the progress events count every record through the last stage (perhaps some twice). */
  counted: Promise<void>;
  sources(): StageSource[];
  /** The CPU meters: from the first progress event of any worker, and from when every worker had one. */
  meter(): CpuMeter | undefined;
  allWorking(): { at: number; meter: CpuMeter } | undefined;
}

/** The mark every worker records when all of them have committed a batch. */
const ALL_WORKING = 'all-working';

function startWorkers(ctx: Context, topic: string, keyspace: string, group: string, processes: number, label: string): Started {
  const completed = new Array<number>(processes).fill(0);
  const topics = new Set<string>();
  let readyCount = 0;
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  let onCounted!: () => void;
  const counted = new Promise<void>((resolve) => (onCounted = resolve));
  let sources: StageSource[] = [];
  let meter: CpuMeter | undefined;
  let allWorking: { at: number; meter: CpuMeter } | undefined;
  const working = new Set<number>();
  const workers = Array.from({ length: processes }, (_, i) =>
    startWorker<PipelineResult>(
      {
        kind: 'pipeline',
        topology: windowPipeline(),
        pipeline: WINDOW_PIPELINE,
        env: { ...baseEnv(ctx), USERS_TOPIC: topic, CASSANDRA_KEYSPACE: keyspace, CONSUMER_GROUP: group, WINDOW_TRIGGER_INTERVAL: TRIGGER_INTERVAL },
        until: 'stop',
        sampleMs: 500,
        // A log of its own: several processes appending to one rotating file would mix their lines.
        logDir: path.join(ctx.logDir, `${label}-${i + 1}`),
        batchEvents: false,
        gate: true,
      },
      {
        nodeOptions: ctx.options.nodeOptions,
        onEvent: (e) => {
          if (e.kind === 'changelogs' || e.kind === 'internal-topics') {
            // Every worker names the same topics: each is deleted once.
            for (const t of e.topics as string[]) {
              if (topics.has(t)) continue;
              topics.add(t);
              ctx.cleanup.topics.push(t);
            }
          } else if (e.kind === 'stage-sources') sources = e.sources as StageSource[];
          else if (e.kind === 'ready' && ++readyCount === processes) onReady();
          else if (e.kind === 'progress') {
            meter ??= new CpuMeter(ctx.servicePids);
            completed[i] = e.completedRows as number;
            working.add(i);
            if (working.size === processes && !allWorking) {
              allWorking = { at: Date.now(), meter: new CpuMeter(ctx.servicePids) };
              for (const worker of workers) worker.send({ type: 'mark', name: ALL_WORKING });
            }
            if (completed.reduce((a, b) => a + b, 0) >= ctx.settings.scaleUsers) onCounted();
          }
        },
      },
    ),
  );
  ctx.cleanup.workers.push(...workers);
  return { workers, ready, counted, sources: () => sources, meter: () => meter, allWorking: () => allWorking };
}

/** Rejects when any worker fails or ends before its time. */
function anyFailure(workers: ReadonlyArray<WorkerHandle<PipelineResult>>): Promise<never> {
  return Promise.race(workers.map((w, i) => w.result.then(() => Promise.reject(new Error(`scale worker ${i + 1} ended before it was stopped`)))));
}

/** Resolves when both stages' groups have committed every message of their topics. */
async function drained(ctx: Context, sources: StageSource[], deadline: number): Promise<void> {
  const groups = sources.flatMap((s) => (s.groupId === undefined ? [] : [{ groupId: s.groupId, topics: s.topics }]));
  if (groups.length !== sources.length) throw new Error(`a stage of ${WINDOW_PIPELINE} has no consumer group: ${JSON.stringify(sources)}`);
  const backlog = await GroupBacklog.open(ctx.addresses.kafkaBrokers, groups);
  try {
    while ((await backlog.messages()) > 0) {
      if (Date.now() > deadline) throw new Error(`scale run: messages still not committed after ${RUN_TIMEOUT_MS / 1000} s`);
      await sleep(BACKLOG_POLL_MS);
    }
  } finally {
    await backlog.close();
  }
}

/** One run: `processes` workers in one new consumer group, until both stages have committed everything. */
async function scaleRun(ctx: Context, topic: string, keyspace: string, processes: number, r: number): Promise<ScaleRun> {
  const records = ctx.settings.scaleUsers;
  const label = `scale-${processes}-${r}`;
  const run = startWorkers(ctx, topic, keyspace, `bench-${ctx.run}-${label}`, processes, label);
  const failed = anyFailure(run.workers);
  failed.catch(() => undefined);
  let servers: ServerCpu;
  let steadyBusy: number | undefined;
  let goAt = NaN;
  try {
    await Promise.race([run.ready, failed]);
    goAt = Date.now();
    for (const worker of run.workers) worker.send({ type: 'go' });
    const deadline = goAt + RUN_TIMEOUT_MS;
    await Promise.race([run.counted, failed, sleep(RUN_TIMEOUT_MS).then(() => Promise.reject(new Error(`scale run: not every record counted after ${RUN_TIMEOUT_MS / 1000} s`)))]);
    await Promise.race([drained(ctx, run.sources(), deadline), failed]);
    servers = serverCpu(run.meter()!, records);
    const allWorking = run.allWorking();
    const busy = allWorking?.meter.read().machineBusy;
    if (busy !== undefined) steadyBusy = round(busy * 100);
  } finally {
    for (const worker of run.workers) worker.stop();
  }
  const results = await Promise.all(run.workers.map((w) => w.result));
  const first = Math.min(...results.map((x) => x.firstBatchAt ?? Infinity));
  const last = Math.max(...results.map((x) => x.lastCommitAt ?? -Infinity));
  const seconds = (last - first) / 1000;
  const cpuSeconds = results.reduce((sum, x) => sum + x.cpu.user + x.cpu.system, 0);
  const restores = results.flatMap((x) => x.restores);
  // Once every worker had committed a batch: the records still to go, in the time left, with the CPU spent on them.
  let steady: ScaleRun['steady'];
  const marks = results.map((x) => x.marks.find((m) => m.name === ALL_WORKING));
  if (marks.every((m) => m !== undefined)) {
    const from = Math.min(...marks.map((m) => m.at));
    const left = records - marks.reduce((sum, m) => sum + m.completedRows, 0);
    const cpu = results.reduce((sum, x, i) => sum + x.cpu.user + x.cpu.system - marks[i].cpu, 0);
    const s = (last - from) / 1000;
    if (left > 0 && s > 0) {
      steady = { records: left, seconds: round(s, 2), recordsPerSecond: round(left / s), cpuUsPerRecord: round((cpu * 1e6) / left, 1), pipelineCores: round(cpu / s, 2), machineBusyPercent: steadyBusy };
    }
  }
  let repartitionMessages = 0;
  for (const t of results[0].internalTopics) repartitionMessages += await topicOffsets(ctx.addresses.kafkaBrokers, t);
  return {
    processes,
    records,
    seconds: round(seconds, 2),
    recordsPerSecond: round(records / seconds),
    cpuUsPerRecord: round((cpuSeconds * 1e6) / records, 1),
    pipelineCores: round(cpuSeconds / seconds, 2),
    groupJoinSeconds: round((first - goAt) / 1000, 2),
    firstBatchSpreadSeconds: round((Math.max(...results.map((x) => x.firstBatchAt ?? first)) - first) / 1000, 2),
    sourceReads: results.reduce((sum, x) => sum + x.inputRows, 0),
    repartitionMessages,
    replaysDropped: results.reduce((sum, x) => sum + (x.stages.at(-1)?.replaysDropped ?? 0), 0),
    restores: restores.length,
    restoreMs: restores.reduce((sum, x) => sum + x.ms, 0),
    restoredKeys: restores.reduce((sum, x) => sum + x.keys, 0),
    workers: results.map((x) => ({
      inputRows: x.inputRows,
      completedRows: x.completedRows,
      cpuSeconds: round(x.cpu.user + x.cpu.system, 2),
      peakRss: mib(x.memory.peakRss),
      firstBatchSeconds: x.firstBatchAt === undefined ? NaN : round((x.firstBatchAt - goAt) / 1000, 2),
      stages: x.stages.map(stageFigures),
    })),
    servers,
    ...(steady ? { steady } : {}),
    loadAverage: round(os.loadavg()[0], 2),
  };
}

function describe(run: ScaleRun): string {
  const steady = run.steady ? `; once every process works: ${fmt(run.steady.recordsPerSecond)} records/s over ${run.steady.seconds} s, ${run.steady.cpuUsPerRecord} CPU µs/record, ${run.steady.pipelineCores} cores, machine ${run.steady.machineBusyPercent ?? '–'} % busy` : '';
  return `${fmt(run.recordsPerSecond)} records/s, ${run.cpuUsPerRecord} CPU µs/record, ${run.pipelineCores} cores in the pipeline, machine ${run.servers.machineBusyPercent ?? '–'} % busy, first batches ${run.firstBatchSpreadSeconds} s apart, ${run.restores} restores, ${fmt(run.repartitionMessages - run.records)} repeats written, ${fmt(run.replaysDropped)} dropped, load ${run.loadAverage}${steady}`;
}

export async function scaleLeg(ctx: Context, topic: string): Promise<void> {
  const { settings } = ctx;
  const cores = os.cpus().length;
  log(`scale: ${WINDOW_PIPELINE} over ${fmt(settings.scaleUsers)} users in ${settings.scalePartitions} partitions, by ${settings.scaleProcesses.join(', ')} processes at once, ${settings.scaleRounds} rounds`);
  const task: ConsumeCeilingTask = { kind: 'consume-ceiling', brokers: ctx.addresses.kafkaBrokers, topic, records: settings.scaleUsers, consumeBatch: 10_000 };
  const consumeCeiling = await startWorker<Measured & { groupJoinMs: number }>(task).result;
  log(`scale: raw consume of the topic, one process: ${fmt(consumeCeiling.perSecond)} msgs/s, ${consumeCeiling.cpuUsPerRecord} CPU µs/message`);
  const keyspace = ctx.cleanup.keyspace(`bench_${ctx.run}_scale`);
  const rounds: ScaleRound[] = [];
  for (let r = 1; r <= settings.scaleRounds; r++) {
    const runs = new Map<number, ScaleRun>();
    const pass = (processes: number) => async () => {
      const run = await scaleRun(ctx, topic, keyspace, processes, r);
      runs.set(processes, run);
      log(`scale round ${r}, ${processes} process${processes === 1 ? '' : 'es'}: ${describe(run)}`);
    };
    for (const step of alternating(r, ...settings.scaleProcesses.map(pass))) await step();
    const one = runs.get(settings.scaleProcesses[0])!;
    const ordered = settings.scaleProcesses.map((n) => runs.get(n)!);
    const steadyRate = (run: ScaleRun) => run.steady?.recordsPerSecond ?? NaN;
    rounds.push({
      round: r,
      runs: ordered,
      speedup: ordered.map((run) => round3(run.recordsPerSecond / one.recordsPerSecond)),
      steadySpeedup: ordered.map((run) => round3(steadyRate(run) / steadyRate(one))),
    });
    log(`scale round ${r}: speed-up over ${settings.scaleProcesses[0]} process: ${rounds.at(-1)!.speedup.join(', ')}; once every process works: ${rounds.at(-1)!.steadySpeedup.join(', ')}`);
  }
  const counts: ScaleCount[] = settings.scaleProcesses.map((processes, i) => {
    const runs = rounds.map((r) => r.runs[i]);
    const recordsPerSecond = round(median(runs.map((run) => run.recordsPerSecond)));
    const cpuUsPerRecord = round(median(runs.map((run) => run.cpuUsPerRecord)), 1);
    return {
      processes,
      recordsPerSecond,
      speedup: round3(median(rounds.map((r) => r.speedup[i]))),
      cpuUsPerRecord,
      pipelineCores: round(median(runs.map((run) => run.pipelineCores)), 2),
      machineBusyPercent: round(median(runs.map((run) => run.servers.machineBusyPercent ?? NaN))),
      // What the cores could carry if the pipeline had them all, at its measured CPU per record.
      pipelineCpuBound: round((cores * 1e6) / cpuUsPerRecord),
      ratioToConsume: round3(recordsPerSecond / consumeCeiling.perSecond),
      steady: {
        recordsPerSecond: round(median(runs.map((run) => run.steady?.recordsPerSecond ?? NaN))),
        speedup: round3(median(rounds.map((r) => r.steadySpeedup[i]))),
        cpuUsPerRecord: round(median(runs.map((run) => run.steady?.cpuUsPerRecord ?? NaN)), 1),
        pipelineCores: round(median(runs.map((run) => run.steady?.pipelineCores ?? NaN)), 2),
        machineBusyPercent: round(median(runs.map((run) => run.steady?.machineBusyPercent ?? NaN))),
      },
    };
  });
  ctx.report.scale = {
    records: settings.scaleUsers,
    partitions: settings.scalePartitions,
    cores,
    settings: { ...fileWindowSettings(), benchTriggerInterval: TRIGGER_INTERVAL },
    consumeCeiling,
    rounds,
    counts,
  };
  for (const c of counts) {
    log(`scale: ${c.processes} process${c.processes === 1 ? '' : 'es'}: median ${fmt(c.recordsPerSecond)} records/s (× ${c.speedup}), ${c.cpuUsPerRecord} CPU µs/record, ${c.pipelineCores} cores in the pipeline, machine ${c.machineBusyPercent} % busy; once every process works ${fmt(c.steady.recordsPerSecond)} records/s (× ${c.steady.speedup}), ${c.steady.pipelineCores} cores, machine ${c.steady.machineBusyPercent} % busy`);
  }
}
