/**
 * What the end-to-end tests share: the bundled RandomUser server and a Cassandra client for one test
 * file (keyspace dropped afterwards), and the users a seeded run really served.
 */
import { after, before } from 'node:test';
import cassandra from 'cassandra-driver';
import { startRandomUserServer, type RandomUserServer } from '../../randomuser/server.ts';
import type { RandomUser } from '../../randomuser/codec.ts';

export interface Fixtures {
  server: RandomUserServer;
  client: cassandra.Client;
}

/** Registers before/after hooks: the server and client live for the file; `keyspace` is dropped at the end. */
export function useFixtures(keyspace: string): Fixtures {
  const fixtures = {} as Fixtures;
  before(async () => {
    fixtures.server = await startRandomUserServer({ host: '127.0.0.1', port: 0 });
    fixtures.client = new cassandra.Client({
      contactPoints: (process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042').split(','),
      localDataCenter: process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1',
    });
    await fixtures.client.connect();
  });
  after(async () => {
    await fixtures.client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
    await fixtures.client.shutdown();
    await fixtures.server.close();
  });
  return fixtures;
}

/** The users pages 1..`pages` of a seeded run were made of (the server answers a seed and page the same way every time). */
export async function servedUsers(server: RandomUserServer, seed: string, results: number, pages: number): Promise<RandomUser[]> {
  const users: RandomUser[] = [];
  for (let page = 1; page <= pages; page++) {
    const response = await fetch(`${server.url}?results=${results}&seed=${seed}&page=${page}`);
    users.push(...((await response.json()) as { results: RandomUser[] }).results);
  }
  return users;
}
