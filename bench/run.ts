/**
 * `npm run bench`: throughput, latency and memory of the user pipeline on the real Kafka and Cassandra,
 * each figure beside the ceiling the client libraries reach on this machine in the same run. See
 * `--help` and docs/performance.md. It prints figures and never fails on one.
 */
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import cassandra from 'cassandra-driver';
import { servicesUp, useServices, type ServiceAddresses, type ServiceUp } from '../services/local.ts';
import { reportError } from '../bin/errors.ts';
import { startWorker, type WorkerHandle } from './child.ts';
import type { IngestCeilings, ProcessCeilingsEvent } from './ceilings.ts';
import { CpuMeter } from './cpu.ts';
import { createTopic, deleteTopics } from './kafka.ts';
import { committedLatencies, phaseLatencies, writtenLatencies } from './latency.ts';
import { LoadGenerator, type Phase, type PhaseRecord } from './load.ts';
import { markdown, targets, writeReport, type IngestTrialResult, type LatencyPhase, type ProcessLeg, type ProcessRound, type Report, type ServerCpu, type SteadyLeg } from './report.ts';
import { FULL, INGEST_KNOBS, QUICK, type BenchSettings, type IngestTrial } from './settings.ts';
import { distribution, linearFit, median, mib, round, sleep } from './stats.ts';
import { fileIngestSettings, fileProcessSettings, processSinkColumns, topologyFile, userPipeline, useTopologyFile, withIngestProducer, withProducedAtColumn } from './topology.ts';
import type { BatchEvent, Mark, PipelineResult } from './worker.ts';

const HELP = `Usage: npm run bench -- [--quick] [--name NAME] [--legs LIST] [--topology FILE] [--node-options=OPTS] [--cpu-prof] [--keep]

Benchmarks the user pipeline on the local Kafka and Cassandra (started if they are not running) and
writes bench/results/NAME.json, bench/results/NAME.md and bench/results/latest.md.

Legs (each in processes of their own, one after the other):
  ingest    bundled RandomUser server → Kafka topic, users/s (the full run sweeps the settings)
  process   a topic of 500,000 users (quick: 50,000) → Cassandra, rows/s, beside the raw node-rdkafka
            consume ceiling and the raw cassandra-driver write ceiling measured on the same data;
            CPU s per 100k records, peak RSS and heap of the pipeline process
  latency   end-to-end latency per record at 100, 1,000 and 5,000 records/s, open loop
  steady    RSS and heap over 10 minutes at 1,000 records/s (quick: 1 minute)

Options:
  --quick              small sizes, about 3½ minutes in all (services already running: less)
  --name NAME          report name (default: the start time, e.g. 2026-11-21T14-05-00-quick)
  --legs LIST          comma-separated subset of ingest,process,latency,steady (process implies ingest)
  --topology FILE      another version of config/user-pipeline.yaml to benchmark (e.g. other defaults)
  --node-options=OPTS  Node options of the pipeline processes, e.g. --node-options="--max-semi-space-size=64"
                       (with "=": a value that starts with a dash is otherwise taken for an option)
  --cpu-prof           also profile one more ingest and process run (V8 .cpuprofile files in
                       bench/results/profiles/NAME/; summarise one with npx tsx bench/profile.ts FILE)
  --keep               keep the run's topics and keyspaces (default: deleted at the end)
  -h, --help           this text

Kafka and Cassandra come from KAFKA_BROKERS / CASSANDRA_CONTACT_POINTS / CASSANDRA_LOCAL_DC, else the
local services (npm run services). Topics and keyspaces are named bench_<run>_…; a run deletes its own.`;

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const LEGS = ['ingest', 'process', 'latency', 'steady'] as const;
type Leg = (typeof LEGS)[number];

const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
const fmt = (value: number): string => Math.round(value).toLocaleString('en-US');

interface Options {
  settings: BenchSettings;
  name: string;
  legs: Set<Leg>;
  /** Extra Node options of the pipeline workers (runtime settings under test). */
  nodeOptions: string[];
  cpuProf: boolean;
  keep: boolean;
}

/** A mistake in the command line (reported with a pointer to --help, exit 2). */
class UsageError extends Error {}

