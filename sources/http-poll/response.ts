/** http-poll: what one response means — the elements to turn into records, or why there are none — and when to retry. */
import { backoffDelay } from '../../topology/backoff.ts';
import { errorMessage } from '../../topology/errors.ts';
import type { RetryConfig } from './config.ts';

/** Why one request yielded no records. */
export type FailureKind = 'network' | 'timeout' | 'http5xx' | 'http429' | 'http4xx' | 'invalidJson' | 'errorBody' | 'unexpectedShape';
export const FAILURE_KINDS: readonly FailureKind[] = ['network', 'timeout', 'http5xx', 'http429', 'http4xx', 'invalidJson', 'errorBody', 'unexpectedShape'];

export interface Failure {
  kind: FailureKind;
  status?: number;
  message: string;
  retryable: boolean;
  /** The server's `Retry-After`, in ms from now. */
  retryAfterMs?: number;
}

/** `Retry-After` as ms from `now`: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The pause before retrying after the `failures`-th consecutive failure (1-based): the backoff, or the server's `Retry-After` (capped) when longer. */
export function retryDelay(failure: Failure, failures: number, retry: RetryConfig, random: () => number = Math.random): number {
  const backoff = backoffDelay(failures - 1, retry.initialBackoff, retry.maxBackoff, random);
  return failure.retryAfterMs === undefined ? backoff : Math.max(backoff, Math.min(failure.retryAfterMs, retry.maxRetryAfter));
}

export function readPath(value: unknown, segments: readonly string[]): unknown {
  let current = value;
  for (const segment of segments) {
    // Own properties only: a path must not reach Object.prototype (`__proto__`, `constructor`).
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

export function segmentsOf(path: string): string[] {
  return path === '' ? [] : path.split('.');
}

/** A short, single-line excerpt of a body for messages. */
function excerpt(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Statuses other than 429 and 5xx after which retrying can help. */
const RETRYABLE_4XX = new Set([408, 425]);

/** Classify one response: the elements to turn into records, or why there are none. */
export function classify(status: number, retryAfter: string | undefined, body: string, recordsPath: readonly string[], recordsPathText: string, now: number): unknown[] | Failure {
  if (status === 429 || status >= 500) {
    const kind = status === 429 ? 'http429' : 'http5xx';
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(retryAfter, now) : undefined;
    return { kind, status, retryable: true, retryAfterMs, message: `HTTP ${status}${body ? `: ${excerpt(body)}` : ''}` };
  }
  // Other 4xx, and a 1xx/3xx that got did not resolve (e.g. a redirect without Location).
  if (status < 200 || status >= 300) {
    return { kind: 'http4xx', status, retryable: RETRYABLE_4XX.has(status), message: `HTTP ${status}${body ? `: ${excerpt(body)}` : ''}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    return { kind: 'invalidJson', status, retryable: true, message: `the body is not valid JSON (${errorMessage(error)}; ${body.length} bytes)` };
  }
  const elements = readPath(parsed, recordsPath);
  if (Array.isArray(elements)) return elements;
  const errorField = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>).error : undefined;
  if (errorField !== undefined) {
    return { kind: 'errorBody', status, retryable: true, message: `the body is an error: ${excerpt(typeof errorField === 'string' ? errorField : JSON.stringify(errorField))}` };
  }
  const where = recordsPathText === '' ? 'the body' : `"${recordsPathText}"`;
  return { kind: 'unexpectedShape', status, retryable: true, message: `${where} is not an array (${elements === undefined ? 'absent' : typeof elements}): ${excerpt(body, 120)}` };
}
