/**
 * The dead-letter topics of a topology (sinks/dead-letter.ts writes them): listing their letters —
 * reason, stage, origin, time, the original bytes — and replaying chosen ones into the topic they were
 * read from, once the cause is fixed. Shared by the console's Dead letters page and
 * `npm run dead-letters`.
 *
 * Replay writes each letter's original bytes, key and timestamp back to its origin topic, with a
 * `dead-letter.replayed-from` header. Two pipelines reading one topic may both reject a message: the
 * letters of one origin (topic, partition, offset) are replayed once.
 */
import type { Message } from 'node-rdkafka';
import { textHeaders, type KafkaClientConfig } from '../../clients/kafka.ts';
import { DEAD_LETTER_HEADERS as H } from '../../sinks/dead-letter.ts';
import type { PipelineConfig } from '../../topology/model.ts';
import { latestMessages, messageAt, produceAll, type OutgoingReplay } from './kafka.ts';

/** How many letters per partition of a dead-letter topic are read for a listing. */
export const DEFAULT_LETTERS_PER_PARTITION = 1000;
/** Bytes of a letter's value a listing carries (the whole value: `originalBytes`). */
const PREVIEW_BYTES = 2048;

export interface DeadLetter {
  /** Where the letter is: the dead-letter topic, its partition and offset. */
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  /** Kafka timestamp of the letter: the original message's (ms since epoch). */
  timestamp: number | null;
  reason: string;
  stage: string;
  pipeline: string;
  failedAt: string;
  origin?: { topic: string; partition?: number; offset?: number };
  size: number;
  /** The first bytes of the original value, base64. */
  preview: string;
}

export interface LetterRef {
  topic: string;
  partition: number;
  offset: number;
}

export interface ReplayRequest {
  /** These letters, or every letter whose reason contains `reason` (all letters without either). */
  letters?: LetterRef[];
  reason?: string;
}

export interface ReplayReport {
  /** Messages written to their origin topics. */
  replayed: number;
  /** Letters chosen that share an origin with another chosen letter. */
  duplicates: number;
  /** Letters without an origin topic (e.g. from a source that is not Kafka): nothing to replay them into. */
  withoutOrigin: number;
  /** Letters asked for that are not in the topic (any more). */
  missing: number;
  byTopic: Record<string, number>;
}

/** What the console and the CLI do with dead letters (the server takes any implementation; tests give a fake). */
export interface DeadLetterStore {
  topics(): string[];
  list(filter?: { reason?: string }): Promise<DeadLetter[]>;
  originalBytes(ref: LetterRef): Promise<Buffer | undefined>;
  replay(request: ReplayRequest): Promise<ReplayReport>;
}

export function letterOf(message: Message): DeadLetter {
  const h = textHeaders(message.headers ?? []);
  const value = message.value ?? Buffer.alloc(0);
  const originTopic = h[H.originTopic];
  return {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    key: message.key === undefined || message.key === null ? null : Buffer.isBuffer(message.key) ? message.key.toString('utf8') : String(message.key),
    timestamp: message.timestamp ?? null,
    reason: h[H.reason] ?? '',
    stage: h[H.stage] ?? '',
    pipeline: h[H.pipeline] ?? '',
    failedAt: h[H.failedAt] ?? '',
    ...(originTopic !== undefined
      ? {
          origin: {
            topic: originTopic,
            ...(h[H.originPartition] !== undefined ? { partition: Number(h[H.originPartition]) } : {}),
            ...(h[H.originOffset] !== undefined ? { offset: Number(h[H.originOffset]) } : {}),
          },
        }
      : {}),
    size: value.length,
    preview: value.subarray(0, PREVIEW_BYTES).toString('base64'),
  };
}

/** Whether `letter` matches a reason filter: the text anywhere in the reason, ignoring case. */
export function matchesReason(letter: Pick<DeadLetter, 'reason'>, reason: string | undefined): boolean {
  return reason === undefined || reason === '' || letter.reason.toLowerCase().includes(reason.toLowerCase());
}

/** The dead-letter topics of these pipelines (type dead-letter), each with the client config to read it. */
export function deadLetterTopicsOf(pipelines: Iterable<PipelineConfig>): Map<string, KafkaClientConfig> {
  const topics = new Map<string, KafkaClientConfig>();
  for (const p of pipelines) {
    const dl = p.deadLetter as (KafkaClientConfig & { type: string; topic?: string }) | undefined;
    if (dl?.type === 'dead-letter' && dl.topic && !topics.has(dl.topic)) topics.set(dl.topic, dl);
  }
  return topics;
}