function parse(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      name: { type: 'string' },
      legs: { type: 'string' },
      topology: { type: 'string' },
      'node-options': { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const settings = values.quick ? QUICK : FULL;
  const legs = new Set<Leg>();
  for (const leg of (values.legs ?? LEGS.join(',')).split(',').map((s) => s.trim())) {
    if (!(LEGS as readonly string[]).includes(leg)) throw new UsageError(`unknown leg "${leg}" (known: ${LEGS.join(', ')})`);
    legs.add(leg as Leg);
  }
  if (legs.has('process')) legs.add('ingest');
  if (values.topology !== undefined) useTopologyFile(path.resolve(values.topology));
  if (values.name !== undefined && !/^[A-Za-z0-9._-]+$/.test(values.name)) throw new UsageError('--name: letters, digits, ".", "_" and "-" only');
  const name = values.name ?? `${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}-${settings.mode}`;
  const nodeOptions = values['node-options']?.split(/\s+/).filter(Boolean) ?? [];
  return { settings, name, legs, nodeOptions, cpuProf: values['cpu-prof'] ?? false, keep: values.keep ?? false };
}

/** What a run created, deleted at the end (also after a failure or Ctrl-C). */
class Cleanup {
  readonly topics: string[] = [];
  readonly keyspaces: string[] = [];
  readonly dirs: string[] = [];
  readonly workers: Array<WorkerHandle<unknown>> = [];

  topic(name: string): string {
    this.topics.push(name, `${name}_dead`);
    return name;
  }

  keyspace(name: string): string {
    this.keyspaces.push(name);
    return name;
  }

  async run(addresses: ServiceAddresses, keep: boolean): Promise<void> {
    for (const worker of this.workers) worker.stop();
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
    if (keep) {
      log(`kept topics ${this.topics.join(', ')} and keyspaces ${this.keyspaces.join(', ')} (--keep)`);
      return;
    }
    const failed = await deleteTopics(addresses.kafkaBrokers, this.topics);
    for (const failure of failed) log(`could not delete topic ${failure}`);
    const client = cassandraClient(addresses);
    try {
      await client.connect();
      for (const keyspace of this.keyspaces) await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], { readTimeout: 60_000 });
    } catch (error) {
      log(`could not drop keyspaces ${this.keyspaces.join(', ')}: ${(error as Error).message}`);
    } finally {
      await client.shutdown();
    }
    log(`deleted ${this.topics.length} topics and ${this.keyspaces.length} keyspaces of this run`);
  }
}

function cassandraClient(addresses: ServiceAddresses): cassandra.Client {
  return new cassandra.Client({ contactPoints: addresses.cassandraContactPoints.split(','), localDataCenter: addresses.cassandraLocalDc });
}

/** Everything a leg needs. */
interface Context {
  options: Options;
  settings: BenchSettings;
  run: string;
  addresses: ServiceAddresses;
  /** The local Kafka's and Cassandra's pids, when they are this tool's processes (for their CPU time). */
  servicePids: Record<string, number>;
  cleanup: Cleanup;
  logDir: string;
  report: Report;
}

/** The topology's `${VAR}` knobs pointing at this run's services and names. */
function baseEnv(ctx: Context): Record<string, string> {
  return { KAFKA_BROKERS: ctx.addresses.kafkaBrokers, CASSANDRA_CONTACT_POINTS: ctx.addresses.cassandraContactPoints, CASSANDRA_LOCAL_DC: ctx.addresses.cassandraLocalDc };
}

/** With --cpu-prof: where the worker of `leg` writes its CPU profile. */
function profileDir(ctx: Context, leg: string): string | undefined {
  if (!ctx.options.cpuProf) return undefined;
  const dir = path.join(RESULTS_DIR, 'profiles', ctx.options.name, leg);
  mkdirSync(dir, { recursive: true });
  return dir;
}

const cpuPer100k = (cpuSeconds: number, records: number): number => (records > 0 ? (cpuSeconds * 100_000) / records : NaN);

// ---------------------------------------------------------------------------------------------------
// Ingest

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

/** Ingest leg; leaves `processUsers` users in the returned topic for the process leg. */
async function ingestLeg(ctx: Context): Promise<string> {
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
  return topic;
}

// ---------------------------------------------------------------------------------------------------
// Process

