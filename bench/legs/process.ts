/**
 * The process leg: the topology's process pipeline (Kafka topic → Cassandra) in rows/s, in rounds beside
 * the raw consume and raw Cassandra write ceilings measured on the same data, with CPU and memory.
 */
import path from 'node:path';
import { startWorker } from '../child.ts';
import type { ProcessCeilingsEvent } from '../ceilings.ts';
import { CpuMeter } from '../cpu.ts';
import type { ProcessLeg, ProcessRound, ServerCpu } from '../report.ts';
import { median, round } from '../stats.ts';
import { fileProcessSettings, processSinkColumns, userPipeline } from '../topology.ts';
import { baseEnv, fmt, log, profileDir, type Context } from './context.ts';
import { alternating, pipelineRun, round3, serverCpu } from './pipeline-run.ts';

/** One run of the process pipeline over the whole topic, in a consumer group and worker of its own. */
async function processRun(ctx: Context, topic: string, keyspace: string, group: string, cpuProfileDir?: string): Promise<{ leg: ProcessLeg; servers: ServerCpu }> {
  const { result, figures, servers } = await pipelineRun(ctx, {
    topology: userPipeline(),
    pipeline: 'process',
    env: { ...baseEnv(ctx), USERS_TOPIC: topic, CASSANDRA_KEYSPACE: keyspace, CONSUMER_GROUP: group },
    records: ctx.settings.processUsers,
    cpuProfileDir,
  });
  return { leg: { users: result.inputRows, rowsPerSecond: round(result.outputRows / figures.seconds), ...figures }, servers };
}

/** Events of the process-ceilings worker, awaited by kind. */
class Mailbox {
  private readonly events: ProcessCeilingsEvent[] = [];
  private wake: (() => void) | undefined;

  push(event: ProcessCeilingsEvent): void {
    this.events.push(event);
    this.wake?.();
  }

  async take<K extends ProcessCeilingsEvent['kind']>(kind: K, failed: Promise<unknown>): Promise<Extract<ProcessCeilingsEvent, { kind: K }>> {
    for (;;) {
      const i = this.events.findIndex((e) => e.kind === kind);
      if (i >= 0) return this.events.splice(i, 1)[0] as Extract<ProcessCeilingsEvent, { kind: K }>;
      await Promise.race([new Promise<void>((resolve) => (this.wake = resolve)), failed]);
    }
  }
}

/**
 * The process leg: rounds of [raw Cassandra ceiling, raw consume ceiling, process pipeline], the order
 * alternating (ABBA) so that a load that drifts during the run weighs on both sides alike.
 */
