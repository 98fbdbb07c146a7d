/**
 * One micro-batch, from read to commit: what the source handed out, the operators' state before it,
 * what the operators made of it, and the records it set aside (dead letters) — everything its write,
 * its commit, its rollback and its progress event need, in one object that belongs to this batch only.
 */
import { from, lastValueFrom, toArray, type Observable } from 'rxjs';
import type { BatchScope, DeadLetter, Operator, SourceBatch, StreamRecord } from './types.ts';

/** Milliseconds on the pipeline's clock. */
export interface BatchTimes {
  /** When the trigger fired. */
  startedAt: number;
  /** When the source's read returned. */
  readAt: number;
  /** When the operators were done. */
  processedAt?: number;
  /** From the previous batch's trigger to this one's (the first batch: its read and processing). */
  sincePreviousTrigger?: number;
}

export class Batch {
  /** What the operators emitted: what the sink writes. */
  output: StreamRecord[] = [];
  /** Records set aside, with why and where: the source's rejected ones first, then the operators'. */
  readonly deadLetters: DeadLetter[];

  constructor(
    readonly id: number,
    /** What the source handed out: records, offsets, metrics. */
    readonly read: SourceBatch,
    /** Each operator's state before this batch (undefined for stateless ones): restored if it fails. */
    readonly snapshots: readonly unknown[],
    readonly times: BatchTimes,
  ) {
    this.deadLetters = (read.rejected ?? []).map(({ record, reason }) => ({ record, reason, stage: 'source' }));
  }

  /** Records read, those the source rejected included (Spark counts them as input too). */
  get inputRows(): number {
    return this.read.records.length + (this.read.rejected?.length ?? 0);
  }

  /** The scope an operator applies in: what it dead-letters is this batch's, marked with the stage. */
  scope(stage: string): BatchScope {
    return { deadLetter: (record, reason) => void this.deadLetters.push({ record, reason, stage }) };
  }

  /** Run the records through the operators in order (`stages` names each for its dead letters). */
  async process(operators: readonly Operator[], stages: readonly string[]): Promise<void> {
    let stream: Observable<StreamRecord> = from(this.read.records);
    operators.forEach((op, i) => (stream = op.apply(stream, this.scope(stages[i]))));
    this.output = await lastValueFrom(stream.pipe(toArray()));
  }
}
