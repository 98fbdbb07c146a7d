/**
 * kafka — reads one or more Kafka topics as a member of a consumer group, committing offsets only
 * after the runtime acknowledged a micro-batch (Spark's Kafka source, with the group's committed
 * offsets as the checkpoint).
 *
 * Each `read` consumes up to `maxRecords` messages (waiting at most `waitMs` for the first ones) and
 * turns them into records: the message key (as a string), the value (parsed JSON, a string, or the
 * bytes, by `format`), the message timestamp, the topic/partition/offset as `origin` and the original
 * bytes as `raw`. With `format: json`, a message that is empty or not valid JSON goes to the pipeline's
 * dead-letter output and still counts as consumed, so the batch's commit moves past it.
 *
 * Offsets: a batch's end offsets are, per partition in it, the last offset + 1; `commit` commits exactly
 * those and resolves once reading them back from the group coordinator shows them (bounded: 15 s;
 * `commitSync` is not used because it blocks the whole process while the coordinator is silent).
 * `rollback` seeks every partition back to its first uncommitted offset, so every record read but not
 * committed is read again (at-least-once).
 *
 * Rebalances use librdkafka's `cooperative-sticky` assignor (incremental: only partitions that move are
 * revoked; the others keep their position and in-flight batches). An eager assignor set through
 * `rdkafka: { partition.assignment.strategy: range }` works too. A batch that commits after its partition
 * moved to another member is not committed for that partition (a warning is logged): the new owner
 * re-reads from the last committed offset.
 *
 * First runs: at the first read after an assignment, the source asks the coordinator for the group's
 * committed offsets of the newly assigned partitions. When there are none, a partition whose first record
 * is at (or before) its low watermark is read from its start, and its records say `origin.readFromStart`:
 * no earlier run can have processed anything before them (the window operator's restart rule uses it).
 *
 * ```yaml
 * source:
 *   type: kafka
 *   brokers: ${KAFKA_BROKERS:-127.0.0.1:9092}
 *   topics: [users_created]
 *   groupId: user-pipeline
 *   startingOffsets: earliest
 * ```
 * See also: the `kafka` sink, the `dead-letter` sink, clients/kafka.ts for the connection fields.
 */
import * as t from 'io-ts';
import Kafka from 'node-rdkafka';
import type { LibrdKafkaError, Message, TopicPartition, TopicPartitionOffset } from 'node-rdkafka';
import { defineComponent } from '../topology/registry.ts';
import { required, withDefault, type ConfigOf } from '../topology/spec.ts';
import { Duration, NonEmptyString, TopicName, oneOf } from '../topology/codecs.ts';
import type { ComponentContext, Offsets, Source, SourceBatch, StreamRecord } from '../topology/types.ts';
import { connectClient, createClient, disconnectClient, forwardClientLogs, kafkaClientFields, librdkafkaConfig } from '../clients/kafka.ts';

const ERR = Kafka.CODES.ERRORS;

/** Commit failures that mean "this member's generation is over": the new owner re-reads, nothing is lost. */
const REBALANCE_CODES = new Set<number>([ERR.ERR_ILLEGAL_GENERATION, ERR.ERR_UNKNOWN_MEMBER_ID, ERR.ERR_REBALANCE_IN_PROGRESS, ERR.ERR_FENCED_INSTANCE_ID, ERR.ERR__ASSIGNMENT_LOST, ERR.ERR_STALE_MEMBER_EPOCH]);

/** `topic/partition`, the keys of a Kafka batch's offsets. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/** The inverse of `partitionKey` (topic names cannot contain `/`). */
export function parsePartitionKey(key: string): TopicPartition {
  const slash = key.lastIndexOf('/');
  return { topic: key.slice(0, slash), partition: Number(key.slice(slash + 1)) };
}

/** A batch's start offsets (first offset per partition) and end offsets (last offset + 1 per partition). */
export function batchOffsets(messages: ReadonlyArray<{ topic: string; partition: number; offset: number }>): { startOffsets: Offsets; endOffsets: Offsets } {
  const startOffsets: Record<string, number> = {};
  const endOffsets: Record<string, number> = {};
  for (const m of messages) {
    const key = partitionKey(m.topic, m.partition);
    if (!(key in startOffsets) || m.offset < startOffsets[key]) startOffsets[key] = m.offset;
    if (!(key in endOffsets) || m.offset + 1 > endOffsets[key]) endOffsets[key] = m.offset + 1;
  }
  return { startOffsets, endOffsets };
}

