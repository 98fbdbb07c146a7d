/** http-poll: the one HTTP call it makes (a GET, the body read whole as text), and the real one on got. */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import got from 'got';

export interface HttpResponse {
  status: number;
  /** Lower-case names. */
  headers: IncomingHttpHeaders;
  body: string;
}

/** One source's HTTP client. */
export interface HttpTransport {
  /** GET `url` (credentials in it go as basic auth); rejects when `signal` aborts or the request fails. */
  get(url: string, signal: AbortSignal): Promise<HttpResponse>;
  /** Release the connections kept alive. */
  close(): void;
}

export interface TransportOptions {
  /** Sent with every request; lower-case names. */
  headers: Record<string, string>;
  /** The most requests at once: connections to keep alive. */
  connections: number;
}

/** Makes a source's client when it starts. */
export type Transport = (options: TransportOptions) => HttpTransport;

/** got on keep-alive agents. Any status is an answer; retries and timeouts are the source's own (counted, logged, on its scheduler). */
export const gotTransport: Transport = ({ headers, connections }) => {
  const agentOptions = { keepAlive: true, maxSockets: connections };
  const agent = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
  const client = got.extend({
    agent,
    headers,
    // Read as text, for the source to parse once: a truncated body is then a counted failure, not a client error.
    responseType: 'text',
    throwHttpErrors: false,
    retry: { limit: 0 },
  });
  return {
    async get(url, signal) {
      const response = await client.get(url, { signal });
      return { status: response.statusCode, headers: response.headers, body: response.body };
    },
    close() {
      agent.http.destroy();
      agent.https.destroy();
    },
  };
};
