/**
 * A schema registry client for the Confluent Schema Registry REST API — Confluent's own registry,
 * Apicurio's `/apis/ccompat/v7`, Karapace — with the few calls the Avro format needs: register (or
 * look up) a subject's schema, fetch a schema by id, and explain a refusal. Plain HTTP (Node's fetch);
 * basic auth (Confluent Cloud's API key and secret are basic auth too), the password masked in logs.
 *
 * ```yaml
 * schemaRegistry:
 *   url: ${SCHEMA_REGISTRY_URL:-http://127.0.0.1:8081/apis/ccompat/v7}
 *   username: ${SCHEMA_REGISTRY_USER:-}
 *   password: ${SCHEMA_REGISTRY_PASSWORD:-}
 * ```
 * See also: clients/avro.ts (the wire format), the `kafka` source and sink (`format: avro`), docs/avro.md.
 */
import { Duration, HttpUrl } from '../topology/codecs.ts';
import { UserFacingError } from '../topology/errors.ts';
import { registerSecret } from '../topology/secrets.ts';
import { objectCodec, optional, withDefault, type ConfigOf } from '../topology/spec.ts';
import * as t from 'io-ts';

/**
 * The local registry's API (`npm run services -- up`), the default of `schemaRegistry.url`. Written out
 * rather than imported, since components do not depend on services/; test/unit/kafka/avro.test.ts checks
 * it against services/settings.ts.
 */
export const LOCAL_SCHEMA_REGISTRY_URL = 'http://127.0.0.1:8081/apis/ccompat/v7';

export const schemaRegistryFields = {
  url: withDefault(
    HttpUrl,
    LOCAL_SCHEMA_REGISTRY_URL,
    'Base URL of the registry\'s Confluent-compatible API: `http://host:8081` for Confluent\'s registry, `http://host:8080/apis/ccompat/v7` for Apicurio (the local one, `npm run services -- up`, is the default). Credentials in the URL (`https://key:secret@host`) are used as basic auth.',
  ),
  username: optional(t.string, 'Basic-auth user name (Confluent Cloud: the API key); none when absent or empty.'),
  password: optional(t.string, 'Basic-auth password (Confluent Cloud: the API secret); write `${SCHEMA_REGISTRY_PASSWORD}` rather than the value. Masked in logs.', { secret: true }),
  timeout: withDefault(Duration, 10_000, 'How long one request to the registry may take.'),
};

export const SchemaRegistryConfig = objectCodec('schema registry settings', schemaRegistryFields);
export type SchemaRegistryConfig = ConfigOf<typeof schemaRegistryFields>;

/** `schemaRegistry`, shared by the kafka source and sink: used with `format: avro`; the local registry when absent. */
export const schemaRegistryField = optional(
  SchemaRegistryConfig,
  '`format: avro`: the schema registry (Confluent Schema Registry API) — `url`, `username`, `password` (masked in logs), `timeout`. The local registry (`npm run services -- up`) when absent.',
);

/** A component's `schemaRegistry`, or the local registry's settings when it has none. */
export function registryConfig(config: SchemaRegistryConfig | undefined): SchemaRegistryConfig {
  return config ?? { url: LOCAL_SCHEMA_REGISTRY_URL, timeout: 10_000 };
}

/** The registry as an endpoint that must answer before a topology runs (the local one is started if it is the default address). */
export function registryEndpoint(config: SchemaRegistryConfig | undefined): { service: string; address: string } {
  const url = new URL(registryConfig(config).url);
  return { service: 'registry', address: `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}` };
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** A registry answer other than success; `status` 0 when no answer came at all (unreachable, timeout). */
export class SchemaRegistryError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(message);
    this.name = 'SchemaRegistryError';
  }
}

export interface RegisteredSchema {
  id: number;
  version?: number;
  schema: string;
}

export class SchemaRegistryClient {
  /** The URL without a trailing slash and without credentials: what messages show. */
  readonly url: string;
  private readonly base: string;
  private readonly authorization: string | undefined;

  constructor(private readonly config: SchemaRegistryConfig) {
    const parsed = new URL(config.url);
    let username = config.username || undefined;
    let password = config.password || undefined;
    if (parsed.username || parsed.password) {
      username ??= decodeURIComponent(parsed.username);
      password ??= decodeURIComponent(parsed.password);
      parsed.username = '';
      parsed.password = '';
    }
    if (password) registerSecret(password);
    this.base = parsed.toString().replace(/\/+$/, '');
    this.url = this.base;
    this.authorization = username !== undefined || password !== undefined ? `Basic ${Buffer.from(`${username ?? ''}:${password ?? ''}`).toString('base64')}` : undefined;
  }

