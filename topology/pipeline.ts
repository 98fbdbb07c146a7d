/**
 * Runs one pipeline as a sequence of micro-batches, with Spark Structured Streaming's semantics:
 *
 * - a trigger (processing-time interval, as fast as possible, or availableNow) starts each batch;
 * - a batch is at most `maxRecordsPerTrigger` records read from the source (topology/batch.ts);
 * - every operator is applied to the batch; rejected records become the batch's dead letters;
 * - the sink and the dead-letter sink write the batch (chunked, concurrent and retried by the sink
 *   policy: topology/outputs.ts);
 * - the commit ledger (topology/ledger.ts) commits batches in order once their writes are acknowledged:
 *   state, then the source's offsets; a batch that fails is rolled back with every batch after it (the
 *   source redelivers from the last committed position, operators return to their state before the
 *   first uncommitted batch) and retried after a backoff;
 * - at most `maxInFlight` batches are between read and commit: a slow sink pauses reading (backpressure);
 * - every step worth reporting is a typed runtime event (topology/events.ts), one progress event per batch.
 *
 * The loop is an RxJS `defer(runTrigger)` repeated with a delay on the injected scheduler, so the test
 * driver can run it in virtual time.
 */
import { EMPTY, Subject, defer, filter, firstValueFrom, repeat, takeUntil, tap, timer, type Observable, type Subscription } from 'rxjs';
import type { Logger } from 'winston';
import { backoffDelay } from './backoff.ts';
import { Batch, type BatchContext } from './batch.ts';
import { errorMessage } from './errors.ts';
import type { PipelineSummary, RuntimeEvent } from './events.ts';
import { CommitLedger, type Committed } from './ledger.ts';
import type { PipelineConfig } from './model.ts';
import { PipelineOutputs } from './outputs.ts';
import { progressEvent, type ProgressEvent } from './progress.ts';
import type { Registry } from './registry.ts';
import type { SinkPolicy } from './sink-policy.ts';
import { PipelineStores } from './stores.ts';
import { TaskPositions } from './tasks.ts';
import type { ComponentContext, Offsets, Operator, SchedulerLike, SharedResource, Sink, Source, SourceBatch, TaskId } from './types.ts';

export type { PipelineSummary };

export interface PipelineDeps {
  topology: string;
  /** The process's instance (ComponentContext.instance). */
  instance: string;
  registry: Registry;
  logger: Logger;
  scheduler: SchedulerLike;
  /** Where the pipeline's runtime events go. */
  emit(event: RuntimeEvent): void;
}

/**
 * created → starting → running → (draining →) stopping → stopped, or failed. `draining`: a graceful
 * stop asked a source that holds records in memory to take no more; the loop runs until it is empty.
 * `stopping`: no new batch starts; the batches in flight finish (or are abandoned after stopTimeout).
 */
export type PipelineState = 'created' | 'starting' | 'running' | 'draining' | 'stopping' | 'stopped' | 'failed';

interface TriggerOutcome {
  empty: boolean;
  /** The source has nothing more (or availableNow caught up), and everything read was committed. */
  finished: boolean;
  startedAt: number;
}

/** After an empty batch, a source silent this long is reported once (source-idle). */
const IDLE_REPORT_MS = 30_000;

export class PipelineRunner {
  state: PipelineState = 'created';
  readonly summary: PipelineSummary = { batches: 0, inputRows: 0, outputRows: 0, deadLetters: 0, failures: 0 };
  source!: Source;
  operators: Operator[] = [];
  sink!: Sink;
  sinkPolicy!: SinkPolicy;
  deadLetterSink?: Sink;

