/**
 * The parent side of a benchmark worker: `bench/worker.ts` forked as a Node process of its own, so that
 * the figures it measures (CPU, RSS, heap, a CPU profile) are its alone — not the orchestrator's, nor
 * the load generator's. Tasks and results travel over the IPC channel as JSON.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Task, WorkerMessage } from './worker.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

export interface WorkerOptions {
  /** Write a V8 CPU profile (.cpuprofile) of the worker into this folder. */
  cpuProfileDir?: string;
  /** Lets the worker call gc() between measurements. */
  exposeGc?: boolean;
  /** More Node options for the worker (e.g. GC settings under test). */
  nodeOptions?: string[];
  /** Events the worker reports while it runs. */
  onEvent?(event: Record<string, any>): void;
}

export interface WorkerHandle<R> {
  result: Promise<R>;
  /** Ask the worker to finish its task now (it still reports its result). */
  stop(): void;
  /** Further instructions, for tasks that take them. */
  send(message: Record<string, unknown>): void;
  pid: number | undefined;
}

export function startWorker<R>(task: Task, options: WorkerOptions = {}): WorkerHandle<R> {
  const execArgv = ['--import', 'tsx'];
  if (options.cpuProfileDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
  if (options.exposeGc) execArgv.push('--expose-gc');
  execArgv.push(...(options.nodeOptions ?? []));
  const child: ChildProcess = fork(WORKER, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const result = new Promise<R>((resolve, reject) => {
    let settled = false;
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'event') options.onEvent?.(message.event);
      else if (message.type === 'result') {
        settled = true;
        resolve(message.value as R);
      } else if (message.type === 'error') {
        settled = true;
        reject(new Error(`${task.kind} worker: ${message.message}`));
      }
    });
    child.once('error', (error) => {
      if (!settled) reject(error);
    });
    child.once('exit', (code, signal) => {
      if (!settled) reject(new Error(`${task.kind} worker exited (${signal ?? `code ${code}`}) before reporting a result`));
    });
  });
  // The result is also awaited by the caller; this only keeps an early failure from going unhandled.
  result.catch(() => undefined);
  child.send(task);
  return {
    result,
    stop: () => {
      if (child.connected) child.send({ type: 'stop' });
    },
    send: (message) => {
      if (child.connected) child.send(message);
    },
    pid: child.pid,
  };
}