/**
 * Per-partition bookkeeping of a consumer that commits only acknowledged batches: which partitions it
 * owns, the first uncommitted offset of each (where a rollback seeks back to), the next offset it will
 * hand out, and the end of the partition when it last reached it. Pure, so it is unit-tested.
 */
export class PartitionPositions {
  /** False until the group assigned partitions, and again while a rebalance is under way. */
  assignmentKnown = false;
  private readonly owned = new Set<string>();
  private readonly firstUncommitted = new Map<string, number>();
  private readonly next = new Map<string, number>();
  private readonly ends = new Map<string, number>();

  /** Partitions added to this member (eager protocol: its whole new assignment). They start afresh. */
  assign(keys: string[]): void {
    this.assignmentKnown = true;
    for (const key of keys) {
      this.owned.add(key);
      this.forget(key);
    }
  }

  /** Partitions taken away; until the next assignment the member does not know what it owns. */
  revoke(keys: string[]): void {
    this.assignmentKnown = false;
    for (const key of keys) {
      this.owned.delete(key);
      this.forget(key);
    }
  }

  owns(key: string): boolean {
    return this.owned.has(key);
  }

  ownedPartitions(): string[] {
    return [...this.owned];
  }

  /** A message handed out. The first one since the assignment (or a commit) marks where a rollback returns to. */
  noteRead(key: string, offset: number): void {
    if (!this.firstUncommitted.has(key)) this.firstUncommitted.set(key, offset);
    this.next.set(key, Math.max(this.next.get(key) ?? 0, offset + 1));
  }

  /** The consumer reached the end of the partition at `offset` (librdkafka's partition EOF). */
  noteEnd(key: string, offset: number): void {
    this.ends.set(key, offset);
    this.next.set(key, Math.max(this.next.get(key) ?? offset, offset));
  }

  /** Split a batch's end offsets into those of partitions this member still owns, and the others. */
  commitTargets(endOffsets: Offsets): { owned: TopicPartitionOffset[]; notOwned: string[] } {
    const owned: TopicPartitionOffset[] = [];
    const notOwned: string[] = [];
    for (const [key, offset] of Object.entries(endOffsets)) {
      if (this.owned.has(key)) owned.push({ ...parsePartitionKey(key), offset: Number(offset) });
      else notOwned.push(key);
    }
    return { owned, notOwned };
  }

  /** Offsets the group coordinator accepted: a later rollback returns no further back than these. */
  markCommitted(offsets: TopicPartitionOffset[]): void {
    for (const { topic, partition, offset } of offsets) {
      const key = partitionKey(topic, partition);
      if (!this.owned.has(key)) continue;
      this.firstUncommitted.set(key, Math.max(this.firstUncommitted.get(key) ?? offset, offset));
    }
  }

  /**
   * Where each owned partition with read-but-uncommitted records must seek back to; their next offset
   * becomes that position.
   */
  rewind(): TopicPartitionOffset[] {
    const targets: TopicPartitionOffset[] = [];
    for (const key of this.owned) {
      const first = this.firstUncommitted.get(key);
      const next = this.next.get(key);
      if (first === undefined || next === undefined || next <= first) continue;
      targets.push({ ...parsePartitionKey(key), offset: first });
      this.next.set(key, first);
    }
    return targets;
  }

  /**
   * True when every owned partition has been read up to its end. `high` gives the partition's latest
   * known high watermark, if any.
   */
  caughtUp(high: (key: string) => number | undefined): boolean {
    if (!this.assignmentKnown) return false;
    for (const key of this.owned) {
      const next = this.next.get(key);
      const end = this.endOf(key, high);
      if (next === undefined || end === undefined || next < end) return false;
    }
    return true;
  }

