/**
 * http-poll — polls an HTTP JSON endpoint and turns each element of an array in the response into a
 * record.
 *
 * `concurrency` pollers each GET the URL every `interval`, parse the body once and append the array at
 * `recordsPath` to an in-memory buffer; `read` hands buffered records out in order. A failed request
 * (network error, timeout, 5xx, 429, an error body, truncated JSON, a body of the wrong shape) is
 * counted by kind, logged (rate-limited) and retried with capped exponential backoff and full jitter,
 * honouring `Retry-After`; it never yields records. Any other 4xx is a configuration mistake: it is
 * logged as an error and polling stops; once the records already fetched have been committed, `read`
 * fails with that error, so the pipeline's `onFailure` policy makes it loud.
 *
 * An HTTP poll cannot be replayed, so the source keeps every handed-out record until its batch is
 * committed, and a rollback puts them back at the front of the buffer in their original order.
 *
 * ```yaml
 * source:
 *   type: http-poll
 *   url: ${RANDOMUSER_URL:-https://randomuser.me/api/}
 *   query: { results: 5000, nat: "us,gb" }
 *   keyPath: login.uuid
 *   interval: 1s
 *   concurrency: 4
 *   duration: 2m        # then the pipeline ends, once everything fetched is written
 * ```
 * See also: the `rate` source (a known load without a server), the `memory` source.
 */
import { defineComponent } from '../../topology/registry.ts';
import { fields } from './config.ts';
import { HttpPollSource } from './source.ts';

export type { HttpPollConfig } from './config.ts';
export { parseRetryAfter, retryDelay, type Failure, type FailureKind } from './response.ts';
export { HttpPollSource, type HttpPollDeps } from './source.ts';
export { gotTransport, type HttpResponse, type HttpTransport, type Transport, type TransportOptions } from './transport.ts';

defineComponent({
  kind: 'source',
  type: 'http-poll',
  summary: 'Polls an HTTP JSON endpoint; each element of an array in the response becomes a record.',
  description:
    '`concurrency` pollers GET `url` every `interval` (keep-alive connections) and turn each element of the array at `recordsPath` into a record: key from `keyPath`, value the element, timestamp the fetch time, `raw` its JSON. ' +
    'A failed request — network error, timeout, 5xx, 429, a 200 whose body is not JSON (e.g. truncated), an `error` body, or no array at `recordsPath` — never yields records: it is counted by kind in every batch\'s metrics, logged (rate-limited) and retried with exponential backoff, full jitter and a cap, obeying `Retry-After` on 429 and 503. ' +
    'Any other 4xx (except 408 and 425, retried) means the configuration is wrong: polling stops with an error naming the URL and status, and once what was fetched is committed, the next read fails the pipeline. ' +
    'There is no replay in HTTP, so the source keeps handed-out records until their batch is committed; a rollback puts them back at the front in order (at-least-once). ' +
    'Polling pauses while `maxBuffered` records are held. With `duration` or `maxRequests`, the source reports `finished` once everything fetched is committed, and the pipeline ends.',
  fields,
  examples: [
    'source: { type: http-poll, url: "${RANDOMUSER_URL:-https://randomuser.me/api/}", query: { results: 1 }, keyPath: login.uuid, interval: 1s, duration: 2m }',
    'source: { type: http-poll, url: "${RANDOMUSER_URL:-https://randomuser.me/api/}", query: { results: 5000 }, keyPath: login.uuid, interval: 0, concurrency: 4 }',
  ],
  create: (config, ctx) => new HttpPollSource(config, ctx),
});
