/**
 * Runs the RandomUser-compatible test server on its own, e.g. for a benchmark or an offline pipeline run:
 *
 *   npm run randomuser -- --port 8080 --error-rate 0.2 --faults error-body,503,latency,truncated
 *
 * Prints the API's URL, and its request counts when stopped with Ctrl-C (SIGINT) or SIGTERM.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_FAULT_KINDS, FAULT_KINDS, parseFaultOptions } from '../randomuser/faults.ts';
import { startRandomUserServer } from '../randomuser/server.ts';

const USAGE = `Usage: npm run randomuser -- [options]

Serves a RandomUser-compatible API (GET /api/ and /api/1.4/) with deterministic fake users.

Options:
  --port <n>            port to listen on (default 8080; 0 picks a free one)
  --host <address>      address to bind (default 127.0.0.1, loopback only)
  --error-rate <0..1>   share of API requests that get a fault (default 0)
  --faults <kinds>      comma-separated kinds a faulty request picks from (default ${DEFAULT_FAULT_KINDS.join(',')})
                        kinds: ${FAULT_KINDS.join(', ')}
  --latency <ms|a-b>    delay of a latency fault: fixed, or a range in ms (default 200-2000)
  --retry-after <s>     Retry-After of a 503, in seconds (default 1)
  --fault-seed <seed>   repeat the same sequence of faults on every run
  --max-faults <n>      stop injecting faults after n of them
  --help                print this help

At run time: POST /_faults with a JSON body (e.g. {"errorRate":0.5,"kinds":["503"]}) replaces the fault
settings; GET /_faults and GET /_stats show them and the request counts.`;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '8080' },
        host: { type: 'string', default: '127.0.0.1' },
        'error-rate': { type: 'string' },
        faults: { type: 'string' },
        latency: { type: 'string' },
        'retry-after': { type: 'string' },
        'fault-seed': { type: 'string' },
        'max-faults': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port: expected a port number from 0 to 65535, got ${values.port}`);

  // The fault codecs accept numeric strings, so the flags go in as typed and are checked in one place.
  const given: Record<string, unknown> = {
    errorRate: values['error-rate'],
    kinds: values.faults?.split(',').map((kind) => kind.trim()),
    latencyMs: values.latency?.includes('-') ? values.latency.split('-') : values.latency,
    retryAfterSeconds: values['retry-after'],
    seed: values['fault-seed'],
    maxFaults: values['max-faults'],
  };
  const parsed = parseFaultOptions(Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)));
  if ('problems' in parsed) fail(`Invalid fault options:\n  - ${parsed.problems.join('\n  - ')}`);

  const server = await startRandomUserServer({ host: values.host, port, faults: parsed.options });
  const faults = server.faults();
  console.log(`RandomUser test server listening at ${server.url}`);
  if (faults.errorRate > 0) console.log(`faults: error rate ${faults.errorRate}, kinds ${faults.kinds.join(', ')}`);

  const stop = async (signal: string) => {
    const stats = server.stats();
    await server.close();
    console.log(`stopped (${signal}); API requests: ${stats.requests}, users served: ${stats.usersServed}, faults: ${JSON.stringify(stats.faults)}`);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
