/**
 * The schema registry through its Confluent-compatible API: the local one `npm test` starts
 * (scripts/test.mjs, services/registry.ts), or an existing one named by SCHEMA_REGISTRY_URL. Every
 * run uses subjects of its own and deletes them afterwards.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { DEFAULT_SCHEMA_REGISTRY_URL } from '../../services/settings.ts';

const url = process.env.SCHEMA_REGISTRY_URL || DEFAULT_SCHEMA_REGISTRY_URL;
const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${url}${path}`, { method, headers: { 'content-type': CONTENT_TYPE }, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
  const text = await response.text();
  return { status: response.status, json: text === '' ? undefined : JSON.parse(text) };
}

const user = (fields: object[]): { schema: string } => ({ schema: JSON.stringify({ type: 'record', name: 'User', namespace: 'test', fields }) });
const v1 = user([{ name: 'id', type: 'string' }, { name: 'first', type: 'string' }]);

describe(`schema registry at ${url}`, () => {
  const subject = `registry-test-${runId}-value`;
  after(async () => {
    await call('DELETE', `/subjects/${subject}`);
    await call('DELETE', `/subjects/${subject}?permanent=true`);
  });

  // `up` sets it on the local registry; an existing one is expected to be set alike (docs/services.md).
  test('the registry-wide compatibility level is BACKWARD', async () => {
    const { status, json } = await call('GET', '/config');
    assert.equal(status, 200);
    assert.equal(json.compatibilityLevel, 'BACKWARD');
  });

  test('registers a schema once: the same schema gets the same id, and the id fetches it back', async () => {
    const first = await call('POST', `/subjects/${subject}/versions`, v1);
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.ok(Number.isInteger(first.json.id) && first.json.id >= 0, `an id: ${JSON.stringify(first.json)}`);
    const again = await call('POST', `/subjects/${subject}/versions`, v1);
    assert.equal(again.json.id, first.json.id);
    const fetched = await call('GET', `/schemas/ids/${first.json.id}`);
    assert.equal(fetched.status, 200);
    assert.deepEqual(JSON.parse(fetched.json.schema), JSON.parse(v1.schema));
  });

  test('under BACKWARD, accepts an added field with a default and answers 409 to an added field without one, naming it', async () => {
    const level = await call('PUT', `/config/${subject}`, { compatibility: 'BACKWARD' });
    assert.equal(level.status, 200, JSON.stringify(level.json));
    const withDefault = await call('POST', `/subjects/${subject}/versions`, user([{ name: 'id', type: 'string' }, { name: 'first', type: 'string' }, { name: 'nat', type: ['null', 'string'], default: null }]));
    assert.equal(withDefault.status, 200, JSON.stringify(withDefault.json));
    const required = await call('POST', `/subjects/${subject}/versions`, user([{ name: 'id', type: 'string' }, { name: 'first', type: 'string' }, { name: 'email', type: 'string' }]));
    assert.equal(required.status, 409, JSON.stringify(required.json));
    assert.match(required.json.message, /email/);
    const versions = await call('GET', `/subjects/${subject}/versions`);
    assert.deepEqual(versions.json, [1, 2], 'the refused schema was not registered');
  });
});
