/**
 * Imported first by the cluster's fault tests: the fault helpers (test/faults/helpers.ts) read
 * KAFKA_BROKERS, CASSANDRA_CONTACT_POINTS and CASSANDRA_LOCAL_DC when they load, and here these become the
 * local cluster's — whatever they were, since these tests kill that cluster's nodes. The cluster keeps its
 * nodes in a state dir of its own: a fresh one under the system temp dir, unless USER_STREAM_STATE_DIR is set.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localClusterAddresses } from '../../services/cluster.ts';

/** Whether this run made the state dir (then it is removed after a run that passed). */
export const ownStateDir = !process.env.USER_STREAM_STATE_DIR;
export const stateDir = process.env.USER_STREAM_STATE_DIR || mkdtempSync(join(tmpdir(), 'cluster-faults-'));
process.env.USER_STREAM_STATE_DIR = stateDir;
export const addresses = localClusterAddresses(process.env);
process.env.KAFKA_BROKERS = addresses.kafkaBrokers;
process.env.CASSANDRA_CONTACT_POINTS = addresses.cassandraContactPoints;
process.env.CASSANDRA_LOCAL_DC = addresses.cassandraLocalDc;