  /** Messages between each owned partition's position and its end, summed over partitions where both are known. */
  lag(high: (key: string) => number | undefined): number {
    let lag = 0;
    for (const key of this.owned) {
      const next = this.next.get(key);
      const end = this.endOf(key, high);
      if (next !== undefined && end !== undefined) lag += Math.max(0, end - next);
    }
    return lag;
  }

  private endOf(key: string, high: (key: string) => number | undefined): number | undefined {
    const watermark = high(key);
    const end = this.ends.get(key);
    if (watermark === undefined) return end;
    return end === undefined ? watermark : Math.max(watermark, end);
  }

  private forget(key: string): void {
    this.firstUncommitted.delete(key);
    this.next.delete(key);
    this.ends.delete(key);
  }
}

/** How long a commit may take to be confirmed before the batch fails (and is retried from the committed offsets). */
const COMMIT_TIMEOUT_MS = 15_000;

function formatOffsets(offsets: TopicPartitionOffset[]): string {
  return offsets.map((o) => `${partitionKey(o.topic, o.partition)}@${o.offset}`).join(', ');
}

/** The group's committed offsets of `partitions`, read from the coordinator (undefined or negative when none). */
function committedOffsets(consumer: Kafka.KafkaConsumer, partitions: TopicPartition[], timeoutMs: number): Promise<Map<string, number | undefined>> {
  return new Promise((resolve, reject) =>
    consumer.committed(
      partitions.map(({ topic, partition }) => ({ topic, partition })),
      timeoutMs,
      (error, offsets) => (error ? reject(error) : resolve(new Map(offsets.map((o) => [partitionKey(o.topic, o.partition), o.offset])))),
    ),
  );
}

/** How long the queries that tell whether a newly assigned partition is read from its start may take. */
const START_QUERY_TIMEOUT_MS = 5_000;

/**
 * Whether a partition of a new assignment can be read from its start (see RecordOrigin.readFromStart):
 * only when the group had committed none of the partitions assigned with it — one committed partition
 * means an earlier run — and then only if reading begins at the partition's low watermark (`latest` on
 * a non-empty partition begins after it). Here, the first half: undefined for "ask the low watermark".
 */
export function startsOfAssignment(committed: ReadonlyMap<string, number | undefined>, keys: readonly string[]): Map<string, false | undefined> {
  // No entry: not known (the coordinator did not answer), so perhaps committed. An entry without an offset: none.
  const anyCommitted = keys.some((key) => !committed.has(key) || (committed.get(key) ?? -1) >= 0);
  return new Map(keys.map((key) => [key, anyCommitted ? false : undefined]));
}

function lowWatermarkOf(consumer: Kafka.KafkaConsumer, topic: string, partition: number): Promise<number> {
  return new Promise((resolve, reject) =>
    consumer.queryWatermarkOffsets(topic, partition, START_QUERY_TIMEOUT_MS, (error, offsets) => (error ? reject(error) : resolve(offsets.lowOffset))),
  );
}

export type KafkaValueFormat = 'json' | 'string' | 'bytes';

/** A Kafka message as a record; `invalid` says why a `json` message must be dead-lettered instead. */
export function messageToRecord(message: Message, format: KafkaValueFormat, now: number, readFromStart = false): { record: StreamRecord; invalid?: string } {
  const raw = message.value ?? undefined;
  const key = message.key === null || message.key === undefined ? null : Buffer.isBuffer(message.key) ? message.key.toString('utf8') : String(message.key);
  const timestamp = message.timestamp !== undefined && message.timestamp >= 0 ? message.timestamp : now;
  const base = {
    key,
    timestamp,
    origin: readFromStart
      ? { topic: message.topic, partition: message.partition, offset: message.offset, readFromStart }
      : { topic: message.topic, partition: message.partition, offset: message.offset },
    raw: raw ?? Buffer.alloc(0),
    ...(message.headers && message.headers.length > 0 ? { headers: headersOf(message.headers) } : {}),
  };
  if (format === 'bytes') return { record: { ...base, value: raw ?? null } };
  if (format === 'string') return { record: { ...base, value: raw === undefined ? null : raw.toString('utf8') } };
  const text = raw === undefined ? '' : raw.toString('utf8');
  if (text.trim() === '') return { record: { ...base, value: text }, invalid: 'invalid JSON: empty message' };
  try {
    return { record: { ...base, value: JSON.parse(text) } };
  } catch (error) {
    return { record: { ...base, value: text }, invalid: `invalid JSON: ${(error as Error).message}` };
  }
}

