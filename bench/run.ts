/**
 * `npm run bench`: throughput, latency and memory of the user pipeline on the real Kafka and Cassandra,
 * each figure beside the ceiling the client libraries reach on this machine in the same run. See
 * `--help` and docs/performance.md. It prints figures and never fails on one.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { localServiceAddresses, servicesUp, useServices, type ServiceAddresses, type ServiceUp } from '../services/local.ts';
import { reportError } from '../bin/errors.ts';
import { errorMessage } from '../topology/errors.ts';
import { markdown, targets, writeReport, type Report } from './report.ts';
import { FULL, QUICK, type BenchSettings } from './settings.ts';
import { topologyFile, useTopologyFile } from './topology.ts';
import { Cleanup, RESULTS_DIR, log, type Context, type RunOptions } from './legs/context.ts';
import { ingestLeg } from './legs/ingest.ts';
import { latencyLeg } from './legs/latency.ts';
import { processLeg } from './legs/process.ts';
import { restoreLeg } from './legs/restore.ts';
import { steadyLeg } from './legs/steady.ts';
import { scaleLeg } from './legs/scale.ts';
import { windowLeg } from './legs/window.ts';
import { formatsLeg } from './legs/formats.ts';

const HELP = `Usage: npm run bench -- [--quick] [--name NAME] [--legs LIST] [--topology FILE] [--node-options=OPTS] [--service-pids LIST] [--cpu-prof] [--keep]

Benchmarks the user pipeline on the local Kafka and Cassandra (started if they are not running) and
writes bench/results/NAME.json, bench/results/NAME.md and bench/results/latest.md.

Legs (each in processes of their own, one after the other):
  ingest    bundled RandomUser server → Kafka topic, users/s (the full run sweeps the settings)
  process   a topic of 500,000 users (quick: 50,000) → Cassandra, rows/s, beside the raw node-rdkafka
            consume ceiling and the raw cassandra-driver write ceiling measured on the same data;
            CPU s per 100k records, peak RSS and heap of the pipeline process
  window    the nat_minute pipeline (1-minute windows, through its repartition topic) over that topic
            (quick: a topic of 100,000 users of its own), its state durable (kafka changelog) and in
            memory, and durable without the repartition, in alternating rounds: records/s, CPU µs per
            record, state changes per batch, changelog messages, peak RSS, durable ÷ memory and with ÷
            without the repartition
  scale     the same pipeline (durable) over a topic of 500,000 users (quick: 150,000) in 6 partitions,
            run by 1, 2 and 3 processes of one consumer group at once: records/s, speed-up over one
            process, CPU µs per record, cores used, beside one bare consumer reading the same topic
  latency   end-to-end latency per record at 100, 1,000 and 5,000 records/s, open loop
  steady    RSS and heap over 10 minutes at 1,000 records/s (quick: 1 minute)
  restore   restore time of a store of 1,000,000 keys (quick: 100,000) with the kafka state backend
  formats   the same 200,000 users (quick: 20,000) in a JSON topic and an Avro topic (the schema
            registry: SCHEMA_REGISTRY_URL, else the local one): bytes per message, and the process
            pipeline's rows/s over each, rounds alternating which runs first

Options:
  --quick              small sizes, about 4 minutes in all (services already running: less)
  --name NAME          report name (default: the start time, e.g. 2026-11-21T14-05-00-quick)
  --legs LIST          comma-separated subset of ingest,process,window,scale,latency,steady,restore,formats
                       (process, window and scale imply ingest)
  --topology FILE      another version of config/user-pipeline.yaml to benchmark (e.g. other defaults)
  --node-options=OPTS  Node options of the pipeline processes, e.g. --node-options="--max-semi-space-size=64"
                       (with "=": a value that starts with a dash is otherwise taken for an option)
  --service-pids LIST  kafka=PID,cassandra=PID: the servers' processes, for their CPU per record, when
                       they are not this tool's (given by KAFKA_BROKERS / CASSANDRA_CONTACT_POINTS)
  --cpu-prof           also profile one more ingest and process run (V8 .cpuprofile files in
                       bench/results/profiles/NAME/; summarise one with npx tsx bench/profile.ts FILE)
  --keep               keep the run's topics and keyspaces (default: deleted at the end)
  -h, --help           this text

Kafka and Cassandra come from KAFKA_BROKERS / CASSANDRA_CONTACT_POINTS / CASSANDRA_LOCAL_DC, else the
local services (npm run services). Topics and keyspaces are named bench_<run>_… (the changelog and
repartition topics of the window and scale legs …bench-<run>-…); a run deletes its own.`;

const LEGS = ['ingest', 'process', 'window', 'scale', 'latency', 'steady', 'restore', 'formats'] as const;
type Leg = (typeof LEGS)[number];

interface Options extends RunOptions {
  settings: BenchSettings;
  legs: Set<Leg>;
  keep: boolean;
  servicePids: Record<string, number>;
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
      'service-pids': { type: 'string' },
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
  if (legs.has('process') || legs.has('window') || legs.has('scale')) legs.add('ingest');
  if (values.topology !== undefined) useTopologyFile(path.resolve(values.topology));
  if (values.name !== undefined && !/^[A-Za-z0-9._-]+$/.test(values.name)) throw new UsageError('--name: letters, digits, ".", "_" and "-" only');
  const name = values.name ?? `${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}-${settings.mode}`;
  const nodeOptions = values['node-options']?.split(/\s+/).filter(Boolean) ?? [];
  const servicePids: Record<string, number> = {};
  for (const entry of values['service-pids']?.split(',').filter(Boolean) ?? []) {
    const [service, pid] = entry.split('=');
    if (!['kafka', 'cassandra'].includes(service) || !/^\d+$/.test(pid ?? '')) throw new UsageError(`--service-pids: "${entry}" is not kafka=PID or cassandra=PID`);
    servicePids[service] = Number(pid);
  }
  return { settings, name, legs, nodeOptions, servicePids, cpuProf: values['cpu-prof'] ?? false, keep: values.keep ?? false };
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
    const only = [!env.KAFKA_BROKERS && 'kafka', !env.CASSANDRA_CONTACT_POINTS && 'cassandra', options.legs.has('formats') && !env.SCHEMA_REGISTRY_URL && 'registry'].filter(
      (s): s is 'kafka' | 'cassandra' | 'registry' => typeof s === 'string',
    );
    const up = only.length > 0 ? await servicesUp({ only, log }) : undefined;
    startedServices = up?.services.filter((s) => s.outcome === 'started') ?? [];
    addresses = {
      kafkaBrokers: env.KAFKA_BROKERS || up!.addresses.kafkaBrokers,
      cassandraContactPoints: env.CASSANDRA_CONTACT_POINTS || up!.addresses.cassandraContactPoints,
      cassandraLocalDc: env.CASSANDRA_LOCAL_DC || up?.addresses.cassandraLocalDc || 'datacenter1',
      schemaRegistryUrl: env.SCHEMA_REGISTRY_URL || localServiceAddresses().schemaRegistryUrl,
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
    const servicePids = { ...Object.fromEntries((up?.services ?? []).flatMap((s) => (s.pid === undefined ? [] : [[s.name, s.pid]]))), ...options.servicePids };
    const ctx: Context = { options, settings: options.settings, run, addresses, servicePids, cleanup, logDir, report };
    log(`run ${run} (${options.settings.mode}): legs ${[...options.legs].join(', ')}; Kafka ${addresses.kafkaBrokers}, Cassandra ${addresses.cassandraContactPoints}`);
    try {
      if (options.legs.has('ingest')) {
        const { topic, windowTopic, scaleTopic } = await ingestLeg(ctx, { window: options.legs.has('window'), scale: options.legs.has('scale') });
        if (options.legs.has('process')) await processLeg(ctx, topic);
        if (options.legs.has('window')) await windowLeg(ctx, windowTopic);
        if (scaleTopic !== undefined) await scaleLeg(ctx, scaleTopic);
      }
      if (options.legs.has('latency')) await latencyLeg(ctx);
      if (options.legs.has('steady')) await steadyLeg(ctx);
      if (options.legs.has('restore')) await restoreLeg(ctx);
      if (options.legs.has('formats')) await formatsLeg(ctx);
    } catch (error) {
      // A leg that breaks is reported; the figures of the others still are.
      report.notes.push(`A leg failed: ${errorMessage(error)}`);
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
