/**
 * The registry client, used by the installer and the `fuseml` CLI. The only
 * importer of got (loaded lazily, on the first request). Timeouts; retries
 * with exponential backoff on 5xx and connection errors only (a POST only when
 * it surely was not processed: connection refused or 503); typed errors that
 * carry the HTTP status and the server's message, never the token.
 *
 * It also talks to fuseml-core itself: error bodies in goa's shape
 * (`{name, id, message, …}`) are read as well as ours, and the extension list
 * query goes as a JSON body of the GET when the server wants it that way
 * (fuseml-core reads it only from there; see `serverKind`).
 */
import { FusemlError, type ErrorCode } from '../core/errors.js';
import { DEFAULT_REGISTRY_URL } from './defaults.js';
import type { CredentialsRecord, EndpointRecord, ExtensionRecord, ServiceRecord } from '../core/records.js';

export interface RegistryQuery {
  extension_id?: string | undefined;
  product?: string | undefined;
  version?: string | undefined;
  zone?: string | undefined;
  service_id?: string | undefined;
  service_resource?: string | undefined;
  service_category?: string | undefined;
}

export interface RegistryClientOptions {
  /** Base URL, e.g. http://127.0.0.1:8000 */
  url: string;
  token?: string | undefined;
  /** Per attempt; default 10 s. */
  timeoutMs?: number | undefined;
  /** Retries after the first attempt; default 3. */
  retries?: number | undefined;
  /** First backoff delay; doubled each retry (with jitter). Default 200 ms. */
  backoffMs?: number | undefined;
  /**
   * `fuseml-registry` sends the list query as query parameters; `fuseml-core` as a JSON body of the GET
   * (the only place fuseml-core reads it from). `auto` (default): query parameters first; a goa 400
   * (`missing_payload`, `decode_payload`) switches this client to the GET body, once.
   */
  serverKind?: ServerKind | undefined;
  /** How the calling CLI names its URL and token settings, for hints (default: the names every CLI accepts). */
  flagNames?: { url: string; token: string } | undefined;
}

export const SERVER_KINDS = ['auto', 'fuseml-core', 'fuseml-registry'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

export const DEFAULT_FLAG_NAMES = { url: '--registry-url / FUSEML_SERVER_URL', token: '--registry-token / FUSEML_TOKEN' } as const;

export interface RequestOptions {
  body?: unknown;
  /** Send `body` with a GET (fuseml-core's list query). */
  getBody?: boolean | undefined;
  query?: Record<string, string | boolean | undefined> | undefined;
  ifMatch?: number | undefined;
}

export interface Response<T> {
  status: number;
  body: T;
  /** From the ETag header. */
  revision?: number | undefined;
}

export interface ReadOpts {
  /** Ask for credential values in clear (the token must be allowed to see them). */
  reveal?: boolean | undefined;
}
export interface WriteOpts {
  /** Expected revision (If-Match): 412 → RegistryError code CONFLICT, status 412. */
  ifMatch?: number | undefined;
}

/** A failed registry call: `status` is the HTTP status (undefined for connection errors). */
export class RegistryError extends FusemlError {
  readonly status: number | undefined;
  readonly serverCode: string | undefined;
  constructor(code: ErrorCode, message: string, status: number | undefined, serverCode?: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'RegistryError';
    this.status = status;
    this.serverCode = serverCode;
  }
}

function codeFor(status: number): ErrorCode {
  if (status === 404) return 'NOT_FOUND';
  if (status === 409 || status === 412) return 'CONFLICT';
  if (status === 401 || status === 403) return 'FORBIDDEN';
  if (status === 400 || status === 413 || status === 415) return 'VALIDATION';
  return 'REGISTRY';
}

const RETRY_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ENETUNREACH', 'EHOSTUNREACH', 'ERR_GOT_REQUEST_ERROR']);
const RETRY_STATUS = new Set([500, 502, 503, 504]);

const seg = (s: string): string => encodeURIComponent(s);

/**
 * The message and code of an error body: ours (`{"error":{"code","message"}}`), goa's
 * (`{"name","id","message",…}`, what fuseml-core sends: the code is goa's `name`), or short text.
 */
export function errorOf(body: unknown, status: number): { message: string; serverCode: string | undefined } {
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const b = body as { error?: { code?: unknown; message?: unknown }; name?: unknown; message?: unknown };
    if (b.error && typeof b.error.message === 'string') {
      return { message: b.error.message, serverCode: typeof b.error.code === 'string' ? b.error.code : undefined };
    }
    if (typeof b.message === 'string' && b.message !== '') {
      return { message: b.message, serverCode: typeof b.name === 'string' ? b.name : undefined };
    }
  }
  if (typeof body === 'string' && body.trim() !== '' && body.length < 300) return { message: body.trim(), serverCode: undefined };
  return { message: `HTTP ${status}`, serverCode: undefined };
}

