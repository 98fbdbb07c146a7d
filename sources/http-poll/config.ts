/** http-poll: the config fields and their codecs. */
import * as t from 'io-ts';
import { objectCodec, optional, required, withDefault, type ConfigOf } from '../../topology/spec.ts';
import { acceptedBy, Duration, HttpUrl, mapOf, NonEmptyString, NonNegativeInt, PositiveInt } from '../../topology/codecs.ts';

/** `results`, `data.items`: field names separated by dots; an array element by its index (`items.0`). */
function pathCodec(allowRoot: boolean): t.Type<string, unknown, unknown> {
  return acceptedBy(
    allowRoot ? 'a dot-separated path such as results or data.items ("" for the body itself)' : 'a dot-separated path such as login.uuid',
    (u: unknown): u is string => typeof u === 'string' && ((allowRoot && u === '') || u.split('.').every((s) => s.trim() !== '' && s === s.trim())),
  );
}

type Scalar = string | number | boolean;
const ScalarValue = acceptedBy('a string, number or boolean', (u): u is Scalar => typeof u === 'string' || typeof u === 'number' || typeof u === 'boolean');

/**
 * Names to strings, numbers or booleans (query parameters, headers); null (`seed:` or an empty
 * `${SEED:-}`) leaves the entry out. Not the shared StringMap: its union reports one error per member
 * (`query.results[0]`, `[1]`, `[2]`) instead of one per bad value.
 */
const ScalarMap = mapOf('a map of names to strings, numbers or booleans', ScalarValue, { skipNull: true });

const retryFields = {
  maxAttempts: optional(PositiveInt, 'Consecutive failed attempts of one request before the source gives up and fails the pipeline; unlimited when absent (a source should keep trying).'),
  initialBackoff: withDefault(Duration, 500, 'Upper bound of the first backoff; doubles with each consecutive failure (full jitter: the actual pause is random below the bound).'),
  maxBackoff: withDefault(Duration, 30_000, 'Cap of the backoff bound.'),
  maxRetryAfter: withDefault(
    Duration,
    300_000,
    "Longest `Retry-After` (seconds or an HTTP date, on 429 and 503) that is obeyed: no poller requests again before the server's wish (up to this cap), and the poller that got it waits at least its backoff too.",
  ),
};
export type RetryConfig = ConfigOf<typeof retryFields>;
const defaultRetry: RetryConfig = { initialBackoff: 500, maxBackoff: 30_000, maxRetryAfter: 300_000 };

export const fields = {
  url: required(HttpUrl, 'The URL to GET. Credentials in it (`https://user:pass@host/`) are sent as basic auth and never logged.'),
  query: withDefault(ScalarMap, {}, 'Query parameters added to the URL (they replace same-named ones in it), e.g. `{ results: 5000, nat: "us,gb" }` for RandomUser.'),
  pageParam: optional(
    NonEmptyString,
    'Query parameter numbered 1, 2, 3… on successive requests (a retry repeats its number), for paged APIs: RandomUser with a `seed` in `query` and `pageParam: page` gives the same users on every run.',
  ),
  firstPage: withDefault(NonNegativeInt, 1, 'Number of the first request when `pageParam` is set.'),
  headers: withDefault(ScalarMap, {}, 'Extra request headers. Shown by --describe: put credentials in `authorization` instead.'),
  authorization: optional(NonEmptyString, 'Value of the `Authorization` header, e.g. `Bearer …`. Secret: never logged or printed.', { secret: true }),
  recordsPath: withDefault(pathCodec(true), 'results', 'Where the array of records is in the response body (dot-separated); "" when the body itself is the array.'),
  keyPath: optional(pathCodec(false), 'Path in each element whose value (a string or number) becomes the record key, e.g. `login.uuid`; the key is null when absent.'),
  interval: withDefault(Duration, 1000, 'Time from the start of one request to the start of the next, per poller; 0 = back to back. A slower response is followed at once.'),
  concurrency: withDefault(PositiveInt, 1, 'Pollers requesting in parallel, each on its own keep-alive connection; their starts are spread over one `interval`.'),
  duration: optional(Duration, 'Stop requesting this long after start; the source then reports `finished` once everything fetched is committed, and the pipeline ends. Unbounded when absent.'),
  maxRequests: optional(PositiveInt, 'Stop after this many successful requests in total (failed attempts are retried and do not count); the source then finishes as with `duration`.'),
  timeout: withDefault(Duration, 10_000, 'Per request: no complete response within this time is a `timeout` failure (the request is aborted and retried).'),
  retry: withDefault(objectCodec('http-poll retry', retryFields), defaultRetry, 'How failed requests are retried.'),
  maxBuffered: withDefault(
    PositiveInt,
    50_000,
    'Records held in memory (buffered plus handed out but uncommitted) at which the pollers pause until the pipeline commits; a response in flight still lands, so this may be exceeded by up to `concurrency` responses.',
  ),
};

export type HttpPollConfig = ConfigOf<typeof fields>;
