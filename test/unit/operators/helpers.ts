/** Shared by the operator tests: a fake component context, record builders, and ways to run an operator. */
import { firstValueFrom, from, toArray, VirtualTimeScheduler } from 'rxjs';
import winston from 'winston';
import { ConfigError, formatErrors } from '../../../topology/errors.ts';
import { parseTopology } from '../../../topology/load.ts';
import '../../../sources/memory.ts';
import '../../../sinks/memory.ts';
import { registry } from '../../../topology/registry.ts';
import type { BatchScope, ComponentContext, Operator, StreamRecord } from '../../../topology/types.ts';
import { batchScope } from '../../../testing/batch-scope.ts';
import { componentContext } from '../../../testing/component-context.ts';

export interface DeadLetterCall {
  record: StreamRecord;
  reason: string;
}

/** The batch scope `run` applies operators in when given none: the one of the latest fakeContext. */
let latestBatch: BatchScope | undefined;

/**
 * A context on a virtual clock, and a batch scope whose dead letters are collected in `deadLetters`.
 * Until the next call, `run` uses that scope by default (each test starts with its own fakeContext).
 */
export function fakeContext(scheduler = new VirtualTimeScheduler()): { ctx: ComponentContext; batch: BatchScope; deadLetters: DeadLetterCall[]; scheduler: VirtualTimeScheduler } {
  const deadLetters: DeadLetterCall[] = [];
  const ctx: ComponentContext = componentContext({
    topology: 'test',
    pipeline: 'main',
    path: 'pipelines.main.operators[0]',
    logger: winston.createLogger({ silent: true }),
    scheduler,
  });
  const batch = batchScope({ deadLetter: (record, reason) => void deadLetters.push({ record, reason }), now: () => scheduler.now() });
  latestBatch = batch;
  return { ctx, batch, deadLetters, scheduler };
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

/** Run one batch through an operator, in `batch` (by default the latest fakeContext's). */
export function run(operator: Operator, records: StreamRecord[], batch: BatchScope | undefined = latestBatch): Promise<StreamRecord[]> {
  if (!batch) throw new Error('run: no batch scope; call fakeContext() first or pass one');
  return firstValueFrom(operator.apply(from(records), batch).pipe(toArray()));
}

export const values = (records: StreamRecord[]): unknown[] => records.map((r) => r.value);

/** Decode an operator config through the registry, its spec's check included: the decoded config, or the formatted errors. */
export function decodeOperator(config: unknown): { ok: true; config: Record<string, unknown> } | { ok: false; errors: string[] } {
  const result = registry.decode('operator', config);
  return result._tag === 'Right' ? { ok: true, config: result.right } : { ok: false, errors: formatErrors(result.left) };
}

/** The problems loading a topology reports when its one pipeline has this operator (none: it loads), paths as users see them. */
export function loadProblems(operator: Record<string, unknown>): string[] {
  const pipeline = { source: { type: 'memory', channel: 'in' }, operators: [operator], sink: { type: 'memory', channel: 'out' } };
  try {
    parseTopology(JSON.stringify({ pipelines: { main: pipeline } }), 'test.yaml', { env: {} });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

/** The problems of an operator that must refuse the topology. */
export function topologyErrors(operator: Record<string, unknown>): string[] {
  const problems = loadProblems(operator);
  if (problems.length === 0) throw new Error(`expected ${JSON.stringify(operator)} to be refused, but the topology loaded`);
  return problems;
}

/** The formatted errors of a config that must be refused. */
export function configErrors(config: unknown): string[] {
  const result = decodeOperator(config);
  if (result.ok) throw new Error(`expected ${JSON.stringify(config)} to be refused, but it decoded to ${JSON.stringify(result.config)}`);
  return result.errors;
}
