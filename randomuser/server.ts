/**
 * A RandomUser-compatible HTTP server for tests, benchmarks and offline runs (randomuser.me is unreachable
 * from our machines), with fault injection.
 *
 * ```ts
 * const server = await startRandomUserServer({ faults: { errorRate: 0.2, kinds: ['503', 'truncated'], seed: 1 } });
 * const body = await (await fetch(`${server.url}?results=500&seed=abc`)).json();
 * server.setFaults({ errorRate: 0 });
 * await server.close();
 * ```
 *
 * Routes:
 * - `GET /api/`, `/api/1.4/` (trailing slash optional): users, with the query parameters of the real API
 *   (`results`, `seed`, `page`, `nat`, `gender`, `inc`, `exc`, `noinfo`, `format=json|pretty`);
 *   other formats answer 400. Subject to the configured faults.
 * - `GET /_stats`: `stats()` as JSON. `GET /_faults`, `POST /_faults` (a JSON `FaultOptions`): read or
 *   replace the fault settings. Never faulty.
 *
 * Seeded answers are cached as rendered bytes (up to `cacheBytes`), so a benchmark repeating a request
 * measures the client, not the generator.
 *
 * See also: generator.ts (the users), faults.ts (the fault kinds), bin/randomuser.ts (standalone).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FAULT_KINDS, ERROR_BODY, FaultInjector, parseFaultOptions, type FaultKind, type FaultOptions, type Faults } from './faults.ts';
import { USER_FIELDS, isNationality, randomUserJson, randomUserResponse, type Gender, type ResponseQuery, type UserField } from './generator.ts';

export interface RandomUserServerOptions {
  /** Default 127.0.0.1: loopback only. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  faults?: FaultOptions;
  /** Bytes of rendered seeded answers to keep; 0 turns the cache off. Default 64 MiB. */
  cacheBytes?: number;
  /** The clock ages are computed at. Default: the real one. */
  now?: () => Date;
  /** Render the next seedless answer ahead of its request (see `prefetch`). Default true. */
  prefetch?: boolean;
}

export interface RandomUserServerStats {
  /** Requests to the API routes, faulty or not. */
  requests: number;
  /** Complete answers carrying users. */
  responses: number;
  usersServed: number;
  /** 400, 404 and 405 answers. */
  badRequests: number;
  /** Of `responses`, those served from the cache of seeded answers... */
  cacheHits: number;
  /** ...and those seedless ones rendered ahead of their request. */
  prefetchHits: number;
  faults: Record<FaultKind, number>;
}

export interface RandomUserServer {
  /** The API's address, e.g. `http://127.0.0.1:41234/api/`. */
  url: string;
  host: string;
  port: number;
  /** Replace the fault settings; what `faults` leaves out gets its default. Returns the settings in force. */
  setFaults(faults: FaultOptions): Faults;
  faults(): Faults;
  stats(): RandomUserServerStats;
  /** Stop listening and drop every open connection, hanging ones included. */
  close(): Promise<void>;
}

type Format = 'json' | 'pretty';

interface ApiRequest {
  query: ResponseQuery;
  format: Format;
}

