/**
 * `npm run tail -- --topology NAME`: follows a running topology's JSON log (across rotations) and
 * shows, refreshed every second, per pipeline: records in and out per second, batch duration p50/p99,
 * consumer lag, dead-lettered and failed counts, the last error and the last swap. `--once` prints one
 * snapshot of the file and exits. See `--help`.
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDuration } from '../topology/codecs.ts';
import { UserFacingError } from '../topology/errors.ts';
import { LogFollower } from '../operations/log-follower.ts';
import { reportError } from './errors.ts';
import { TailAggregator, renderView, snapshotOf } from '../operations/tail.ts';

const HELP = `Usage: npm run tail -- --topology NAME|PATH | --file PATH [options]

Follows a topology's JSON log (.state/logs/<topology>.log, or the topology's logging.dir), also across
log rotations, and shows per pipeline, refreshed every second: records in and out per second and batch
duration p50/p99 over a sliding window, consumer lag, totals of batches, records, dead-lettered records
and failed batches, the last error and the last swap.

Options:
  --topology NAME|PATH   the topology whose log to read (config/NAME.yaml, or a .yaml file)
  --file PATH            read this log file instead
  --once                 print one snapshot of the whole file (rates averaged over the period it covers) and exit
  --since DURATION       only entries of the last DURATION (e.g. 30s, 5m, 2h); with --once, rates over it
  --window DURATION      the sliding window of the live view (default 10s)
  --json                 the snapshot as JSON (live: one JSON line per refresh)
  -h, --help             this text

Exit codes: 0 done, 1 no log yet or an error, 2 an invalid command line or topology.`;

interface Options {
  file: string;
  topology: string;
  once: boolean;
  json: boolean;
  since: number | undefined;
  windowMs: number;
}

class UsageError extends Error {}

function duration(flag: string, text: string | undefined, fallback?: number): number | undefined {
  if (text === undefined) return fallback;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new UsageError(`${flag}: expected a duration such as 30s, 5m or 2h, got ${JSON.stringify(text)}`);
  return ms;
}

async function parse(argv: string[]): Promise<Options | 'help'> {
  const { values } = parseArgs({
    args: argv,
    options: {
      topology: { type: 'string', short: 't' },
      file: { type: 'string', short: 'f' },
      once: { type: 'boolean' },
      json: { type: 'boolean' },
      since: { type: 'string' },
      window: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  if ((values.topology === undefined) === (values.file === undefined)) throw new UsageError('give either --topology NAME or --file PATH');
  const common = { once: values.once ?? false, json: values.json ?? false, windowMs: duration('--window', values.window, 10_000)! };
  const sinceMs = duration('--since', values.since);
  const since = sinceMs === undefined ? undefined : Date.now() - sinceMs;
  if (values.file !== undefined) return { ...common, since, file: path.resolve(values.file), topology: path.basename(values.file).replace(/\.log$/, '') };
  // The topology is loaded only for its name and logging.dir, as operations/logger.ts resolves them.
  await import('../components.ts');
  const { loadTopology } = await import('../topology/load.ts');
  const { logFileOf } = await import('../operations/logger.ts');
  const { config } = loadTopology(values.topology!);
  return { ...common, since, file: logFileOf(config.logging.dir, config.name), topology: config.name };
}

async function openLog(options: Options): Promise<LogFollower> {
  try {
    return await LogFollower.open(options.file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UserFacingError(`no log at ${options.file}: start the topology first with npm start -- --topology ${options.topology}`);
    throw error;
  }
}

async function once(options: Options): Promise<void> {
  const follower = await openLog(options);
  const lines = await follower.readAll().finally(() => follower.close());
  const view = snapshotOf(lines, { since: options.since, now: Date.now() });
  process.stdout.write(options.json ? `${JSON.stringify(view, null, 2)}\n` : `${renderView(view, { title: `${options.topology} — ${options.file}`, mode: options.since === undefined ? 'period' : 'live' })}\n`);
}

async function live(options: Options): Promise<void> {
  const follower = await openLog(options);
  const tail = new TailAggregator({ since: options.since });
  let stopped = false;
  const stop = () => (stopped = true);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const screen = process.stdout.isTTY && !options.json;
  try {
    while (!stopped) {
      for (const line of await follower.poll()) tail.addLine(line);
      const now = Date.now();
      const view = tail.view({ from: now - options.windowMs, to: now });
      tail.dropBatchesBefore(now - options.windowMs);
      if (options.json) process.stdout.write(`${JSON.stringify(view)}\n`);
      else {
        const text = renderView(view, { title: `${options.topology} — ${options.file}`, mode: 'live' });
        // On a terminal, each refresh replaces the previous one; piped, refreshes follow each other.
        process.stdout.write(screen ? `\x1b[H\x1b[2J${text}\n\n(Ctrl-C to stop)\n` : `${text}\n\n`);
      }
      await sleep(1000);
    }
  } finally {
    await follower.close();
  }
}

async function main(): Promise<number> {
  try {
    const options = await parse(process.argv.slice(2));
    if (options === 'help') {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    await (options.once ? once(options) : live(options));
    return 0;
  } catch (error) {
    return reportError(error, 'npm run tail --', [UsageError]);
  }
}

process.exit(await main());