  private readonly log: Logger;
  private outputs!: PipelineOutputs;
  private stores!: PipelineStores;
  private readonly tasks = new TaskPositions();
  /** Tasks assigned whose state is not restored yet (a failed restore is tried again at the next read). */
  private pendingAssigned: Array<{ task: TaskId; committed: Offsets }> = [];
  /** The last restore, reported in the progress event of the next batch committed. */
  private lastRestore: ProgressEvent['stateRestore'];
  private readonly ledger: CommitLedger;
  /** The dead-letter stage name of each operator, e.g. `operators[1] (mapping)`. */
  private readonly stages: string[];
  private nextBatchId = 0;
  private consecutiveFailures = 0;
  private previousTriggerAt: number | undefined;
  private lastRecordsAt: number;
  private idleReported = false;
  /** Ends a backoff, or the wait for the next trigger, early: the pipeline began draining or stopping. */
  private readonly wake$ = new Subject<void>();
  /** Resources the components share (ComponentContext.shared), closed after them. */
  private readonly shared = new Map<string, SharedResource>();
  private subscription: Subscription | undefined;
  private done!: Promise<void>;
  private finishing: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly config: PipelineConfig,
    private readonly deps: PipelineDeps,
  ) {
    this.log = deps.logger.child({ pipeline: name });
    this.lastRecordsAt = deps.scheduler.now();
    this.stages = config.operators.map((op, i) => `operators[${i}] (${op.type})`);
    this.ledger = new CommitLedger(
      {
        flushState: (batch) => this.stores.flush(batch),
        commitOffsets: (batch) => this.source.commit(batch.read),
        committed: (outcome) => this.committed(outcome),
      },
      () => deps.scheduler.now(),
    );
  }

  private context(path: string): ComponentContext {
    return {
      topology: this.deps.topology,
      pipeline: this.name,
      instance: this.deps.instance,
      path: `pipelines.${this.name}.${path}`,
      logger: this.log,
      scheduler: this.deps.scheduler,
      processing: this.config.processing,
      shared: <T extends SharedResource>(key: string, create: () => T): T => {
        if (!this.shared.has(key)) this.shared.set(key, create());
        return this.shared.get(key) as T;
      },
    };
  }

  /** Create the components without connecting anything (for --describe and before start). */
  async create(): Promise<void> {
    const { registry } = this.deps;
    this.source = await registry.create('source', this.config.source, this.context('source'));
    this.operators = [];
    for (const [i, op] of this.config.operators.entries()) this.operators.push(await registry.create('operator', op, this.context(`operators[${i}] (${op.type})`)));
    const main = await registry.createSink(this.config.sink, this.context('sink'));
    const deadLetter = this.config.deadLetter ? await registry.createSink(this.config.deadLetter, this.context('deadLetter')) : undefined;
    ({ sink: this.sink, policy: this.sinkPolicy } = main);
    this.deadLetterSink = deadLetter?.sink;
    const backend = this.config.state ? await registry.create('state', this.config.state, this.context('state')) : undefined;
    const where = { topology: this.deps.topology, pipeline: this.name, operatorTypes: this.config.operators.map((op) => op.type), positionScope: this.source.positionScope };
    this.stores = new PipelineStores(where, this.operators, backend);
    this.outputs = new PipelineOutputs(main, deadLetter, { topology: this.deps.topology, pipeline: this.name, scheduler: this.deps.scheduler, logger: this.log });
  }

  /** Connect sinks first (they may create topics and tables), then the source; then start the loop. */
  async start(): Promise<void> {
    this.state = 'starting';
    if (!this.source) await this.create();
    await this.sink.start();
    await this.deadLetterSink?.start();
    await this.source.start();
    await this.stores.start(this.source);
    this.state = 'running';
    this.emit({ event: 'pipeline-started', source: this.source.describe(), operators: this.config.operators.map((op) => op.type), sink: this.sink.describe() });
    this.done = new Promise<void>((resolve, reject) => {
      this.subscription = this.loop().subscribe({
        error: (error) => this.finish('failed').then(() => reject(error), reject),
        complete: () => this.finish('stopped').then(resolve, reject),
      });
    });
    // The caller may never await `done`; a fatal error is reported by events and `state` too.
    this.done.catch(() => undefined);
  }

  /** Resolves when the pipeline ends (finite source drained, availableNow caught up, or stopped). */
  wait(): Promise<void> {
    return this.done;
  }

  /** Where each of the operators' stores is kept (after `create`), for --describe. */
  storeLines(): string[] {
    return this.stores.describe();
  }

  /** Records read but not yet committed (in flight between source and commit). */
  inFlightRecords(): number {
    return this.ledger.records();
  }

  private emit(event: DistributiveOmit<RuntimeEvent, 'topology' | 'pipeline'>): void {
    this.deps.emit({ ...event, topology: this.deps.topology, pipeline: this.name } as RuntimeEvent);
  }

  private loop(): Observable<TriggerOutcome> {
    let last: TriggerOutcome | undefined;
    return defer(() => this.runTrigger()).pipe(
      tap((outcome) => (last = outcome)),
      repeat({
        delay: () => {
          const outcome = last!;
          if (this.state === 'stopping' || outcome.finished) return EMPTY;
          const elapsed = this.deps.scheduler.now() - outcome.startedAt;
          const { idleDelay, interval } = this.config.trigger;
          const wanted = outcome.empty ? Math.max(idleDelay, interval - elapsed) : interval - elapsed;
          return timer(Math.max(0, wanted), this.deps.scheduler).pipe(takeUntil(this.wake$.pipe(filter(() => this.state === 'stopping'))));
        },
      }),
    );
  }

  private async runTrigger(): Promise<TriggerOutcome> {
    const { scheduler } = this.deps;
    const trigger = this.config.trigger;
    await this.ledger.room(this.config.maxInFlight);
    if (this.ledger.failure) await this.recover();
    if (this.state === 'stopping') return { empty: true, finished: true, startedAt: scheduler.now() };

    const startedAt = scheduler.now();
    const positionsBefore = this.tasks.snapshot();
    let read: SourceBatch;
    try {
      read = await this.source.read(trigger.maxRecordsPerTrigger, trigger.readWait);
      await this.followAssignment(read);
    } catch (error) {
      this.ledger.noteFailure(this.nextBatchId, error);
      await this.recover();
      return { empty: true, finished: false, startedAt };
    }
    this.tasks.advance(read.endOffsets);
    const endOfInput = read.finished || (trigger.mode === 'availableNow' && read.caughtUp);
    const hasInput = read.records.length > 0 || (read.rejected?.length ?? 0) > 0;
    if (hasInput) {
      this.lastRecordsAt = startedAt;
      this.idleReported = false;
    } else this.noteIdle(startedAt, read);

    // An empty read runs the operators only when one of them has work to do without input.
    if (hasInput || this.operators.some((op) => op.idleWork?.(scheduler.now(), endOfInput))) {
      const batch = new Batch(this.nextBatchId, read, this.operators.map((op) => op.snapshot?.()), { startedAt, readAt: scheduler.now() }, this.batchContext(endOfInput));
      batch.positionsBefore = positionsBefore;
      try {
        await batch.process(this.operators, this.stages);
      } catch (error) {
        this.nextBatchId++;
        this.ledger.addFailed(batch, error);
        await this.recover();
        return { empty: !hasInput, finished: false, startedAt };
      }
      // An idle batch that did nothing leaves no trace (its snapshot is simply dropped).
      if (!batch.empty) {
        this.nextBatchId++;
        batch.times.processedAt = scheduler.now();
        // Spark's inputRowsPerSecond: the batch's rows over the time since the previous batch's trigger.
        batch.times.sincePreviousTrigger = this.previousTriggerAt === undefined ? batch.times.processedAt - startedAt : startedAt - this.previousTriggerAt;
        this.previousTriggerAt = startedAt;
        const outcome = this.ledger.add(batch, this.write(batch));
        if (this.config.maxInFlight === 1) await outcome;
        if (this.ledger.failure) {
          await this.recover();
          return { empty: false, finished: false, startedAt };
        }
      }
    }
    return { empty: !hasInput, finished: endOfInput && (await this.drain()), startedAt };
  }

  /** The batch's outputs; an exactly-once source first begins the transaction they join. */
  private async write(batch: Batch) {
    await this.source.prepareBatch?.();
    return this.outputs.write(batch);
  }

  private batchContext(endOfInput: boolean): BatchContext {
    return {
      now: () => this.deps.scheduler.now(),
      endOfInput,
      storeId: (operator, store) => this.stores.storeId(operator, store),
      positionOf: (task) => this.tasks.of(task),
    };
  }

  /** Tasks revoked drop their state; tasks assigned restore theirs before any of their records is processed. */
  private async followAssignment(read: SourceBatch): Promise<void> {
    for (const task of read.revoked ?? []) {
      this.operators.forEach((op) => op.dropTask?.(task));
      this.tasks.revoke(task);
      this.pendingAssigned = this.pendingAssigned.filter((a) => a.task !== task);
    }
    if (read.assigned) this.pendingAssigned = [...this.pendingAssigned.filter((a) => !read.assigned!.some((b) => b.task === a.task)), ...read.assigned];
    if (this.pendingAssigned.length === 0) return;
    const assigned = this.pendingAssigned;
    // Said before a restore that reads changelogs (it can take seconds), so a watcher sees why nothing moves.
    if (this.stores.durable) this.emit({ event: 'state-restoring', tasks: assigned.map((a) => a.task) });
    const report = await this.stores.restore(assigned, this.source, () => this.deps.scheduler.now());
    for (const { task, committed } of assigned) this.tasks.assign(task, committed);
    this.pendingAssigned = [];
    if (report) {
      this.lastRestore = report;
      this.emit({ event: 'state-restored', ...report });
    }
  }

  /** Once a batch committed (in batch order): the summary, and its progress event. */
  private committed(outcome: Committed): void {
    const { batch } = outcome;
    this.consecutiveFailures = 0;
    this.summary.batches++;
    this.summary.inputRows += batch.inputRows;
    this.summary.outputRows += batch.output.length;
    this.summary.deadLetters += batch.deadLetters.length;
    const restore = this.lastRestore;
    this.lastRestore = undefined;
    this.deps.emit(progressEvent(outcome, { topology: this.deps.topology, pipeline: this.name, source: this.source, operators: this.operators, sink: this.sink, restore }));
  }

  /** Wait for every batch in flight to commit; after a failure, recover. True when all committed. */
  private async drain(): Promise<boolean> {
    if (await this.ledger.drained()) return true;
    await this.recover();
    return false;
  }

  /** After a failed batch: let the others settle, restore operator state, roll the source back, back off. */
  private async recover(): Promise<void> {
    const { failure, restore, uncommittedRows } = await this.ledger.unwind();
    if (restore) {
      this.operators.forEach((op, i) => op.restore?.(restore.snapshots[i]));
      if (restore.positionsBefore) this.tasks.rewind(restore.positionsBefore);
    }
    this.summary.failures++;
    this.consecutiveFailures++;
    try {
      await this.source.rollback();
    } catch (error) {
      this.log.error(`rollback of ${this.source.describe()} failed`, { error: errorMessage(error) });
    }
    const reported = { event: 'batch-failed', batchId: failure.batchId, error: errorMessage(failure.error), uncommittedRows, consecutiveFailures: this.consecutiveFailures } as const;
    if (this.config.onFailure.action === 'stop') {
      this.emit({ ...reported, action: 'stop' });
      throw failure.error;
    }
    const delay = backoffDelay(this.consecutiveFailures - 1, this.config.onFailure.initialBackoff, this.config.onFailure.maxBackoff);
    this.emit({ ...reported, action: 'retry', retryInMs: delay });
    // A graceful stop (or drain) ends the backoff early: the source may have nothing left.
    if (this.state !== 'stopping') await firstValueFrom(timer(delay, this.deps.scheduler).pipe(takeUntil(this.wake$)), { defaultValue: 0 });
  }

  private noteIdle(now: number, read: SourceBatch): void {
    const idleMs = now - this.lastRecordsAt;
    if (!this.idleReported && idleMs >= IDLE_REPORT_MS && !read.finished) {
      this.idleReported = true;
      this.emit({ event: 'source-idle', source: this.source.describe(), idleMs, ...(read.metrics ? { sourceMetrics: read.metrics } : {}) });
    }
  }

  /**
   * Graceful stop: no new batch; the in-flight ones finish and commit, unless they take longer than
   * `stopTimeout`, in which case they are abandoned uncommitted (their records are redelivered later).
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'failed') return;
    if (this.state === 'created' || this.state === 'starting') {
      this.state = 'stopped';
      await this.closeComponents();
      return;
    }
    const ended = this.done.then(
      () => 'ended' as const,
      () => 'ended' as const,
    );
    // The deadline is cancelled once the stop is over, so no timer outlives it.
    const over$ = new Subject<void>();
    const deadline = firstValueFrom(timer(this.config.stopTimeout, this.deps.scheduler).pipe(takeUntil(over$)), { defaultValue: -1 }).then(() => 'timeout' as const);
    try {
      // A source that holds records only in memory (an HTTP poll) is drained first: it takes no new
      // input, and the loop ends by itself once everything it took is written and committed.
      if (this.source.drain) {
        this.state = 'draining';
        this.source.drain();
        this.wake$.next();
        if ((await Promise.race([ended, deadline])) === 'ended') return;
        this.log.warn(`stop: ${this.source.describe()} not drained within ${this.config.stopTimeout} ms; stopping without it`);
      }
      if (this.state === 'draining' || this.state === 'running') this.state = 'stopping';
      this.wake$.next();
      if ((await Promise.race([ended, deadline])) === 'timeout') {
        this.ledger.abandon();
        this.log.warn(`stop: in-flight batch still running after ${this.config.stopTimeout} ms; abandoned uncommitted (its records will be redelivered)`);
        this.subscription?.unsubscribe();
        await this.finish('stopped', { waitForInFlight: false });
      }
    } finally {
      over$.next();
    }
  }

  private finish(outcome: 'stopped' | 'failed', options = { waitForInFlight: true }): Promise<void> {
    this.finishing ??= (async () => {
      if (options.waitForInFlight) await this.ledger.settled();
      await this.closeComponents();
      this.state = outcome;
      this.emit({ event: 'pipeline-stopped', outcome, summary: { ...this.summary } });
    })();
    return this.finishing;
  }

  private async closeComponents(): Promise<void> {
    const closers: Array<[string, (() => Promise<void>) | undefined]> = [
      ['source', this.source ? () => this.source.close() : undefined],
      ...this.operators.map((op, i): [string, (() => Promise<void>) | undefined] => [`operators[${i}]`, op.close ? () => op.close!() : undefined]),
      ['sink', this.sink ? () => this.sink.close() : undefined],
      ['deadLetter', this.deadLetterSink ? () => this.deadLetterSink!.close() : undefined],
      ['state', this.stores?.backend ? () => this.stores.backend!.close() : undefined],
      ...[...this.shared].map(([key, resource]): [string, () => Promise<void>] => [key, () => resource.close()]),
    ];
    for (const [where, close] of closers) {
      try {
        await close?.();
      } catch (error) {
        this.log.warn(`closing ${where} failed`, { error: errorMessage(error) });
      }
    }
  }
}

/** Omit over each member of a union (TypeScript's Omit merges the members first). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
