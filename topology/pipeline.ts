/**
 * Runs one pipeline as a sequence of micro-batches, with Spark Structured Streaming's semantics:
 *
 * - a trigger (processing-time interval, as fast as possible, or availableNow) starts each batch;
 * - a batch is at most `maxRecordsPerTrigger` records read from the source;
 * - every operator is applied to the batch; rejected records go to the dead-letter sink;
 * - the sink writes the batch (chunked, concurrent and retried by the sink policy);
 * - only when the sink and the dead-letter sink acknowledged every record is the source's position
 *   committed, in batch order; a batch that fails is rolled back (the source redelivers from the last
 *   committed position, stateful operators return to their state before it) and retried after a backoff;
 * - at most `maxInFlight` batches are between read and commit: a slow sink pauses reading (backpressure);
 * - one progress event per batch.
 *
 * The loop is an RxJS `defer(runTrigger)` repeated with a delay on the injected scheduler, so the test
 * driver can run it in virtual time.
 */
import { EMPTY, Subject, defer, firstValueFrom, from, lastValueFrom, merge, repeat, takeUntil, tap, timer, toArray, type Observable, type Subscription } from 'rxjs';
import type { Logger } from 'winston';
import type { Registry } from './registry.ts';
import type { PipelineConfig } from './model.ts';
import { writeWithPolicy, type SinkPolicy } from './sink-policy.ts';
import { backoffDelay } from './backoff.ts';
import { rate, type ProgressEvent } from './progress.ts';
import type { ComponentContext, DeadLetter, DeadLetterValue, Operator, SchedulerLike, Sink, Source, SourceBatch, StreamRecord } from './types.ts';

export interface PipelineDeps {
  topology: string;
  registry: Registry;
  logger: Logger;
  scheduler: SchedulerLike;
  onProgress?(event: ProgressEvent): void;
}

export type PipelineState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

interface InFlightBatch {
  batchId: number;
  batch: SourceBatch;
  /** Operator state before this batch, restored if it fails. */
  snapshots: unknown[];
  /** Records the source itself rejected while reading (e.g. invalid JSON): input too, like Spark counts them. */
  rejectedAtRead: number;
  /** Settles when written and committed (or failed / skipped). Never rejects. */
  settled: Promise<void>;
}

interface TriggerOutcome {
  empty: boolean;
  finished: boolean;
  startedAt: number;
}

/** Thrown to skip committing a batch that follows a failed one. */
class Superseded extends Error {}

/** The summary of a stopped pipeline. */
export interface PipelineSummary {
  batches: number;
  inputRows: number;
  outputRows: number;
  deadLetters: number;
  failures: number;
}

export class PipelineRunner {
  state: PipelineState = 'created';
  readonly summary: PipelineSummary = { batches: 0, inputRows: 0, outputRows: 0, deadLetters: 0, failures: 0 };
  source!: Source;
  operators: Operator[] = [];
  sink!: Sink;
  deadLetterSink?: Sink;
  sinkPolicy!: SinkPolicy;
  deadLetterPolicy?: SinkPolicy;

  private readonly log: Logger;
  private nextBatchId = 0;
  private inFlight: InFlightBatch[] = [];
  private commitChain: Promise<void> = Promise.resolve();
  private failure: { batchId: number; error: unknown } | undefined;
  private consecutiveFailures = 0;
  private collecting: DeadLetter[] = [];
  private previousTriggerAt: number | undefined;
  private lastRecordsAt: number;
  private idleWarned = false;
  private stopRequested = false;
  private abandoned = false;
  private readonly stop$ = new Subject<void>();
  /** A graceful stop began: a failure backoff in progress ends early (the source may have nothing left). */
  private readonly draining$ = new Subject<void>();
  private subscription: Subscription | undefined;
  private done!: Promise<void>;
  private fatal: unknown;

