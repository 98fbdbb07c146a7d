/**
 * What the latency and steady legs share: phases of open-loop load produced here against the process
 * pipeline in a worker (with the produced-at column), and the figures of one phase.
 */
import { startWorker } from '../child.ts';
import { createTopic } from '../kafka.ts';
import { committedLatencies, phaseLatencies, writtenLatencies } from '../latency.ts';
import { LoadGenerator, type Phase, type PhaseRecord } from '../load.ts';
import type { LatencyPhase } from '../report.ts';
import { distribution, round, sleep } from '../stats.ts';
import { fileIngestSettings, withProducedAtColumn } from '../topology.ts';
import type { BatchEvent, Mark, PipelineResult } from '../worker.ts';
import { baseEnv, cassandraClient, cpuPer100k, fmt, log, type Context } from './context.ts';

export interface OpenLoopRun {
  phases: PhaseRecord[];
  latencies: ReturnType<typeof phaseLatencies>;
  result: PipelineResult;
  batches: BatchEvent[];
  backlogs: number[];
}

/** Phases of open-loop load against the process pipeline (with the produced-at column), then the analysis. */
export async function openLoop(ctx: Context, name: string, phases: Phase[], sampleMs: number, warmup?: Phase): Promise<OpenLoopRun> {
  const { addresses } = ctx;
  const topic = ctx.cleanup.topic(`bench_${ctx.run}_${name}`);
  const keyspace = ctx.cleanup.keyspace(`bench_${ctx.run}_${name}`);
  await createTopic(addresses.kafkaBrokers, topic, 3);
  // The ingest pipeline's producer settings: what the records went through before this pipeline.
  const { compression, linger } = fileIngestSettings();
  const generator = new LoadGenerator(addresses.kafkaBrokers, topic, { compression, linger });
  await generator.start();

  const batches: BatchEvent[] = [];
  let inputRows = 0;
  let started!: () => void;
  const startedP = new Promise<void>((resolve) => (started = resolve));
  const worker = startWorker<PipelineResult>(
    {
      kind: 'pipeline',
      topology: withProducedAtColumn(),
      env: { ...baseEnv(ctx), USERS_TOPIC: topic, CASSANDRA_KEYSPACE: keyspace, CONSUMER_GROUP: `bench-${ctx.run}-${name}` },
      pipeline: 'process',
      until: 'stop',
      sampleMs,
      logDir: ctx.logDir,
      batchEvents: true,
    },
    {
      nodeOptions: ctx.options.nodeOptions,
      onEvent: (event) => {
        if (event.kind === 'started') started();
        if (event.kind === 'batch') {
          batches.push(event as BatchEvent);
          inputRows += (event as BatchEvent).input;
        }
      },
    },
  );
  ctx.cleanup.workers.push(worker);
  await Promise.race([startedP, worker.result]);

  const drained = async (timeoutMs: number): Promise<number> => {
    await generator.flushed();
    const deadline = Date.now() + timeoutMs;
    while (inputRows < generator.produced && Date.now() < deadline) await sleep(50);
    return generator.produced - inputRows;
  };
  // Warm-up: joins the group, prepares the INSERT, warms the JIT; not part of any phase.
  await generator.burst(1000);
  const warmupLeft = await drained(60_000);
  if (warmupLeft > 0) throw new Error(`${name}: the pipeline read only ${generator.produced - warmupLeft} of 1,000 warm-up records within 60 s`);
  // A settling period at the measured rate: heap and JIT reach their working size before anything is measured.
  if (warmup) await generator.run(warmup);
  await sleep(1000);

  const records: PhaseRecord[] = [];
  const backlogs: number[] = [];
  for (const phase of phases) {
    worker.send({ type: 'mark', name: `${phase.name}:start` });
    const record = await generator.run(phase);
    records.push(record);
    const backlog = await drained(Math.max(30_000, phase.seconds * 1000));
    backlogs.push(backlog);
    worker.send({ type: 'mark', name: `${phase.name}:end` });
    log(`${name} ${phase.name}: ${fmt(record.produced)} records at ${fmt(record.achievedRate)}/s${backlog > 0 ? `; ${fmt(backlog)} not read after the drain wait` : ''}`);
    await sleep(1000);
  }
  worker.stop();
  const result = await worker.result;
  await generator.close();
  if (generator.deliveries.failed > 0) log(`${name}: ${generator.deliveries.failed} messages were not delivered by the generator's producer`);

  const client = cassandraClient(addresses);
  await client.connect();
  try {
    const written = await writtenLatencies(client, `${keyspace}.created_users`, records);
    const committed = committedLatencies(batches, generator.deliveries, records);
    return { phases: records, latencies: phaseLatencies(written, committed), result, batches, backlogs };
  } finally {
    await client.shutdown();
  }
}

export function phaseFigures(run: OpenLoopRun, i: number): LatencyPhase {
  const phase = run.phases[i];
  const marks = (suffix: string): Mark | undefined => run.result.marks.find((m) => m.name === `${phase.name}:${suffix}`);
  const start = marks('start');
  const end = marks('end');
  const inPhase = run.batches.filter((b) => start && end && b.committedAtUs / 1000 >= start.at && b.committedAtUs / 1000 <= end.at);
  const records = inPhase.reduce((sum, b) => sum + b.input, 0);
  return {
    rate: phase.rate,
    seconds: phase.seconds,
    produced: phase.produced,
    achievedRate: phase.achievedRate,
    generatorLatenessMs: phase.lateness,
    backlogAfterDrain: run.backlogs[i],
    cpuSecondsPer100k: start && end ? round(cpuPer100k(end.cpu - start.cpu, end.inputRows - start.inputRows), 2) : NaN,
    batches: inPhase.length,
    meanBatch: inPhase.length > 0 ? round(records / inPhase.length, 1) : NaN,
    batchStepsMs: {
      getBatch: distribution(inPhase.map((b) => b.durationMs.getBatch)),
      process: distribution(inPhase.map((b) => b.durationMs.process)),
      write: distribution(inPhase.map((b) => b.durationMs.write)),
      commit: distribution(inPhase.map((b) => b.durationMs.commit)),
      total: distribution(inPhase.map((b) => b.durationMs.triggerExecution)),
    },
    ...run.latencies[i],
  };
}
