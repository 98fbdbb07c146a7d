#!/usr/bin/env node
/**
 * `npm test`: every test file in one `node --test` run, with the local Kafka, Cassandra and schema
 * registry up when integration tests are among them.
 *
 *   node scripts/test.mjs                          all tests
 *   node scripts/test.mjs test/unit/foo.test.ts    only these files or folders (services only if one is an integration test)
 *   npm test -- --keep-services                    leave the services this run started running
 *
 * Services: a service whose address is already given (KAFKA_BROKERS, CASSANDRA_CONTACT_POINTS,
 * SCHEMA_REGISTRY_URL) is used as it is and nothing is started for it. Otherwise services/local.ts
 * starts it unless it already runs, and this run stops afterwards exactly what it started — on
 * failure and on Ctrl-C too — unless another test run is still using it (then the last run stops
 * it). The tests get KAFKA_BROKERS, CASSANDRA_CONTACT_POINTS, CASSANDRA_LOCAL_DC and
 * SCHEMA_REGISTRY_URL, and USER_STREAM_SERVICES_STARTED (the services this run started). test/faults is not among the default roots: `npm run test:faults`;
 * nor is test/cluster (`npm run test:cluster`), which starts and stops the local cluster itself.
 *
 * Browser: the web console's test (test/integration/console.test.ts) drives Debian's chromium. When it
 * is among the files and neither CHROMIUM_PATH nor /usr/bin/chromium exists, chromium is installed with
 * apt-get (as root), or the run stops saying how to install it. Nothing downloads a browser build.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const repoDir = fileURLToPath(new URL('..', import.meta.url));
/** Where tests live (test/faults is not among them: npm run test:faults). */
const TEST_ROOTS = ['test/unit', 'test/integration'];

function testFilesUnder(dir) {
  if (!existsSync(dir)) return [];
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.')) found.push(...testFilesUnder(path));
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

/** Tests that need the real Kafka and Cassandra: integration tests, and the fault tests (run only when named: npm run test:faults). */
const SERVICE_TEST_DIRS = ['test/integration', 'test/faults'];

function isIntegrationTest(file) {
  return SERVICE_TEST_DIRS.includes(relative(repoDir, file).split(sep).slice(0, 2).join('/'));
}

/** A mistake in how this script was called: reported as one line, without a stack trace. */
class UsageError extends Error {}

function parseArgs(argv) {
  const options = { keepServices: false, files: [] };
  for (const arg of argv) {
    if (arg === '--keep-services') options.keepServices = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write('Usage: node scripts/test.mjs [--keep-services] [test files or folders...]\n');
      process.exit(0);
    } else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg} (known: --keep-services)`);
    else options.files.push(resolve(arg));
  }
  return options;
}

const log = (line) => process.stderr.write(`[services] ${line}\n`);

/** Test files that drive a real browser (they need chromium). */
const BROWSER_TESTS = ['test/integration/console.test.ts'];
const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/** Make sure Debian's chromium is there for the browser tests: install it (apt-get, as root) or say how. */
function ensureChromium(files) {
  if (!files.some((file) => BROWSER_TESTS.includes(relative(repoDir, file).split(sep).join('/')))) return;
  const wanted = process.env.CHROMIUM_PATH || DEBIAN_CHROMIUM;
  if (existsSync(wanted)) return;
  const say = (line) => process.stderr.write(`[chromium] ${line}\n`);
  if (process.env.CHROMIUM_PATH) throw new UsageError(`CHROMIUM_PATH=${wanted} does not exist`);
  const hasAptGet = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (!hasAptGet || process.getuid?.() !== 0) {
    throw new UsageError(`the web console's browser test needs chromium at ${DEBIAN_CHROMIUM}: install it with "sudo apt-get install -y chromium" (Debian/Ubuntu), or set CHROMIUM_PATH to a Chromium or Chrome executable`);
  }
  say(`${DEBIAN_CHROMIUM} is missing: installing Debian's chromium (apt-get install -y chromium) for the web console's browser test`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', 'chromium']]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (result.status !== 0) throw new UsageError(`apt-get ${args.join(' ')} failed (exit ${result.status}); install chromium yourself, or set CHROMIUM_PATH`);
  }
  if (!existsSync(DEBIAN_CHROMIUM)) throw new UsageError(`apt-get installed chromium, but ${DEBIAN_CHROMIUM} is still missing`);
  say(`installed ${DEBIAN_CHROMIUM}`);
}

