/**
 * `npm run services -- up | down | status [kafka|cassandra] [--help]`: the local Kafka and Cassandra
 * (see services/local.ts and docs/services.md).
 */
import { UserFacingError } from '../topology/errors.ts';
import { ENVIRONMENT_VARIABLES, SERVICE_NAMES, servicesDown, servicesStatus, servicesUp, type ServiceName } from '../services/local.ts';

const HELP = `Usage: npm run services -- <command> [kafka|cassandra ...]

Runs a local Apache Kafka broker (KRaft, no ZooKeeper) and a local Apache Cassandra node as Java
processes on loopback, for development and tests. Without service names a command acts on both.

Commands:
  up      fetch the servers' jars from Maven Central (first time only), start what is not already
          answering, and wait until each answers a real request
  down    stop the processes that \`up\` started (by pid file; anything else is left alone)
  status  show what runs where: pid, address, whether it answers, state dir, log file

Environment variables:
${ENVIRONMENT_VARIABLES.map((v) => `  ${v.name.padEnd(26)} ${v.description} (default ${v.default})`).join('\n')}

To use existing clusters instead, set KAFKA_BROKERS, CASSANDRA_CONTACT_POINTS and CASSANDRA_LOCAL_DC
for the project; nothing needs to run locally then. See docs/services.md.`;

const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    process.stdout.write(`${HELP}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  const [command, ...rest] = argv;
  const unknownOption = rest.find((arg) => arg.startsWith('-'));
  if (unknownOption) throw new UserFacingError(`unknown option ${unknownOption}`, 'see `npm run services -- --help`');
  const only = rest.length > 0 ? (rest as ServiceName[]) : undefined;
  const invalid = rest.find((name) => !SERVICE_NAMES.includes(name as ServiceName));
  if (invalid) throw new UserFacingError(`unknown service "${invalid}"`, `the services are: ${SERVICE_NAMES.join(', ')}`);

  switch (command) {
    case 'up': {
      const controller = new AbortController();
      const interrupt = (): void => {
        progress('interrupted: stopping what this command started…');
        controller.abort();
      };
      process.once('SIGINT', interrupt);
      process.once('SIGTERM', interrupt);
      const result = await servicesUp({ only, log: progress, signal: controller.signal });
      for (const service of result.services) {
        const how = { started: `started, pid ${service.pid}`, 'already-running': `already running, pid ${service.pid}`, external: 'already answering, not started here' }[service.outcome];
        process.stdout.write(`${service.name.padEnd(10)} ${service.address.padEnd(16)} ${how} (${service.detail})\n`);
      }
      return 0;
    }
    case 'down': {
      for (const service of await servicesDown({ only, log: progress })) {
        process.stdout.write(`${service.name.padEnd(10)} ${service.detail}\n`);
      }
      return 0;
    }
    case 'status': {
      for (const s of await servicesStatus({ only })) {
        const who = { ours: `running, pid ${s.pid}`, external: 'answering, not started here', none: 'not running' }[s.managedBy];
        process.stdout.write(
          [
            `${s.name} ${s.version}: ${who}`,
            `  address    ${s.address} (answering: ${s.answering ? 'yes' : 'no'}: ${s.answer})`,
            `  state dir  ${s.stateDir}`,
            `  log file   ${s.logFile}`,
            `  jars       ${s.jarsCached ? 'cached' : 'not downloaded yet (the next `up` fetches them)'}`,
          ].join('\n') + '\n',
        );
      }
      return 0;
    }
    default:
      throw new UserFacingError(`unknown command "${command}"`, 'the commands are up, down and status; see `npm run services -- --help`');
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof UserFacingError ? `error: ${error.message}` : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
