/**
 * Where a pipeline's batches go: the sink, and the dead-letter sink (or, without one, a warning per
 * dead letter), each written under the batching and retry policy the framework composes around it.
 */
import type { Logger } from 'winston';
import type { Batch } from './batch.ts';
import { errorMessage } from './errors.ts';
import type { WriteFigures } from './ledger.ts';
import { writeWithPolicy, type SinkPolicy } from './sink-policy.ts';
import type { DeadLetter, DeadLetterValue, SchedulerLike, Sink, StreamRecord } from './types.ts';

export interface PolicedSink {
  sink: Sink;
  policy: SinkPolicy;
}

export class PipelineOutputs {
  constructor(
    readonly main: PolicedSink,
    readonly deadLetter: PolicedSink | undefined,
    private readonly where: { topology: string; pipeline: string; scheduler: SchedulerLike; logger: Logger },
  ) {}

  /** Write the batch's output, then its dead letters; resolves when every record is acknowledged. */
  async write(batch: Batch): Promise<WriteFigures> {
    let retries = 0;
    if (batch.output.length > 0) retries += (await writeWithPolicy(this.main.sink, batch.output, this.main.policy, this.where.scheduler, this.onRetry(this.main.sink))).retries;
    if (batch.deadLetters.length > 0) retries += await this.writeDeadLetters(batch.deadLetters);
    return { retries, writtenAt: this.where.scheduler.now() };
  }

  private async writeDeadLetters(deadLetters: DeadLetter[]): Promise<number> {
    if (this.deadLetter) {
      const records = deadLetters.map((d) => this.deadLetterRecord(d));
      return (await writeWithPolicy(this.deadLetter.sink, records, this.deadLetter.policy, this.where.scheduler, this.onRetry(this.deadLetter.sink))).retries;
    }
    for (const d of deadLetters) {
      const raw = d.record.raw === undefined ? JSON.stringify(d.record.value) : String(d.record.raw);
      this.where.logger.warn(`dead letter (no deadLetter sink configured): ${d.reason}`, { stage: d.stage, origin: d.record.origin, raw: raw.length > 500 ? `${raw.slice(0, 500)}…` : raw });
    }
    return 0;
  }

  private deadLetterRecord(d: DeadLetter): StreamRecord<DeadLetterValue> {
    const { topology, pipeline, scheduler } = this.where;
    return {
      key: d.record.key,
      timestamp: d.record.timestamp,
      origin: d.record.origin,
      raw: d.record.raw,
      value: { reason: d.reason, stage: d.stage, topology, pipeline, origin: d.record.origin, value: d.record.value, failedAt: scheduler.now() },
    };
  }

  private onRetry(sink: Sink) {
    const description = sink.describe();
    return (error: unknown, attempt: number, delayMs: number) => {
      this.where.logger.warn(`write to ${description} failed (attempt ${attempt}), retrying in ${delayMs} ms`, { error: errorMessage(error) });
    };
  }
}
