/**
 * A topology refused for invalid credentials lists every problem by path, and none of the secret
 * values. Each value here is new to the process: the log mask (which knows only secrets that decoded)
 * cannot be what hides it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../../components.ts';
import { ConfigError } from '../../../topology/errors.ts';
import { parseTopology } from '../../../topology/load.ts';

function refusal(yaml: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    parseTopology(yaml, 'secure.yaml', { env });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail('the topology should be refused');
}

test('invalid secret fields are reported by path with the value masked', () => {
  const error = refusal(`
pipelines:
  kafka:
    source: { type: memory, channel: a }
    sink:
      type: kafka
      brokers: 127.0.0.1:9092
      topic: out
      sasl: { mechanism: PLAN, username: pipeline, password: 73104825 }
      ssl: { keyPassword: 61730042 }
      rdkafka: { sasl.password: rd-pw-7a1c }
  cassandra:
    source: { type: memory, channel: b }
    sink: { type: cassandra, contactPoints: 127.0.0.1:9042, username: pipeline, password: 55120093, keyspace: ks, table: t, columns: { id: uuid }, primaryKey: id }
  http:
    source: { type: http-poll, url: "https://randomuser.me/api/", authorization: 88213377 }
    sink: { type: memory, channel: c }
`);
  assert.deepEqual(error.problems, [
    'pipelines.kafka.sink.sasl.mechanism: expected one of "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", got "PLAN"',
    'pipelines.kafka.sink.sasl.password: expected a non-empty string, got "***"',
    'pipelines.kafka.sink.ssl.keyPassword: expected a non-empty string, got "***"',
    'pipelines.kafka.sink.rdkafka.sasl.password: "sasl.password" is set by this component: use `sasl.password` (it is masked in logs)',
    'pipelines.cassandra.sink.password: expected string, got "***"',
    'pipelines.http.source.authorization: expected a non-empty string, got "***"',
  ]);
  for (const secret of ['73104825', '61730042', 'rd-pw-7a1c', '55120093', '88213377']) assert.ok(!error.message.includes(secret), `${secret} in:\n${error.message}`);
});

test('an invalid url with credentials in it is reported without the password', () => {
  const error = refusal(
    `
pipelines:
  a:
    source: { type: http-poll, url: "htp://reader:\${API_PASSWORD}@randomuser.me/api/" }
    sink: { type: memory, channel: a }
  b:
    source: { type: http-poll, url: "https://reader:url-pw-5e2b@randomuser.me:99999/api/" }
    sink: { type: memory, channel: b }
`,
    { API_PASSWORD: 'url-pw-90dd' },
  );
  assert.deepEqual(error.problems, [
    'pipelines.a.source.url: expected an http(s) URL, got "htp://reader:***@randomuser.me/api/"',
    'pipelines.b.source.url: expected an http(s) URL, got "https://reader:***@randomuser.me:99999/api/"',
  ]);
  assert.doesNotMatch(error.message, /url-pw-/);
});

test('a credential whose sibling is missing is named, never quoted', () => {
  const error = refusal(
    `
pipelines:
  p:
    source: { type: memory, channel: a }
    sink: { type: cassandra, contactPoints: 127.0.0.1:9042, username: "\${CASSANDRA_USERNAME:-}", password: "\${CASSANDRA_PASSWORD:-}", keyspace: ks, table: t, columns: { id: uuid }, primaryKey: id }
`,
    { CASSANDRA_PASSWORD: 'cql-pw-41d7' },
  );
  assert.deepEqual(error.problems, ['pipelines.p.sink.password: password is set but username is not; give both, or neither']);
  assert.doesNotMatch(error.message, /cql-pw-41d7/);
});
