/**
 * The one transactional producer of a pipeline under `processing: exactly-once`, shared (through
 * ComponentContext.shared) by its kafka sinks, its dead-letter sink and its kafka state backend, and
 * driven by its kafka source: each batch is one Kafka transaction — begun before the batch's outputs are
 * written, holding its messages, its changelog entries and its consumer offsets, committed at its commit,
 * aborted at its rollback. A read_committed consumer sees a batch's messages all or none.
 *
 * The transactional id is `user-stream.<topology>.<pipeline>.<instance>` (ComponentContext.instance, see
 * operations/instance.ts): unique among the live processes of the pipeline, so that several of them work
 * side by side in one consumer group — Kafka (≥ 2.5, KIP-447) fences a zombie member through the group
 * generation its sendOffsetsToTransaction carries (the source passes the consumer) — and the same after
 * a restart of one of them, whose new producer then aborts at once the transaction the dead one left
 * open, instead of read_committed consumers of the outputs waiting for transaction.timeout.ms. A second
 * process with the same instance fences the first when it initialises its transactions.
 *
 * See also: sinks/kafka/producer.ts (writes through it), sources/kafka/source.ts (begins and commits).
 */
import Kafka from 'node-rdkafka';
import type { LibrdKafkaError, TopicPartitionOffset } from 'node-rdkafka';
import type { Logger } from 'winston';
import type { ComponentContext, SharedResource } from '../topology/types.ts';
import { connectClient, createClient, disconnectClient, forwardClientLogs, librdkafkaConfig, type KafkaClientConfig } from './kafka.ts';

const ERR = Kafka.CODES.ERRORS;

/** How long initialising, committing or aborting a transaction may take. */
const TRANSACTION_CALL_TIMEOUT_MS = 30_000;

/** Whatever a delivery report is counted against: the write its message belongs to (the message's opaque). */
export interface DeliveryTarget {
  delivered(error: LibrdKafkaError | null | undefined): void;
}

/** Hands every delivery report of `producer` to the write its message belongs to. One listener per producer. */
export function dispatchDeliveryReports(producer: Kafka.Producer): void {
  producer.on('delivery-report', (error, report) => (report.opaque as DeliveryTarget).delivered(error));
}

function call(what: string, run: (done: (error: LibrdKafkaError | null | undefined) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => run((error) => (error ? reject(Object.assign(new Error(`${what}: ${error.message}`, { cause: error }), { code: error.code })) : resolve())));
}

/** The transactional id of a pipeline's producer in one instance: `user-stream.<topology>.<pipeline>.<instance>`. */
export function transactionalId(ctx: Pick<ComponentContext, 'topology' | 'pipeline' | 'instance'>): string {
  return `user-stream.${ctx.topology}.${ctx.pipeline}.${ctx.instance}`;
}

export class KafkaTransactions implements SharedResource {
  private producer: Kafka.Producer | undefined;
  private connecting: Promise<Kafka.Producer> | undefined;
  /** A transaction is open (begun, not yet committed or aborted). */
  private open = false;
  /** Another process of the pipeline initialised the same transactional id: this one can commit nothing more. */
  private fenced: Error | undefined;

  /** `user-stream.<topology>.<pipeline>.<instance>`. */
  readonly transactionalId: string;

  private constructor(
    private readonly client: KafkaClientConfig,
    private readonly ctx: Pick<ComponentContext, 'topology' | 'pipeline' | 'instance'>,
    private readonly log: Logger,
  ) {
    this.transactionalId = transactionalId(ctx);
  }

  /** The pipeline's one producer; every Kafka component of an exactly-once pipeline must use the same brokers. */
  static of(ctx: ComponentContext, client: KafkaClientConfig): KafkaTransactions {
    const shared = ctx.shared('kafka-transactions', () => new KafkaTransactions(client, ctx, ctx.logger));
    if (shared.client.brokers !== client.brokers) {
      throw new Error(`${ctx.path}: processing: exactly-once needs every Kafka component of the pipeline on the same brokers (${shared.client.brokers}, not ${client.brokers}): one transaction spans them all`);
    }
    return shared;
  }

