/** Which failed writes the framework's `retry` policy may try again. */
import cassandra from 'cassandra-driver';

const { responseErrorCodes } = cassandra.types;

const RETRYABLE_RESPONSES = new Set<number>([
  responseErrorCodes.unavailableException,
  responseErrorCodes.overloaded,
  responseErrorCodes.isBootstrapping,
  responseErrorCodes.writeTimeout,
  responseErrorCodes.readTimeout,
]);
const RETRYABLE_SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * Whether a failed write may succeed when tried again: timeouts (server- or client-side), unavailable
 * replicas, an overloaded or bootstrapping node, lost connections, no host reachable. Invalid
 * statements, authentication and type errors, and values that do not convert will fail the same way.
 */
export function isRetryableCassandraError(error: unknown): boolean {
  if (error instanceof cassandra.errors.OperationTimedOutError || error instanceof cassandra.errors.BusyConnectionError) return true;
  if (error instanceof cassandra.errors.NoHostAvailableError) {
    const inner = Object.values((error.innerErrors ?? {}) as Record<string, unknown>);
    return inner.length === 0 || inner.some(isRetryableCassandraError);
  }
  if (error instanceof cassandra.errors.ResponseError) return RETRYABLE_RESPONSES.has(error.code);
  if (error instanceof Error) {
    const { isSocketError, code } = error as Error & { isSocketError?: boolean; code?: string };
    return isSocketError === true || (code !== undefined && RETRYABLE_SOCKET_CODES.has(code));
  }
  return false;
}