const interrupted = new AbortController();

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const missing = options.files.filter((file) => !existsSync(file));
  if (missing.length > 0) throw new UsageError(`no such test file or folder: ${missing.map((f) => relative(process.cwd(), f)).join(', ')}`);
  // A folder stands for every test file under it (npm run test:unit passes test/unit).
  const chosen = options.files.flatMap((file) => (statSync(file).isDirectory() ? testFilesUnder(file) : [file]));
  const files = (options.files.length > 0 ? chosen : TEST_ROOTS.flatMap((root) => testFilesUnder(join(repoDir, root)))).sort();
  if (files.length === 0) throw new UsageError(`no test files found (looked for *.test.ts under ${TEST_ROOTS.join(', ')})`);

  ensureChromium(files);
  const env = { ...process.env };
  let child;
  const onSignal = (signal) => {
    log(`${signal}: stopping`);
    interrupted.abort();
    // A terminal's Ctrl-C reaches the test run too; a signal sent to this pid alone is passed on.
    child?.kill(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let use;
  let started = [];
  try {
    if (files.some(isIntegrationTest)) {
      const only = [!process.env.KAFKA_BROKERS && 'kafka', !process.env.CASSANDRA_CONTACT_POINTS && 'cassandra', !process.env.SCHEMA_REGISTRY_URL && 'registry'].filter(Boolean);
      const services = await tsImport('../services/local.ts', import.meta.url);
      if (only.length > 0) {
        // Registered first, so a test run that ends meanwhile does not stop the services under this one.
        use = await services.useServices({ log });
        const up = await services.servicesUp({ only, log, signal: interrupted.signal });
        started = up.services.filter((service) => service.outcome === 'started');
      }
      const local = services.localServiceAddresses();
      env.KAFKA_BROKERS ||= local.kafkaBrokers;
      env.CASSANDRA_CONTACT_POINTS ||= local.cassandraContactPoints;
      env.CASSANDRA_LOCAL_DC ||= local.cassandraLocalDc;
      env.SCHEMA_REGISTRY_URL ||= local.schemaRegistryUrl;
      // The fault tests restart services; one this run started is handed back to it under its new pid.
      env.USER_STREAM_SERVICES_STARTED = started.map((service) => service.name).join(',');
      log(`tests use KAFKA_BROKERS=${env.KAFKA_BROKERS} CASSANDRA_CONTACT_POINTS=${env.CASSANDRA_CONTACT_POINTS} CASSANDRA_LOCAL_DC=${env.CASSANDRA_LOCAL_DC} SCHEMA_REGISTRY_URL=${env.SCHEMA_REGISTRY_URL}`);
    }
    if (interrupted.signal.aborted) return 130;

    const args = ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files.map((file) => relative(repoDir, file))];
    child = spawn(process.execPath, args, { cwd: repoDir, env, stdio: 'inherit' });
    const { code, signal } = await new Promise((resolveExit, reject) => {
      child.once('error', reject);
      child.once('exit', (exitCode, exitSignal) => resolveExit({ code: exitCode, signal: exitSignal }));
    });
    if (interrupted.signal.aborted) return 130;
    return code ?? 128 + (constants.signals[signal] ?? 0);
  } finally {
    if (options.keepServices && started.length > 0) {
      log(`leaving ${started.map((s) => s.name).join(' and ')} running (--keep-services); stop with: npm run services -- down`);
      started = [];
    }
    await use?.release(started);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`${error instanceof UsageError || error?.name === 'UserFacingError' ? `error: ${error.message}` : (error?.stack ?? String(error))}\n`);
    process.exitCode = interrupted.signal.aborted ? 130 : 1;
  },
);
