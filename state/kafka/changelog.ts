/**
 * What a store's changelog topic is, without a broker: its name, its topic config, the messages a
 * batch's changes become, and the fold that turns a changelog partition back into a task's entries.
 *
 * One message per changed key: key = the store key, value = the value's JSON text (null: a tombstone,
 * the key was deleted), header `position` = the task's source position after the batch, as JSON
 * (`{"users_created/0":1234}`). A restore keeps, for each key, the latest value whose position was
 * committed (topology/tasks.ts, committedAt).
 *
 * See also: ./backend.ts (the I/O), ./index.ts (the component), state/memory.ts (the same answers in memory).
 */
import { createHash } from 'node:crypto';
import type { MessageHeader } from 'node-rdkafka';
import type { OutgoingMessage } from '../../sinks/kafka/messages.ts';
import { committedAt } from '../../topology/tasks.ts';
import type { Offsets, StoreChanges } from '../../topology/types.ts';

/** The header that carries a change's source position. */
export const POSITION_HEADER = 'position';

const SUFFIX = '-changelog';
/** Kafka's longest topic name. */
const MAX_TOPIC_LENGTH = 249;
const LEGAL = /^[A-Za-z0-9._-]*$/;

/**
 * `<store id>-changelog`, e.g. `user-pipeline.nat_minute.user-pipeline-nat-minute.1-window.windows-changelog`. A store id with
 * characters Kafka does not allow in a topic name (they become `_`), or too long for one (it is cut),
 * gets a hash of the whole id before the suffix, so that two ids never share a topic.
 */
export function changelogTopic(storeId: string): string {
  const plain = `${storeId}${SUFFIX}`;
  if (LEGAL.test(storeId) && plain.length <= MAX_TOPIC_LENGTH) return plain;
  const tail = `-${createHash('sha256').update(storeId).digest('hex').slice(0, 12)}${SUFFIX}`;
  return `${storeId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, MAX_TOPIC_LENGTH - tail.length)}${tail}`;
}

/** The topic-level settings of a changelog topic (min.insync.replicas is the topic layout's: see ensureTopic). */
export function changelogTopicConfig(settings: { minCompactionLag: number }): Record<string, string> {
  return { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': String(settings.minCompactionLag) };
}

/** A batch's changes as changelog messages: one per changed key, into the partition of its task. */
export function changelogMessages(changes: readonly StoreChanges[], topicOf: (store: string) => string): OutgoingMessage[] {
  const messages: OutgoingMessage[] = [];
  for (const { store, task, position, entries } of changes) {
    const topic = topicOf(store);
    // One header list for every entry of the change: they share the position.
    const headers: MessageHeader[] = [{ [POSITION_HEADER]: JSON.stringify(position) }];
    for (const [key, value] of entries) {
      // timestamp null: the producer stamps the time, which min.compaction.lag.ms counts from.
      messages.push({ topic, partition: task, key, value: value === undefined ? null : Buffer.from(value, 'utf8'), timestamp: null, headers });
    }
  }
  return messages;
}

/** The position a changelog header holds; throws when it is not an Offsets object. */
export function decodePosition(text: string): Offsets {
  let position: unknown;
  try {
    position = JSON.parse(text);
  } catch {
    position = undefined;
  }
  const valid =
    typeof position === 'object' && position !== null && !Array.isArray(position) && Object.values(position).every((offset) => typeof offset === 'number' || typeof offset === 'string');
  if (!valid) throw new Error(`a ${POSITION_HEADER} header holds ${JSON.stringify(text.slice(0, 80))}, not a source position such as {"users_created/0":1234}`);
  return position as Offsets;
}

/** The position header of a consumed message, as it came (node-rdkafka gives a list of one-entry objects). */
export function positionHeaderOf(headers: readonly MessageHeader[] | undefined): Buffer | string | undefined {
  if (!headers) return undefined;
  for (const header of headers) {
    const value = header[POSITION_HEADER];
    if (value !== undefined) return value;
  }
  return undefined;
}

/** The parts of a consumed changelog message a restore reads. */
export interface ChangelogMessage {
  key?: Buffer | string | null;
  value: Buffer | null;
  offset: number;
  headers?: MessageHeader[];
}

/**
 * Restores one task's entries from its changelog partition, message by message in offset order. Kept
 * lean for large changelogs: consecutive messages of one batch share a position, which is decoded and
 * judged once; values stay JSON text until the end, so a key overwritten many times is parsed once.
 */
export class ChangelogRestore {
  /** Messages applied (those past the committed position included). */
  read = 0;
  private readonly latest = new Map<string, string>();
  private lastHeader: Buffer | string | undefined;
  private lastCommitted = false;
  private done = false;

  /** `where` names the changelog partition in errors. */
  constructor(
    private readonly committed: Offsets,
    private readonly where: string,
  ) {}

  apply(message: ChangelogMessage): void {
    if (this.done) throw new Error(`${this.where}: a message applied after the restore ended`);
    this.read++;
    const header = positionHeaderOf(message.headers);
    if (header === undefined) throw this.foreign(message, `it has no ${POSITION_HEADER} header`);
    if (!sameHeader(header, this.lastHeader)) {
      let position: Offsets;
      try {
        position = decodePosition(header.toString());
      } catch (error) {
        throw this.foreign(message, (error as Error).message);
      }
      this.lastHeader = header;
      this.lastCommitted = committedAt(position, this.committed);
    }
    if (message.key === null || message.key === undefined) throw this.foreign(message, 'it has no key');
    // Written by a batch whose offsets were never committed: the task processes its records again.
    if (!this.lastCommitted) return;
    const key = message.key.toString();
    if (message.value === null) this.latest.delete(key);
    else this.latest.set(key, message.value.toString('utf8'));
  }

  /** Each key's latest committed value, parsed: the end of the restore. */
  entries(): Map<string, unknown> {
    if (this.done) throw new Error(`${this.where}: the entries of a restore are taken once`);
    this.done = true;
    // The values are replaced in place: a second map of a million keys would cost as much as the parsing.
    const entries: Map<string, unknown> = this.latest;
    for (const [key, text] of this.latest) {
      try {
        entries.set(key, JSON.parse(text));
      } catch (error) {
        throw new Error(`${this.where}: the value of key ${JSON.stringify(key)} is not JSON (${(error as Error).message})`);
      }
    }
    return entries;
  }

  private foreign(message: ChangelogMessage, why: string): Error {
    return new Error(`${this.where}: the message at offset ${message.offset} was not written by a state backend (${why}); is the topic shared with something else?`);
  }
}

function sameHeader(a: Buffer | string, b: Buffer | string | undefined): boolean {
  if (b === undefined) return false;
  if (typeof a === 'string' || typeof b === 'string') return a.toString() === b.toString();
  return a.equals(b);
}
