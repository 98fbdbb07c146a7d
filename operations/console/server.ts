/**
 * The web console of a running topology, served by the process itself like Spark's UI: static pages
 * (operations/console/pages/), JSON endpoints, and the runtime's typed events forwarded to browsers as
 * server-sent events. Bound to 127.0.0.1 unless told otherwise; on the next free port when the one
 * asked for is taken.
 *
 * Safety: every JSON response and event passes through maskSecrets (as log lines do). Requests must
 * name this server in their Host header (a page of another site that resolves its own name to
 * 127.0.0.1 — DNS rebinding — is refused). The one state-changing request, replay, is POST only, must
 * come from this origin (Origin header) and carry the per-process token the pages are served with,
 * which another site's page cannot read.
 *
 * See also: operations/console/live.ts (what it knows), graph.ts, dead-letters.ts, data.ts.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Observable } from 'rxjs';
import { UserFacingError, errorMessage } from '../../topology/errors.ts';
import type { RuntimeEvent } from '../../topology/events.ts';
import type { TopologyConfig } from '../../topology/model.ts';
import type { PipelineRunner } from '../../topology/pipeline.ts';
import { maskSecrets } from '../../topology/secrets.ts';
import type { DataStore } from './data.ts';
import type { DeadLetterStore, LetterRef, ReplayRequest } from './dead-letters.ts';
import { topologyGraph } from './graph.ts';
import { ConsoleLive } from './live.ts';

export const DEFAULT_CONSOLE_PORT = 4040;
/** Ports tried after a busy one (4040, 4041, …), as Spark does. */
const PORT_TRIES = 16;
/** A comment line on idle event streams, so proxies and browsers keep them open. */
const KEEPALIVE_MS = 15_000;
const TOKEN_HEADER = 'x-console-token';

/** What the console needs of a TopologyRuntime. */
export interface ConsoleRuntime {
  readonly config: TopologyConfig;
  readonly events$: Observable<RuntimeEvent>;
  readonly runners: ReadonlyMap<string, PipelineRunner>;
  readonly instance: string;
}

export interface ConsoleOptions {
  host?: string;
  /** 0 picks a free port; a busy one moves to the next (up to 15 more). Default 4040. */
  port?: number;
  /** The topology file, shown on the Topology file page. */
  file?: string;
  deadLetters: DeadLetterStore;
  data: DataStore;
  now?: () => number;
}

export interface ConsoleServer {
  url: string;
  address: AddressInfo;
  /** The per-process token replay requests must carry (the pages have it). */
  token: string;
  live: ConsoleLive;
  close(): Promise<void>;
}

const PAGES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pages');
/** Each page: its title, its script (pages/<script>.js) and the bundled libraries it needs, in one template (pages/page.html). */
const PAGES: Record<string, { title: string; script: string; vendor: string[] }> = {
  '/': { title: 'Topology', script: 'topology', vendor: ['dagre.min.js'] },
  '/pipeline': { title: 'Pipeline', script: 'pipeline', vendor: ['uPlot.min.css', 'uPlot.iife.min.js'] },
  '/dead-letters': { title: 'Dead letters', script: 'dead-letters', vendor: [] },
  '/data': { title: 'Data', script: 'data', vendor: [] },
  '/file': { title: 'Topology file', script: 'file', vendor: [] },
};

/** pages/page.html, read once. */
let pageTemplate: string | undefined;