/** goa's names for a request it could not decode: the server wants the payload in the body. */
const GOA_PAYLOAD_ERRORS = new Set(['missing_payload', 'decode_payload']);

type Got = typeof import('got').default;
let gotPromise: Promise<Got> | undefined;

export class RegistryClient {
  readonly url: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #backoffMs: number;
  #serverKind: ServerKind;
  readonly #flags: { url: string; token: string };

  constructor(options: RegistryClientOptions) {
    let u: URL;
    try {
      u = new URL(options.url);
    } catch {
      throw new FusemlError('USAGE', `not a registry URL: ${options.url}`, { hint: `e.g. ${(options.flagNames ?? DEFAULT_FLAG_NAMES).url.split(' ')[0]} ${DEFAULT_REGISTRY_URL}` });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new FusemlError('USAGE', `registry URL must be http(s): ${options.url}`, { hint: `e.g. ${(options.flagNames ?? DEFAULT_FLAG_NAMES).url.split(' ')[0]} ${DEFAULT_REGISTRY_URL}` });
    this.url = u.toString().replace(/\/+$/, '');
    this.#token = options.token || undefined;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retries = options.retries ?? 3;
    this.#backoffMs = options.backoffMs ?? 200;
    this.#serverKind = options.serverKind ?? 'auto';
    this.#flags = options.flagNames ?? DEFAULT_FLAG_NAMES;
  }

  /** The server kind in use: `auto` until a list call has detected fuseml-core. */
  get serverKind(): ServerKind {
    return this.#serverKind;
  }

  /**
   * Checks, changing nothing, that the registry answers and the token may write: a DELETE of an id
   * that cannot exist passes authentication and the role check first, then is a 404.
   * 401 / 403 → RegistryError FORBIDDEN; unreachable → REGISTRY.
   */
  async checkWriteAccess(): Promise<void> {
    const probe = `fuseml-access-check-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    try {
      await this.request('DELETE', `/extensions/${seg(probe)}`);
    } catch (e) {
      if (e instanceof RegistryError && e.status === 404) return;
      throw e;
    }
  }

  /** Any route, e.g. one added by another module: `client.request('POST', '/workflows/resolve', { body })`. */
  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, options: RequestOptions = {}): Promise<Response<T>> {
    gotPromise ??= import('got').then((m) => m.default);
    const got = await gotPromise;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (options.ifMatch !== undefined) headers['if-match'] = `"${options.ifMatch}"`;
    const searchParams: Record<string, string> = {};
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined && v !== false) searchParams[k] = String(v);
    const what = `${method} ${path}`;

    for (let attempt = 0; ; attempt++) {
      let status: number | undefined;
      let text = '';
      let etag: string | undefined;
      let connError: (Error & { code?: string }) | undefined;
      try {
        const res = await got(this.url + path, {
          method,
          headers,
          searchParams,
          ...(options.body === undefined ? {} : { json: options.body }),
          ...(options.getBody ? { allowGetBody: true } : {}),
          throwHttpErrors: false,
          retry: { limit: 0 },
          timeout: { request: this.#timeoutMs },
          followRedirect: false,
        });
        status = res.statusCode;
        text = res.body;
        etag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
      } catch (err) {
        connError = err as Error & { code?: string };
      }

      const retryable = connError
        ? RETRY_ERRORS.has(connError.code ?? '') && (method !== 'POST' || connError.code === 'ECONNREFUSED')
        : status !== undefined && ((RETRY_STATUS.has(status) && (method !== 'POST' || status === 503)) || status === 429); // 429: not processed
      if (retryable && attempt < this.#retries) {
        const delay = this.#backoffMs * 2 ** attempt * (0.75 + Math.random() * 0.5);
        await new Promise((r) => setTimeout(r, delay));
        continue;
      }

      if (connError) {
        const timedOut = connError.name === 'TimeoutError' || connError.code === 'ETIMEDOUT';
        throw new RegistryError(
          timedOut ? 'TIMEOUT' : 'REGISTRY',
          `registry ${this.url}: ${what}: ${timedOut ? `no answer within ${this.#timeoutMs} ms` : `cannot connect (${connError.code ?? connError.message})`}`,
          undefined,
          undefined,
          { hint: `check ${this.#flags.url} and that fuseml-registry is running`, cause: connError },
        );
      }
      const st = status as number;
      let body: unknown = undefined;
      if (text !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      if (st >= 200 && st < 300) {
        const rev = etag ? Number(/(\d+)/.exec(etag)?.[1]) : undefined;
        return { status: st, body: body as T, revision: Number.isFinite(rev) ? rev : undefined };
      }
      const { message, serverCode } = errorOf(body, st);
      const hint =
        st === 401 ? `give a valid token with ${this.#flags.token}` : st === 403 ? `this token may not do that: use a token with the writer or admin role (${this.#flags.token})` : st === 412 ? 'the record changed since you read it: read it again and retry' : undefined;
      throw new RegistryError(codeFor(st), `registry: ${what}: ${st} ${message}`, st, serverCode, hint ? { hint } : {});
    }
  }

