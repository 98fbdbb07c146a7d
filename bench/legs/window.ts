/**
 * The window leg: the topology's nat_minute pipeline (Kafka topic → validate → 1-minute window per
 * nationality and gender → Cassandra) over a topic of the ingest leg, with its window state durable (the
 * file's `state`: a compacted changelog topic written in every batch's checkpoint) and in memory (the
 * pipeline's `state` removed), in rounds of both in alternating order: what durable state costs per record.
 */
import { topicOffsets } from '../kafka.ts';
import type { WindowFigures, WindowRound, WindowRun, WindowState } from '../report.ts';
import { median, round } from '../stats.ts';
import { fileWindowSettings, WINDOW_PIPELINE, windowPipeline } from '../topology.ts';
import { baseEnv, fmt, log, type Context } from './context.ts';
import { alternating, pipelineRun, round3 } from './pipeline-run.ts';

/**
 * The file's trigger interval (1 s) would hold the pipeline to one batch of at most
 * `maxRecordsPerTrigger` (10,000) a second; the leg measures it flat out, as the process pipeline runs.
 */
const TRIGGER_INTERVAL = '0';

/** One run of the window pipeline over the whole topic, in a consumer group (so with state) and worker of its own. */
async function windowRun(ctx: Context, topic: string, keyspace: string, state: WindowState, r: number): Promise<WindowRun> {
  const { result, figures, servers } = await pipelineRun(ctx, {
    topology: windowPipeline(state === 'durable'),
    pipeline: WINDOW_PIPELINE,
    env: { ...baseEnv(ctx), USERS_TOPIC: topic, CASSANDRA_KEYSPACE: keyspace, CONSUMER_GROUP: `bench-${ctx.run}-window-${state}-${r}`, WINDOW_TRIGGER_INTERVAL: TRIGGER_INTERVAL },
    records: ctx.settings.windowUsers,
  });
  if ((state === 'durable') !== (result.changelogTopics.length > 0)) throw new Error(`the ${state} window run has ${result.changelogTopics.length} changelog topics`);
  let changelogMessages = 0;
  for (const changelog of result.changelogTopics) changelogMessages += await topicOffsets(ctx.addresses.kafkaBrokers, changelog);
  return {
    state,
    records: result.inputRows,
    recordsPerSecond: round(result.inputRows / figures.seconds),
    ...figures,
    stateChanges: result.stateChanges,
    stateChangesPerBatch: round(result.stateChanges / result.batches, 1),
    changelogMessages,
    startupRestoreMs: result.restores.reduce((sum, restore) => sum + restore.ms, 0),
    servers,
  };
}

function describe(run: WindowRun): string {
  return `${fmt(run.recordsPerSecond)} records/s, ${run.cpuUsPerRecord} CPU µs/record, ${run.batches} batches, ${run.stateChangesPerBatch} state changes/batch, ${fmt(run.changelogMessages)} changelog messages`;
}

export async function windowLeg(ctx: Context, topic: string): Promise<void> {
  const keyspace = ctx.cleanup.keyspace(`bench_${ctx.run}_window`);
  log(`window: ${WINDOW_PIPELINE} over ${fmt(ctx.settings.windowUsers)} users, state durable (kafka) and in memory, ${ctx.settings.windowRounds} rounds`);
  const rounds: WindowRound[] = [];
  for (let r = 1; r <= ctx.settings.windowRounds; r++) {
    const runs = new Map<WindowState, WindowRun>();
    const pass = (state: WindowState) => async () => void runs.set(state, await windowRun(ctx, topic, keyspace, state, r));
    for (const step of alternating(r, pass('durable'), pass('memory'))) await step();
    const durable = runs.get('durable')!;
    const memory = runs.get('memory')!;
    rounds.push({ round: r, durable, memory, ratio: round3(durable.recordsPerSecond / memory.recordsPerSecond), cpuRatio: round3(durable.cpuUsPerRecord / memory.cpuUsPerRecord) });
    log(`window round ${r}: durable ${describe(durable)}; in memory ${describe(memory)}; durable ÷ memory ${rounds.at(-1)!.ratio}`);
  }
  const summary = (state: WindowState): WindowFigures['durable'] => {
    const runs = rounds.map((r) => r[state]);
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
  ctx.report.window = {
    records: ctx.settings.windowUsers,
    settings: { ...fileWindowSettings(), benchTriggerInterval: TRIGGER_INTERVAL },
    rounds,
    durable,
    memory,
    ratio: round3(durable.recordsPerSecond / memory.recordsPerSecond),
    cpuRatio: round3(durable.cpuUsPerRecord / memory.cpuUsPerRecord),
  };
  log(`window: median durable ${fmt(durable.recordsPerSecond)} vs in memory ${fmt(memory.recordsPerSecond)} records/s (${ctx.report.window.ratio}); CPU ${durable.cpuUsPerRecord} vs ${memory.cpuUsPerRecord} µs/record`);
}