/** A list parameter: comma-separated, trimmed, empty items dropped. */
function listParam(params: URLSearchParams, name: string): string[] {
  return (params.get(name) ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
}

function intParam(params: URLSearchParams, name: string): number | undefined {
  const value = params.get(name);
  return value !== null && /^\s*-?\d+\s*$/.test(value) ? Number.parseInt(value, 10) : undefined;
}

/**
 * The query as the real API reads it: unknown nationalities and fields are ignored, a gender other
 * than male/female means both, a bad `results` or `page` means 1. Only an unsupported format is an error.
 */
function parseApiQuery(params: URLSearchParams): ApiRequest | { error: string } {
  const format = (params.get('format') ?? 'json').toLowerCase();
  if (format !== 'json' && format !== 'pretty') {
    return { error: `format=${format} is not served by this RandomUser test server; use format=json (the default) or format=pretty` };
  }
  const gender = params.get('gender')?.toLowerCase();
  const fields = (name: string) => listParam(params, name).map((f) => f.toLowerCase()).filter((f): f is UserField => (USER_FIELDS as readonly string[]).includes(f));
  const seed = params.get('seed');
  return {
    format,
    query: {
      seed: seed === null || seed === '' ? undefined : seed,
      page: intParam(params, 'page'),
      results: intParam(params, 'results'),
      nat: listParam(params, 'nat').map((n) => n.toUpperCase()).filter(isNationality),
      gender: gender === 'male' || gender === 'female' ? (gender as Gender) : undefined,
      inc: fields('inc'),
      exc: fields('exc'),
      noinfo: params.has('noinfo'),
    },
  };
}

const API_PATH = /^\/api(\/1\.4)?\/?$/;

const JSON_TYPE = 'application/json; charset=utf-8';

function html(status: number, title: string): string {
  return `<html><head><title>${status} ${title}</title></head><body><center><h1>${status} ${title}</h1></center><hr><center>nginx</center></body></html>\n`;
}

function send(res: ServerResponse, status: number, body: Buffer | string, headers: Record<string, string | number> = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': bytes.length, 'access-control-allow-origin': '*', ...headers });
  res.end(bytes);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value));
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > limit) throw new Error(`body larger than ${limit} bytes`);
  }
  return body;
}

interface Rendered {
  body: Buffer;
  users: number;
  from?: 'cache' | 'prefetch';
}

/** Rendered answers by request, least recently used first (a Map keeps insertion order). */
class RenderCache {
  private readonly entries = new Map<string, Rendered>();
  private bytes = 0;

  constructor(private readonly limit: number) {}

  get(key: string): Rendered | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: Rendered): void {
    if (value.body.length > this.limit) return;
    this.entries.set(key, value);
    this.bytes += value.body.length;
    for (const [oldKey, old] of this.entries) {
      if (this.bytes <= this.limit) break;
      this.entries.delete(oldKey);
      this.bytes -= old.body.length;
    }
  }
}

