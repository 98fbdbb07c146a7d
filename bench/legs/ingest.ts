/**
 * The ingest leg: the topology's ingest pipeline (bundled RandomUser server → Kafka topic) in users/s,
 * the full run sweeping its settings one knob at a time, beside the GET + parse and bare-producer
 * ceilings; it leaves the users in topics for the process, window and scale legs.
 */
import path from 'node:path';
import { startWorker } from '../child.ts';
import type { IngestCeilings } from '../ceilings.ts';
import { createTopic, deleteTopics } from '../kafka.ts';
import type { IngestTrialResult } from '../report.ts';
import { INGEST_KNOBS, type IngestTrial } from '../settings.ts';
import { round } from '../stats.ts';
import { withIngestProducer } from '../topology.ts';
import type { PipelineResult } from '../worker.ts';
import { baseEnv, cpuPer100k, fmt, log, profileDir, type Context } from './context.ts';

const SEED = 'bench';

function describeTrial(t: IngestTrial): string {
  const p = t.producer;
  return `results=${t.results} concurrency=${t.concurrency} compression=${p.compression} linger=${p.linger}ms batch=${p.batchMaxRows}×${p.batchConcurrency}`;
}

async function ingestTrial(ctx: Context, url: string, trial: IngestTrial, users: number, topic: string, cpuProfileDir?: string): Promise<IngestTrialResult> {
  const pages = Math.ceil(users / trial.results);
  const result = await startWorker<PipelineResult>(
    {
      kind: 'pipeline',
      topology: withIngestProducer(trial.producer),
      env: {
        ...baseEnv(ctx),
        USERS_TOPIC: topic,
        RANDOMUSER_URL: url,
        RANDOMUSER_SEED: SEED,
        RESULTS_PER_REQUEST: String(trial.results),
        POLL_INTERVAL: '0',
        POLL_CONCURRENCY: String(trial.concurrency),
        INGEST_MAX_REQUESTS: String(pages),
      },
      pipeline: 'ingest',
      until: 'finished',
      sampleMs: 500,
      logDir: ctx.logDir,
      batchEvents: false,
    },
    { cpuProfileDir, nodeOptions: ctx.options.nodeOptions },
  ).result;
  const seconds = ((result.lastCommitAt ?? result.endedAt) - result.startedAt) / 1000;
  return {
    ...trial,
    users: result.outputRows,
    seconds: round(seconds, 2),
    usersPerSecond: round(result.outputRows / seconds),
    cpuSecondsPer100k: round(cpuPer100k(result.cpu.user + result.cpu.system, result.outputRows), 2),
  };
}

/** The sweep's trials: one knob at a time away from the best so far. */
function* sweep(start: IngestTrial, best: () => IngestTrial): Generator<IngestTrial> {
  yield start;
  for (const concurrency of INGEST_KNOBS.concurrency) if (concurrency !== best().concurrency) yield { ...best(), concurrency };
  for (const results of INGEST_KNOBS.results) if (results !== best().results) yield { ...best(), results };
  for (const compression of INGEST_KNOBS.compression) if (compression !== best().producer.compression) yield { ...best(), producer: { ...best().producer, compression } };
  for (const linger of INGEST_KNOBS.linger) if (linger !== best().producer.linger) yield { ...best(), producer: { ...best().producer, linger } };
  for (const [batchMaxRows, batchConcurrency] of INGEST_KNOBS.batch) {
    const p = best().producer;
    if (batchMaxRows !== p.batchMaxRows || batchConcurrency !== p.batchConcurrency) yield { ...best(), producer: { ...p, batchMaxRows, batchConcurrency } };
  }
}

/** The topics the ingest leg leaves for the legs after it. */
export interface IngestTopics {
  /** `processUsers` users (3 partitions, as the file creates it). */
  topic: string;
  /** `windowUsers` users: `topic`, or one of their own when they are more. */
  windowTopic: string;
  /** With `scale`: `scaleUsers` users in a topic of `scalePartitions` partitions. */
  scaleTopic?: string;
}