  /** `GET /schemas/ids/{id}`: the schema of an id; undefined when the registry does not know it (404). */
  async schemaById(id: number): Promise<string | undefined> {
    const { status, json } = await this.call('GET', `/schemas/ids/${id}`, undefined, [404]);
    if (status === 404) return undefined;
    return (json as { schema: string }).schema;
  }

  /** `POST /subjects/{subject}/versions`: registers `schema` (the same schema again gets the same id); a 409 is thrown as a SchemaRegistryError. */
  async register(subject: string, schema: string): Promise<number> {
    const { json } = await this.call('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema, schemaType: 'AVRO' });
    return (json as { id: number }).id;
  }

  /** `POST /subjects/{subject}`: the id and version of `schema` if it is registered under `subject`, else undefined. */
  async lookup(subject: string, schema: string): Promise<RegisteredSchema | undefined> {
    const { status, json } = await this.call('POST', `/subjects/${encodeURIComponent(subject)}`, { schema, schemaType: 'AVRO' }, [404]);
    if (status === 404) return undefined;
    return json as RegisteredSchema;
  }

  /** `GET /subjects/{subject}/versions/latest`, or undefined when the subject has no version. */
  async latest(subject: string): Promise<RegisteredSchema | undefined> {
    const { status, json } = await this.call('GET', `/subjects/${encodeURIComponent(subject)}/versions/latest`, undefined, [404]);
    if (status === 404) return undefined;
    return json as RegisteredSchema;
  }

  /**
   * The compatibility level that applies to `subject`: its own, else the registry's. Apicurio answers
   * NONE (not 404) for a subject without a setting of its own, so NONE also falls back.
   */
  async compatibility(subject: string): Promise<string> {
    const own = await this.call('GET', `/config/${encodeURIComponent(subject)}`, undefined, [404]);
    const level = (json: unknown): string | undefined => (json as { compatibilityLevel?: string; compatibility?: string } | undefined)?.compatibilityLevel ?? (json as { compatibility?: string } | undefined)?.compatibility;
    const subjectLevel = own.status === 404 ? undefined : level(own.json);
    if (subjectLevel && subjectLevel !== 'NONE') return subjectLevel;
    return level((await this.call('GET', '/config')).json) ?? 'BACKWARD';
  }

  private async call(method: string, path: string, body?: unknown, expected: number[] = []): Promise<{ status: number; json: unknown }> {
    const target = `${this.url}${path}`;
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers: { accept: CONTENT_TYPE, ...(body === undefined ? {} : { 'content-type': CONTENT_TYPE }), ...(this.authorization ? { authorization: this.authorization } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.config.timeout),
      });
    } catch (error) {
      const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
      throw new SchemaRegistryError(`schema registry ${method} ${target}: no answer (${cause})`, 0, '');
    }
    const text = await response.text();
    if (!response.ok && !expected.includes(response.status)) {
      const hint = response.status === 401 || response.status === 403 ? ' (check the registry username and password)' : '';
      throw new SchemaRegistryError(`schema registry ${method} ${target} answered ${response.status}${hint}: ${registryMessage(text)}`, response.status, text);
    }
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new SchemaRegistryError(`schema registry ${method} ${target} answered ${response.status} with something other than JSON: ${text.slice(0, 200)}`, response.status, text);
    }
    return { status: response.status, json };
  }
}

/** The `message` of a registry's JSON error body, or the body itself (shortened). */
export function registryMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: the text as it is
  }
  return body.slice(0, 300);
}

/** Whether a registry failure may pass by itself (unreachable, overloaded) rather than needing a change. */
export function isRetryableRegistryError(error: unknown): boolean {
  return error instanceof SchemaRegistryError && (error.status === 0 || error.status >= 500 || error.status === 429);
}

/** A UserFacingError for a registry that cannot be used at start, naming the URL. */
export function registryStartError(description: string, error: unknown): UserFacingError {
  const message = error instanceof Error ? error.message : String(error);
  return new UserFacingError(`${description}: ${message}`, 'check `schemaRegistry.url` (SCHEMA_REGISTRY_URL) and its credentials; `npm run services -- up registry` starts the local one');
}
