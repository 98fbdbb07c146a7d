/**
 * The instance: which of the processes that run a topology this one is. An exactly-once pipeline's
 * transactional id ends with it (`user-stream.<topology>.<pipeline>.<instance>`, see
 * clients/kafka-transactions.ts), so it must be unique among the live processes of a pipeline — several
 * of them then work side by side in one consumer group, Kafka (≥ 2.5) fencing zombies by the group's
 * generation — and the same after a restart of one of them, whose new producer then aborts at once what
 * the dead one left open.
 *
 * The instance is given (`--instance NAME`, or USER_STREAM_INSTANCE: for containers, whose pid and host
 * name say nothing), or claimed: `<host>-<n>`, with n the lowest slot that no live process of the
 * topology holds on this machine. Slot n is the file `<slot folder>/<topology>/<n>.pid`, created
 * exclusively (open with `wx`: of two processes starting at once, one gets it) and holding its pid. The
 * slot folder is `.state/instances` of the working directory (where the log files are, `.state/logs`),
 * or USER_STREAM_INSTANCE_DIR: the processes of one topology on one machine must share it. A slot whose
 * pid is no longer alive is taken over (a kill -9 and a restart get the same slot, hence the same
 * transactional id); a clean stop removes its file.
 *
 * ```ts
 * const instance = await resolveInstance({ topology: 'user-pipeline', folder: instanceFolder(process.env) });
 * instance.name; // 'build-7-0'
 * await instance.release();
 * ```
 * See also: bin/run.ts (`--instance`), topology/types.ts (ComponentContext.instance).
 */
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { UserFacingError } from '../topology/errors.ts';
import { isAlive } from '../services/processes.ts';

/** The environment variables of the instance. */
export const INSTANCE_VARIABLES = {
  name: 'USER_STREAM_INSTANCE',
  folder: 'USER_STREAM_INSTANCE_DIR',
} as const;

/** The slot folder when USER_STREAM_INSTANCE_DIR is not set, relative to the working directory. */
export const DEFAULT_INSTANCE_FOLDER = path.join('.state', 'instances');

/** What the claiming asks of the machine; a test gives its own pids, liveness and clock. */
export interface SlotHost {
  pid: number;
  hostname: string;
  isAlive(pid: number): boolean;
  now(): number;
}

export const thisProcess: SlotHost = { pid: process.pid, hostname: hostname(), isAlive, now: () => Date.now() };

/** A slot file that is empty (its claimer killed between creating and writing it) is abandoned after this long. */
export const ABANDONED_EMPTY_SLOT_MS = 10_000;

/** Slots tried before giving up: that many live processes of one topology on one machine is a mistake. */
const MAX_SLOTS = 1000;

export interface Instance {
  /** `<host>-<n>`, or the name given. */
  readonly name: string;
  /** The claimed slot: its number and file (none when the name was given). */
  readonly slot?: { n: number; file: string };
  /** Frees the slot (when it still holds this process's pid). */
  release(): Promise<void>;
}

/** The slot folder: USER_STREAM_INSTANCE_DIR, or `.state/instances`, relative to the working directory. */
export function instanceFolder(env: Record<string, string | undefined>, cwd = process.cwd()): string {
  return path.resolve(cwd, env[INSTANCE_VARIABLES.folder] || DEFAULT_INSTANCE_FOLDER);
}

const NAME = /^[A-Za-z0-9._-]+$/;

/** A given instance name, refused unless Kafka takes it as it is in a transactional id. */
export function checkInstanceName(name: string, where: string): string {
  if (!NAME.test(name)) throw new UserFacingError(`${where} "${name}" is not an instance name`, 'use letters, digits, ".", "_" or "-" (it ends the transactional id of exactly-once pipelines)');
  return name;
}

/** A host (or topology) name as a part of an instance name or a file name: what Kafka would not take becomes `_`. */
export function safeName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
  // Neither empty nor `.` or `..`, which are no file names.
  return /^\.*$/.test(safe) ? `_${safe.replace(/\./g, '_')}` : safe;
}

/**
 * The instance of this process for `topology`: `given` (checked) when there is one, else a slot claimed
 * in `<folder>/<topology>`.
 */
