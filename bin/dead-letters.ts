/**
 * `npm run dead-letters -- --topology NAME list | replay [--reason TEXT]`: the letters in a topology's
 * dead-letter topics, and replaying them into the topics they were read from once the cause is fixed —
 * what the web console's Dead letters page does (operations/console/dead-letters.ts).
 */
import { parseArgs } from 'node:util';
import '../components.ts';
import { UserFacingError } from '../topology/errors.ts';
import { listTopologies, loadTopology } from '../topology/load.ts';
import { selectPipelines } from '../topology/runtime.ts';
import { stagesOf } from '../topology/stages.ts';
import { registry } from '../topology/registry.ts';
import { maskSecrets } from '../topology/secrets.ts';
import { kafkaDeadLetters, type DeadLetter } from '../operations/console/dead-letters.ts';
import { reportError } from './errors.ts';

const HELP = `Usage: npm run dead-letters -- --topology NAME|PATH [--pipeline NAME] list | replay [--reason TEXT] [--json]

  list      the dead letters of the topology's dead-letter topics, oldest first: where each is, when and
            where it failed, why, its origin (topic/partition@offset), key and size
  replay    write each letter's original bytes, key and timestamp back to its origin topic (once per
            origin, however many pipelines rejected it); do it once the cause is fixed

  --reason TEXT   only letters whose reason contains TEXT (ignoring case)
  --pipeline NAME only the dead-letter topics of this pipeline (repeatable; default: every enabled one)
  --json          list: one JSON object per letter; replay: the report as JSON

Uses the same environment variables as npm start (KAFKA_BROKERS, …). Known topologies: ${listTopologies().join(', ')}.`;

/** A wrong command line: reported with a pointer to --help (exit 2). */
class UsageError extends Error {}

function line(letter: DeadLetter): string {
  const origin = letter.origin ? `${letter.origin.topic}/${letter.origin.partition ?? '?'}@${letter.origin.offset ?? '?'}` : 'unknown origin';
  return `${letter.topic}/${letter.partition}@${letter.offset}  ${letter.failedAt}  [${letter.pipeline}] ${letter.stage}  from ${origin}  key=${letter.key ?? '(none)'}  ${letter.size} bytes\n    ${letter.reason}`;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { topology: { type: 'string', short: 't' }, pipeline: { type: 'string', multiple: true }, reason: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const command = positionals[0];
  if (command !== 'list' && command !== 'replay') throw new UsageError(command ? `unknown command ${command}: use list or replay` : 'no command given: use list or replay');
  if (positionals.length > 1) throw new UsageError(`unexpected ${positionals.slice(1).join(' ')}: give one command, list or replay`);
  if (!values.topology) throw new UsageError(`no topology given: use --topology NAME (known: ${listTopologies().join(', ')})`);
  const { config } = loadTopology(values.topology);
  const stages = selectPipelines(config, values.pipeline).flatMap((name) => stagesOf(config.name, name, config.pipelines[name], registry)).map((stage) => stage.config);
  const store = kafkaDeadLetters(() => stages);
  if (store.topics().length === 0) throw new UserFacingError('these pipelines have no dead-letter topic', 'give a pipeline a `deadLetter: { type: dead-letter, topic: … }`');
  const write = (text: string) => process.stdout.write(`${maskSecrets(text)}\n`);
  if (command === 'list') {
    const letters = (await store.list({ reason: values.reason })).sort((a, b) => a.failedAt.localeCompare(b.failedAt));
    if (values.json) for (const letter of letters) write(JSON.stringify(letter));
    else {
      for (const letter of letters) write(line(letter));
      const reasons = new Map<string, number>();
      for (const letter of letters) reasons.set(letter.reason.split(':')[0], (reasons.get(letter.reason.split(':')[0]) ?? 0) + 1);
      write(`${letters.length} letter(s)${values.reason ? ` whose reason contains "${values.reason}"` : ''} in ${store.topics().join(', ')}${reasons.size > 0 ? `: ${[...reasons].map(([r, n]) => `${n} ${r}`).join(', ')}` : ''}`);
    }
    return 0;
  }
  const report = await store.replay({ reason: values.reason ?? '' });
  if (values.json) write(JSON.stringify(report));
  else {
    const into = Object.entries(report.byTopic).map(([topic, n]) => `${n} into ${topic}`).join(', ');
    const skipped = [report.duplicates && `${report.duplicates} of an origin already replayed`, report.withoutOrigin && `${report.withoutOrigin} without an origin topic`, report.missing && `${report.missing} gone from the topic`].filter(Boolean).join(', ');
    write(`replayed ${report.replayed} message(s)${into ? `: ${into}` : ''}${skipped ? `; skipped ${skipped}` : ''}`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => process.exit(reportError(error, 'npm run dead-letters --', [UsageError])),
);