export async function startRandomUserServer(options: RandomUserServerOptions = {}): Promise<RandomUserServer> {
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? (() => new Date());
  const injector = new FaultInjector(options.faults);
  const cache = new RenderCache(options.cacheBytes ?? 64 * 1024 * 1024);
  const timers = new Set<NodeJS.Timeout>();
  let closing: Promise<void> | undefined;
  const stats: RandomUserServerStats = {
    requests: 0,
    responses: 0,
    usersServed: 0,
    badRequests: 0,
    cacheHits: 0,
    prefetchHits: 0,
    faults: Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>,
  };

  function renderNow({ query, format }: ApiRequest, at: Date): Rendered {
    if (format === 'pretty') {
      const response = randomUserResponse({ ...query, now: at });
      return { body: Buffer.from(JSON.stringify(response, null, 2)), users: response.results.length };
    }
    const { json, users } = randomUserJson({ ...query, now: at });
    return { body: Buffer.from(json), users };
  }

  /**
   * The next seedless answer for the last seedless request, rendered once the previous answer has left:
   * a polling client parses one answer while the server makes the next, instead of waiting for it.
   * (Rendering before 'finish' would hold up the unsent tail of the previous answer.)
   */
  let prefetched: { key: string; rendered: Rendered } | undefined;
  let prefetchPending = false;

  function prefetch(key: string, request: ApiRequest, at: Date): void {
    if (prefetchPending || closing) return;
    prefetchPending = true;
    setImmediate(() => {
      prefetchPending = false;
      if (!closing) prefetched = { key, rendered: renderNow(request, at) };
    });
  }

  function render(request: ApiRequest, res: ServerResponse): Rendered {
    const at = now();
    // Ages depend on the date only, so an answer rendered earlier today is still exact.
    const key = JSON.stringify([request.format, request.query, at.toISOString().slice(0, 10)]);
    if (request.query.seed === undefined) {
      const ready = prefetched?.key === key ? prefetched.rendered : undefined;
      prefetched = undefined;
      if (options.prefetch !== false) res.once('finish', () => prefetch(key, request, at));
      return ready ? { ...ready, from: 'prefetch' } : renderNow(request, at);
    }
    const cached = cache.get(key);
    if (cached) return { ...cached, from: 'cache' };
    const rendered = renderNow(request, at);
    cache.set(key, rendered);
    return rendered;
  }

  function serveUsers(res: ServerResponse, request: ApiRequest): void {
    if (res.destroyed) return;
    const { body, users, from } = render(request, res);
    send(res, 200, body);
    stats.responses++;
    stats.usersServed += users;
    if (from === 'cache') stats.cacheHits++;
    if (from === 'prefetch') stats.prefetchHits++;
  }

  function later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      action();
    }, ms);
    timers.add(timer);
  }

  function serveApi(req: IncomingMessage, res: ServerResponse, params: URLSearchParams): void {
    stats.requests++;
    if (req.method !== 'GET') {
      stats.badRequests++;
      sendJson(res, 405, { error: `${req.method} is not allowed; the API answers GET` });
      return;
    }
    const request = parseApiQuery(params);
    if ('error' in request) {
      stats.badRequests++;
      sendJson(res, 400, { error: request.error });
      return;
    }
    const fault = injector.next();
    if (fault) stats.faults[fault]++;
    switch (fault) {
      case undefined:
        return serveUsers(res, request);
      case 'error-body':
        return sendJson(res, 200, ERROR_BODY);
      case '503':
        return send(res, 503, html(503, 'Service Temporarily Unavailable'), { 'content-type': 'text/html', 'retry-after': injector.retryAfterSeconds() });
      case '500':
        return send(res, 500, html(500, 'Internal Server Error'), { 'content-type': 'text/html' });
      case 'latency':
        return later(injector.latencyMs(), () => serveUsers(res, request));
      case 'hang':
        // Nothing is written: the client waits until its own timeout, or until close() drops the socket.
        return;
      case 'truncated': {
        const { body } = render(request, res);
        return send(res, 200, body.subarray(0, injector.cutAt(body.length)));
      }
      case 'reset': {
        const { body } = render(request, res);
        res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': body.length });
        res.write(body.subarray(0, injector.cutAt(body.length)), () => res.destroy());
        return;
      }
    }
  }

  async function serveFaults(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET') return sendJson(res, 200, injector.current());
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'use GET to read the fault settings or POST to replace them' });
    let input: unknown;
    try {
      input = JSON.parse(await readBody(req, 64 * 1024));
    } catch (error) {
      return sendJson(res, 400, { error: `the body is not JSON fault settings: ${(error as Error).message}` });
    }
    const parsed = parseFaultOptions(input);
    if ('problems' in parsed) return sendJson(res, 400, { error: 'invalid fault settings', problems: parsed.problems });
    sendJson(res, 200, injector.set(parsed.options));
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (API_PATH.test(url.pathname)) return serveApi(req, res, url.searchParams);
    if (url.pathname === '/_faults') {
      serveFaults(req, res).catch((error: Error) => sendJson(res, 500, { error: error.message }));
      return;
    }
    if (url.pathname === '/_stats' && req.method === 'GET') return sendJson(res, 200, stats);
    stats.badRequests++;
    sendJson(res, 404, { error: `nothing at ${url.pathname}; the API is at /api/ (or /api/1.4/), admin at /_faults and /_stats` });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}/api/`,
    host,
    port,
    setFaults: (faults) => injector.set(faults),
    faults: () => injector.current(),
    stats: () => ({ ...stats, faults: { ...stats.faults } }),
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