export async function resolveInstance(options: { topology: string; folder: string; given?: string; host?: SlotHost }): Promise<Instance> {
  if (options.given !== undefined) {
    const name = checkInstanceName(options.given, '--instance');
    return { name, release: async () => undefined };
  }
  const host = options.host ?? thisProcess;
  const slot = await claimSlot(path.join(options.folder, safeName(options.topology)), host);
  return { name: `${safeName(host.hostname)}-${slot.n}`, slot, release: () => releaseSlot(slot.file, host) };
}

/** Claims the lowest free slot of `folder` for `host.pid`: its number and file. */
export async function claimSlot(folder: string, host: SlotHost = thisProcess): Promise<{ n: number; file: string }> {
  await mkdir(folder, { recursive: true });
  for (let n = 0; n < MAX_SLOTS; n++) {
    const file = path.join(folder, `${n}.pid`);
    if (await takeSlot(file, host)) return { n, file };
  }
  throw new UserFacingError(`no free instance slot in ${folder}: slots 0 to ${MAX_SLOTS - 1} are all held by live processes`, `remove the slot files of processes that are not this topology's, or give this process its own --instance`);
}

/** Removes the slot file if it still holds this process's pid. */
export async function releaseSlot(file: string, host: SlotHost = thisProcess): Promise<void> {
  const holder = await holderOf(file, host);
  if (holder.state === 'held' && holder.pid === host.pid) await rm(file, { force: true });
}

/**
 * Who holds a slot (or take-over) file: nobody (`gone`), a live process (`held`), or a dead one (`stale`,
 * with a token naming that claim: its pid). An empty file is a claimer between creating and writing it,
 * or one killed right then: held while young, stale once older than ABANDONED_EMPTY_SLOT_MS.
 */
type Holder = { state: 'gone' } | { state: 'held'; pid?: number } | { state: 'stale'; token: string };

async function holderOf(file: string, host: SlotHost): Promise<Holder> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'gone' };
    throw error;
  }
  if (/^[1-9]\d*$/.test(text)) {
    const pid = Number(text);
    return host.isAlive(pid) ? { state: 'held', pid } : { state: 'stale', token: text };
  }
  const modified = await stat(file).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
  if (modified === undefined) return { state: 'gone' };
  return host.now() - modified > ABANDONED_EMPTY_SLOT_MS ? { state: 'stale', token: 'nopid' } : { state: 'held' };
}

/** Creates `file` only if it does not exist, holding `pid`; false when it exists. */
async function createExclusive(file: string, pid: number): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(`${pid}\n`);
  } catch (error) {
    await handle.close();
    await rm(file, { force: true });
    throw error;
  }
  await handle.close();
  return true;
}

/** Takes slot `file`: free, or held by a dead process. False when a live process holds it, or another takes it over. */
async function takeSlot(file: string, host: SlotHost): Promise<boolean> {
  // Each round either takes the slot or saw it change hands; a few rounds settle any race.
  for (let round = 0; round < 5; round++) {
    if (await createExclusive(file, host.pid)) return true;
    const holder = await holderOf(file, host);
    if (holder.state === 'held') return false;
    if (holder.state === 'stale' && !(await removeStale(file, holder.token, host))) return false;
  }
  return false;
}

/**
 * Removes `file` if it still holds the dead claim `token`. Deleting a file by name races with whoever
 * claims it anew right after: so only the process that creates `<file>.takeover-<token>` exclusively may
 * delete that claim, and it checks the claim is still there before it does. A take-over file whose own
 * claimer died is taken over the same way. False when another live process is taking the slot over.
 */
async function removeStale(file: string, token: string, host: SlotHost, depth = 0): Promise<boolean> {
  if (depth > 2) return false;
  const marker = `${file}.takeover-${token}`;
  for (let round = 0; round < 3; round++) {
    if (await createExclusive(marker, host.pid)) {
      try {
        const now = await holderOf(file, host);
        if (now.state === 'stale' && now.token === token) await rm(file, { force: true });
        return true;
      } finally {
        await rm(marker, { force: true });
      }
    }
    const taker = await holderOf(marker, host);
    if (taker.state === 'held') return false;
    if (taker.state === 'stale' && !(await removeStale(marker, taker.token, host, depth + 1))) return false;
  }
  return false;
}