  constructor(
    readonly name: string,
    readonly config: PipelineConfig,
    private readonly deps: PipelineDeps,
  ) {
    this.log = deps.logger.child({ pipeline: name });
    this.lastRecordsAt = deps.scheduler.now();
  }

  private context(path: string, extra: Partial<ComponentContext> = {}): ComponentContext {
    return {
      ...extra,
      topology: this.deps.topology,
      pipeline: this.name,
      path: `pipelines.${this.name}.${path}`,
      logger: this.log,
      scheduler: this.deps.scheduler,
    };
  }

  /** Create the components without connecting anything (for --describe and before start). */
  async create(): Promise<void> {
    const { registry } = this.deps;
    this.source = await registry.create('source', this.config.source, this.context('source'));
    this.operators = [];
    for (const [i, op] of this.config.operators.entries()) this.operators.push(await registry.create('operator', op, this.context(`operators[${i}] (${op.type})`)));
    ({ sink: this.sink, policy: this.sinkPolicy } = await registry.createSink(this.config.sink, this.context('sink')));
    if (this.config.deadLetter) ({ sink: this.deadLetterSink, policy: this.deadLetterPolicy } = await registry.createSink(this.config.deadLetter, this.context('deadLetter')));
  }

  /** Connect sinks first (they may create topics and tables), then the source; then start the loop. */
  async start(): Promise<void> {
    this.state = 'starting';
    if (!this.source) await this.create();
    await this.sink.start();
    await this.deadLetterSink?.start();
    await this.source.start();
    this.state = 'running';
    this.log.info(`started: ${this.source.describe()} → ${this.operators.length} operator(s) → ${this.sink.describe()}`);
    this.done = new Promise<void>((resolve, reject) => {
      this.subscription = this.loop().subscribe({
        error: (error) => {
          this.fatal = error;
          this.finish().then(() => reject(error), reject);
        },
        complete: () => {
          this.finish().then(resolve, reject);
        },
      });
    });
    // The caller may never await `done`; a fatal error is reported through the log and `state` too.
    this.done.catch(() => undefined);
  }

  /** Resolves when the pipeline ends (finite source drained, availableNow caught up, or stopped). */
  wait(): Promise<void> {
    return this.done;
  }

  private loop(): Observable<TriggerOutcome> {
    let last: TriggerOutcome | undefined;
    return defer(() => this.runTrigger()).pipe(
      tap((outcome) => (last = outcome)),
      repeat({
        delay: () => {
          const outcome = last!;
          if (this.stopRequested || (outcome.finished && this.failure === undefined)) return EMPTY;
          const elapsed = this.deps.scheduler.now() - outcome.startedAt;
          const wanted = outcome.empty ? Math.max(this.config.trigger.idleDelay, this.config.trigger.interval - elapsed) : this.config.trigger.interval - elapsed;
          return timer(Math.max(0, wanted), this.deps.scheduler).pipe(takeUntil(this.stop$));
        },
      }),
    );
  }

