/**
 * The kafka source at work: a consumer-group member that hands out micro-batches, commits exactly the
 * acknowledged ones (confirmed by reading them back), seeks back to the committed offsets on a rollback,
 * and gives a revoked partition up only once the batch in flight that holds its records committed.
 *
 * See also: ./index.ts (the component, and what it promises), ./positions.ts, ./assignments.ts,
 * ./revokes.ts, ./records.ts.
 */
import Kafka from 'node-rdkafka';
import type { LibrdKafkaError, Message, TopicPartition, TopicPartitionOffset } from 'node-rdkafka';
import type { Logger } from 'winston';
import type { ComponentContext, Source, SourceBatch, StreamRecord } from '../../topology/types.ts';
import { errorMessage } from '../../topology/errors.ts';
import { connectClient, createClient, disconnectClient, forwardClientLogs, librdkafkaConfig } from '../../clients/kafka.ts';
import { describeKafkaSource, type KafkaSourceConfig } from './config.ts';
import { PartitionPositions, parsePartitionKey, partitionKey } from './positions.ts';
import { batchOffsets, messageToRecord } from './records.ts';
import { Assignments, committedOffsets } from './assignments.ts';
import { PendingRevokes, type Revoke } from './revokes.ts';
import { KafkaTransactions } from '../../clients/kafka-transactions.ts';
import { AvroReader } from '../../clients/avro.ts';
import { SchemaRegistryClient, registryConfig } from '../../clients/schema-registry.ts';

const ERR = Kafka.CODES.ERRORS;

/** Commit failures that mean "this member's generation is over": the new owner re-reads, nothing is lost. */
const REBALANCE_CODES = new Set<number>([ERR.ERR_ILLEGAL_GENERATION, ERR.ERR_UNKNOWN_MEMBER_ID, ERR.ERR_REBALANCE_IN_PROGRESS, ERR.ERR_FENCED_INSTANCE_ID, ERR.ERR__ASSIGNMENT_LOST, ERR.ERR_STALE_MEMBER_EPOCH]);

/** How long a commit may take to be confirmed before the batch fails (and is retried from the committed offsets). */
const COMMIT_TIMEOUT_MS = 15_000;

/** How long a rollback's seek of one partition may take. */
const SEEK_TIMEOUT_MS = 5000;

/**
 * How long a cooperative revoke waits for the batch in flight that holds records of its partitions to
 * commit. Meanwhile the partitions have no reader at all: the new owner gets them only once this member
 * gives them up, and librdkafka pauses this member's other partitions too until it does. A batch
 * normally commits within seconds; one that takes longer (a sink retrying, a commit not confirmed
 * within COMMIT_TIMEOUT_MS) is not worth stalling the group for: after this long the partitions are
 * given up anyway, and their new owner re-reads that batch's records of them. Well under
 * `maxPollInterval` (5 minutes by default); the source does not know the pipeline's `stopTimeout`.
 */
const REVOKE_WAIT_MS = 20_000;

function formatOffsets(offsets: TopicPartitionOffset[]): string {
  return offsets.map((o) => `${partitionKey(o.topic, o.partition)}@${o.offset}`).join(', ');
}

type RebalanceHandler = (consumer: Kafka.KafkaConsumer, error: LibrdKafkaError, assignment: TopicPartition[]) => void;

/** The consumer's options: the source's defaults, the user's librdkafka options, then what the source relies on. */
function consumerOptions(config: KafkaSourceConfig, onRebalance: RebalanceHandler): Kafka.ConsumerGlobalConfig {
  const options = {
    'partition.assignment.strategy': 'cooperative-sticky',
    // A subscribed topic created after the start is found within 10 s, not librdkafka's 5 minutes.
    'topic.metadata.refresh.interval.ms': 10_000,
    ...librdkafkaConfig(config),
    'group.id': config.groupId,
    'enable.auto.commit': false,
    'enable.auto.offset.store': false,
    'enable.partition.eof': true,
    // Messages of aborted transactions are never read (librdkafka's default, said here because exactly-once relies on it).
    'isolation.level': 'read_committed',
    'session.timeout.ms': config.sessionTimeout,
    'max.poll.interval.ms': config.maxPollInterval,
    // node-rdkafka calls it with the consumer as `this`.
    rebalance_cb(this: Kafka.KafkaConsumer, error: LibrdKafkaError, assignment: TopicPartition[]) {
      onRebalance(this, error, assignment);
    },
  };
  return options as Kafka.ConsumerGlobalConfig;
}

