/**
 * http-poll — polls an HTTP JSON endpoint; each element of an array in the response becomes a record.
 * What it does is told once, in the spec's `description` below (and in docs/sources.md, made from it).
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
 * See also: config.ts, response.ts, source.ts and transport.ts here; topology/replay-buffer.ts; the
 * `rate` source (a known load without a server), the `memory` source.
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
    '`concurrency` pollers GET `url` every `interval` (keep-alive connections) and turn each element of the array at `recordsPath` into a record: key from `keyPath`, value the element, timestamp the fetch time, `raw` its JSON; records are handed out in the order they were fetched. ' +
    'A failed request — network error, timeout, 5xx, 429, a 200 whose body is not JSON (e.g. truncated), an `error` body, or no array at `recordsPath` — never yields records: it is counted by kind in every batch\'s metrics, logged (rate-limited) and retried with exponential backoff, full jitter and a cap, obeying `Retry-After` on 429 and 503. ' +
    'Any other 4xx (except 408 and 425, retried) means the configuration is wrong: polling stops with an error naming the URL and status, and once what was fetched is committed, the next read fails, so the pipeline\'s `onFailure` policy applies. ' +
    'There is no replay in HTTP, so the source keeps handed-out records until their batch is committed; a rollback puts them back at the front in order (at-least-once). ' +
    'Polling pauses while `maxBuffered` records are held. With `duration` or `maxRequests`, the source reports `finished` once everything fetched is committed, and the pipeline ends; a graceful stop likewise requests no more and ends once what was fetched is written (within the pipeline\'s `stopTimeout`).',
  fields,
  examples: [
    'source: { type: http-poll, url: "${RANDOMUSER_URL:-https://randomuser.me/api/}", query: { results: 1 }, keyPath: login.uuid, interval: 1s, duration: 2m }',
    'source: { type: http-poll, url: "${RANDOMUSER_URL:-https://randomuser.me/api/}", query: { results: 5000 }, keyPath: login.uuid, interval: 0, concurrency: 4 }',
  ],
  create: (config, ctx) => new HttpPollSource(config, ctx),
});