/** One run of the process pipeline over the whole topic, in a consumer group and worker of its own. */
async function processRun(ctx: Context, topic: string, keyspace: string, group: string, cpuProfileDir?: string): Promise<ProcessLeg> {
  const result = await startWorker<PipelineResult>(
    {
      kind: 'pipeline',
      topology: userPipeline(),
      env: { ...baseEnv(ctx), USERS_TOPIC: topic, CASSANDRA_KEYSPACE: keyspace, CONSUMER_GROUP: group },
      pipeline: 'process',
      until: ctx.settings.processUsers,
      sampleMs: 200,
      logDir: ctx.logDir,
      batchEvents: false,
    },
    { cpuProfileDir, nodeOptions: ctx.options.nodeOptions },
  ).result;
  const seconds = (result.lastCommitAt! - result.firstBatchAt!) / 1000;
  const cpu = result.cpu.user + result.cpu.system;
  const perBatch = (ms: number) => round(ms / result.batches, 1);
  return {
    users: result.inputRows,
    rowsWritten: result.outputRows,
    deadLetters: result.deadLetters,
    seconds: round(seconds, 2),
    rowsPerSecond: round(result.outputRows / seconds),
    groupJoinSeconds: round((result.firstBatchAt! - result.startedAt) / 1000, 2),
    batches: result.batches,
    meanBatch: round(result.inputRows / result.batches),
    batchMs: distribution(result.batchDurations),
    writeMs: distribution(result.writeDurations),
    stepMsPerBatch: { getBatch: perBatch(result.stepTotals.getBatch), process: perBatch(result.stepTotals.process), write: perBatch(result.stepTotals.write), commit: perBatch(result.stepTotals.commit) },
    cpuSecondsPer100k: round(cpuPer100k(cpu, result.inputRows), 2),
    cpuUsPerRecord: round((cpu * 1e6) / result.inputRows, 1),
    peakRss: mib(result.memory.peakRss),
    peakHeapUsed: mib(result.memory.peakHeapUsed),
    loadAverage: round(os.loadavg()[0], 2),
  };
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
async function processLeg(ctx: Context, topic: string): Promise<void> {
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
      const meter = new CpuMeter(ctx.servicePids);
      leg = await processRun(ctx, topic, keyspace, `bench-${ctx.run}-process-${r}`);
      servers.pipeline = serverCpu(meter, leg.users);
    };
    for (const step of r % 2 === 1 ? [ceilingPass, pipelinePass] : [pipelinePass, ceilingPass]) await step();
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
    const profiled = await processRun(ctx, topic, keyspace, `bench-${ctx.run}-process-profiled`, cpuProfileDir);
    ctx.report.notes.push(`A further process run with --cpu-prof (not in the figures above): ${fmt(profiled.rowsPerSecond)} rows/s, ${profiled.cpuUsPerRecord} CPU µs/record; profile in ${path.relative(process.cwd(), cpuProfileDir)}.`);
    log(`process: CPU profile in ${cpuProfileDir}`);
  }
}

const round3 = (value: number) => round(value, 3);

/** The servers' CPU µs per record over a pass, and how busy the whole machine was. */
function serverCpu(meter: CpuMeter, records: number): ServerCpu {
  const { seconds, machineBusy } = meter.read();
  return {
    ...Object.fromEntries(Object.entries(seconds).map(([name, s]) => [`${name}UsPerRecord`, round((s * 1e6) / records, 1)])),
    machineBusyPercent: machineBusy === undefined ? undefined : round(machineBusy * 100),
  };
}

// ---------------------------------------------------------------------------------------------------
// Latency and steady: an open-loop generator here, the pipeline in a worker

interface OpenLoopRun {
  phases: PhaseRecord[];
  latencies: ReturnType<typeof phaseLatencies>;
  result: PipelineResult;
  batches: BatchEvent[];
  backlogs: number[];
}

