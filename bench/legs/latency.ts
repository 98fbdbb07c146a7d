/** The latency leg: end-to-end latency per record at a few fixed rates, open loop. */
import { fileProcessSettings } from '../topology.ts';
import { fmt, log, type Context } from './context.ts';
import { openLoop, phaseFigures } from './open-loop.ts';

export async function latencyLeg(ctx: Context): Promise<void> {
  const phases = ctx.settings.latencyRates.map((rate) => ({ name: `${rate}/s`, rate, seconds: ctx.settings.latencySeconds }));
  log(`latency: open loop at ${phases.map((p) => `${fmt(p.rate)}/s`).join(', ')}, ${ctx.settings.latencySeconds} s each`);
  const run = await openLoop(ctx, 'latency', phases, 1000);
  ctx.report.latency = {
    phases: phases.map((_, i) => phaseFigures(run, i)),
    trigger: fileProcessSettings(),
    method:
      '"written" is Cassandra\'s WRITETIME of the row (stamped by cassandra-driver when the sink sends the INSERT) minus the time the generator was due to produce the record; "committed" is when the record\'s batch was acknowledged by Cassandra and its offsets committed (the progress event), minus the same due time. The generator produces on a fixed schedule whatever the pipeline does (open loop), with the ingest pipeline\'s producer settings; the pipeline is config/user-pipeline.yaml\'s process pipeline, its trigger as the file sets it, plus one bigint column for the due time.',
  };
  for (const p of ctx.report.latency.phases) log(`latency ${fmt(p.rate)}/s: written p50 ${p.written.p50.toFixed(1)} p95 ${p.written.p95.toFixed(1)} p99 ${p.written.p99.toFixed(1)} ms; committed p99 ${p.committed.p99.toFixed(1)} ms`);
}