function headersOf(headers: ReadonlyArray<Record<string, string | Buffer>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const header of headers) for (const [name, value] of Object.entries(header)) out[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  return out;
}

/** One or more topic names: a YAML list, or a comma-separated string. */
const TopicList = new t.Type<string[], unknown, unknown>(
  'Kafka topic names (a list, or a comma-separated string)',
  (u): u is string[] => Array.isArray(u) && u.every((s) => TopicName.is(s)),
  (u, c) => {
    const items: unknown[] | undefined = Array.isArray(u) ? u : typeof u === 'string' ? u.split(',').map((s) => s.trim()) : undefined;
    if (!items || items.length === 0 || !items.every((s) => TopicName.decode(s)._tag === 'Right')) return t.failure(u, c);
    return t.success([...new Set(items as string[])]);
  },
  (a) => a,
);

const OFFSETS_BY_SOURCE = 'offsets are committed by the source, only after the sink acknowledged a batch';

const fields = {
  ...kafkaClientFields({
    'group.id': 'use `groupId`',
    'auto.offset.reset': 'use `startingOffsets`',
    'session.timeout.ms': 'use `sessionTimeout`',
    'max.poll.interval.ms': 'use `maxPollInterval`',
    'enable.auto.commit': OFFSETS_BY_SOURCE,
    'enable.auto.offset.store': OFFSETS_BY_SOURCE,
    'enable.partition.eof': 'the source needs end-of-partition events to know when it has caught up',
    rebalance_cb: 'the source tracks the partitions it owns through its own rebalance callback',
    offset_commit_cb: OFFSETS_BY_SOURCE,
  }),
  topics: required(TopicList, 'Topics to subscribe to: a list, or one name (or several, comma-separated) as a string.'),
  groupId: required(NonEmptyString, 'Consumer group id. The group\'s committed offsets are the pipeline\'s checkpoint; members of one group share the partitions.'),
  startingOffsets: withDefault(
    oneOf(['earliest', 'latest']),
    'earliest',
    'Where a group without a committed offset starts: `earliest` reads what is already in the topic, `latest` only what arrives after the start (librdkafka\'s auto.offset.reset).',
  ),
  format: withDefault(
    oneOf(['json', 'string', 'bytes']),
    'json',
    'How message values become record values: `json` parses them (a message that is empty or not JSON is dead-lettered), `string` decodes UTF-8, `bytes` keeps the Buffer.',
  ),
  sessionTimeout: withDefault(Duration, 45_000, 'How long the group waits for a silent member before giving its partitions to others.'),
  maxPollInterval: withDefault(
    Duration,
    300_000,
    'Longest time allowed between two reads before the member is considered stuck and leaves the group; raise it when a slow sink holds reads back longer.',
  ),
};

export type KafkaSourceConfig = ConfigOf<typeof fields>;

export function describeKafkaSource(config: Pick<KafkaSourceConfig, 'topics' | 'groupId' | 'startingOffsets'>): string {
  const topics = config.topics.length === 1 ? `topic ${config.topics[0]}` : `topics ${config.topics.join(', ')}`;
  return `kafka ${topics} (group ${config.groupId}, from ${config.startingOffsets})`;
}

