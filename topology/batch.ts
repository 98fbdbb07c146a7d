/**
 * One micro-batch, from read to commit: what the source handed out, the operators' state before it,
 * what the operators made of it, the records it set aside (dead letters) and the state changes it made
 * — everything its write, its commit, its rollback and its progress event need, in one object that
 * belongs to this batch only.
 */
import { from, lastValueFrom, toArray, type Observable } from 'rxjs';
import type { BatchScope, DeadLetter, Offsets, Operator, SourceBatch, StoreChanges, StreamRecord, TaskId } from './types.ts';

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

/** What an operator's scope needs from the pipeline. */
export interface BatchContext {
  now(): number;
  /** True for the batch that ends an availableNow run. */
  endOfInput: boolean;
  /** The pipeline-wide id of an operator's store (`operator` is its index). */
  storeId(operator: number, store: string): string;
  /** A task's source position after this batch (the tag of its state changes). */
  positionOf(task: TaskId): Offsets;
}

export class Batch {
  /** What the operators emitted: what the sink writes. */
  output: StreamRecord[] = [];
  /** The tasks' positions before this batch was read: where a rollback to it takes them back. */
  positionsBefore?: ReadonlyMap<string, number | string>;
  /** Records set aside, with why and where: the source's rejected ones first, then the operators'. */
  readonly deadLetters: DeadLetter[];
  /** Store id → task → key → value as JSON (undefined: deleted). */
  private readonly changes = new Map<string, Map<TaskId, Map<string, string | undefined>>>();
  /** The position of each task with changes, as it was when the operators were done (later reads move it on). */
  private readonly positions = new Map<TaskId, Offsets>();

  constructor(
    readonly id: number,
    /** What the source handed out: records, offsets, metrics. */
    readonly read: SourceBatch,
    /** Each operator's state before this batch (undefined for stateless ones): restored if it fails. */
    readonly snapshots: readonly unknown[],
    readonly times: BatchTimes,
    private readonly context: BatchContext,
  ) {
    this.deadLetters = (read.rejected ?? []).map(({ record, reason }) => ({ record, reason, stage: 'source' }));
  }

  /** Records read, those the source rejected included (Spark counts them as input too). */
  get inputRows(): number {
    return this.read.records.length + (this.read.rejected?.length ?? 0);
  }

  /** The scope operator number `operator` applies in: its dead letters and state changes are this batch's. */
  scope(operator: number, stage: string): BatchScope {
    const { context } = this;
    return {
      deadLetter: (record, reason) => void this.deadLetters.push({ record, reason, stage }),
      changed: (store, task, key, value) => {
        const id = context.storeId(operator, store);
        let byTask = this.changes.get(id);
        if (!byTask) this.changes.set(id, (byTask = new Map()));
        let entries = byTask.get(task);
        if (!entries) byTask.set(task, (entries = new Map()));
        entries.set(key, value === undefined ? undefined : JSON.stringify(value));
      },
      now: () => context.now(),
      endOfInput: context.endOfInput,
    };
  }

  /** Run the records through the operators in order (`stages` names each for its dead letters). */
  async process(operators: readonly Operator[], stages: readonly string[]): Promise<void> {
    let stream: Observable<StreamRecord> = from(this.read.records);
    operators.forEach((op, i) => (stream = op.apply(stream, this.scope(i, stages[i]))));
    this.output = await lastValueFrom(stream.pipe(toArray()));
    for (const byTask of this.changes.values()) for (const task of byTask.keys()) if (!this.positions.has(task)) this.positions.set(task, this.context.positionOf(task));
  }

  /** The state changes the operators made, per store and task, each tagged with the task's position after this batch. */
  storeChanges(): StoreChanges[] {
    const out: StoreChanges[] = [];
    for (const [store, byTask] of this.changes) {
      for (const [task, entries] of byTask) out.push({ store, task, position: this.positions.get(task) ?? this.context.positionOf(task), entries });
    }
    return out;
  }

  /** How many keys the batch changed, over every store and task. */
  get stateChanges(): number {
    let n = 0;
    for (const byTask of this.changes.values()) for (const entries of byTask.values()) n += entries.size;
    return n;
  }

  /** Whether the batch has anything to write or commit: records read, output, dead letters or state changes. */
  get empty(): boolean {
    return this.inputRows === 0 && this.output.length === 0 && this.deadLetters.length === 0 && this.changes.size === 0;
  }
}
