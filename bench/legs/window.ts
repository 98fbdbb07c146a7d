/**
 * The window leg: the topology's nat_minute pipeline (Kafka topic → validate → 1-minute window per
 * nationality and gender → Cassandra) over a topic of the ingest leg, in one process, three ways:
 *
 * - `durable`: as the file has it: its window state durable (the file's `state`: a compacted changelog
 *   topic written in every batch's checkpoint), read through the repartition topic (two stages,
 *   `nat_minute.repartition` and `nat_minute`, topology/stages.ts);
 * - `memory`: the same with the pipeline's `state` removed;
 * - `noRepartition`: durable, with `repartition: { enabled: false }` (one stage).
 *
 * Each round runs the three in alternating order: durable ÷ memory is what durable state costs per
 * record, durable ÷ noRepartition what the repartition hop costs a single process.
 */
import { topicOffsets } from '../kafka.ts';
import type { WindowFigures, WindowPass, WindowRound, WindowRun } from '../report.ts';
import { median, round } from '../stats.ts';
import { fileWindowSettings, WINDOW_PIPELINE, windowPipeline } from '../topology.ts';
import { baseEnv, fmt, log, type Context } from './context.ts';
import { alternating, pipelineRun, round3 } from './pipeline-run.ts';

/**
 * The file's trigger interval (1 s) would hold the pipeline to one batch of at most
 * `maxRecordsPerTrigger` (10,000) a second; the leg measures it flat out, as the process pipeline runs.
 */
export const TRIGGER_INTERVAL = '0';

const PASSES: Record<WindowPass, { durable: boolean; repartition: boolean }> = {
  durable: { durable: true, repartition: true },
  memory: { durable: false, repartition: true },
  noRepartition: { durable: true, repartition: false },
};

/** The messages in the run's topics: its changelogs, its repartition topics. */
async function messages(ctx: Context, topics: readonly string[]): Promise<number> {
  let total = 0;
  for (const topic of topics) total += await topicOffsets(ctx.addresses.kafkaBrokers, topic);
  return total;
}

/** One run of the window pipeline over the whole topic, in a consumer group (so with state) and worker of its own. */
async function windowRun(ctx: Context, topic: string, keyspace: string, pass: WindowPass, r: number): Promise<WindowRun> {
  const { durable, repartition } = PASSES[pass];
  const { result, figures, servers } = await pipelineRun(ctx, {
    topology: windowPipeline(PASSES[pass]),
    pipeline: WINDOW_PIPELINE,
    env: { ...baseEnv(ctx), USERS_TOPIC: topic, CASSANDRA_KEYSPACE: keyspace, CONSUMER_GROUP: `bench-${ctx.run}-window-${pass}-${r}`, WINDOW_TRIGGER_INTERVAL: TRIGGER_INTERVAL },
    records: ctx.settings.windowUsers,
  });
  if (durable !== result.changelogTopics.length > 0) throw new Error(`the ${pass} window run has ${result.changelogTopics.length} changelog topics`);
  if (repartition !== (result.stages.length === 2 && result.internalTopics.length === 1)) {
    throw new Error(`the ${pass} window run has stages ${result.stages.map((s) => s.name).join(', ')} and repartition topics ${result.internalTopics.join(', ') || 'none'}`);
  }
  const last = figures.stages.at(-1)!;
  return {
    pass,
    state: durable ? 'durable' : 'memory',
    repartition,
    records: result.inputRows,
    recordsPerSecond: round(result.inputRows / figures.seconds),
    ...figures,
    stateChanges: result.stateChanges,
    stateChangesPerBatch: last.stateChangesPerBatch,
    changelogMessages: await messages(ctx, result.changelogTopics),
    repartitionMessages: await messages(ctx, result.internalTopics),
    startupRestoreMs: result.restores.reduce((sum, restore) => sum + restore.ms, 0),
    servers,
  };
}

