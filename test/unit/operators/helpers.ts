/** Shared by the operator tests: a fake component context, record builders, and ways to run an operator. */
import { firstValueFrom, from, toArray, VirtualTimeScheduler } from 'rxjs';
import winston from 'winston';
import { formatErrors } from '../../../topology/errors.ts';
import { registry } from '../../../topology/registry.ts';
import type { ComponentContext, Operator, StreamRecord } from '../../../topology/types.ts';

export interface DeadLetterCall {
  record: StreamRecord;
  reason: string;
}

/** A context whose dead letters are collected, on a virtual clock. */
export function fakeContext(scheduler = new VirtualTimeScheduler()): { ctx: ComponentContext; deadLetters: DeadLetterCall[]; scheduler: VirtualTimeScheduler } {
  const deadLetters: DeadLetterCall[] = [];
  const ctx: ComponentContext = {
    topology: 'test',
    pipeline: 'main',
    path: 'pipelines.main.operators[0]',
    logger: winston.createLogger({ silent: true }),
    scheduler,
    deadLetter: (record, reason) => {
      deadLetters.push({ record, reason });
    },
  };
  return { ctx, deadLetters, scheduler };
}

/** Move a virtual clock forward by `ms`. */
export function advance(scheduler: VirtualTimeScheduler, ms: number): void {
  scheduler.schedule(() => undefined, ms);
  scheduler.flush();
}

let nextOffset = 0;

/** A record as a Kafka source would hand it over: raw bytes, origin, timestamp. */
export function record(value: unknown, overrides: Partial<StreamRecord> = {}): StreamRecord {
  const offset = nextOffset++;
  return { key: null, value, timestamp: 1_763_700_000_000 + offset, origin: { topic: 'users_created', partition: 0, offset }, raw: JSON.stringify(value) ?? '', ...overrides };
}

/** Run one batch through an operator. */
export function run(operator: Operator, records: StreamRecord[]): Promise<StreamRecord[]> {
  return firstValueFrom(from(records).pipe(operator.apply, toArray()));
}

export const values = (records: StreamRecord[]): unknown[] => records.map((r) => r.value);

/** Decode an operator config through the registry: the decoded config, or the formatted errors. */
export function decodeOperator(config: unknown): { ok: true; config: Record<string, unknown> } | { ok: false; errors: string[] } {
  const result = registry.codec('operator').decode(config);
  return result._tag === 'Right' ? { ok: true, config: result.right } : { ok: false, errors: formatErrors(result.left) };
}

/** The formatted errors of a config that must be refused. */
export function configErrors(config: unknown): string[] {
  const result = decodeOperator(config);
  if (result.ok) throw new Error(`expected ${JSON.stringify(config)} to be refused, but it decoded to ${JSON.stringify(result.config)}`);
  return result.errors;
}