export class KafkaSource implements Source {
  private readonly log: Logger;
  private readonly description: string;
  private readonly positions = new PartitionPositions();
  private readonly assignments = new Assignments();
  /** Cooperative revokes waiting for the batch in flight to commit. */
  private readonly revokes: PendingRevokes;
  private consumer: Kafka.KafkaConsumer | undefined;
  /** From close() on, a revoke is done at once: nothing in flight will commit any more. */
  private closing = false;
  private missingTopicWarned = false;
  /** Under `processing: exactly-once`: each batch's transaction, which its commit completes with the offsets. */
  private readonly transactions: KafkaTransactions | undefined;
  /** Partitions revoked since the last read began (exactly-once: one batch in flight, so since its read). */
  private readonly revokedSinceRead = new Set<string>();
  /** `format: avro`: decodes by schema id, with the schemas fetched once per id. */
  private readonly avroReader: AvroReader | undefined;

  /** The consumer group: its committed offsets are the positions durable state is kept with. */
  get positionScope(): string {
    return this.config.groupId;
  }

  constructor(
    private readonly config: KafkaSourceConfig,
    private readonly ctx: ComponentContext,
  ) {
    this.log = ctx.logger;
    this.description = describeKafkaSource(config);
    this.transactions = ctx.processing === 'exactly-once' ? KafkaTransactions.of(ctx, config) : undefined;
    this.avroReader = config.format === 'avro' ? new AvroReader(new SchemaRegistryClient(registryConfig(config.schemaRegistry))) : undefined;
    this.revokes = new PendingRevokes(ctx.scheduler, REVOKE_WAIT_MS, (revoke) => {
      this.log.warn(
        `${this.description}: revoking ${revoke.keys.join(', ')} without the batch in flight: it did not commit within ${REVOKE_WAIT_MS / 1000} s; their new owner re-reads its records of them`,
      );
      this.giveUp(revoke);
    });
  }

  async start(): Promise<void> {
    const { config } = this;
    const options = consumerOptions(config, (consumer, error, assignment) => this.rebalance(consumer, error, assignment));
    const c = createClient(config, () => new Kafka.KafkaConsumer(options, { 'auto.offset.reset': config.startingOffsets }));
    forwardClientLogs(c, this.log, this.description);
    c.on('partition.eof', (eof) => this.positions.noteEnd(partitionKey(eof.topic, eof.partition), eof.offset));
    await connectClient(c, config, config.connectTimeout);
    // Initialised before the first read: fences an older process of this pipeline at once.
    await this.transactions?.producer$();
    c.subscribe(config.topics);
    this.consumer = c;
  }

  async read(maxRecords: number, waitMs: number): Promise<SourceBatch> {
    const { positions } = this;
    const c = this.connected();
    this.revokedSinceRead.clear();
    c.setDefaultConsumeTimeout(Math.max(1, waitMs));
    const consumed = await this.consume(c, maxRecords);
    // Before any record is handed out: the tasks assigned since the last read, with their committed positions.
    const tasks = await this.assignments.report(c).catch((error: LibrdKafkaError) => {
      throw new Error(`${this.description}: reading the group's committed offsets of newly assigned partitions failed: ${error.message}`, { cause: error });
    });
    // A message of a partition being revoked (or revoked while this read waited) is not handed out: this
    // member will not commit it, and the partition's next owner reads it from the committed offset.
    // While a revoke waits, librdkafka pauses the member's partitions and discards what it had fetched
    // of them, so only messages consumed just before the revoke arrived are left out here.
    const messages = consumed.filter((m) => this.handsOut(partitionKey(m.topic, m.partition)));
    if (messages.length < consumed.length) this.log.debug(`${this.description}: left ${consumed.length - messages.length} message(s) of revoked partitions to their next owner`);
    // Schemas of ids not seen before, fetched before decoding; a registry that does not answer fails this read (retried).
    await this.avroReader?.prepare(AvroReader.idsOf(messages.map((m) => m.value))).catch((error: unknown) => {
      throw new Error(`${this.description}: fetching Avro schemas from the schema registry failed: ${errorMessage(error)}`, { cause: error });
    });
    const now = this.ctx.scheduler.now();
    const records: StreamRecord[] = [];
    const rejected: NonNullable<SourceBatch['rejected']> = [];
    for (const message of messages) {
      positions.noteRead(partitionKey(message.topic, message.partition), message.offset);
      const { record, invalid } = messageToRecord(message, this.config.format, now, this.avroReader);
      if (invalid) rejected.push({ record, reason: invalid });
      else records.push(record);
    }
    return {
      records,
      ...(rejected.length > 0 ? { rejected } : {}),
      ...tasks,
      ...batchOffsets(messages),
      caughtUp: positions.caughtUp(this.highWatermark),
      finished: false,
      metrics: { lag: positions.lag(this.highWatermark), lagByPartition: positions.lagByPartition(this.highWatermark), assignedPartitions: positions.ownedPartitions().length },
    };
  }

  /** Exactly-once: the batch's transaction begins before its outputs are written. */
  async prepareBatch(): Promise<void> {
    await this.transactions?.begin();
  }

