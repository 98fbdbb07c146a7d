/**
 * The Confluent wire format and the Avro reader and writer, against a small in-process HTTP server that
 * answers the registry calls they make (the real registry: test/integration/avro.test.ts).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import avro from 'avsc';
import type { Message } from 'node-rdkafka';
import { AvroReader, AvroWriter, incompatibleFields, parseWire, wireHeader } from '../../../clients/avro.ts';
import { LOCAL_SCHEMA_REGISTRY_URL, SchemaRegistryClient } from '../../../clients/schema-registry.ts';
import { DEFAULT_SCHEMA_REGISTRY_URL } from '../../../services/settings.ts';
import { messageToRecord } from '../../../sources/kafka/records.ts';
import { maskSecrets } from '../../../topology/secrets.ts';

const v1 = { type: 'record', name: 'User', fields: [{ name: 'id', type: 'string' }, { name: 'age', type: 'long' }] };

/** Schemas by id; `POST .../versions` answers 409 for a schema with a field named `refused`; every request is recorded. */
function registryServer(): { server: Server; url: () => string; requests: Array<{ method: string; url: string; authorization?: string }>; schemas: Map<number, string> } {
  const schemas = new Map<number, string>([[7, JSON.stringify(v1)]]);
  const requests: Array<{ method: string; url: string; authorization?: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization });
      const reply = (status: number, json: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      const byId = /\/schemas\/ids\/(\d+)$/.exec(req.url!);
      if (byId) return schemas.has(Number(byId[1])) ? reply(200, { schema: schemas.get(Number(byId[1])) }) : reply(404, { error_code: 40403, message: 'Schema not found' });
      if (req.method === 'POST' && req.url!.endsWith('/versions')) {
        const schema = (JSON.parse(body) as { schema: string }).schema;
        if (schema.includes('"refused"')) return reply(409, { error_code: 409, message: 'Incompatible artifact: refused at /fields/2' });
        return reply(200, { id: 7 });
      }
      if (req.url!.endsWith('/versions/latest')) return reply(200, { id: 7, version: 3, schema: JSON.stringify(v1) });
      if (req.url!.includes('/config')) return reply(200, { compatibilityLevel: 'BACKWARD' });
      reply(404, { message: 'no such path' });
    });
  });
  return { server, url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/apis/ccompat/v7`, requests, schemas };
}

const message = (value: Buffer | null): Message => ({ value, size: value?.length ?? 0, topic: 't', partition: 0, offset: 1, key: null, timestamp: 1000 }) as unknown as Message;

describe('Avro in the Confluent wire format', () => {
  const registry = registryServer();
  before(() => new Promise<void>((resolve) => registry.server.listen(0, '127.0.0.1', resolve)));
  after(() => new Promise<void>((resolve) => registry.server.close(() => resolve())));

  test('the components\' default registry is the local one the services start', () => {
    assert.equal(LOCAL_SCHEMA_REGISTRY_URL, DEFAULT_SCHEMA_REGISTRY_URL);
  });

  test('the header is the magic byte 0 and the id as 4 bytes big-endian', () => {
    assert.deepEqual([...wireHeader(258)], [0, 0, 0, 1, 2]);
    assert.deepEqual(parseWire(Buffer.from([0, 0, 0, 1, 2, 9])), { id: 258, body: Buffer.from([9]) });
    assert.match((parseWire(Buffer.from('{"a":1}')) as { invalid: string }).invalid, /first byte is 0x7b, not the magic byte 0 \(it looks like JSON\)/);
    assert.match((parseWire(Buffer.from([0, 0, 1])) as { invalid: string }).invalid, /shorter than the 5-byte header/);
    assert.match((parseWire(Buffer.alloc(0)) as { invalid: string }).invalid, /empty message/);
  });

  test('the writer registers its schema once and writes what the reader decodes back into plain objects', async () => {
    const client = new SchemaRegistryClient({ url: registry.url(), timeout: 5000 });
    const writer = new AvroWriter(client, 'users-value', v1, true);
    assert.equal(await writer.resolve(), 7);
    const bytes = writer.encode({ id: 'a', age: 41 });
    assert.deepEqual([...bytes.subarray(0, 5)], [0, 0, 0, 0, 7]);
    const reader = new AvroReader(client);
    await reader.prepare(AvroReader.idsOf([bytes, bytes]));
    const decoded = reader.decode(bytes) as { value: unknown };
    assert.deepEqual(decoded.value, { id: 'a', age: 41 });
    assert.equal(Object.getPrototypeOf(decoded.value), Object.prototype, 'a plain object, as JSON.parse gives');
    assert.equal(registry.requests.filter((r) => r.url.endsWith('/schemas/ids/7')).length, 1, 'the schema of id 7 is fetched once');
    await reader.prepare([7]);
    assert.equal(registry.requests.filter((r) => r.url.endsWith('/schemas/ids/7')).length, 1, 'and then cached');
  });

  test('a value that does not fit the schema is refused naming the field', async () => {
    const writer = new AvroWriter(new SchemaRegistryClient({ url: registry.url(), timeout: 5000 }), 'users-value', v1, true);
    await writer.resolve();
    assert.throws(() => writer.encode({ id: 'a', age: 'old' }), /does not fit the Avro schema of subject users-value at age/);
  });

  test('a refused schema is one line naming the subject, the level and the field', async () => {
    const next = { ...v1, fields: [...v1.fields, { name: 'refused', type: 'string' }] };
    const writer = new AvroWriter(new SchemaRegistryClient({ url: registry.url(), timeout: 5000 }), 'users-value', next, true);
    await assert.rejects(writer.resolve(), (error: Error) => {
      assert.equal(error.message.split('\n').length, 1);
      assert.match(error.message, /refuses this schema for subject users-value \(compatibility BACKWARD, latest version 3\): field "refused" added without a default/);
      return true;
    });
  });

  test('incompatible fields by level: added without default (BACKWARD), removed without default (FORWARD), changed type (any)', () => {
    const added = { ...v1, fields: [...v1.fields, { name: 'nat', type: 'string' }] };
    const optional = { ...v1, fields: [...v1.fields, { name: 'nat', type: ['null', 'string'], default: null }] };
    const removed = { ...v1, fields: [v1.fields[0]] };
    const changed = { ...v1, fields: [v1.fields[0], { name: 'age', type: 'string' }] };
    assert.deepEqual(incompatibleFields(added, v1, 'BACKWARD'), ['field "nat" added without a default']);
    assert.deepEqual(incompatibleFields(optional, v1, 'FULL'), []);
    assert.deepEqual(incompatibleFields(removed, v1, 'BACKWARD'), []);
    assert.deepEqual(incompatibleFields(removed, v1, 'FORWARD'), ['required field "age" removed']);
    assert.deepEqual(incompatibleFields(changed, v1, 'BACKWARD'), ['field "age" changed type from "long" to "string"']);
  });

  test('the source dead-letters with the reason: wrong magic byte, unknown id, undecodable body; decodes the rest; null stays a tombstone', async () => {
    const reader = new AvroReader(new SchemaRegistryClient({ url: registry.url(), timeout: 5000 }));
    const good = Buffer.concat([wireHeader(7), avro.Type.forSchema(v1 as avro.Schema).toBuffer({ id: 'x', age: 3 })]);
    const unknown = Buffer.concat([wireHeader(99), good.subarray(5)]);
    const truncated = good.subarray(0, 7);
    await reader.prepare(AvroReader.idsOf([good, unknown, truncated]));
    const read = (value: Buffer | null) => messageToRecord(message(value), 'avro', 0, reader);
    assert.deepEqual(read(good).record.value, { id: 'x', age: 3 });
    assert.equal(read(good).invalid, undefined);
    assert.match(read(Buffer.from('{"id":"x"}')).invalid!, /not the magic byte 0/);
    assert.match(read(unknown).invalid!, /schema id 99 is unknown to the schema registry at http:\/\/127\.0\.0\.1:\d+\/apis\/ccompat\/v7/);
    assert.match(read(truncated).invalid!, /undecodable Avro body for schema id 7/);
    assert.deepEqual(read(unknown).record.raw, unknown, 'the original bytes go with the dead letter');
    assert.equal(read(null).record.value, null);
  });

  test('basic auth from the fields or the URL, the password masked in logs and absent from the URL shown', async () => {
    const withFields = new SchemaRegistryClient({ url: registry.url(), username: 'key', password: 's3cret-pass', timeout: 5000 });
    await withFields.schemaById(7);
    assert.equal(registry.requests.at(-1)!.authorization, `Basic ${Buffer.from('key:s3cret-pass').toString('base64')}`);
    const inUrl = new SchemaRegistryClient({ url: registry.url().replace('http://', 'http://user:url-secret@'), timeout: 5000 });
    await inUrl.schemaById(7);
    assert.equal(registry.requests.at(-1)!.authorization, `Basic ${Buffer.from('user:url-secret').toString('base64')}`);
    assert.doesNotMatch(inUrl.url, /url-secret/);
    assert.equal(maskSecrets('failed with s3cret-pass and url-secret'), 'failed with *** and ***');
  });

  test('an unreachable registry is an error (the read is retried), not a dead letter', async () => {
    const reader = new AvroReader(new SchemaRegistryClient({ url: 'http://127.0.0.1:9/apis/ccompat/v7', timeout: 2000 }));
    await assert.rejects(reader.prepare([1]), /no answer/);
  });
});
