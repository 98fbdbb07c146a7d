/**
 * The commit ledger of one pipeline: the batches between read and commit, in order. Each batch
 * commits — state flushed, then offsets — only once its own writes were acknowledged and every batch
 * before it committed. The first failure rolls back the failed batch and every batch after it; the
 * ledger then says where to restore to: the first batch not committed, whose operator snapshots are
 * the state to go back to. What became of a batch is its outcome, returned to whoever added it.
 * (Quix Streams' Checkpoint and Kafka Streams' StreamTask prepareCommit/postCommit are the models.)
 */
import type { Batch } from './batch.ts';

/** What writing a batch's output and dead letters took. */
export interface WriteFigures {
  /** Attempts beyond the first, over every chunk of the sink and the dead-letter sink. */
  retries: number;
  /** When the last write was acknowledged (the pipeline's clock). */
  writtenAt: number;
}

export interface Committed {
  status: 'committed';
  batch: Batch;
  write: WriteFigures;
  /** When the commit began (after the batch before it committed) and ended. */
  commitStartedAt: number;
  committedAt: number;
}

export type BatchOutcome =
  | Committed
  /** It failed itself: its write, its commit, or its operators. */
  | { status: 'failed'; batch: Batch; error: unknown }
  /** Not committed because a batch before it failed or the pipeline gave up waiting: read again later. */
  | { status: 'rolled back'; batch: Batch };

export interface BatchFailure {
  /** The failed batch, or for a failed read the id the next batch would have had. */
  batchId: number;
  error: unknown;
}

/** The steps of a checkpoint once a batch's writes are acknowledged, in this order. */
export interface CheckpointSteps {
  /** Durable state: what the batch changed in its operators' state, made durable before its offsets. */
  flushState(batch: Batch): Promise<void>;
  /** The source's position after the batch. */
  commitOffsets(batch: Batch): Promise<void>;
  /** After the commit, before anyone waiting on the outcome resumes (progress events, in batch order). */
  committed(outcome: Committed): void;
}

/** After a failure, once every batch in flight has settled: what to restore and report. */
export interface Unwound {
  failure: BatchFailure;
  /** The first batch not committed: its snapshots are the operator state to restore (none: no batch was in flight). */
  restore: Batch | undefined;
  /** Records read but not committed (the source re-reads them after its rollback). */
  uncommittedRows: number;
}

interface Entry {
  batch: Batch;
  outcome: Promise<BatchOutcome>;
}

export class CommitLedger {
  private entries: Entry[] = [];
  /** Whether every batch added so far has committed (the next one waits for it). */
  private allCommitted: Promise<boolean> = Promise.resolve(true);
  private first: BatchFailure | undefined;
  private abandoned = false;

  constructor(
    private readonly steps: CheckpointSteps,
    private readonly now: () => number,
  ) {}

  /** The first failure since the last `unwind`. */
  get failure(): BatchFailure | undefined {
    return this.first;
  }

  /** Batches between read and commit. */
  get size(): number {
    return this.entries.length;
  }

  /** Records read but not committed. */
  records(): number {
    return this.entries.reduce((n, e) => n + e.batch.read.records.length, 0);
  }

  /** A batch whose writes are under way (`written`); it commits after every batch before it. */
  add(batch: Batch, written: Promise<WriteFigures>): Promise<BatchOutcome> {
    const outcome = this.settle(batch, written, this.allCommitted);
    this.entries.push({ batch, outcome });
    this.allCommitted = outcome.then((o) => o.status === 'committed');
    return outcome;
  }

  /** A batch that failed before its writes began (its operators threw). */
  addFailed(batch: Batch, error: unknown): BatchOutcome {
    const outcome = this.fail(batch, error);
    this.entries.push({ batch, outcome: Promise.resolve(outcome) });
    this.allCommitted = Promise.resolve(false);
    return outcome;
  }

  /** A failure outside any batch: the source's read (`batchId`: the id the batch would have had). */
  noteFailure(batchId: number, error: unknown): void {
    this.first ??= { batchId, error };
  }

  /** Resolves once fewer than `max` batches are in flight, or one failed (backpressure). */
  async room(max: number): Promise<void> {
    while (this.entries.length >= max && !this.first) await this.anySettled();
  }

  /** Resolves once every batch committed (true), or one failed (false). */
  async drained(): Promise<boolean> {
    while (this.entries.length > 0 && !this.first) await this.anySettled();
    return !this.first;
  }

  /** Stop committing: a stop gave up waiting, and whatever is in flight stays uncommitted. */
  abandon(): void {
    this.abandoned = true;
  }

  /** Wait until every batch in flight has settled (committed, failed or rolled back). */
  async settled(): Promise<void> {
    await Promise.all(this.entries.map((e) => e.outcome));
  }

  /** After a failure: let everything in flight settle, then forget it all and say where to restore to. */
  async unwind(): Promise<Unwound> {
    await this.settled();
    const failure = this.first;
    if (!failure) throw new Error('unwind without a failure');
    // Committed batches left the ledger in order, so the first entry left is the first not committed.
    const unwound = { failure, restore: this.entries[0]?.batch, uncommittedRows: this.records() };
    this.entries = [];
    this.allCommitted = Promise.resolve(true);
    this.first = undefined;
    return unwound;
  }

  private async settle(batch: Batch, written: Promise<WriteFigures>, before: Promise<boolean>): Promise<BatchOutcome> {
    let write: WriteFigures;
    try {
      write = await written;
    } catch (error) {
      return this.fail(batch, error);
    }
    if (!(await before) || this.first || this.abandoned) return { status: 'rolled back', batch };
    const commitStartedAt = this.now();
    try {
      await this.steps.flushState(batch);
      await this.steps.commitOffsets(batch);
    } catch (error) {
      return this.fail(batch, error);
    }
    this.entries = this.entries.filter((e) => e.batch !== batch);
    const outcome: Committed = { status: 'committed', batch, write, commitStartedAt, committedAt: this.now() };
    this.steps.committed(outcome);
    return outcome;
  }

  private fail(batch: Batch, error: unknown): BatchOutcome {
    this.first ??= { batchId: batch.id, error };
    return { status: 'failed', batch, error };
  }

  private anySettled(): Promise<unknown> {
    return Promise.race(this.entries.map((e) => e.outcome));
  }
}