  private async runTrigger(): Promise<TriggerOutcome> {
    const { scheduler } = this.deps;
    const trigger = this.config.trigger;
    while (this.inFlight.length >= this.config.maxInFlight && !this.failure) await Promise.race(this.inFlight.map((b) => b.settled));
    if (this.failure) await this.recover();
    if (this.stopRequested) return { empty: true, finished: true, startedAt: scheduler.now() };

    const startedAt = scheduler.now();
    this.collecting = [];
    let batch: SourceBatch;
    try {
      batch = await this.source.read(trigger.maxRecordsPerTrigger, trigger.readWait);
      for (const { record, reason } of batch.rejected ?? []) this.collecting.push({ record, reason, stage: 'source' });
    } catch (error) {
      this.failure = { batchId: this.nextBatchId, error };
      await this.recover();
      return { empty: true, finished: false, startedAt };
    }
    const readDone = scheduler.now();
    if (batch.records.length === 0 && this.collecting.length === 0) {
      this.noteIdle(startedAt, batch);
      const finished = batch.finished || (trigger.mode === 'availableNow' && batch.caughtUp);
      if (finished) await this.drain();
      return { empty: true, finished: finished && this.inFlight.length === 0, startedAt };
    }
    this.lastRecordsAt = startedAt;
    this.idleWarned = false;

    const batchId = this.nextBatchId++;
    const rejectedAtRead = this.collecting.length;
    const snapshots = this.operators.map((op) => op.snapshot?.());
    let output: StreamRecord[];
    try {
      output = await this.process(batch.records);
    } catch (error) {
      this.failure = { batchId, error };
      this.inFlight.push({ batchId, batch, snapshots, rejectedAtRead, settled: Promise.resolve() });
      await this.recover();
      return { empty: false, finished: false, startedAt };
    }
    const processed = scheduler.now();
    const deadLetters = this.collecting;
    this.collecting = [];

    const entry: InFlightBatch = { batchId, batch, snapshots, rejectedAtRead, settled: Promise.resolve() };
    const inputInterval = this.previousTriggerAt === undefined ? processed - startedAt : startedAt - this.previousTriggerAt;
    this.previousTriggerAt = startedAt;
    entry.settled = this.writeAndCommit(entry, output, deadLetters, { startedAt, getBatch: readDone - startedAt, process: processed - readDone, inputInterval });
    this.inFlight.push(entry);
    if (this.config.maxInFlight === 1) await entry.settled;
    if (this.failure) {
      await this.recover();
      return { empty: false, finished: false, startedAt };
    }
    const finished = batch.finished || (trigger.mode === 'availableNow' && batch.caughtUp);
    if (finished) await this.drain();
    return { empty: false, finished: finished && this.failure === undefined, startedAt };
  }

  /** Apply every operator to one batch. */
  private process(records: StreamRecord[]): Promise<StreamRecord[]> {
    let stream: Observable<StreamRecord> = from(records);
    this.operators.forEach((op, i) => {
      const stage = `operators[${i}] (${this.config.operators[i].type})`;
      stream = op.apply(stream, { deadLetter: (record, reason) => this.collecting.push({ record, reason, stage }) });
    });
    return lastValueFrom(stream.pipe(toArray()));
  }

  private async writeAndCommit(
    entry: InFlightBatch,
    output: StreamRecord[],
    deadLetters: DeadLetter[],
    timing: { startedAt: number; getBatch: number; process: number; inputInterval: number },
  ): Promise<void> {
    const { scheduler } = this.deps;
    const writeStart = scheduler.now();
    let retries = 0;
    try {
      if (output.length > 0) retries += (await writeWithPolicy(this.sink, output, this.sinkPolicy, scheduler, this.onRetry('sink'))).retries;
      if (deadLetters.length > 0) retries += await this.writeDeadLetters(deadLetters);
      const writeDone = scheduler.now();
      // Commits happen in batch order: wait for the previous batch's commit.
      const previous = this.commitChain;
      let commitStart = writeDone;
      const committed = previous.then(async () => {
        if (this.failure || this.abandoned) throw new Superseded(`batch ${entry.batchId} follows a failed or abandoned batch`);
        commitStart = scheduler.now();
        await this.source.commit(entry.batch);
      });
      this.commitChain = committed.catch(() => undefined);
      await committed;
      const end = scheduler.now();
      this.inFlight = this.inFlight.filter((b) => b !== entry);
      this.consecutiveFailures = 0;
      this.emitProgress(entry, output.length, deadLetters.length, retries, { ...timing, write: writeDone - writeStart, commit: end - commitStart, total: end - timing.startedAt });
    } catch (error) {
      if (!(error instanceof Superseded) && !this.failure) this.failure = { batchId: entry.batchId, error };
    }
  }

