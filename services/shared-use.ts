/**
 * Several test runs may share one set of local services: two `npm test` in one checkout, from two
 * terminals or two engineers. Each run registers itself while it uses them (a file named after its
 * pid); a run that started a service stops it only when no other live run is using it. Otherwise it
 * hands the service over, and the last run to finish stops everything handed over to it — so no run
 * stops a server under another run's tests, and none is left running that a test run started.
 */
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withLock } from './processes.ts';
import type { ServiceName } from './settings.ts';

/** A service a finished run started and left to the runs still using it: stopped only while `pid` still runs it. */
export interface HandedOver {
  service: ServiceName;
  pid: number;
}

function usersDir(stateDir: string): string {
  return join(stateDir, 'users');
}

function handoverFile(stateDir: string): string {
  return join(usersDir(stateDir), 'handover.json');
}

export async function beginUse(stateDir: string, pid = process.pid): Promise<void> {
  await mkdir(usersDir(stateDir), { recursive: true });
  await writeFile(join(usersDir(stateDir), `${pid}.user`), `${new Date().toISOString()}\n`);
}

/**
 * Ends `pid`'s use. Returns what should be stopped now: what it started plus what was handed over,
 * when it is the last live user; nothing otherwise (its services are handed over instead).
 */
export async function endUse(
  stateDir: string,
  started: readonly HandedOver[],
  opts: { pid?: number; isAlive: (pid: number) => boolean },
): Promise<{ stopNow: HandedOver[]; stillUsedBy: number[] }> {
  const pid = opts.pid ?? process.pid;
  return withLock(join(usersDir(stateDir), 'users.lock'), () => undefined, async () => {
    await rm(join(usersDir(stateDir), `${pid}.user`), { force: true });
    const others: number[] = [];
    for (const name of await readdir(usersDir(stateDir)).catch(() => [] as string[])) {
      const match = /^(\d+)\.user$/.exec(name);
      if (!match) continue;
      const user = Number(match[1]);
      if (opts.isAlive(user)) others.push(user);
      else await rm(join(usersDir(stateDir), name), { force: true });
    }
    const pending = [...(await readHandover(stateDir)), ...started];
    if (others.length > 0) {
      await writeFile(handoverFile(stateDir), `${JSON.stringify(pending, null, 2)}\n`);
      return { stopNow: [], stillUsedBy: others.sort((a, b) => a - b) };
    }
    await rm(handoverFile(stateDir), { force: true });
    return { stopNow: pending, stillUsedBy: [] };
  });
}

async function readHandover(stateDir: string): Promise<HandedOver[]> {
  try {
    const value = JSON.parse(await readFile(handoverFile(stateDir), 'utf8')) as unknown;
    return Array.isArray(value) ? (value as HandedOver[]).filter((h) => (h.service === 'kafka' || h.service === 'cassandra') && Number.isInteger(h.pid)) : [];
  } catch {
    return [];
  }
}