export function kafkaSource(config: KafkaSourceConfig, ctx: ComponentContext): Source {
  const log = ctx.logger;
  const description = describeKafkaSource(config);
  const positions = new PartitionPositions();
  /**
   * Per owned partition: whether this run reads it from its start (RecordOrigin.readFromStart);
   * undefined while its low watermark is still to be compared with its first record.
   */
  const fromStart = new Map<string, boolean | undefined>();
  /** Partitions assigned since the last read: their committed offsets are asked before any is committed. */
  let newlyAssigned: string[] = [];
  /** Bumped by every rebalance, so that an answer about an assignment that has since changed is not kept. */
  let rebalances = 0;
  let missingTopicWarned = false;
  let consumer: Kafka.KafkaConsumer | undefined;

  const connected = (): Kafka.KafkaConsumer => {
    if (!consumer) throw new Error(`${description}: not started`);
    return consumer;
  };

  const highWatermark = (key: string): number | undefined => {
    const { topic, partition } = parsePartitionKey(key);
    try {
      const { highOffset } = connected().getWatermarkOffsets(topic, partition);
      return highOffset >= 0 ? highOffset : undefined;
    } catch {
      return undefined; // nothing fetched from this partition yet
    }
  };

  // librdkafka hands the rebalance to JavaScript and waits for assign/unassign; a cooperative group
  // needs the incremental variants.
  function onRebalance(this: Kafka.KafkaConsumer, error: LibrdKafkaError, assignment: TopicPartition[]): void {
    const keys = assignment.map((tp) => partitionKey(tp.topic, tp.partition));
    rebalances++;
    for (const key of keys) fromStart.delete(key);
    newlyAssigned = newlyAssigned.filter((key) => !keys.includes(key));
    try {
      const cooperative = this.rebalanceProtocol() === 'COOPERATIVE';
      if (error.code === ERR.ERR__ASSIGN_PARTITIONS) {
        positions.assign(keys);
        newlyAssigned.push(...keys);
        if (cooperative) this.incrementalAssign(assignment);
        else this.assign(assignment);
        log.info(`${description}: assigned ${keys.length > 0 ? keys.join(', ') : 'no new partitions'}; owns ${positions.ownedPartitions().length} partition(s)`);
      } else if (error.code === ERR.ERR__REVOKE_PARTITIONS) {
        positions.revoke(keys);
        if (cooperative) this.incrementalUnassign(assignment);
        else this.unassign();
        log.info(`${description}: revoked ${keys.join(', ') || 'no partitions'}`);
      } else {
        log.warn(`${description}: rebalance failed: ${error.message}; dropping the assignment`);
        positions.revoke(positions.ownedPartitions());
        fromStart.clear();
        newlyAssigned = [];
        this.unassign();
      }
    } catch (failure) {
      // During disconnect librdkafka revokes once more, after the client is gone.
      if (this.isConnected()) log.warn(`${description}: handling a rebalance failed: ${(failure as Error).message}`);
    }
  }

  const consume = (c: Kafka.KafkaConsumer, maxRecords: number): Promise<Message[]> =>
    new Promise((resolve, reject) => {
      c.consume(maxRecords, (error, messages) => {
        if (!error) resolve(messages);
        else if (error.code === ERR.ERR_UNKNOWN_TOPIC_OR_PART) {
          // The topic may be created later (by a producing pipeline): wait for it rather than fail.
          if (!missingTopicWarned) log.warn(`${description}: ${error.message}: a subscribed topic does not exist (yet); waiting for it to be created`);
          missingTopicWarned = true;
          resolve([]);
        } else reject(new Error(`${description}: consume failed: ${error.message}`, { cause: error }));
      });
    });

  /**
   * Whether this run reads the newly assigned partitions, and those whose first record is in `firsts`,
   * from their start. When the group coordinator or the broker does not answer, the answer is no: the
   * window operator then keeps its restart cutoff, which is always safe.
   */
  async function learnStarts(c: Kafka.KafkaConsumer, firsts: Map<string, TopicPartitionOffset>): Promise<void> {
    const asked = rebalances;
    if (newlyAssigned.length > 0) {
      const keys = newlyAssigned;
      newlyAssigned = [];
      const committed = await committedOffsets(c, keys.map(parsePartitionKey), START_QUERY_TIMEOUT_MS).catch((error: Error) => {
        log.info(`${description}: could not read the group's committed offsets of ${keys.join(', ')} (${error.message}); treating them as resumed`);
        return new Map<string, number | undefined>();
      });
      // The assignment changed meanwhile, and its partitions may have been committed since: no, except
      // for partitions assigned again, which the next read asks about.
      if (asked !== rebalances) return keys.forEach((key) => newlyAssigned.includes(key) || fromStart.set(key, false));
      for (const [key, start] of startsOfAssignment(committed, keys)) fromStart.set(key, start);
    }
    const open = [...firsts].filter(([key]) => fromStart.has(key) && fromStart.get(key) === undefined);
    if (open.length === 0) return;
    const lows = await Promise.all(open.map(([, first]) => lowWatermarkOf(c, first.topic, first.partition).catch(() => undefined)));
    if (asked !== rebalances) return open.forEach(([key]) => newlyAssigned.includes(key) || fromStart.set(key, false));
    const started: string[] = [];
    open.forEach(([key, first], i) => {
      const low = lows[i];
      fromStart.set(key, low !== undefined && first.offset <= low);
      if (fromStart.get(key)) started.push(key);
    });
    if (started.length > 0) log.info(`${description}: ${started.join(', ')} read from the start: the group had committed none of its partitions`);
  }

  return {
    async start() {
      const options = {
        'partition.assignment.strategy': 'cooperative-sticky',
        // A subscribed topic created after the start is found within 10 s, not librdkafka's 5 minutes.
        'topic.metadata.refresh.interval.ms': 10_000,
        ...librdkafkaConfig(config),
        'group.id': config.groupId,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'enable.partition.eof': true,
        'session.timeout.ms': config.sessionTimeout,
        'max.poll.interval.ms': config.maxPollInterval,
        rebalance_cb: onRebalance,
      };
      const c = createClient(config, () => new Kafka.KafkaConsumer(options as Kafka.ConsumerGlobalConfig, { 'auto.offset.reset': config.startingOffsets }));
      forwardClientLogs(c, log, description);
      c.on('partition.eof', (eof) => positions.noteEnd(partitionKey(eof.topic, eof.partition), eof.offset));
      await connectClient(c, config, config.connectTimeout);
      c.subscribe(config.topics);
      consumer = c;
    },

    async read(maxRecords, waitMs) {
      const c = connected();
      c.setDefaultConsumeTimeout(Math.max(1, waitMs));
      const messages = await consume(c, maxRecords);
      const keys = messages.map((m) => partitionKey(m.topic, m.partition));
      const firsts = new Map<string, TopicPartitionOffset>();
      messages.forEach(({ topic, partition, offset }, i) => {
        if (fromStart.get(keys[i]) === undefined && !firsts.has(keys[i])) firsts.set(keys[i], { topic, partition, offset });
      });
      if (newlyAssigned.length > 0 || firsts.size > 0) await learnStarts(c, firsts);
      const now = ctx.scheduler.now();
      const records: StreamRecord[] = [];
      const rejected: NonNullable<SourceBatch['rejected']> = [];
      for (const [i, message] of messages.entries()) {
        const key = keys[i];
        positions.noteRead(key, message.offset);
        const { record, invalid } = messageToRecord(message, config.format, now, fromStart.get(key) === true);
        if (invalid) rejected.push({ record, reason: invalid });
        else records.push(record);
      }
      const batch: SourceBatch = {
        records,
        ...(rejected.length > 0 ? { rejected } : {}),
        ...batchOffsets(messages),
        caughtUp: positions.caughtUp(highWatermark),
        finished: false,
        metrics: { lag: positions.lag(highWatermark), assignedPartitions: positions.ownedPartitions().length },
      };
      return batch;
    },

    async commit(batch) {
      const c = connected();
      const { owned, notOwned } = positions.commitTargets(batch.endOffsets);
      if (notOwned.length > 0) {
        log.warn(`${description}: not committing ${notOwned.join(', ')}: the partition(s) moved to another member in a rebalance, which re-reads from the last committed offset`);
      }
      if (owned.length === 0) return;
      try {
        // An asynchronous commit, confirmed below by reading the offsets back: commitSync would block
        // the event loop (every pipeline, signal handling) for as long as the coordinator does not answer.
        c.commit(owned);
      } catch (error) {
        if (REBALANCE_CODES.has((error as LibrdKafkaError).code)) {
          log.warn(`${description}: commit refused during a rebalance (${(error as Error).message}); the partitions' owner re-reads from the last committed offset`);
          return;
        }
        throw new Error(`${description}: commit failed: ${(error as Error).message}`, { cause: error });
      }
      // The group coordinator answers requests in order, so the read-back sees the commit once it is durable.
      const stored = await committedOffsets(c, owned, COMMIT_TIMEOUT_MS).catch((error: LibrdKafkaError) => {
        throw new Error(`${description}: commit of ${formatOffsets(owned)} not confirmed within ${COMMIT_TIMEOUT_MS / 1000} s: ${error.message}`, { cause: error });
      });
      const missing = owned.filter((o) => (stored.get(partitionKey(o.topic, o.partition)) ?? -1) < o.offset);
      const lost = missing.filter((o) => !positions.owns(partitionKey(o.topic, o.partition)));
      if (lost.length > 0) log.warn(`${description}: commit of ${formatOffsets(lost)} not accepted: the partition(s) moved to another member meanwhile, which re-reads from the last committed offset`);
      if (missing.length > lost.length) {
        const refused = missing.filter((o) => !lost.includes(o));
        throw new Error(`${description}: the group coordinator did not accept the commit of ${formatOffsets(refused)} (committed: ${formatOffsets(refused.map((o) => ({ ...o, offset: stored.get(partitionKey(o.topic, o.partition)) ?? -1 })))})`);
      }
      positions.markCommitted(owned.filter((o) => !missing.includes(o)));
    },

    async rollback() {
      const c = connected();
      for (const target of positions.rewind()) {
        await new Promise<void>((resolve, reject) =>
          c.seek(target, 5000, (error) => {
            if (!error) resolve();
            else if (error.code === ERR.ERR__STATE || error.code === ERR.ERR__UNKNOWN_PARTITION) {
              // Revoked in the meantime: the new owner starts from the committed offset anyway.
              log.warn(`${description}: could not seek ${partitionKey(target.topic, target.partition)} back to ${target.offset}: ${error.message}`);
              resolve();
            } else reject(new Error(`${description}: seeking ${partitionKey(target.topic, target.partition)} back to ${target.offset} failed: ${error.message}`, { cause: error }));
          }),
        );
      }
    },

    async close() {
      const c = consumer;
      consumer = undefined;
      if (c) await disconnectClient(c, 10_000);
    },

    describe: () => description,
  };
}