/** Ingest leg; leaves users in topics for the process, window (`window`) and scale (`scale`) legs. */
export async function ingestLeg(ctx: Context, legs: { window: boolean; scale: boolean }): Promise<IngestTopics> {
  const { settings } = ctx;
  const sweepResults = settings.ingestSweep ? [...new Set(INGEST_KNOBS.results)] : [settings.ingestStart.results];
  const warm = sweepResults.map((results) => ({ seed: SEED, results, pages: Math.ceil(Math.max(settings.processUsers, settings.ingestTrialUsers) / results) }));
  const warmUsers = warm.reduce((sum, w) => sum + w.results * w.pages, 0);
  log(`ingest: starting the RandomUser server and rendering ${fmt(warmUsers)} seeded users ahead`);
  const server = startWorker<unknown>({ kind: 'server', cacheBytes: warmUsers * 1500 + 64 * 1024 * 1024, warm }, { onEvent: (e) => e.kind === 'ready' && onReady(e.url as string) });
  ctx.cleanup.workers.push(server);
  let onReady!: (url: string) => void;
  const url = await Promise.race([new Promise<string>((resolve) => (onReady = resolve)), server.result.then(() => Promise.reject(new Error('the RandomUser server ended early')))]);

  const trials: IngestTrialResult[] = [];
  if (settings.ingestSweep) {
    let best: IngestTrialResult | undefined;
    let i = 0;
    for (const trial of sweep(settings.ingestStart, () => best ?? settings.ingestStart)) {
      const topic = ctx.cleanup.topic(`bench_${ctx.run}_ingest_${++i}`);
      const result = await ingestTrial(ctx, url, trial, settings.ingestTrialUsers, topic);
      trials.push(result);
      log(`ingest trial ${i}: ${describeTrial(trial)}: ${fmt(result.usersPerSecond)} users/s`);
      if (!best || result.usersPerSecond > best.usersPerSecond) best = result;
      await deleteTopics(ctx.addresses.kafkaBrokers, [topic]);
    }
  }
  const chosen = trials.length > 0 ? trials.reduce((a, b) => (b.usersPerSecond > a.usersPerSecond ? b : a)) : settings.ingestStart;
  const topic = ctx.cleanup.topic(`bench_${ctx.run}_users`);
  const best = await ingestTrial(ctx, url, { results: chosen.results, concurrency: chosen.concurrency, producer: chosen.producer }, settings.processUsers, topic);
  log(`ingest: ${describeTrial(best)}: ${fmt(best.usersPerSecond)} users/s (${fmt(best.users)} users into ${topic})`);
  let windowTopic = topic;
  if (legs.window && settings.windowUsers > settings.processUsers) {
    // Not a measurement: the pages after the rendered ones are rendered as they are asked for.
    windowTopic = ctx.cleanup.topic(`bench_${ctx.run}_window_users`);
    const filled = await ingestTrial(ctx, url, best, settings.windowUsers, windowTopic);
    log(`ingest: ${fmt(filled.users)} users into ${windowTopic} for the window leg`);
  }
  let scaleTopic: string | undefined;
  if (legs.scale) {
    // Created beforehand with the partitions the most processes need (the file creates 3); not a measurement.
    scaleTopic = ctx.cleanup.topic(`bench_${ctx.run}_scale_users`);
    await createTopic(ctx.addresses.kafkaBrokers, scaleTopic, settings.scalePartitions);
    const filled = await ingestTrial(ctx, url, best, settings.scaleUsers, scaleTopic);
    log(`ingest: ${fmt(filled.users)} users into ${scaleTopic} (${settings.scalePartitions} partitions) for the scale leg`);
  }
  const cpuProfileDir = profileDir(ctx, 'ingest');
  if (cpuProfileDir) {
    const profiledTopic = ctx.cleanup.topic(`bench_${ctx.run}_ingest_profiled`);
    const profiled = await ingestTrial(ctx, url, best, settings.ingestTrialUsers, profiledTopic, cpuProfileDir);
    await deleteTopics(ctx.addresses.kafkaBrokers, [profiledTopic]);
    ctx.report.notes.push(`A further ingest run with --cpu-prof (not in the figures above): ${fmt(profiled.usersPerSecond)} users/s; profile in ${path.relative(process.cwd(), cpuProfileDir)}.`);
  }

  const ceilingTopic = ctx.cleanup.topic(`bench_${ctx.run}_produce_ceiling`);
  await createTopic(ctx.addresses.kafkaBrokers, ceilingTopic, 3);
  const ceilingUsers = Math.min(settings.processUsers, 100_000);
  const ceilings = await startWorker<IngestCeilings>({
    kind: 'ingest-ceilings',
    url,
    seed: SEED,
    results: best.results,
    pages: Math.ceil(ceilingUsers / best.results),
    concurrency: best.concurrency,
    brokers: ctx.addresses.kafkaBrokers,
    topic: ceilingTopic,
    producer: { compression: best.producer.compression, linger: best.producer.linger },
  }).result;
  log(`ingest ceilings: GET + parse ${fmt(ceilings.http.perSecond)} users/s; bare producer ${fmt(ceilings.produce.perSecond)} msgs/s`);
  await deleteTopics(ctx.addresses.kafkaBrokers, [ceilingTopic]);
  server.stop();
  await server.result;

  ctx.report.ingest = {
    trials: trials.length > 0 ? trials : [best],
    best,
    ceilings,
    serverNote:
      'The server runs in a process of its own, with every page the pipeline asks for rendered into its cache beforehand (seeded pages), so the figures measure the pipeline, not the user generator (about 40,000 users/s per core, docs/randomuser-server.md).',
  };
  return { topic, windowTopic, ...(scaleTopic === undefined ? {} : { scaleTopic }) };
}
