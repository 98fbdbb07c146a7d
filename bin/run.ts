/**
 * `npm start -- --topology NAME`: load, validate and run a topology (all its enabled pipelines in this
 * process), with the local services started on demand, a progress line per batch on the console and
 * JSON events in the log file. See `--help`.
 */
import { parseArgs } from 'node:util';
import '../components.ts';
import { errorMessage, UserFacingError } from '../topology/errors.ts';
import { listTopologies, loadTopology } from '../topology/load.ts';
import { createTopologyLogger } from '../operations/logger.ts';
import { TopologyRuntime } from '../topology/runtime.ts';
import { describeTopology } from '../topology/describe.ts';
import { registry } from '../topology/registry.ts';
import type { PipelineConfig, TopologyConfig } from '../topology/model.ts';
import { ensureEndpoints } from './endpoints.ts';
import { reportError } from './errors.ts';
import { stopSignals } from './signals.ts';
import { watchTopology } from '../operations/reload.ts';
import { metricsEndpoint, portOption, startMetrics } from '../operations/metrics.ts';
import { startConsole, DEFAULT_CONSOLE_PORT } from '../operations/console/server.ts';
import { kafkaDeadLetters } from '../operations/console/dead-letters.ts';
import { liveData } from '../operations/console/data.ts';
import { checkInstanceName, INSTANCE_VARIABLES, instanceFolder, resolveInstance, type Instance } from '../operations/instance.ts';

const HELP = `Usage: npm start -- --topology NAME|PATH [options]

Runs the pipelines of a topology (config/NAME.yaml, or a .yaml file) until they finish or you press
Ctrl-C (graceful: the batch in flight finishes and its offsets are committed).

Options:
  --topology NAME|PATH     the topology to run (known: ${listTopologies().join(', ') || 'none'})
  --pipeline NAME          run only this pipeline (repeatable; default: every enabled one)
  --instance NAME          this process's instance, unique among those running the topology (sets
                           USER_STREAM_INSTANCE; default <host>-<n>, the lowest n free on this machine)
  --describe               print the topology's graph (sources, operators, sinks, topics, tables) and exit
  --offline                start the bundled RandomUser-compatible server and point RANDOMUSER_URL at it
  --brokers HOST:PORT      Kafka bootstrap servers (sets KAFKA_BROKERS; default 127.0.0.1:9092)
  --contact-points H:P     Cassandra contact points (sets CASSANDRA_CONTACT_POINTS; default 127.0.0.1:9042)
  --source-url URL         the RandomUser API URL (sets RANDOMUSER_URL; default https://randomuser.me/api/)
  --no-services            never start the local Kafka/Cassandra, even when nothing answers at the defaults
  --metrics-port N         serve Prometheus metrics at http://127.0.0.1:N/metrics (0 picks a free port)
  --metrics-host ADDRESS   the address the metrics server listens on (default 127.0.0.1; 0.0.0.0 in a container)
  --ui-port N              the web console's port (default ${DEFAULT_CONSOLE_PORT}, or the next free one; 0 picks any free port)
  --ui-host ADDRESS        the address the console listens on (default 127.0.0.1)
  --no-ui                  no web console
  -h, --help               this text

Several processes may run one exactly-once pipeline in one consumer group, each as an instance of its
own, which ends its transactional id (user-stream.<topology>.<pipeline>.<instance>). The default is
claimed with a file in .state/instances/<topology>/ of the working directory (USER_STREAM_INSTANCE_DIR
instead of .state/instances), removed at exit; a restart after a crash claims the same one, and so aborts
at once what the crashed process left open. In containers, whose host names and pids say nothing, give
each process its own --instance, the same across restarts.

When Kafka or Cassandra does not answer at the local defaults, the local services are started first
(npm run services -- up); they keep running afterwards (npm run services -- down stops them).
Any other address that does not answer is an error, at once.

While it runs, the topology file is watched: a valid change is applied pipeline by pipeline (changed
pipelines drain, commit and restart from their committed offsets; the others keep running); an invalid
one is refused and logged, and the running version continues. SIGHUP forces a reload.

Logs: JSON lines in .state/logs/<topology>.log (progress events included); one line per batch on the console.`;

interface Options {
  topology?: string;
  pipelines: string[];
  instance?: string;
  describe: boolean;
  offline: boolean;
  services: boolean;
  metrics: { port?: number; host?: string };
  /** The web console: off with --no-ui. */
  ui: { port: number; host: string } | undefined;
}

function parse(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      topology: { type: 'string', short: 't' },
      pipeline: { type: 'string', short: 'p', multiple: true },
      instance: { type: 'string' },
      describe: { type: 'boolean' },
      offline: { type: 'boolean' },
      brokers: { type: 'string' },
      'contact-points': { type: 'string' },
      'source-url': { type: 'string' },
      'no-services': { type: 'boolean' },
      'metrics-port': { type: 'string' },
      'metrics-host': { type: 'string' },
      'ui-port': { type: 'string' },
      'ui-host': { type: 'string' },
      'no-ui': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  if (values.brokers) process.env.KAFKA_BROKERS = values.brokers;
  if (values['contact-points']) process.env.CASSANDRA_CONTACT_POINTS = values['contact-points'];
  if (values['source-url']) process.env.RANDOMUSER_URL = values['source-url'];
  // --instance, else USER_STREAM_INSTANCE (empty: not set); a name Kafka would refuse is refused before anything runs.
  const instance = values.instance ?? (process.env[INSTANCE_VARIABLES.name] || undefined);
  if (instance !== undefined) process.env[INSTANCE_VARIABLES.name] = checkInstanceName(instance, values.instance !== undefined ? '--instance' : INSTANCE_VARIABLES.name);
  const metrics = { port: values['metrics-port'] === undefined ? undefined : portOption('--metrics-port', values['metrics-port']), host: values['metrics-host'] };
  const ui = values['no-ui'] ? undefined : { port: values['ui-port'] === undefined ? DEFAULT_CONSOLE_PORT : portOption('--ui-port', values['ui-port']), host: values['ui-host'] ?? '127.0.0.1' };
  return { topology: values.topology, pipelines: values.pipeline ?? [], instance, describe: values.describe ?? false, offline: values.offline ?? false, services: !values['no-services'], metrics, ui };
}