/** Phases of open-loop load against the process pipeline (with the produced-at column), then the analysis. */
async function openLoop(ctx: Context, name: string, phases: Phase[], sampleMs: number, warmup?: Phase): Promise<OpenLoopRun> {
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

function phaseFigures(run: OpenLoopRun, i: number): LatencyPhase {
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

async function latencyLeg(ctx: Context): Promise<void> {
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

async function steadyLeg(ctx: Context): Promise<void> {
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

// ---------------------------------------------------------------------------------------------------

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpus: `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown'}`,
    memory: `${Math.round(os.totalmem() / 1024 ** 3)} GiB`,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    'load average at start (1/5/15 min)': os.loadavg().map((l) => l.toFixed(2)).join(' / '),
  };
}

async function main(): Promise<number> {
  const options = parse(process.argv.slice(2));
  if (options === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const started = Date.now();
  // Short, lower case and unique: it goes into topic, keyspace and group names.
  const run = `${new Date(started).toISOString().slice(2, 19).replace(/\D/g, '')}${Math.floor(Math.random() * 1000)}`;
  const use = await useServices({ log });
  let startedServices: ServiceUp[] = [];
  const cleanup = new Cleanup();
  let addresses: ServiceAddresses | undefined;
  const onSignal = (signal: string) => {
    log(`${signal}: cleaning up`);
    void (async () => {
      if (addresses) await cleanup.run(addresses, options.keep);
      await use.release(startedServices);
      process.exit(130);
    })();
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  try {
    const env = process.env;
    const only = [!env.KAFKA_BROKERS && 'kafka', !env.CASSANDRA_CONTACT_POINTS && 'cassandra'].filter((s): s is 'kafka' | 'cassandra' => typeof s === 'string');
    const up = only.length > 0 ? await servicesUp({ only, log }) : undefined;
    startedServices = up?.services.filter((s) => s.outcome === 'started') ?? [];
    addresses = {
      kafkaBrokers: env.KAFKA_BROKERS || up!.addresses.kafkaBrokers,
      cassandraContactPoints: env.CASSANDRA_CONTACT_POINTS || up!.addresses.cassandraContactPoints,
      cassandraLocalDc: env.CASSANDRA_LOCAL_DC || up?.addresses.cassandraLocalDc || 'datacenter1',
    };
    const logDir = path.join(os.tmpdir(), `bench-${run}`);
    cleanup.dirs.push(logDir);
    const report: Report = {
      name: options.name,
      mode: options.settings.mode,
      topology: path.relative(process.cwd(), topologyFile()),
      pipelineNodeOptions: options.nodeOptions.join(' '),
      startedAt: new Date(started).toISOString(),
      durationSeconds: 0,
      machine: machine(),
      services: Object.fromEntries((up?.services ?? []).map((s) => [s.name, `${s.address} (${s.detail})`])),
      notes: [],
      targets: [],
    };
    const servicePids = Object.fromEntries((up?.services ?? []).flatMap((s) => (s.pid === undefined ? [] : [[s.name, s.pid]])));
    const ctx: Context = { options, settings: options.settings, run, addresses, servicePids, cleanup, logDir, report };
    log(`run ${run} (${options.settings.mode}): legs ${[...options.legs].join(', ')}; Kafka ${addresses.kafkaBrokers}, Cassandra ${addresses.cassandraContactPoints}`);
    try {
      if (options.legs.has('ingest')) {
        const topic = await ingestLeg(ctx);
        if (options.legs.has('process')) await processLeg(ctx, topic);
      }
      if (options.legs.has('latency')) await latencyLeg(ctx);
      if (options.legs.has('steady')) await steadyLeg(ctx);
    } catch (error) {
      // A leg that breaks is reported; the figures of the others still are.
      report.notes.push(`A leg failed: ${error instanceof Error ? error.message : String(error)}`);
      log(`a leg failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    report.machine['load average at end (1/5/15 min)'] = os.loadavg().map((l) => l.toFixed(2)).join(' / ');
    report.durationSeconds = Math.round((Date.now() - started) / 1000);
    report.targets = targets(report);
    const { json, md } = writeReport(report, RESULTS_DIR);
    process.stdout.write(`${markdown(report)}\n`);
    log(`report: ${path.relative(process.cwd(), md)}, ${path.relative(process.cwd(), json)}`);
    return report.notes.some((note) => note.startsWith('A leg failed')) ? 1 : 0;
  } finally {
    if (addresses) await cleanup.run(addresses, options.keep);
    await use.release(startedServices);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => process.exit(reportError(error, 'npm run bench --', [UsageError])),
);
