/** Which driver errors are worth retrying, and how connection failures read to a user. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import cassandra from 'cassandra-driver';
import { isRetryableCassandraError } from '../../../sinks/cassandra/errors.ts';
import { checkCassandra, connectionError } from '../../../clients/cassandra.ts';
import { UserFacingError } from '../../../topology/errors.ts';
import { config } from './helpers.ts';

const { errors, types } = cassandra;
const codes = types.responseErrorCodes;
const response = (code: number) => new errors.ResponseError(code, `server said ${code}`);
const refused = (address: string) => Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });

test('retryable: timeouts, unavailable, overloaded, bootstrapping, lost connections, no host available', () => {
  for (const code of [codes.writeTimeout, codes.readTimeout, codes.unavailableException, codes.overloaded, codes.isBootstrapping]) {
    assert.equal(isRetryableCassandraError(response(code)), true, `response code 0x${code.toString(16)}`);
  }
  assert.equal(isRetryableCassandraError(new errors.OperationTimedOutError('The host 10.0.0.1:9042 did not reply before timeout 12000 ms', '10.0.0.1:9042')), true);
  assert.equal(isRetryableCassandraError(new errors.BusyConnectionError('10.0.0.1:9042', 2048, 1)), true);
  assert.equal(isRetryableCassandraError(Object.assign(new Error('Socket was closed'), { isSocketError: true })), true);
  assert.equal(isRetryableCassandraError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })), true);
  assert.equal(isRetryableCassandraError(new errors.NoHostAvailableError({ '10.0.0.1:9042': refused('10.0.0.1:9042') })), true);
  assert.equal(isRetryableCassandraError(new errors.NoHostAvailableError({})), true);
});

test('not retryable: invalid or unauthorized statements, bad credentials, wrong types, unknown errors', () => {
  for (const code of [codes.syntaxError, codes.invalid, codes.unauthorized, codes.badCredentials, codes.configError, codes.serverError]) {
    assert.equal(isRetryableCassandraError(response(code)), false, `response code 0x${code.toString(16)}`);
  }
  assert.equal(isRetryableCassandraError(new errors.AuthenticationError('Provided username app and/or password are incorrect')), false);
  assert.equal(isRetryableCassandraError(new errors.ArgumentError('bad argument')), false);
  assert.equal(isRetryableCassandraError(new TypeError('Not a valid blob, expected Buffer obtained 1')), false);
  assert.equal(isRetryableCassandraError(new errors.NoHostAvailableError({ '10.0.0.1:9042': new errors.AuthenticationError('Provided username app and/or password are incorrect') })), false);
  assert.equal(isRetryableCassandraError('a string'), false);
});

test('unreachable: names the address and the driver reason, with how to start or point to Cassandra', () => {
  const error = connectionError(new errors.NoHostAvailableError({ '127.0.0.1:9042': refused('127.0.0.1:9042') }), config());
  assert.ok(error instanceof UserFacingError);
  assert.equal(
    error.message,
    'cannot reach Cassandra at 127.0.0.1:9042 (connect ECONNREFUSED 127.0.0.1:9042)\n  → start the local services with "npm run services -- up", or point to your cluster with CASSANDRA_CONTACT_POINTS=host:port (or --contact-points)',
  );
  const two = connectionError(new errors.NoHostAvailableError({ 'a:9042': refused('a:9042'), 'b:9042': new Error('getaddrinfo ENOTFOUND b') }), config({ contactPoints: 'a:9042,b:9042' }));
  assert.match(two.message, /^cannot reach Cassandra at a:9042,b:9042 \(a:9042: connect ECONNREFUSED a:9042; b:9042: getaddrinfo ENOTFOUND b\)/);
  assert.match(connectionError(new Error('no answer within 15 s'), config()).message, /^cannot reach Cassandra at 127\.0\.0\.1:9042 \(no answer within 15 s\)/);
});

test('refused credentials and missing credentials read differently; the password is never printed', () => {
  const c = config({ username: 'app', password: 'hunter2-secret' });
  // As if a server echoed the password back: it is still masked.
  const refusedAuth = new errors.NoHostAvailableError({ '127.0.0.1:9042': new errors.AuthenticationError('Provided username app and/or password hunter2-secret are incorrect') });
  const error = connectionError(refusedAuth, c);
  assert.equal(
    error.message,
    'Cassandra at 127.0.0.1:9042 refused the credentials of user "app" (Provided username app and/or password *** are incorrect)\n  → check username and password (the password is not printed)',
  );
  const none = connectionError(new errors.NoHostAvailableError({ '127.0.0.1:9042': new errors.AuthenticationError('Authentication provider not set') }), config());
  assert.match(none.message, /^Cassandra at 127\.0\.0\.1:9042 requires authentication \(Authentication provider not set\)\n {2}→ set username and password/);
});

test('a wrong local data center says which ones exist', () => {
  const error = connectionError(
    new errors.NoHostAvailableError({ '127.0.0.1:9042': new errors.ArgumentError("localDataCenter was configured as 'dc9', but only found hosts in data centers: [datacenter1]") }),
    config({ localDataCenter: 'dc9' }),
  );
  assert.equal(
    error.message,
    "Cassandra at 127.0.0.1:9042: localDataCenter was configured as 'dc9', but only found hosts in data centers: [datacenter1]\n  → set localDataCenter (CASSANDRA_LOCAL_DC) to one of the data centers listed",
  );
});

test('checkCassandra gives up on a server that accepts connections but never answers, within its timeout', async () => {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const t0 = Date.now();
  try {
    await assert.rejects(checkCassandra(config({ contactPoints: `127.0.0.1:${port}` }), 500), {
      name: 'UserFacingError',
      message: new RegExp(`^cannot reach Cassandra at 127\\.0\\.0\\.1:${port} \\(no answer within 500 ms\\)`),
    });
    assert.ok(Date.now() - t0 < 2000, `gave up after ${Date.now() - t0} ms`);
  } finally {
    for (const socket of sockets) socket.destroy();
    server.close();
  }
});

test('an unreadable ssl.caFile is named before anything connects', async () => {
  await assert.rejects(checkCassandra(config({ ssl: { caFile: '/nonexistent/ca.pem' } })), {
    name: 'UserFacingError',
    message: /^cannot read ssl\.caFile \/nonexistent\/ca\.pem \(ENOENT: no such file or directory, open '\/nonexistent\/ca\.pem'\)\n {2}→ point ssl\.caFile to the PEM file/,
  });
});