  async #body<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, options: RequestOptions = {}): Promise<T> {
    return (await this.request<T>(method, path, options)).body;
  }

  health(): Promise<{ status: string }> {
    return this.#body('GET', '/healthz');
  }

  // extensions
  async listExtensions(query: RegistryQuery = {}, o: ReadOpts = {}): Promise<ExtensionRecord[]> {
    if (this.#serverKind === 'fuseml-core') return this.#listWithBody(query, o);
    try {
      return await this.#body<ExtensionRecord[]>('GET', '/extensions', { query: { ...query, reveal: o.reveal } });
    } catch (err) {
      // fuseml-core reads the query only from a GET body and answers goa's 400 without one: switch, once.
      if (this.#serverKind === 'auto' && err instanceof RegistryError && err.status === 400 && GOA_PAYLOAD_ERRORS.has(err.serverCode ?? '')) {
        this.#serverKind = 'fuseml-core';
        return this.#listWithBody(query, o);
      }
      throw err;
    }
  }

  /**
   * fuseml-core's list: every query field in a JSON body of the GET (empty strings for no filter, as its Go
   * client sends). `reveal` stays a query parameter: fuseml-core ignores it, fuseml-registry honours it.
   */
  #listWithBody(query: RegistryQuery, o: ReadOpts): Promise<ExtensionRecord[]> {
    const body: Record<string, string> = {};
    for (const k of ['extension_id', 'product', 'version', 'zone', 'service_id', 'service_resource', 'service_category'] as const) body[k] = query[k] ?? '';
    return this.#body('GET', '/extensions', { body, getBody: true, query: { reveal: o.reveal } });
  }
  /** Same as listExtensions: fuseml-core's query by extension/product/version (range)/zone/service fields. */
  query(query: RegistryQuery, o: ReadOpts = {}): Promise<ExtensionRecord[]> {
    return this.listExtensions(query, o);
  }
  getExtension(id: string, o: ReadOpts = {}): Promise<ExtensionRecord> {
    return this.#body('GET', `/extensions/${seg(id)}`, { query: { reveal: o.reveal } });
  }
  registerExtension(record: ExtensionRecord | Omit<ExtensionRecord, 'id'>): Promise<ExtensionRecord> {
    return this.#body('POST', '/extensions', { body: record });
  }
  updateExtension(id: string, patch: Partial<ExtensionRecord>, o: WriteOpts = {}): Promise<ExtensionRecord> {
    return this.#body('PUT', `/extensions/${seg(id)}`, { body: patch, ifMatch: o.ifMatch });
  }
  /** Creates or replaces the whole record in one transaction (idempotent). */
  async upsertExtension(record: ExtensionRecord, o: WriteOpts = {}): Promise<{ record: ExtensionRecord; created: boolean }> {
    const r = await this.request<ExtensionRecord>('PUT', `/extensions/${seg(record.id)}/record`, { body: record, ifMatch: o.ifMatch });
    return { record: r.body, created: r.status === 201 };
  }
  async deleteExtension(id: string, o: WriteOpts = {}): Promise<void> {
    await this.request('DELETE', `/extensions/${seg(id)}`, { ifMatch: o.ifMatch });
  }

  // services
  listServices(ext: string, o: ReadOpts = {}): Promise<ServiceRecord[]> {
    return this.#body('GET', `/extensions/${seg(ext)}/services`, { query: { reveal: o.reveal } });
  }
  getService(ext: string, id: string, o: ReadOpts = {}): Promise<ServiceRecord> {
    return this.#body('GET', `/extensions/${seg(ext)}/services/${seg(id)}`, { query: { reveal: o.reveal } });
  }
  addService(ext: string, service: ServiceRecord | Omit<ServiceRecord, 'id'>): Promise<ServiceRecord> {
    return this.#body('POST', `/extensions/${seg(ext)}/services`, { body: service });
  }
  updateService(ext: string, id: string, patch: Partial<ServiceRecord>, o: WriteOpts = {}): Promise<ServiceRecord> {
    return this.#body('PUT', `/extensions/${seg(ext)}/services/${seg(id)}`, { body: patch, ifMatch: o.ifMatch });
  }
  async deleteService(ext: string, id: string, o: WriteOpts = {}): Promise<void> {
    await this.request('DELETE', `/extensions/${seg(ext)}/services/${seg(id)}`, { ifMatch: o.ifMatch });
  }

  // endpoints (keyed by URL, URL-encoded in the path)
  listEndpoints(ext: string, svc: string): Promise<EndpointRecord[]> {
    return this.#body('GET', `/extensions/${seg(ext)}/services/${seg(svc)}/endpoints`);
  }
  getEndpoint(ext: string, svc: string, url: string): Promise<EndpointRecord> {
    return this.#body('GET', `/extensions/${seg(ext)}/services/${seg(svc)}/endpoints/${seg(url)}`);
  }
  addEndpoint(ext: string, svc: string, endpoint: EndpointRecord): Promise<EndpointRecord> {
    return this.#body('POST', `/extensions/${seg(ext)}/services/${seg(svc)}/endpoints`, { body: endpoint });
  }
  updateEndpoint(ext: string, svc: string, url: string, patch: Partial<EndpointRecord>, o: WriteOpts = {}): Promise<EndpointRecord> {
    return this.#body('PUT', `/extensions/${seg(ext)}/services/${seg(svc)}/endpoints/${seg(url)}`, { body: patch, ifMatch: o.ifMatch });
  }
  async deleteEndpoint(ext: string, svc: string, url: string, o: WriteOpts = {}): Promise<void> {
    await this.request('DELETE', `/extensions/${seg(ext)}/services/${seg(svc)}/endpoints/${seg(url)}`, { ifMatch: o.ifMatch });
  }

  // credentials (values read back as <hidden> unless revealed)
  listCredentials(ext: string, svc: string, o: ReadOpts = {}): Promise<CredentialsRecord[]> {
    return this.#body('GET', `/extensions/${seg(ext)}/services/${seg(svc)}/credentials`, { query: { reveal: o.reveal } });
  }
  getCredentials(ext: string, svc: string, id: string, o: ReadOpts = {}): Promise<CredentialsRecord> {
    return this.#body('GET', `/extensions/${seg(ext)}/services/${seg(svc)}/credentials/${seg(id)}`, { query: { reveal: o.reveal } });
  }
  addCredentials(ext: string, svc: string, credentials: CredentialsRecord | Omit<CredentialsRecord, 'id'>): Promise<CredentialsRecord> {
    return this.#body('POST', `/extensions/${seg(ext)}/services/${seg(svc)}/credentials`, { body: credentials });
  }
  updateCredentials(ext: string, svc: string, id: string, patch: Partial<CredentialsRecord>, o: WriteOpts = {}): Promise<CredentialsRecord> {
    return this.#body('PUT', `/extensions/${seg(ext)}/services/${seg(svc)}/credentials/${seg(id)}`, { body: patch, ifMatch: o.ifMatch });
  }
  async deleteCredentials(ext: string, svc: string, id: string, o: WriteOpts = {}): Promise<void> {
    await this.request('DELETE', `/extensions/${seg(ext)}/services/${seg(svc)}/credentials/${seg(id)}`, { ifMatch: o.ifMatch });
  }
}
