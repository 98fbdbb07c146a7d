/**
 * `npm run services -- up | down | status [--cluster] [kafka|cassandra|registry|<node>] [--help]`: the
 * local Kafka, Cassandra and schema registry, single-node (services/local.ts), or a three-node cluster of
 * Kafka and of Cassandra (services/cluster.ts);
 * see docs/services.md.
 */
import { UserFacingError } from '../topology/errors.ts';
import { clusterDown, clusterStatus, clusterUp, localClusterLocation } from '../services/cluster.ts';
import { formatClusterDown, formatClusterStatus, formatClusterUp, HELP, parseServicesArgs } from '../services/command-line.ts';
import { servicesDown, servicesStatus, servicesUp, type ServiceName } from '../services/local.ts';

const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** An AbortSignal that Ctrl-C (or SIGTERM) aborts, so `up` stops what it started so far. */
function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  const interrupt = (): void => {
    progress('interrupted: stopping what this command started…');
    controller.abort();
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  return controller.signal;
}

async function main(argv: string[]): Promise<number> {
  const args = parseServicesArgs(argv);
  if (args.kind === 'help') {
    process.stdout.write(`${HELP}\n`);
    return args.exitCode;
  }
  const { command, only } = args;
  if (args.cluster) return cluster(command, only, args.nodes);

  switch (command) {
    case 'up': {
      const result = await servicesUp({ only, log: progress, signal: interruptSignal() });
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
            s.name === 'registry'
              ? `  build      ${s.jarsCached ? 'built' : 'not built yet (the next `up` builds it)'}`
              : `  jars       ${s.jarsCached ? 'cached' : 'not downloaded yet (the next `up` fetches them)'}`,
          ].join('\n') + '\n',
        );
      }
      return 0;
    }
  }
}

/** `up --cluster`, `down --cluster`, `status --cluster`: the local three-node cluster (services/cluster.ts). */
async function cluster(command: 'up' | 'down' | 'status', only: ServiceName[] | undefined, nodes: string[] | undefined): Promise<number> {
  switch (command) {
    case 'up':
      process.stdout.write(formatClusterUp(await clusterUp({ only, nodes, log: progress, signal: interruptSignal() })));
      return 0;
    case 'down':
      process.stdout.write(formatClusterDown(await clusterDown({ only, nodes, log: progress })));
      return 0;
    case 'status': {
      process.stdout.write(formatClusterStatus(await clusterStatus({ only }), localClusterLocation()));
      return 0;
    }
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