  private async writeDeadLetters(deadLetters: DeadLetter[]): Promise<number> {
    const records = deadLetters.map((d) => this.deadLetterRecord(d));
    if (this.deadLetterSink && this.deadLetterPolicy) {
      return (await writeWithPolicy(this.deadLetterSink, records, this.deadLetterPolicy, this.deps.scheduler, this.onRetry('deadLetter'))).retries;
    }
    for (const d of deadLetters) {
      const raw = d.record.raw === undefined ? JSON.stringify(d.record.value) : String(d.record.raw);
      this.log.warn(`dead letter (no deadLetter sink configured): ${d.reason}`, { stage: d.stage, origin: d.record.origin, raw: raw.length > 500 ? `${raw.slice(0, 500)}…` : raw });
    }
    return 0;
  }

  private deadLetterRecord(d: DeadLetter): StreamRecord<DeadLetterValue> {
    return {
      key: d.record.key,
      timestamp: d.record.timestamp,
      origin: d.record.origin,
      raw: d.record.raw,
      value: { reason: d.reason, stage: d.stage, topology: this.deps.topology, pipeline: this.name, origin: d.record.origin, value: d.record.value, failedAt: this.deps.scheduler.now() },
    };
  }

  private onRetry(which: 'sink' | 'deadLetter') {
    const describe = which === 'sink' ? this.sink.describe() : this.deadLetterSink?.describe();
    return (error: unknown, attempt: number, delayMs: number) => {
      this.log.warn(`write to ${describe} failed (attempt ${attempt}), retrying in ${delayMs} ms`, { error: errorMessage(error) });
    };
  }

  /** Wait for every in-flight batch to be committed or to fail. */
  private async drain(): Promise<void> {
    while (this.inFlight.length > 0 && !this.failure) await Promise.race(this.inFlight.map((b) => b.settled));
    if (this.failure) await this.recover();
  }

  /** After a failed batch: let the others settle, restore operator state, roll the source back, back off. */
  private async recover(): Promise<void> {
    const failure = this.failure!;
    await Promise.all(this.inFlight.map((b) => b.settled));
    const first = this.inFlight.reduce<InFlightBatch | undefined>((a, b) => (a === undefined || b.batchId < a.batchId ? b : a), undefined);
    if (first) this.operators.forEach((op, i) => op.restore?.(first.snapshots[i]));
    const uncommittedRows = this.inFlight.reduce((n, b) => n + b.batch.records.length, 0);
    this.inFlight = [];
    this.commitChain = Promise.resolve();
    this.summary.failures++;
    this.consecutiveFailures++;
    try {
      await this.source.rollback();
    } catch (error) {
      this.log.error(`rollback of ${this.source.describe()} failed`, { error: errorMessage(error) });
    }
    if (this.config.onFailure.action === 'stop') {
      this.log.error(`batch ${failure.batchId} failed; ${uncommittedRows} record(s) left uncommitted; stopping (onFailure.action: stop)`, { error: errorMessage(failure.error) });
      throw failure.error;
    }
    const delay = backoffDelay(this.consecutiveFailures - 1, this.config.onFailure.initialBackoff, this.config.onFailure.maxBackoff);
    this.log.error(`batch ${failure.batchId} failed; ${uncommittedRows} record(s) rolled back to the last committed position, retrying in ${delay} ms`, {
      error: errorMessage(failure.error),
      consecutiveFailures: this.consecutiveFailures,
    });
    this.failure = undefined;
    if (!this.stopRequested) await firstValueFrom(timer(delay, this.deps.scheduler).pipe(takeUntil(merge(this.stop$, this.draining$))), { defaultValue: 0 });
  }

  private noteIdle(now: number, batch: SourceBatch): void {
    const idleFor = now - this.lastRecordsAt;
    if (!this.idleWarned && idleFor >= 30_000 && !batch.finished) {
      this.idleWarned = true;
      this.log.warn(`no new records from ${this.source.describe()} for ${Math.round(idleFor / 1000)} s`, { sourceMetrics: batch.metrics });
    }
  }