/** A page's HTML: the template with its title, libraries and script, and this process's token. */
function pageHtml(page: (typeof PAGES)[string], token: string): string {
  const head = [
    ...page.vendor.map((file) => (file.endsWith('.css') ? `<link rel="stylesheet" href="/vendor/${file}">` : `<script src="/vendor/${file}" defer></script>`)),
    '<script src="/assets/common.js" defer></script>',
    `<script src="/assets/${page.script}.js" defer></script>`,
  ];
  pageTemplate ??= readFileSync(path.join(PAGES_DIR, 'page.html'), 'utf8');
  return pageTemplate.replace('__CONSOLE_TOKEN__', token).replace('__TITLE__', page.title).replace('__HEAD__', head.join('\n'));
}
const ASSETS: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/** The chart and graph-layout libraries, from node_modules (nothing from a CDN: the console works offline). */
function vendorFiles(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const uplot = path.dirname(require.resolve('uplot'));
  const dagre = path.dirname(require.resolve('@dagrejs/dagre'));
  return { 'uPlot.iife.min.js': path.join(uplot, 'uPlot.iife.min.js'), 'uPlot.min.css': path.join(uplot, 'uPlot.min.css'), 'dagre.min.js': path.join(dagre, 'dagre.min.js') };
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export async function startConsole(runtime: ConsoleRuntime, options: ConsoleOptions): Promise<ConsoleServer> {
  const host = options.host ?? '127.0.0.1';
  const token = randomBytes(24).toString('base64url');
  const live = new ConsoleLive(runtime.config.name, runtime.runners.keys(), options.now);
  const clients = new Set<http.ServerResponse>();
  const subscription = runtime.events$.subscribe((event) => {
    live.observe(event);
    const frame = `data: ${maskSecrets(JSON.stringify(event))}\n\n`;
    for (const client of clients) client.write(frame);
  });
  const vendor = vendorFiles();
  let port = 0;

  /**
   * The Host headers this server answers to: its address, and the loopback names when it is on
   * loopback. On every interface (0.0.0.0, told so) any name may reach it; the Origin must still match the Host.
   */
  const allowedHosts = (request: http.IncomingMessage) => {
    if (host === '0.0.0.0' || host === '::') return new Set([String(request.headers.host ?? '')]);
    const names = isLoopback(host) ? ['127.0.0.1', 'localhost', '[::1]'] : [host.includes(':') ? `[${host}]` : host];
    return new Set(names.map((name) => `${name}:${port}`));
  };

  const pipelineView = (name: string) => {
    const entry = live.pipelines.get(name);
    const runner = runtime.runners.get(name);
    if (!entry) return undefined;
    // The runner knows draining and stopping; the events know a failing pipeline between retries.
    const state = entry.status === 'failing' || entry.status === 'failed' || entry.status === 'restoring' || !runner ? entry.status : runner.state;
    return { name, state, summary: entry.summary, rates: live.rates(name), lastBatch: entry.recent.at(-1), lastError: entry.lastError, lastRestore: entry.lastRestore, running: runner !== undefined };
  };
  const overview = () => ({
    topology: runtime.config.name,
    description: runtime.config.description,
    instance: runtime.instance,
    startedAt: live.startedAt,
    version: live.version,
    pipelines: [...live.pipelines.keys()].map(pipelineView),
  });

  const json = (response: http.ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(maskSecrets(JSON.stringify(body)));
  };

  const readBody = (request: http.IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      let text = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => {
        text += chunk;
        if (text.length > 1_000_000) reject(new HttpError(413, 'request too large'));
      });
      request.on('end', () => resolve(text));
      request.on('error', reject);
    });

  /** A state-changing request: POST, from this origin, with the token. Throws HttpError otherwise. */
  const checkStateChange = (request: http.IncomingMessage) => {
    if (request.method !== 'POST') throw new HttpError(405, 'POST only');
    const origin = request.headers.origin;
    if (!origin || !origin.startsWith('http://') || origin.slice('http://'.length) !== request.headers.host || !allowedHosts(request).has(origin.slice('http://'.length))) throw new HttpError(403, `refused: a request from another origin (${origin ?? 'no Origin header'})`);
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') throw new HttpError(403, `refused: a ${site} request`);
    const given = Buffer.from(String(request.headers[TOKEN_HEADER] ?? ''));
    const expected = Buffer.from(token);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new HttpError(403, 'refused: missing or wrong console token (reload the page)');
    if (!String(request.headers['content-type'] ?? '').startsWith('application/json')) throw new HttpError(415, 'expected application/json');
  };

  const parseReplay = (text: string): ReplayRequest => {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'the body is not JSON');
    }
    const { letters, reason } = (body ?? {}) as { letters?: unknown; reason?: unknown };
    if (reason !== undefined && typeof reason !== 'string') throw new HttpError(400, 'reason: expected text');
    if (letters !== undefined) {
      const valid = Array.isArray(letters) && letters.every((l: LetterRef) => l && typeof l.topic === 'string' && Number.isInteger(l.partition) && Number.isInteger(l.offset));
      if (!valid) throw new HttpError(400, 'letters: expected [{ topic, partition, offset }]');
      if ((letters as LetterRef[]).length === 0) throw new HttpError(400, 'letters: none chosen');
    }
    if (letters === undefined && reason === undefined) throw new HttpError(400, 'give letters, or a reason (an empty reason means every letter)');
    return { ...(letters !== undefined ? { letters: letters as LetterRef[] } : {}), ...(reason !== undefined ? { reason } : {}) };
  };

  const handle = async (request: http.IncomingMessage, response: http.ServerResponse) => {
    if (!allowedHosts(request).has(String(request.headers.host ?? ''))) throw new HttpError(421, `this console answers to ${[...allowedHosts(request)].join(', ')}, not ${request.headers.host ?? 'no Host header'}`);
    const url = new URL(request.url ?? '/', `http://${request.headers.host}`);
    const route = url.pathname;
    if (route === '/api/dead-letters/replay') {
      checkStateChange(request);
      const report = await options.deadLetters.replay(parseReplay(await readBody(request)));
      return json(response, 200, report);
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') throw new HttpError(405, 'GET only');
    if (route === '/favicon.ico') return void response.writeHead(204).end();
    if (PAGES[route]) {
      const html = pageHtml(PAGES[route], token);
      response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
      return;
    }
    if (route.startsWith('/assets/') || route.startsWith('/vendor/')) {
      const name = route.slice(route.indexOf('/', 1) + 1);
      const file = route.startsWith('/vendor/') ? vendor[name] : /^[\w-]+\.(js|css)$/.test(name) ? path.join(PAGES_DIR, name) : undefined;
      if (!file) throw new HttpError(404, `no such file ${route}`);
      response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': ASSETS[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' }).end(readFileSync(file));
      return;
    }
    switch (route) {
      case '/api/overview':
        return json(response, 200, overview());
      case '/api/graph':
        return json(response, 200, { ...topologyGraph(runtime.runners.values()), pipelines: overview().pipelines });
      case '/api/pipeline': {
        const name = url.searchParams.get('name') ?? '';
        const view = pipelineView(name);
        if (!view) throw new HttpError(404, `no pipeline ${name}; pipelines: ${[...live.pipelines.keys()].join(', ')}`);
        return json(response, 200, { ...view, recent: live.pipelines.get(name)!.recent });
      }
      case '/api/events': {
        response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
        response.write(': connected\n\n');
        clients.add(response);
        const keepalive = setInterval(() => response.write(': keep-alive\n\n'), KEEPALIVE_MS);
        request.on('close', () => {
          clearInterval(keepalive);
          clients.delete(response);
        });
        return;
      }
      case '/api/dead-letters': {
        const reason = url.searchParams.get('reason') ?? undefined;
        return json(response, 200, { topics: options.deadLetters.topics(), letters: await options.deadLetters.list({ reason }) });
      }
      case '/api/dead-letters/bytes': {
        const ref = { topic: url.searchParams.get('topic') ?? '', partition: Number(url.searchParams.get('partition')), offset: Number(url.searchParams.get('offset')) };
        if (!options.deadLetters.topics().includes(ref.topic) || !Number.isInteger(ref.partition) || !Number.isInteger(ref.offset)) throw new HttpError(400, 'expected topic (a dead-letter topic), partition and offset');
        const bytes = await options.deadLetters.originalBytes(ref);
        if (!bytes) throw new HttpError(404, `no dead letter at ${ref.topic}/${ref.partition}@${ref.offset}`);
        const text = bytes.toString('utf8');
        // Text is masked like everything else; other bytes go as they are (masking would corrupt them).
        const body = Buffer.from(text, 'utf8').equals(bytes) ? Buffer.from(maskSecrets(text), 'utf8') : bytes;
        response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'application/octet-stream', 'content-disposition': `attachment; filename="${ref.topic}-${ref.partition}-${ref.offset}.bin"` }).end(body);
        return;
      }
      case '/api/data/topics':
        return json(response, 200, { topics: await options.data.topics() });
      case '/api/data/peek': {
        const count = Math.max(1, Math.min(Number(url.searchParams.get('count') ?? 20) || 20, 200));
        return json(response, 200, { messages: await options.data.peek(url.searchParams.get('topic') ?? '', count) });
      }
      case '/api/data/tables':
        return json(response, 200, { tables: await options.data.tables(Math.max(1, Math.min(Number(url.searchParams.get('rows') ?? 10) || 10, 100))) });
      case '/api/topology-file': {
        let text: string | undefined;
        try {
          text = options.file ? readFileSync(options.file, 'utf8') : undefined;
        } catch {
          text = undefined;
        }
        return json(response, 200, { file: options.file, version: live.version, running: runtime.config, fileText: text, swaps: live.swaps, lastRefused: live.lastRefused() });
      }
      default:
        throw new HttpError(404, `no such page or endpoint: ${route}`);
    }
  };

  const server = http.createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      if (!response.headersSent) json(response, status, { error: errorMessage(error) });
      else response.end();
    });
  });

  const first = options.port ?? DEFAULT_CONSOLE_PORT;
  for (let attempt = 0; ; attempt++) {
    const tryPort = first === 0 ? 0 : first + attempt;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(tryPort, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' && first !== 0 && attempt + 1 < PORT_TRIES && tryPort < 65535) continue;
      subscription.unsubscribe();
      if (code === 'EADDRINUSE') throw new UserFacingError(`ports ${first}–${tryPort} on ${host} are all in use, so the console cannot start`, 'choose another with --ui-port (0 picks a free one), or turn it off with --no-ui');
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UserFacingError(`the console cannot listen on ${host}: no such local address`, 'use 127.0.0.1 (the default)');
      throw error;
    }
  }
  const address = server.address() as AddressInfo;
  port = address.port;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/`,
    address,
    token,
    live,
    close: async () => {
      subscription.unsubscribe();
      for (const client of clients) client.end();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await options.data.close();
    },
  };
}