function describe(run: WindowRun): string {
  const batches = run.stages.map((s) => `${s.stage} ${s.batches} batches`).join(', ');
  return `${fmt(run.recordsPerSecond)} records/s, ${run.cpuUsPerRecord} CPU µs/record, ${batches}, ${run.stateChangesPerBatch} state changes/batch, ${fmt(run.changelogMessages)} changelog messages, ${fmt(run.repartitionMessages)} repartition messages`;
}

export async function windowLeg(ctx: Context, topic: string): Promise<void> {
  const keyspace = ctx.cleanup.keyspace(`bench_${ctx.run}_window`);
  log(`window: ${WINDOW_PIPELINE} over ${fmt(ctx.settings.windowUsers)} users: durable (kafka) and in memory, through the repartition topic; durable without it; ${ctx.settings.windowRounds} rounds`);
  const rounds: WindowRound[] = [];
  for (let r = 1; r <= ctx.settings.windowRounds; r++) {
    const runs = new Map<WindowPass, WindowRun>();
    const pass = (p: WindowPass) => async () => void runs.set(p, await windowRun(ctx, topic, keyspace, p, r));
    for (const step of alternating(r, pass('durable'), pass('memory'), pass('noRepartition'))) await step();
    const durable = runs.get('durable')!;
    const memory = runs.get('memory')!;
    const noRepartition = runs.get('noRepartition')!;
    rounds.push({
      round: r,
      durable,
      memory,
      noRepartition,
      ...passRatios(durable, memory, noRepartition),
    });
    const done = rounds.at(-1)!;
    log(`window round ${r}: durable ${describe(durable)}; in memory ${describe(memory)}; durable without repartition ${describe(noRepartition)}`);
    log(`window round ${r}: durable ÷ memory ${done.ratio} (CPU ${done.cpuRatio}); with ÷ without repartition ${done.repartitionRatio} (CPU ${done.repartitionCpuRatio})`);
  }
  const summary = (p: WindowPass): WindowFigures['durable'] => {
    const runs = rounds.map((r) => r[p]);
    return {
      recordsPerSecond: median(runs.map((run) => run.recordsPerSecond)),
      cpuUsPerRecord: round(median(runs.map((run) => run.cpuUsPerRecord)), 1),
      stateChangesPerBatch: median(runs.map((run) => run.stateChangesPerBatch)),
      changelogMessages: median(runs.map((run) => run.changelogMessages)),
      peakRss: Math.max(...runs.map((run) => run.peakRss)),
    };
  };
  const durable = summary('durable');
  const memory = summary('memory');
  const noRepartition = summary('noRepartition');
  ctx.report.window = {
    records: ctx.settings.windowUsers,
    settings: { ...fileWindowSettings(), benchTriggerInterval: TRIGGER_INTERVAL },
    rounds,
    durable,
    memory,
    noRepartition,
    ...passRatios(durable, memory, noRepartition),
  };
  const w = ctx.report.window;
  log(`window: median durable ${fmt(durable.recordsPerSecond)} vs in memory ${fmt(memory.recordsPerSecond)} records/s (${w.ratio}); CPU ${durable.cpuUsPerRecord} vs ${memory.cpuUsPerRecord} µs/record`);
  log(`window: median with repartition ${fmt(durable.recordsPerSecond)} vs without ${fmt(noRepartition.recordsPerSecond)} records/s (${w.repartitionRatio}); CPU ${durable.cpuUsPerRecord} vs ${noRepartition.cpuUsPerRecord} µs/record (${w.repartitionCpuRatio})`);
}

type PassFigures = { recordsPerSecond: number; cpuUsPerRecord: number };

/** Durable ÷ memory and with ÷ without the repartition, in records/s and CPU per record. */
function passRatios(durable: PassFigures, memory: PassFigures, noRepartition: PassFigures) {
  return {
    ratio: round3(durable.recordsPerSecond / memory.recordsPerSecond),
    cpuRatio: round3(durable.cpuUsPerRecord / memory.cpuUsPerRecord),
    repartitionRatio: round3(durable.recordsPerSecond / noRepartition.recordsPerSecond),
    repartitionCpuRatio: round3(durable.cpuUsPerRecord / noRepartition.cpuUsPerRecord),
  };
}