  async commit(batch: SourceBatch): Promise<void> {
    const { log, description } = this;
    const c = this.connected();
    const { owned, notOwned } = this.positions.commitTargets(batch.endOffsets);
    if (this.transactions) {
      // The offsets join the batch's transaction: its messages, changelog entries and offsets commit together.
      // A partition of the batch that was revoked since its read (even if assigned back) fails the batch:
      // committing its outputs without its offsets would publish records its owner now reads again.
      // Checked again once the offsets are in the transaction: from then on, a new owner's read_committed
      // fetch of the committed offsets waits for the transaction to end.
      const refuseMoved = () => {
        const moved = Object.keys(batch.endOffsets).filter((key) => this.revokedSinceRead.has(key) || !this.positions.owns(key));
        if (moved.length > 0) throw new Error(`${description}: ${moved.join(', ')} moved in a rebalance while the batch was in flight; its transaction is aborted and its records are read again by their owner`);
      };
      refuseMoved();
      await this.transactions.commit(owned, c, refuseMoved);
      this.positions.markCommitted(owned);
      this.revokeCommitted();
      return;
    }
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
        log.warn(`${description}: commit refused during a rebalance (${errorMessage(error)}); the partitions' owner re-reads from the last committed offset`);
        // No later commit of this generation would be accepted either: waiting for one is pointless.
        for (const revoke of this.revokes.takeAll()) this.giveUp(revoke);
        return;
      }
      throw new Error(`${description}: commit failed: ${errorMessage(error)}`, { cause: error });
    }
    await this.confirmCommit(c, owned);
    this.revokeCommitted();
  }

  async rollback(): Promise<void> {
    // What the failed batch wrote in its transaction is discarded: read_committed consumers never see it.
    await this.transactions?.abort();
    const c = this.connected();
    // Nothing is in flight any more: partitions waiting to be revoked go first, without a seek (their
    // new owner starts from the committed offset), then the others return to theirs.
    for (const revoke of this.revokes.takeAll()) this.giveUp(revoke);
    for (const target of this.positions.rewind()) await this.seekBack(c, target);
  }

  async close(): Promise<void> {
    this.closing = true;
    // Whatever is still in flight was abandoned: give its partitions up before leaving the group.
    for (const revoke of this.revokes.takeAll()) this.giveUp(revoke);
    const c = this.consumer;
    this.consumer = undefined;
    if (c) await disconnectClient(c, 10_000);
  }

  describe(): string {
    return this.description;
  }

  /** The partition count of the subscribed topics (the largest): a task per partition number. */
  async partitions(): Promise<number> {
    const c = this.connected();
    const counts = await Promise.all(
      this.config.topics.map(
        (topic) =>
          new Promise<number>((resolve, reject) =>
            c.getMetadata({ topic, timeout: 10_000 }, (error, metadata) => {
              if (error) return reject(new Error(`${this.description}: reading the metadata of topic ${topic} failed: ${error.message}`, { cause: error }));
              resolve(metadata.topics.find((t) => t.name === topic)?.partitions.length ?? 0);
            }),
          ),
      ),
    );
    const most = Math.max(...counts);
    if (most <= 0) throw new Error(`${this.description}: the subscribed topics have no partitions yet`);
    return most;
  }

  private connected(): Kafka.KafkaConsumer {
    if (!this.consumer) throw new Error(`${this.description}: not started`);
    return this.consumer;
  }

  private readonly highWatermark = (key: string): number | undefined => {
    const { topic, partition } = parsePartitionKey(key);
    try {
      const { highOffset } = this.connected().getWatermarkOffsets(topic, partition);
      return highOffset >= 0 ? highOffset : undefined;
    } catch {
      return undefined; // nothing fetched from this partition yet
    }
  };

  /**
   * librdkafka hands the rebalance to JavaScript and waits for assign/unassign; a cooperative group
   * needs the incremental variants. A cooperative revoke of partitions that a batch in flight holds
   * records of waits until that batch committed (the commit is still this member's: the group's
   * generation stays valid until it gives the partitions up and rejoins), or was rolled back, or
   * REVOKE_WAIT_MS passed. An eager revoke (every partition, before the group rejoins) is done at once:
   * a batch in flight then commits only what the member gets back.
   */
  private rebalance(consumer: Kafka.KafkaConsumer, error: LibrdKafkaError, assignment: TopicPartition[]): void {
    const { positions, assignments, log, description } = this;
    const keys = assignment.map((tp) => partitionKey(tp.topic, tp.partition));
    try {
      const cooperative = consumer.rebalanceProtocol() === 'COOPERATIVE';
      if (error.code === ERR.ERR__ASSIGN_PARTITIONS) {
        positions.assign(keys);
        assignments.add(keys);
        if (cooperative) consumer.incrementalAssign(assignment);
        else consumer.assign(assignment);
        log.info(`${description}: assigned ${keys.length > 0 ? keys.join(', ') : 'no new partitions'}; owns ${positions.ownedPartitions().length} partition(s)`);
      } else if (error.code === ERR.ERR__REVOKE_PARTITIONS) {
        const revoke = { keys, partitions: assignment };
        if (cooperative && !this.closing && keys.some((key) => positions.uncommitted(key))) {
          this.revokes.add(revoke);
          log.info(`${description}: revoking ${keys.join(', ')} after the batch in flight commits (at most ${REVOKE_WAIT_MS / 1000} s)`);
        } else this.giveUp(revoke, consumer);
      } else {
        log.warn(`${description}: rebalance failed: ${error.message}; dropping the assignment`);
        this.revokes.takeAll();
        const owned = positions.ownedPartitions();
        owned.forEach((key) => this.revokedSinceRead.add(key));
        positions.revoke(owned);
        assignments.remove(owned, () => false, []);
        consumer.unassign();
      }
    } catch (failure) {
      // During disconnect librdkafka revokes once more, after the client is gone.
      if (consumer.isConnected()) log.warn(`${description}: handling a rebalance failed: ${errorMessage(failure)}`);
    }
  }

  /** The revokes waiting for batches that have now committed, done. */
  private revokeCommitted(): void {
    for (const revoke of this.revokes.takeDue((key) => this.positions.uncommitted(key))) this.giveUp(revoke);
  }

  /** Give `revoke`'s partitions up: forget them, report their tasks as revoked, and unassign them. */
  private giveUp({ keys, partitions }: Revoke, consumer = this.consumer): void {
    const { positions, assignments, log, description } = this;
    // Exactly-once: a batch in flight holding records of these partitions can no longer commit them.
    keys.forEach((key) => this.revokedSinceRead.add(key));
    positions.revoke(keys);
    assignments.remove(keys, (key) => positions.owns(key), positions.ownedPartitions());
    try {
      if (!consumer) return;
      if (consumer.rebalanceProtocol() === 'COOPERATIVE') consumer.incrementalUnassign(partitions);
      else consumer.unassign();
      log.info(`${description}: revoked ${keys.join(', ') || 'no partitions'}`);
    } catch (failure) {
      // During disconnect librdkafka revokes once more, after the client is gone.
      if (consumer?.isConnected()) log.warn(`${description}: revoking ${keys.join(', ')} failed: ${errorMessage(failure)}`);
    }
  }

  /** Whether a record of `key` may be handed out: the partition is owned, and not waiting to be revoked. */
  private handsOut(key: string): boolean {
    return this.positions.owns(key) && !this.revokes.includes(key);
  }

  private consume(c: Kafka.KafkaConsumer, maxRecords: number): Promise<Message[]> {
    return new Promise((resolve, reject) => {
      c.consume(maxRecords, (error, messages) => {
        if (!error) resolve(messages);
        else if (error.code === ERR.ERR_UNKNOWN_TOPIC_OR_PART) {
          // The topic may be created later (by a producing pipeline): wait for it rather than fail.
          if (!this.missingTopicWarned) this.log.warn(`${this.description}: ${error.message}: a subscribed topic does not exist (yet); waiting for it to be created`);
          this.missingTopicWarned = true;
          resolve([]);
        } else reject(new Error(`${this.description}: consume failed: ${error.message}`, { cause: error }));
      });
    });
  }

  /**
   * Resolves once the group coordinator shows `owned` committed. The coordinator answers requests in
   * order, so the read-back sees the commit once it is durable. Partitions that moved to another member
   * meanwhile are only warned about; any other offset not accepted fails the commit.
   */
  private async confirmCommit(c: Kafka.KafkaConsumer, owned: TopicPartitionOffset[]): Promise<void> {
    const { positions, log, description } = this;
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
  }

  /** Seeks one partition back to its first uncommitted offset; a partition revoked meanwhile is only warned about. */
  private seekBack(c: Kafka.KafkaConsumer, target: TopicPartitionOffset): Promise<void> {
    const where = partitionKey(target.topic, target.partition);
    return new Promise<void>((resolve, reject) =>
      c.seek(target, SEEK_TIMEOUT_MS, (error) => {
        if (!error) resolve();
        else if (error.code === ERR.ERR__STATE || error.code === ERR.ERR__UNKNOWN_PARTITION) {
          // Revoked in the meantime: the new owner starts from the committed offset anyway.
          this.log.warn(`${this.description}: could not seek ${where} back to ${target.offset}: ${error.message}`);
          resolve();
        } else reject(new Error(`${this.description}: seeking ${where} back to ${target.offset} failed: ${error.message}`, { cause: error }));
      }),
    );
  }
}