defineComponent({
  kind: 'source',
  type: 'kafka',
  summary: 'Reads Kafka topics as a consumer group member; commits offsets after each acknowledged micro-batch.',
  description:
    'Consumes one or more topics with node-rdkafka as a member of `groupId`. A micro-batch is up to `trigger.maxRecordsPerTrigger` messages; its offsets are committed (per partition: last offset + 1, confirmed by the group coordinator before the commit resolves) only after the sink and the dead-letter sink acknowledged every record, and a failed batch is re-read from the committed offsets (at-least-once). Records carry the message key, timestamp and topic/partition/offset, and the original bytes for dead-lettering; while the group reads a partition from its start and had committed none of the partitions assigned with it (its first run), the origin also says `readFromStart: true`, so that a window operator writes the windows at the start of the stream too. With `format: json`, empty or invalid JSON messages are dead-lettered with the parser\'s message and still committed past. Rebalances are cooperative (incremental); a partition that moves while a batch is in flight is re-read by its new owner from the last committed offset. Progress events carry the consumer lag (high watermark minus position, summed over the assigned partitions), and `caughtUp` (for `trigger.mode: availableNow`) is true when every assigned partition has been read to its end.',
  fields,
  examples: [
    'source:\n  type: kafka\n  brokers: ${KAFKA_BROKERS:-127.0.0.1:9092}\n  topics: [users_created]\n  groupId: user-pipeline\n  startingOffsets: earliest',
    'source:\n  type: kafka\n  brokers: broker1:9093,broker2:9093\n  topics: users_created\n  groupId: user-archive\n  format: string\n  sasl: { mechanism: SCRAM-SHA-512, username: archive, password: ${KAFKA_PASSWORD} }\n  ssl: { caLocation: /etc/kafka/ca.pem }',
  ],
  endpoints: (config) => [{ service: 'kafka', address: config.brokers }],
  create: (config, ctx) => kafkaSource(config, ctx),
});
