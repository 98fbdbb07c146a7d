/** The steady leg: RSS and heap of the process pipeline over a long run at a fixed rate, open loop. */
import type { SteadyLeg } from '../report.ts';
import { linearFit, mib, round } from '../stats.ts';
import { fmt, log, type Context } from './context.ts';
import { openLoop, phaseFigures } from './open-loop.ts';

export async function steadyLeg(ctx: Context): Promise<void> {
  const { steadyRate, steadySeconds, steadySampleMs } = ctx.settings;
  log(`steady: ${fmt(steadyRate)} records/s for ${steadySeconds} s, after ${ctx.settings.steadyWarmupSeconds} s of warm-up at that rate`);
  const run = await openLoop(ctx, 'steady', [{ name: 'steady', rate: steadyRate, seconds: steadySeconds }], steadySampleMs, { name: 'warm-up', rate: steadyRate, seconds: ctx.settings.steadyWarmupSeconds });
  const figures = phaseFigures(run, 0);
  const start = run.result.marks.find((m) => m.name === 'steady:start')!;
  const end = run.result.marks.find((m) => m.name === 'steady:end')!;
  const t0 = (start.at - run.result.startedAt) / 1000;
  const t1 = (end.at - run.result.startedAt) / 1000;
  const inPhase = run.result.memory.samples.filter((s) => s.t >= t0 && s.t <= t1);
  const rss = inPhase.map((s) => s.rss);
  const heap = inPhase.map((s) => s.heapUsed);
  // One sample swings by tens of MiB (a GC, an allocator arena): start and end are also compared as
  // the means of the first and last tenth of the run.
  const tenth = Math.max(3, Math.ceil(rss.length / 10));
  // The trend is what tells growth from those swings: the fitted line's change over the run.
  const trend = linearFit(inPhase.map((s) => [s.t, s.rss]));
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const firstTenth = mean(rss.slice(0, tenth));
  const lastTenth = mean(rss.slice(-tenth));
  const steady: SteadyLeg = {
    ...figures,
    warmupSeconds: ctx.settings.steadyWarmupSeconds,
    rss: {
      start: mib(start.rss),
      end: mib(end.rss),
      firstTenthMean: mib(firstTenth),
      lastTenthMean: mib(lastTenth),
      min: mib(Math.min(...rss)),
      max: mib(Math.max(...rss)),
      changePercent: round(((end.rss - start.rss) / start.rss) * 100, 1),
      tenthsChangePercent: round(((lastTenth - firstTenth) / firstTenth) * 100, 1),
      trendChangePercent: round(((trend.at(t1) - trend.at(t0)) / trend.at(t0)) * 100, 1),
      slopeMiBPerMinute: round((trend.slope * 60) / 1024 / 1024, 2),
    },
    heapUsed: { start: mib(start.heapUsed), end: mib(end.heapUsed), min: mib(Math.min(...heap)), max: mib(Math.max(...heap)) },
    peakRss: mib(run.result.memory.peakRss),
    samples: run.result.memory.samples.map((s) => [round(s.t, 1), mib(s.rss), mib(s.heapUsed)]),
  };
  ctx.report.steady = steady;
  log(`steady: RSS ${steady.rss.start} → ${steady.rss.end} MiB (${steady.rss.changePercent} %; means of the first and last tenth ${steady.rss.tenthsChangePercent} %; trend ${steady.rss.trendChangePercent} %), heap ${steady.heapUsed.start} → ${steady.heapUsed.end} MiB; written p99 ${steady.written.p99.toFixed(1)} ms`);
}
