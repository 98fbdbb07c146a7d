import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopback, readSettings } from '../../../services/settings.ts';

const repo = '/repo';

test('defaults: loopback, the standard ports, modest heaps, cache under XDG_CACHE_HOME, state under the repo', () => {
  const s = readSettings({ HOME: '/home/dev', XDG_CACHE_HOME: '/xdg' }, repo);
  assert.equal(s.host, '127.0.0.1');
  assert.deepEqual(s.kafka, { port: 9092, controllerPort: 9093, heap: '512m', readyTimeoutMs: 90_000 });
  assert.deepEqual(s.cassandra, { port: 9042, storagePort: 7000, heap: '1g', readyTimeoutMs: 180_000, localDc: 'datacenter1' });
  assert.deepEqual(s.registry, { port: 8081, heap: '256m', readyTimeoutMs: 90_000 });
  assert.equal(s.cacheDir, '/xdg/user-stream/services');
  assert.equal(s.stateDir, '/repo/.state/services');
});

test('the cache falls back to ~/.cache without XDG_CACHE_HOME', () => {
  assert.equal(readSettings({ HOME: '/home/dev' }, repo).cacheDir, '/home/dev/.cache/user-stream/services');
});

test('every setting is overridable by its environment variable', () => {
  const s = readSettings(
    {
      USER_STREAM_SERVICES_HOST: '127.0.0.2',
      KAFKA_PORT: '19092',
      KAFKA_CONTROLLER_PORT: '19093',
      CASSANDRA_PORT: '19042',
      CASSANDRA_STORAGE_PORT: '17000',
      KAFKA_HEAP: '256M',
      CASSANDRA_HEAP: '768m',
      KAFKA_READY_TIMEOUT: '30',
      CASSANDRA_READY_TIMEOUT: '2.5',
      SCHEMA_REGISTRY_PORT: '18081',
      SCHEMA_REGISTRY_HEAP: '300m',
      SCHEMA_REGISTRY_READY_TIMEOUT: '40',
      USER_STREAM_STATE_DIR: 'elsewhere/state',
      USER_STREAM_CACHE_DIR: '/cache',
    },
    repo,
  );
  assert.equal(s.host, '127.0.0.2');
  assert.deepEqual(s.kafka, { port: 19092, controllerPort: 19093, heap: '256m', readyTimeoutMs: 30_000 });
  assert.deepEqual(s.cassandra, { port: 19042, storagePort: 17000, heap: '768m', readyTimeoutMs: 2_500, localDc: 'datacenter1' });
  assert.deepEqual(s.registry, { port: 18081, heap: '300m', readyTimeoutMs: 40_000 });
  assert.equal(s.stateDir, '/repo/elsewhere/state', 'a relative state dir is relative to the repo');
  assert.equal(s.cacheDir, '/cache');
});

test('bad values are all reported at once, each naming its variable', () => {
  assert.throws(
    () => readSettings({ KAFKA_PORT: '99999', CASSANDRA_HEAP: 'lots', KAFKA_READY_TIMEOUT: '-1' }, repo),
    (error: Error) => {
      assert.match(error.message, /KAFKA_PORT=99999 is not a TCP port/);
      assert.match(error.message, /CASSANDRA_HEAP=lots is not a heap size/);
      assert.match(error.message, /KAFKA_READY_TIMEOUT=-1 is not a positive number/);
      return true;
    },
  );
});

test('a non-loopback host is refused: these servers have no authentication', () => {
  assert.throws(() => readSettings({ USER_STREAM_SERVICES_HOST: '0.0.0.0' }, repo), /USER_STREAM_SERVICES_HOST=0.0.0.0 is not an IPv4 loopback address/);
  assert.throws(() => readSettings({ USER_STREAM_SERVICES_HOST: '192.168.1.5' }, repo), /not an IPv4 loopback address/);
  assert.equal(isLoopback('127.9.9.9'), true);
  assert.equal(isLoopback('127.0.0.1'), true);
  assert.equal(isLoopback('localhost'), false, 'a name may resolve to another address');
  assert.equal(isLoopback('::1'), false, 'the templates do not bracket IPv6');
  assert.equal(isLoopback('10.0.0.1'), false);
  assert.equal(isLoopback('1127.0.0.1'), false);
});

test('two servers on one port is an error naming both variables', () => {
  assert.throws(() => readSettings({ CASSANDRA_PORT: '9092' }, repo), /CASSANDRA_PORT and KAFKA_PORT are both 9092/);
  assert.throws(() => readSettings({ SCHEMA_REGISTRY_PORT: '7000' }, repo), /SCHEMA_REGISTRY_PORT and CASSANDRA_STORAGE_PORT are both 7000/);
});
