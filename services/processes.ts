/**
 * The server processes this tool starts: launched detached (they outlive the command that started
 * them), recorded in pid files, recognised again by their command line, and stopped by pid only.
 *
 * A pid alone is not proof: after a reboot or a long time the number may belong to another program.
 * So every server is started with `-Duser-stream.service=<name> -Duser-stream.state-dir=<dir>` and a
 * pid counts as ours only while its command line still carries both. A node of the local cluster
 * also carries `-Duser-stream.node=<node>` (e.g. `kafka-2`), so one node's pid never passes for another's.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { SERVICE_NAMES, type ServiceName } from './settings.ts';

const run = promisify(execFile);

export interface PidRecord {
  service: ServiceName;
  /** The cluster node (`kafka-2`), for a node of the local cluster; absent for the single-node servers. */
  node?: string;
  pid: number;
  /** The address it serves, as started. */
  address: string;
  stateDir: string;
  logFile: string;
  startedAt: string;
}

/** The JVM options that mark a server process as ours; `commandLineMatches` looks for exactly these. */
export function ownershipMarkers(service: ServiceName, stateDir: string, node?: string): string[] {
  return [`-Duser-stream.service=${service}`, `-Duser-stream.state-dir=${stateDir}`, ...(node === undefined ? [] : [`-Duser-stream.node=${node}`])];
}

export function commandLineMatches(record: Pick<PidRecord, 'service' | 'stateDir' | 'node'>, commandLine: string): boolean {
  const words = commandLine.split(/\s+/);
  return ownershipMarkers(record.service, record.stateDir, record.node).every((marker) => words.includes(marker));
}

export function formatPidRecord(record: PidRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

/** The record in a pid file's text, or undefined when it is not one (a truncated write, a stranger's file). */
export function parsePidRecord(text: string): PidRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const record = value as Partial<PidRecord> | null;
  if (
    typeof record !== 'object' ||
    record === null ||
    !SERVICE_NAMES.includes(record.service as ServiceName) ||
    !Number.isInteger(record.pid) ||
    (record.pid as number) <= 1 ||
    typeof record.stateDir !== 'string' ||
    typeof record.address !== 'string' ||
    typeof record.logFile !== 'string' ||
    (record.node !== undefined && typeof record.node !== 'string')
  ) {
    return undefined;
  }
  return record as PidRecord;
}

export async function readPidFile(path: string): Promise<PidRecord | undefined> {
  try {
    return parsePidRecord(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function writePidFile(path: string, record: PidRecord): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, formatPidRecord(record));
}

export async function removePidFile(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** The process's full command line, or undefined when there is no such (live) process. */
export async function commandLineOf(pid: number): Promise<string | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    // A zombie (exited, not yet reaped) has an empty command line: it is no longer running.
    return raw === '' ? undefined : raw.replace(/\0/g, ' ').trim();
  } catch (error) {
    // ESRCH: the process is exiting right now.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // No /proc entry: either the process is gone, or this is not Linux (macOS); `ps` tells which.
  try {
    const { stdout } = await run('ps', ['-ww', '-o', 'args=', '-p', String(pid)]);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Whether the process in `record` is still running and still the server we started. */
export async function isOurProcessRunning(record: PidRecord): Promise<boolean> {
  const commandLine = await commandLineOf(record.pid);
  return commandLine !== undefined && commandLineMatches(record, commandLine);
}

/**
 * Starts `command` detached in its own process group, stdout and stderr appended to `logFile`; the
 * returned child is unref'd so this process can exit while the server keeps running.
 */
export function spawnDetached(command: string, args: string[], opts: { cwd: string; logFile: string; env?: NodeJS.ProcessEnv }): ChildProcess {
  const fd = openSync(opts.logFile, 'a');
  try {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: ['ignore', fd, fd] });
    child.unref();
    const pid = child.pid;
    if (pid !== undefined) {
      exitsOfOurChildren.set(pid, new Promise((resolve) => child.once('exit', () => resolve())));
      child.once('exit', () => exitsOfOurChildren.delete(pid));
    }
    return child;
  } finally {
    closeSync(fd);
  }
}

/**
 * Exit of each server this very process spawned. A stopped child stays a zombie (visible in `ps`)
 * until its parent reaps it; waiting for the exit event lets Node reap it before we report it gone.
 */
const exitsOfOurChildren = new Map<number, Promise<void>>();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function reaped(pid: number): Promise<void> {
  const exit = exitsOfOurChildren.get(pid);
  if (exit) await Promise.race([exit, sleep(2000)]);
}

/**
 * Stops the server in `record`: SIGTERM (both servers shut down cleanly on it), then SIGKILL if it
 * is still running after `graceMs`. Resolves once the process is gone; never signals a process
 * whose command line does not show it is ours.
 */
export async function stopProcess(record: PidRecord, opts: { graceMs: number; log: (line: string) => void }): Promise<'stopped' | 'killed' | 'not-running'> {
  if (!(await isOurProcessRunning(record))) return 'not-running';
  signal(record.pid, 'SIGTERM');
  let nextReport = Date.now() + 5000;
  const reportWaiting = () => {
    if (Date.now() < nextReport) return;
    nextReport += 5000;
    opts.log(`${record.node ?? record.service}: waiting for pid ${record.pid} to exit…`);
  };
  if (await exitedWithin(record, opts.graceMs, reportWaiting)) return 'stopped';
  opts.log(`${record.node ?? record.service}: pid ${record.pid} still running ${Math.round(opts.graceMs / 1000)} s after SIGTERM; sending SIGKILL`);
  signal(record.pid, 'SIGKILL');
  if (await exitedWithin(record, 10_000)) return 'killed';
  throw new Error(`${record.node ?? record.service}: pid ${record.pid} survived SIGKILL for 10 s`);
}

/** Whether the process is gone (and reaped) within `ms`, checking every 200 ms; `onWait` runs between checks. */
async function exitedWithin(record: PidRecord, ms: number, onWait: () => void = () => undefined): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    await sleep(200);
    if (!(await isOurProcessRunning(record))) {
      await reaped(record.pid);
      return true;
    }
    onWait();
  }
  return false;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Runs `fn` while holding a lock file, so two `up`/`down` commands on the same state directory (two
 * terminals, two test runs) do not both start a server. A lock left by a dead process is taken over.
 */
export async function withLock<T>(path: string, log: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  let announced = false;
  while (true) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 ? !isAlive(holder) : await olderThan(path, 5000)) {
      await rm(path, { force: true });
      continue;
    }
    // An empty lock file is one whose holder is still writing its pid: wait, as for a live holder.
    if (!announced && holder > 0) {
      announced = true;
      log(`waiting for another services command (pid ${holder}) to finish…`);
    }
    await sleep(500);
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}

async function olderThan(path: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs > ms;
  } catch {
    return true;
  }
}

/** Whether a process with this pid exists (ours or not). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