  /** The producer, connected and with its transactions initialised (which fences an older process of the pipeline). */
  producer$(): Promise<Kafka.Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async connect(): Promise<Kafka.Producer> {
    const options = { ...librdkafkaConfig(this.client), 'transactional.id': this.transactionalId, 'enable.idempotence': true, acks: 'all', dr_cb: true, 'allow.auto.create.topics': false };
    const p = createClient(this.client, () => new Kafka.Producer(options as Kafka.ProducerGlobalConfig));
    forwardClientLogs(p, this.log, `transactional producer ${this.transactionalId}`);
    dispatchDeliveryReports(p);
    await connectClient(p, this.client, this.client.connectTimeout);
    try {
      await call(`initialising the transactions of ${this.transactionalId}`, (done) => p.initTransactions(TRANSACTION_CALL_TIMEOUT_MS, done));
    } catch (error) {
      await disconnectClient(p, 5000);
      throw error;
    }
    this.log.info(`exactly-once: transactional id ${this.transactionalId} (instance ${this.ctx.instance})`);
    this.producer = p;
    return p;
  }

  /** Begins the batch's transaction (once: a retried write of the same batch stays in it). */
  async begin(): Promise<void> {
    if (this.fenced) throw this.fenced;
    const p = await this.producer$();
    if (this.open) return;
    await call(`beginning a transaction of ${this.transactionalId}`, (done) => p.beginTransaction(done));
    this.open = true;
  }

  /**
   * Adds the consumer's offsets to the open transaction and commits it: the batch's messages and offsets,
   * together. `beforeCommit`, called once the offsets are in the transaction, may throw to leave it open
   * (the batch fails, and its rollback aborts it).
   */
  async commit(offsets: TopicPartitionOffset[], consumer: Kafka.KafkaConsumer, beforeCommit?: () => void): Promise<void> {
    if (this.fenced) throw this.fenced;
    const p = await this.producer$();
    if (!this.open) throw new Error(`${this.transactionalId}: commit without a transaction`);
    try {
      if (offsets.length > 0) await call(`adding offsets to the transaction of ${this.transactionalId}`, (done) => p.sendOffsetsToTransaction(offsets, consumer, TRANSACTION_CALL_TIMEOUT_MS, done));
      beforeCommit?.();
      await call(`committing the transaction of ${this.transactionalId}`, (done) => p.commitTransaction(TRANSACTION_CALL_TIMEOUT_MS, done));
      this.open = false;
    } catch (error) {
      this.noteFenced(error);
      throw error;
    }
  }

  /** Aborts the open transaction, if any; a producer that cannot abort is replaced (its transaction dies with it). */
  async abort(): Promise<void> {
    if (!this.open || !this.producer) return;
    const p = this.producer;
    try {
      await call(`aborting the transaction of ${this.transactionalId}`, (done) => p.abortTransaction(TRANSACTION_CALL_TIMEOUT_MS, done));
    } catch (error) {
      this.noteFenced(error);
      if (this.fenced) return;
      // A new producer with the same id aborts what the old one left open when it initialises.
      this.log.warn(`${this.transactionalId}: replacing the transactional producer (${(error as Error).message})`);
      this.producer = undefined;
      await disconnectClient(p, 5000);
    } finally {
      this.open = false;
    }
  }

  private noteFenced(error: unknown): void {
    if (this.fenced) return;
    const code = (error as { code?: number }).code;
    if (code === ERR.ERR__FENCED || code === ERR.ERR_PRODUCER_FENCED || code === ERR.ERR_INVALID_PRODUCER_EPOCH) {
      const { topology, pipeline, instance } = this.ctx;
      this.fenced = new Error(
        `${this.transactionalId}: fenced by another producer with the same transactional id — another process running pipeline ${pipeline} of topology ${topology} as instance ${instance}, which initialised its transactions after this one — so this one commits nothing more: stop it. ` +
          `Check that no two processes were given the same --instance (or USER_STREAM_INSTANCE), and that the processes of the topology on one machine claim their instance in one folder (.state/instances of one working directory, or one USER_STREAM_INSTANCE_DIR) (${(error as Error).message})`,
        { cause: error },
      );
      this.log.error(this.fenced.message);
    }
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    if (!p) return;
    if (this.open) await this.abort().catch(() => undefined);
    await disconnectClient(p, 10_000);
  }
}