/** Start the bundled RandomUser-compatible server and point the topology's source at it. */
async function startOfflineSource(log: (line: string) => void): Promise<() => Promise<void>> {
  const { startRandomUserServer } = await import('../randomuser/server.ts');
  const port = Number(process.env.RANDOMUSER_PORT ?? 0);
  const server = await startRandomUserServer({ host: '127.0.0.1', port }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE') throw new UserFacingError(`port ${port} is already in use, so the bundled RandomUser server cannot start`, 'set RANDOMUSER_PORT to a free port, or unset it to pick one');
    throw error;
  });
  process.env.RANDOMUSER_URL = server.url;
  log(`offline: serving RandomUser-compatible users at ${server.url}`);
  return () => server.close();
}

async function run(options: Options): Promise<number> {
  if (!options.topology) throw new UserFacingError('no topology given', `use --topology NAME (known: ${listTopologies().join(', ') || 'none'}) or --topology path/to/file.yaml`);
  const closers: Array<() => Promise<void>> = [];
  const say = (line: string) => process.stderr.write(`${line}\n`);
  if (options.offline) closers.push(await startOfflineSource(say));

  const { config, file } = loadTopology(options.topology);
  // Before the components are made (an exactly-once pipeline's transactional id ends with the instance);
  // freed however the run ends. --describe runs nothing, so it claims nothing.
  const instance = options.describe ? undefined : await resolveInstance({ topology: config.name, folder: instanceFolder(process.env), given: options.instance });
  try {
    return await runTopology(options, config, file, instance, closers);
  } finally {
    await instance?.release();
  }
}

async function runTopology(options: Options, config: TopologyConfig, file: string, instance: Instance | undefined, closers: Array<() => Promise<void>>): Promise<number> {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  // The log file is opened only once start-up checks pass: a refused start writes nothing.
  const { logger, file: logFile, openFile, close: closeLogger } = createTopologyLogger(config.name, config.logging, { file: false });
  const runtime = new TopologyRuntime(config, { logger, pipelines: options.pipelines, instance: instance?.name });
  await runtime.create();

  if (options.describe) {
    process.stdout.write(`${describeTopology(config, file, [...runtime.runners.values()])}\n`);
    await closeLogger();
    for (const close of closers) await close();
    return 0;
  }

  await ensureEndpoints(endpointsOf([...runtime.runners.values()].map((runner) => runner.config)), { startLocal: options.services, log: (line) => logger.info(line) });
  const metricsAt = metricsEndpoint(config.metrics, options.metrics);
  // Before the log file opens: a busy metrics port refuses the start without writing anything.
  const metrics = metricsAt && (await startMetrics(runtime, metricsAt));
  if (metrics) closers.push(metrics.close);
  // Also before the log file: a console that cannot listen anywhere refuses the start.
  const stages = () => [...runtime.runners.values()].map((runner) => runner.config);
  const ui = options.ui && (await startConsole(runtime, { ...options.ui, file, deadLetters: kafkaDeadLetters(stages), data: liveData(stages) }));
  if (ui) closers.push(ui.close);
  openFile();
  const claimed = instance?.slot ? ` (slot file ${instance.slot.file})` : '';
  logger.info(`running topology ${config.name} (${file}); pipelines: ${[...runtime.runners.keys()].join(', ')}; instance ${runtime.instance}${claimed}; log file ${logFile}`);
  if (metrics) logger.info(`metrics: Prometheus metrics at ${metrics.url}`);
  if (ui) logger.info(`console: open ${ui.url} in a browser (--no-ui turns it off)`);

  const meaningOf = stopSignals();
  const stop = (signal: string) => {
    const meaning = meaningOf();
    if (meaning === 'same signal again') return;
    if (meaning === 'exit now') {
      say(`${signal} again: exiting now without waiting for the batch in flight (its offsets stay uncommitted)`);
      process.exit(130);
    }
    logger.info(`${signal}: stopping gracefully (the batch in flight finishes and commits; ${signal} again to exit at once)`);
    void runtime.stop();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  let code = 0;
  // Hot swap: edit the topology file (or send SIGHUP) while it runs.
  const watcher = watchTopology(file, runtime, logger);
  closers.push(async () => watcher.close());
  try {
    await runtime.start();
    await runtime.wait();
  } catch (error) {
    logger.error(`topology ${config.name} failed: ${errorMessage(error)}`);
    code = 1;
    await runtime.stop();
  }
  for (const close of closers) await close();
  await closeLogger();
  return code;
}

/** The services the running stages connect to. */
function endpointsOf(pipelines: PipelineConfig[]) {
  return pipelines.flatMap((p) => {
    return [
      ...registry.endpoints('source', p.source),
      ...p.operators.flatMap((op) => registry.endpoints('operator', op)),
      ...registry.endpoints('sink', p.sink),
      ...(p.deadLetter ? registry.endpoints('sink', p.deadLetter) : []),
    ];
  });
}

async function main(): Promise<number> {
  try {
    const options = parse(process.argv.slice(2));
    if (options === 'help') {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    return await run(options);
  } catch (error) {
    return reportError(error, 'npm start --');
  }
}

process.exit(await main());
