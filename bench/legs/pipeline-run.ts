/**
 * What the process, window and scale legs share: one flat-out run of a topology pipeline over the
 * prepared topic, in a worker process and a consumer group of its own, with its figures and the local
 * servers' CPU over it; the order of a round's passes; the servers' CPU per record of a pass.
 */
import os from 'node:os';
import { startWorker } from '../child.ts';
import { CpuMeter } from '../cpu.ts';
import type { PipelineRunFigures, ServerCpu, StageRunFigures } from '../report.ts';
import { distribution, mib, round } from '../stats.ts';
import type { PipelineResult, StageResult } from '../worker.ts';
import { cpuPer100k, type Context } from './context.ts';

export interface PipelineRun {
  /** Topology YAML text, and the pipeline of it to run. */
  topology: string;
  pipeline: string;
  env: Record<string, string>;
  /** Until that many records were read. */
  records: number;
  cpuProfileDir?: string;
}

/**
 * Run the pipeline until `records` source records went through all of it (its last stage, when it runs
 * as stages); its changelog topics (a kafka `state` backend) and repartition topics are deleted with the
 * run's other topics. The time runs from its first batch's trigger to its last stage's last commit, less
 * a state restore of its first stage within it (a start-up cost, reported by the caller on its own).
 */
export async function pipelineRun(ctx: Context, run: PipelineRun): Promise<{ result: PipelineResult; figures: PipelineRunFigures; servers: ServerCpu }> {
  const meter = new CpuMeter(ctx.servicePids);
  const result = await startWorker<PipelineResult>(
    { kind: 'pipeline', topology: run.topology, env: run.env, pipeline: run.pipeline, until: run.records, sampleMs: 200, logDir: ctx.logDir, batchEvents: false },
    {
      cpuProfileDir: run.cpuProfileDir,
      nodeOptions: ctx.options.nodeOptions,
      onEvent: (e) => (e.kind === 'changelogs' || e.kind === 'internal-topics') && ctx.cleanup.topics.push(...(e.topics as string[])),
    },
  ).result;
  const servers = serverCpu(meter, result.inputRows);
  const restoring = restoreMsWithin(result);
  const seconds = (result.lastCommitAt! - result.firstBatchAt! - restoring) / 1000;
  const cpu = result.cpu.user + result.cpu.system;
  const stages = result.stages.map(stageFigures);
  const last = stages.at(-1)!;
  const figures: PipelineRunFigures = {
    rowsWritten: result.outputRows,
    deadLetters: result.deadLetters,
    seconds: round(seconds, 2),
    groupJoinSeconds: round((result.firstBatchAt! - result.startedAt) / 1000, 2),
    batches: last.batches,
    meanBatch: last.meanBatch,
    batchMs: distribution(result.batchDurations),
    writeMs: distribution(result.writeDurations),
    stepMsPerBatch: last.stepMsPerBatch,
    stages,
    cpuSecondsPer100k: round(cpuPer100k(cpu, result.inputRows), 2),
    cpuUsPerRecord: round((cpu * 1e6) / result.inputRows, 1),
    peakRss: mib(result.memory.peakRss),
    peakHeapUsed: mib(result.memory.peakHeapUsed),
    loadAverage: round(os.loadavg()[0], 2),
  };
  return { result, figures, servers };
}

/** A stage's batches: how many, how large, ms per step, state changes per batch. */
export function stageFigures(stage: StageResult): StageRunFigures {
  const perBatch = (ms: number) => round(ms / stage.batches, 1);
  return {
    stage: stage.name,
    batches: stage.batches,
    meanBatch: round(stage.inputRows / stage.batches),
    stepMsPerBatch: { getBatch: perBatch(stage.stepTotals.getBatch), process: perBatch(stage.stepTotals.process), write: perBatch(stage.stepTotals.write), commit: perBatch(stage.stepTotals.commit) },
    stateChangesPerBatch: round(stage.stateChanges / stage.batches, 1),
    replaysDropped: stage.replaysDropped,
  };
}

/**
 * ms of the first stage's state restores that ended after the first batch had started (so inside the
 * timing): such a restore holds the reading of the source back. A later stage's restore does not: the
 * stages before it go on meanwhile, and it catches up with what they wrote, so it is left in the time.
 */
function restoreMsWithin(result: PipelineResult): number {
  const first = result.stages[0]?.name;
  return result.restores.filter((r) => r.stage === first && result.firstBatchAt !== undefined && r.at > result.firstBatchAt).reduce((sum, r) => sum + r.ms, 0);
}

/**
 * A round's passes in alternating order: as given in odd rounds, reversed in even ones (ABBA; ABC CBA),
 * so that a load that drifts weighs on every pass alike.
 */
export function alternating<T>(round: number, ...passes: T[]): T[] {
  return round % 2 === 1 ? passes : [...passes].reverse();
}

export const round3 = (value: number): number => round(value, 3);

/** The servers' CPU µs per record over a pass, and how busy the whole machine was. */
export function serverCpu(meter: CpuMeter, records: number): ServerCpu {
  const { seconds, machineBusy } = meter.read();
  return {
    ...Object.fromEntries(Object.entries(seconds).map(([name, s]) => [`${name}UsPerRecord`, round((s * 1e6) / records, 1)])),
    machineBusyPercent: machineBusy === undefined ? undefined : round(machineBusy * 100),
  };
}
