/**
 * The formats leg: the same users in a JSON topic and in an Avro topic (Confluent wire format, the
 * randomuser-user schema registered in the schema registry), their bytes per message, and the process
 * pipeline over each (USERS_FORMAT) in rows/s, in rounds alternating which format runs first.
 */
import { AvroWriter } from '../../clients/avro.ts';
import { SchemaRegistryClient } from '../../clients/schema-registry.ts';
import { generateUsers } from '../../randomuser/generator.ts';
import { RANDOMUSER_USER_AVRO } from '../../schemas/randomuser-user.ts';
import { connectProducer, createTopic, disconnect, produce } from '../kafka.ts';
import type { FormatFigures } from '../report.ts';
import { median, round } from '../stats.ts';
import { userPipeline } from '../topology.ts';
import { baseEnv, fmt, log, type Context } from './context.ts';
import { alternating, pipelineRun } from './pipeline-run.ts';

type Format = 'json' | 'avro';

/** Produces `users` to `topic`, each value as `encode` makes it; resolves with the bytes of the values once every one is acknowledged. */
async function fill(ctx: Context, topic: string, users: ReturnType<typeof generateUsers>['users'], encode: (user: unknown) => Buffer): Promise<number> {
  await createTopic(ctx.addresses.kafkaBrokers, topic, 3);
  let acknowledged = 0;
  let failure: { message: string } | undefined;
  const producer = await connectProducer(ctx.addresses.kafkaBrokers, { compression: 'lz4', linger: 5 }, (error) => {
    if (error) failure ??= error;
    acknowledged++;
  });
  let bytes = 0;
  try {
    for (const user of users) {
      const value = encode(user);
      bytes += value.length;
      await produce(producer, topic, value, user.login.uuid);
    }
    while (acknowledged < users.length && !failure) await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    await disconnect(producer);
  }
  if (failure) throw new Error(`filling ${topic}: ${failure.message}`);
  return bytes;
}

export async function formatsLeg(ctx: Context): Promise<void> {
  const { settings } = ctx;
  const users = [];
  for (let page = 1; users.length < settings.formatUsers; page++) users.push(...generateUsers({ seed: 'bench-formats', page, results: 5000 }).users);
  users.length = settings.formatUsers;

  const registry = new SchemaRegistryClient({ url: ctx.addresses.schemaRegistryUrl, timeout: 10_000 });
  const topics: Record<Format, string> = { json: ctx.cleanup.topic(`bench_${ctx.run}_format_json`), avro: ctx.cleanup.topic(`bench_${ctx.run}_format_avro`) };
  const writer = new AvroWriter(registry, `${topics.avro}-value`, RANDOMUSER_USER_AVRO, true);
  const id = await writer.resolve();
  const bytes: Record<Format, number> = {
    json: await fill(ctx, topics.json, users, (user) => Buffer.from(JSON.stringify(user))),
    avro: await fill(ctx, topics.avro, users, (user) => writer.encode(user)),
  };
  log(`formats: ${fmt(users.length)} users; bytes per message JSON ${fmt(bytes.json / users.length)}, Avro ${fmt(bytes.avro / users.length)} (schema id ${id} at ${registry.url})`);

  const rates: Record<Format, number[]> = { json: [], avro: [] };
  const cpu: Record<Format, number[]> = { json: [], avro: [] };
  for (let r = 1; r <= settings.formatRounds; r++) {
    for (const format of alternating<Format>(r, 'json', 'avro')) {
      const keyspace = ctx.cleanup.keyspace(`bench_${ctx.run}_format_${format}_${r}`);
      const { result, figures } = await pipelineRun(ctx, {
        topology: userPipeline(),
        pipeline: 'process',
        env: { ...baseEnv(ctx), USERS_TOPIC: topics[format], CASSANDRA_KEYSPACE: keyspace, CONSUMER_GROUP: `bench-${ctx.run}-format-${format}-${r}`, USERS_FORMAT: format, SCHEMA_REGISTRY_URL: ctx.addresses.schemaRegistryUrl },
        records: users.length,
      });
      if (result.outputRows !== users.length) throw new Error(`formats: the ${format} process run wrote ${result.outputRows} of ${users.length} rows`);
      rates[format].push(result.outputRows / figures.seconds);
      cpu[format].push(figures.cpuSecondsPer100k);
      log(`formats round ${r}: ${format} ${fmt(result.outputRows / figures.seconds)} rows/s`);
    }
  }
  const figures = (format: Format) => ({ bytesPerMessage: round(bytes[format] / users.length), rowsPerSecond: round(median(rates[format])), rounds: rates[format].map((rate) => round(rate)), cpuSecondsPer100k: round(median(cpu[format]), 2) });
  const report: FormatFigures = { users: users.length, json: figures('json'), avro: figures('avro') };
  ctx.report.formats = report;
}