export async function processLeg(ctx: Context, topic: string): Promise<void> {
  const { settings, addresses } = ctx;
  log(`process ceilings: raw consume of ${fmt(settings.processUsers)} messages, then the raw Cassandra write sweep on the same rows`);
  const mailbox = new Mailbox();
  const firstConsumeMeter = new CpuMeter(ctx.servicePids);
  const ceilings = startWorker<null>(
    {
      kind: 'process-ceilings',
      brokers: addresses.kafkaBrokers,
      topic,
      records: settings.processUsers,
      consumeBatch: 10_000,
      cassandra: { contactPoints: addresses.cassandraContactPoints, localDc: addresses.cassandraLocalDc, keyspace: ctx.cleanup.keyspace(`bench_${ctx.run}_raw`), columns: processSinkColumns() },
      sweep: settings.cassandraSweep,
    },
    {
      exposeGc: true,
      onEvent: (e) => (e.kind === 'log' ? log(`  ${e.line}`) : mailbox.push(e as ProcessCeilingsEvent)),
    },
  );
  ctx.cleanup.workers.push(ceilings);
  const firstConsume = (await mailbox.take('consume', ceilings.result)).result;
  const firstConsumeCpu = serverCpu(firstConsumeMeter, firstConsume.count);
  const { trials, best } = await mailbox.take('sweep', ceilings.result);
  log(`process ceilings: best raw write setting ${best.method} × ${best.concurrency}`);

  const keyspace = ctx.cleanup.keyspace(`bench_${ctx.run}_process`);
  const rounds: ProcessRound[] = [];
  for (let r = 1; r <= settings.processRounds; r++) {
    let consume = r === 1 ? firstConsume : undefined;
    let cassandraPass: ProcessRound['cassandra'] | undefined;
    let leg: ProcessLeg | undefined;
    const servers: ProcessRound['servers'] = r === 1 ? { consumeCeiling: firstConsumeCpu } : {};
    const ceilingPass = async () => {
      let meter = new CpuMeter(ctx.servicePids);
      ceilings.send({ type: 'write' });
      cassandraPass = (await mailbox.take('write', ceilings.result)).result;
      servers.cassandraCeiling = serverCpu(meter, cassandraPass.count);
      if (!consume) {
        meter = new CpuMeter(ctx.servicePids);
        ceilings.send({ type: 'consume' });
        consume = (await mailbox.take('consume', ceilings.result)).result;
        servers.consumeCeiling = serverCpu(meter, consume.count);
      }
    };
    const pipelinePass = async () => {
      ({ leg, servers: servers.pipeline } = await processRun(ctx, topic, keyspace, `bench-${ctx.run}-process-${r}`));
    };
    for (const step of alternating(r, ceilingPass, pipelinePass)) await step();
    const round: ProcessRound = {
      round: r,
      process: leg!,
      cassandra: cassandraPass!,
      consume: consume!,
      servers,
      ratioToCassandra: round3(leg!.rowsPerSecond / cassandraPass!.perSecond),
      ratioToConsume: round3(leg!.rowsPerSecond / consume!.perSecond),
    };
    rounds.push(round);
    log(
      `process round ${r}: pipeline ${fmt(leg!.rowsPerSecond)} rows/s (${leg!.cpuUsPerRecord} CPU µs/record); raw Cassandra ${fmt(cassandraPass!.perSecond)} rows/s (${cassandraPass!.cpuUsPerRecord} CPU µs/row); raw consume ${fmt(consume!.perSecond)} msgs/s; ratios ${round.ratioToCassandra} / ${round.ratioToConsume}`,
    );
  }
  ceilings.send({ type: 'stop' });
  await ceilings.result;

  const medianOf = (pick: (r: ProcessRound) => number) => median(rounds.map(pick));
  const rowsPerSecond = medianOf((r) => r.process.rowsPerSecond);
  const cassandraCeiling = medianOf((r) => r.cassandra.perSecond);
  const consumeCeiling = medianOf((r) => r.consume.perSecond);
  ctx.report.process = {
    rounds,
    sweep: trials,
    best,
    settings: fileProcessSettings(),
    rowsPerSecond,
    cassandraCeiling,
    consumeCeiling,
    ratioToCassandra: round3(rowsPerSecond / cassandraCeiling),
    ratioToConsume: round3(rowsPerSecond / consumeCeiling),
    cpuSecondsPer100k: medianOf((r) => r.process.cpuSecondsPer100k),
    peakRss: Math.max(...rounds.map((r) => r.process.peakRss)),
    peakHeapUsed: Math.max(...rounds.map((r) => r.process.peakHeapUsed)),
  };
  log(`process: median ${fmt(rowsPerSecond)} rows/s = ${ctx.report.process.ratioToCassandra} × raw Cassandra, ${ctx.report.process.ratioToConsume} × raw consume`);

  const cpuProfileDir = profileDir(ctx, 'process');
  if (cpuProfileDir) {
    const { leg: profiled } = await processRun(ctx, topic, keyspace, `bench-${ctx.run}-process-profiled`, cpuProfileDir);
    ctx.report.notes.push(`A further process run with --cpu-prof (not in the figures above): ${fmt(profiled.rowsPerSecond)} rows/s, ${profiled.cpuUsPerRecord} CPU µs/record; profile in ${path.relative(process.cwd(), cpuProfileDir)}.`);
    log(`process: CPU profile in ${cpuProfileDir}`);
  }
}
