/**
 * What the framework composes around every sink, so that no sink carries batching or retry logic of
 * its own (Redpanda Connect's output model): a micro-batch is split into chunks of `batch.maxRows`,
 * up to `batch.concurrency` chunks are written at once, and a failed chunk is retried with exponential
 * backoff and full jitter, capped, while the sink says the error is retryable.
 */
import { timer, firstValueFrom, type SchedulerLike } from 'rxjs';
import { objectCodec, withDefault, type ConfigOf } from './spec.ts';
import { Duration, PositiveInt } from './codecs.ts';
import type { Sink, StreamRecord } from './types.ts';
import { backoffDelay } from './backoff.ts';
import { forEachBounded } from './bounded.ts';

const batchFields = {
  maxRows: withDefault(PositiveInt, 1000, 'Rows per write call; a micro-batch larger than this is written in chunks.'),
  concurrency: withDefault(PositiveInt, 4, 'Chunks written at the same time.'),
};

const retryFields = {
  maxAttempts: withDefault(PositiveInt, 8, 'Attempts per chunk before the batch fails (it is then rolled back and retried from the committed offsets).'),
  initialBackoff: withDefault(Duration, 100, 'Backoff before the second attempt; doubles each attempt (full jitter).'),
  maxBackoff: withDefault(Duration, 10_000, 'Upper bound of one backoff.'),
};

export const sinkPolicyFields = {
  batch: withDefault(objectCodec('sink batching', batchFields), { maxRows: 1000, concurrency: 4 }, 'How a micro-batch is split into writes.'),
  retry: withDefault(objectCodec('sink retry', retryFields), { maxAttempts: 8, initialBackoff: 100, maxBackoff: 10_000 }, 'How failed writes are retried.'),
};

export type SinkPolicy = ConfigOf<typeof sinkPolicyFields>;
export const sinkPolicyCodec = objectCodec('sink policy', sinkPolicyFields);

export interface WriteOutcome {
  /** Attempts beyond the first, summed over chunks. */
  retries: number;
}

/**
 * Write `records` through `sink` under `policy`. Resolves when every chunk is acknowledged; rejects with
 * the last error when a chunk fails for good (nothing is then assumed written).
 */
export async function writeWithPolicy(
  sink: Sink,
  records: StreamRecord[],
  policy: SinkPolicy,
  scheduler: SchedulerLike,
  onRetry: (error: unknown, attempt: number, delayMs: number) => void,
): Promise<WriteOutcome> {
  const chunks: StreamRecord[][] = [];
  for (let i = 0; i < records.length; i += policy.batch.maxRows) chunks.push(records.slice(i, i + policy.batch.maxRows));
  let retries = 0;
  await forEachBounded(chunks.length, policy.batch.concurrency, async (index, failed) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await sink.write(chunks[index]);
        return;
      } catch (error) {
        const retryable = sink.isRetryable ? sink.isRetryable(error) : true;
        // Once another chunk failed for good the batch fails anyway: no point retrying this one.
        if (!retryable || attempt + 1 >= policy.retry.maxAttempts || failed()) throw error;
        const delay = backoffDelay(attempt, policy.retry.initialBackoff, policy.retry.maxBackoff);
        retries++;
        onRetry(error, attempt + 1, delay);
        await firstValueFrom(timer(delay, scheduler));
      }
    }
  });
  return { retries };
}