  private emitProgress(
    entry: InFlightBatch,
    outputRows: number,
    deadLetters: number,
    retries: number,
    t: { startedAt: number; getBatch: number; process: number; write: number; commit: number; total: number; inputInterval: number },
  ): void {
    const input = entry.batch.records.length + entry.rejectedAtRead;
    this.summary.batches++;
    this.summary.inputRows += input;
    this.summary.outputRows += outputRows;
    this.summary.deadLetters += deadLetters;
    const watermarks = this.operators.map((op) => op.watermark?.()).filter((w): w is number => w !== undefined);
    const event: ProgressEvent = {
      event: 'progress',
      topology: this.deps.topology,
      pipeline: this.name,
      batchId: entry.batchId,
      timestamp: new Date(t.startedAt).toISOString(),
      numInputRows: input,
      inputRowsPerSecond: rate(input, t.inputInterval),
      processedRowsPerSecond: rate(input, t.total),
      durationMs: { triggerExecution: t.total, getBatch: t.getBatch, process: t.process, write: t.write, commit: t.commit },
      sources: [{ description: this.source.describe(), startOffset: entry.batch.startOffsets, endOffset: entry.batch.endOffsets, metrics: entry.batch.metrics }],
      sink: { description: this.sink.describe(), numOutputRows: outputRows, retries },
      numDeadLetterRows: deadLetters,
      ...(watermarks.length > 0 ? { watermark: Math.min(...watermarks) } : {}),
      stateOperators: this.operators.filter((op) => op.metrics).map((op) => ({ operator: op.describe(), metrics: op.metrics!() })),
    };
    this.log.info('progress', event);
    this.deps.onProgress?.(event);
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
    this.state = 'stopping';
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
        this.source.drain();
        this.draining$.next();
        if ((await Promise.race([ended, deadline])) === 'ended') return;
        this.log.warn(`stop: ${this.source.describe()} not drained within ${this.config.stopTimeout} ms; stopping without it`);
      }
      this.stopRequested = true;
      this.stop$.next();
      if ((await Promise.race([ended, deadline])) === 'timeout') {
        this.abandoned = true;
        this.log.warn(`stop: in-flight batch still running after ${this.config.stopTimeout} ms; abandoned uncommitted (its records will be redelivered)`);
        this.subscription?.unsubscribe();
        await this.finish();
      }
    } finally {
      over$.next();
    }
  }

  private finishing: Promise<void> | undefined;

  private finish(): Promise<void> {
    this.finishing ??= (async () => {
      if (!this.abandoned) await Promise.all(this.inFlight.map((b) => b.settled));
      await this.closeComponents();
      this.state = this.fatal ? 'failed' : 'stopped';
      const s = this.summary;
      this.log.info(`stopped: ${s.batches} batch(es), ${s.inputRows} records in, ${s.outputRows} written, ${s.deadLetters} dead-lettered, ${s.failures} failed batch(es)`, { summary: s });
    })();
    return this.finishing;
  }

  private async closeComponents(): Promise<void> {
    const closers: Array<[string, (() => Promise<void>) | undefined]> = [
      ['source', this.source ? () => this.source.close() : undefined],
      ...this.operators.map((op, i): [string, (() => Promise<void>) | undefined] => [`operators[${i}]`, op.close ? () => op.close!() : undefined]),
      ['sink', this.sink ? () => this.sink.close() : undefined],
      ['deadLetter', this.deadLetterSink ? () => this.deadLetterSink!.close() : undefined],
    ];
    for (const [where, close] of closers) {
      try {
        await close?.();
      } catch (error) {
        this.log.warn(`closing ${where} failed`, { error: errorMessage(error) });
      }
    }
  }

  /** Records read but not yet committed (in flight between source and commit). */
  inFlightRecords(): number {
    return this.inFlight.reduce((n, b) => n + b.batch.records.length, 0);
  }

}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
