/**
 * The one backoff rule of the framework — sink retries, failed batches and http-poll requests all use
 * it: exponential, capped, with full jitter. After the n-th consecutive failure (`attempt` = n − 1) the
 * pause is uniformly random in [0, min(maxMs, initialMs × 2^attempt)]. Full jitter spreads the retries
 * of many writers apart best, at the price of sometimes retrying almost at once.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  // The exponent is bounded so that 0 × 2^attempt can never become 0 × Infinity = NaN.
  const bound = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 40));
  return Math.round(random() * bound);
}