/** The client config of a Kafka source reading `topic` among these pipelines, to write a replay with. */
function clientReading(pipelines: Iterable<PipelineConfig>, topic: string): KafkaClientConfig | undefined {
  for (const p of pipelines) {
    const source = p.source as KafkaClientConfig & { type: string; topics?: string[] };
    if (source.type === 'kafka' && source.topics?.includes(topic)) return source;
  }
  return undefined;
}

/** A replay worked out from the letters in the topics: which letters go back where, and what is skipped. */
export interface ReplayPlan {
  /** One per origin (topic, partition, offset), in the order the letters were listed. */
  letters: Array<DeadLetter & { origin: NonNullable<DeadLetter['origin']> }>;
  report: ReplayReport;
}

/** The letters of `all` that `request` chooses, once per origin; those without an origin are counted apart. */
export function planReplay(all: DeadLetter[], request: ReplayRequest): ReplayPlan {
  const wanted = request.letters ? new Set(request.letters.map((l) => `${l.topic}/${l.partition}@${l.offset}`)) : undefined;
  const chosen = all.filter((l) => (wanted ? wanted.has(`${l.topic}/${l.partition}@${l.offset}`) : matchesReason(l, request.reason)));
  const report: ReplayReport = { replayed: 0, duplicates: 0, withoutOrigin: 0, missing: wanted ? wanted.size - chosen.length : 0, byTopic: {} };
  const origins = new Set<string>();
  const letters: ReplayPlan['letters'] = [];
  for (const letter of chosen) {
    if (!letter.origin) {
      report.withoutOrigin += 1;
      continue;
    }
    // Without a partition and offset the origin is unknown: the letter stands for itself.
    const origin = letter.origin.partition !== undefined && letter.origin.offset !== undefined ? `${letter.origin.topic}/${letter.origin.partition}@${letter.origin.offset}` : `${letter.topic}/${letter.partition}@${letter.offset}`;
    if (origins.has(origin)) {
      report.duplicates += 1;
      continue;
    }
    origins.add(origin);
    letters.push(letter as ReplayPlan['letters'][number]);
  }
  return { letters, report };
}

/** The dead letters of a topology's pipelines, in Kafka. `pipelines` is called each time: a hot swap may change them. */
export function kafkaDeadLetters(pipelines: () => PipelineConfig[], perPartition = DEFAULT_LETTERS_PER_PARTITION): DeadLetterStore {
  const topics = () => deadLetterTopicsOf(pipelines());
  const list = async (filter: { reason?: string } = {}) => {
    const letters: DeadLetter[] = [];
    for (const [topic, client] of topics()) letters.push(...(await latestMessages(client, topic, perPartition)).map(letterOf));
    return letters.filter((l) => matchesReason(l, filter.reason));
  };
  const originalBytes = async (ref: LetterRef) => {
    const client = topics().get(ref.topic);
    if (!client) return undefined;
    const message = await messageAt(client, ref.topic, ref.partition, ref.offset);
    return message ? (message.value ?? Buffer.alloc(0)) : undefined;
  };
  return {
    topics: () => [...topics().keys()],
    list,
    originalBytes,
    async replay(request) {
      const { letters, report } = planReplay(await list(), request);
      const outgoing = new Map<string, { client: KafkaClientConfig; messages: OutgoingReplay[] }>();
      for (const letter of letters) {
        // The listing carries a preview only: the whole original bytes are read again.
        const value = letter.size <= PREVIEW_BYTES ? Buffer.from(letter.preview, 'base64') : await originalBytes(letter);
        if (value === undefined) {
          report.missing += 1;
          continue;
        }
        const client = clientReading(pipelines(), letter.origin.topic) ?? topics().get(letter.topic)!;
        const batch = outgoing.get(letter.origin.topic) ?? { client, messages: [] };
        batch.messages.push({ topic: letter.origin.topic, key: letter.key, value, timestamp: letter.timestamp, headers: [{ 'dead-letter.replayed-from': `${letter.topic}/${letter.partition}@${letter.offset}` }] });
        outgoing.set(letter.origin.topic, batch);
      }
      for (const [topic, { client, messages }] of outgoing) {
        await produceAll(client, messages);
        report.byTopic[topic] = messages.length;
        report.replayed += messages.length;
      }
      return report;
    },
  };
}
