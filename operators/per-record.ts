/**
 * The shapes operators share. Per record: each input record is handled on its own and gives zero, one
 * or several output records. Per batch: the records are handled in turn, and the end of the batch —
 * after the last record, before the output completes — emits what the batch as a whole gives (a
 * stateful operator's aggregates). Either way the output completes when the input does.
 *
 * `handle` emits with `out.next(...)`. It dead-letters a record it cannot process itself (through
 * the batch's `deadLetter`) and emits nothing for it. An exception escaping `handle` (or a batch's end)
 * is a bug, not a bad record, so it fails the batch: it is forwarded as the output's error. (RxJS would
 * otherwise report an exception thrown in a `next` handler as an uncaught error, and the batch would go
 * on without it.)
 */
import { Observable, type Subscriber } from 'rxjs';
import type { BatchScope, Operator, StreamRecord } from '../topology/types.ts';
import { compileFunction } from './compile.ts';

export function perRecord(handle: (record: StreamRecord, out: Subscriber<StreamRecord>, batch: BatchScope) => void): Operator['apply'] {
  return perBatch((out, batch) => ({ handle: (record) => handle(record, out, batch), end: () => undefined }));
}

/** What one batch's records go through: `handle` for each, then `end`. */
export interface BatchHandler {
  handle(record: StreamRecord): void;
  end(): void;
}

/** `begin` is called as each batch starts, with its output and scope, and gives what handles it. */
export function perBatch(begin: (out: Subscriber<StreamRecord>, batch: BatchScope) => BatchHandler): Operator['apply'] {
  return (source, batch) =>
    new Observable<StreamRecord>((out) => {
      const handler = begin(out, batch);
      return source.subscribe({
        next(record) {
          try {
            handler.handle(record);
          } catch (error) {
            out.error(error);
          }
        },
        error: (error: unknown) => out.error(error),
        complete() {
          try {
            handler.end();
            out.complete();
          } catch (error) {
            out.error(error);
          }
        },
      });
    });
}

/**
 * A function that copies a record with another `key` or `value`, compiled for one operator instance
 * (see compile.ts): one spread copy shared by every operator would see records of every shape and
 * turn into a slow generic copy, which measured as the largest part of the mapping's cost.
 */
export function recordCopier(field: 'key' | 'value'): (record: StreamRecord, replacement: unknown) => StreamRecord {
  return compileFunction(['record', 'replacement'], `return { ...record, ${field}: replacement };`);
}
