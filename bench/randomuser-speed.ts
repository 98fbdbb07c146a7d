/**
 * How fast the bundled RandomUser generator and server make users: generation per second of CPU time,
 * and one client fetching `results=5000` pages over HTTP, fresh and from the seeded cache. No services
 * needed; docs/randomuser-server.md has the figures.
 *
 *   npx tsx bench/randomuser-speed.ts
 */
import assert from 'node:assert/strict';
import { MAX_RESULTS, generateUsers, type RandomUserResponse } from '../randomuser/generator.ts';
import { startRandomUserServer } from '../randomuser/server.ts';

function generationRate(): string {
  generateUsers({ seed: 'warm', results: MAX_RESULTS });
  const started = process.cpuUsage();
  let users = 0;
  for (let page = 1; page <= 8; page++) users += generateUsers({ seed: 'rate', page, results: MAX_RESULTS }).users.length;
  const cpu = process.cpuUsage(started);
  assert.equal(users, 8 * MAX_RESULTS);
  const perSecond = Math.round(users / ((cpu.user + cpu.system) / 1e6));
  return `generated ${users} users at ${perSecond} users/s of CPU time`;
}

async function httpThroughput(): Promise<string> {
  const server = await startRandomUserServer();
  try {
    const measure = async (query: string, requests: number) => {
      const started = performance.now();
      let users = 0;
      for (let i = 0; i < requests; i++) users += ((await (await fetch(`${server.url}?results=5000${query}`)).json()) as RandomUserResponse).results.length;
      return Math.round(users / ((performance.now() - started) / 1000));
    };
    await measure('&seed=warm', 1);
    const fresh = await measure('', 6);
    const cached = await measure('&seed=cached', 6);
    assert.ok(fresh > 0 && cached > 0);
    return `HTTP, results=5000, one client: ${fresh} users/s generated per request, ${cached} users/s from the cache (client parse included)`;
  } finally {
    await server.close();
  }
}

process.stdout.write(`${generationRate()}\n`);
process.stdout.write(`${await httpThroughput()}\n`);
