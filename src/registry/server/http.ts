/**
 * HTTP plumbing shared by route modules: body parsing (YAML or JSON by
 * Content-Type, YAML when none), response rendering (JSON or YAML by Accept),
 * error rendering (`{"error":{"code","message"}}`, unknown errors → 500 without
 * details), auth helpers.
 */
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { stringify as stringifyYaml } from 'yaml';
import { FusemlError, type ErrorCode } from '../../core/errors.js';
import { suggest } from '../../core/suggest.js';
import type { Principal } from '../auth.js';
import { canWrite, revealScope } from '../auth.js';
import { BadRequestError, PreconditionFailedError } from '../errors.js';
import type { Reveal } from '../registry.js';
import { parseIfMatch } from '../registry.js';
import { BodyError, parseBodyText, type BodyKind, type ParseLimits } from './body.js';
import { DEFAULT_LIMITS } from './limits.js';
import type { ParsePool } from './parse-pool.js';
import type { ServerLimits } from './limits.js';
import { errorBody, type ErrorBody } from './wire.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyInstance {
    registryLimits: ServerLimits;
    parsePool: ParsePool;
  }
}

/** The request media types the registry parses; everything else is refused with 415. No Content-Type: YAML. */
export const JSON_TYPES = ['application/json'];
export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];
export const BODY_TYPES = [...JSON_TYPES, ...YAML_TYPES];

function unsupported(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 415 });
}

/**
 * Which parser a Content-Type asks for: JSON, YAML (also when there is no Content-Type), or a 415 for any
 * other type and for a charset other than UTF-8.
 */
export function bodyKind(contentType: string | undefined): BodyKind {
  const [rawType, ...params] = (contentType ?? '').split(';');
  const type = (rawType ?? '').trim().toLowerCase();
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    const name = p.slice(0, eq).trim().toLowerCase();
    const value = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase();
    if (name === 'charset' && value !== 'utf-8' && value !== 'utf8') {
      throw unsupported(`unsupported charset ${JSON.stringify(value.slice(0, 40))}: send UTF-8`);
    }
  }
  if (JSON_TYPES.includes(type)) return 'json';
  if (type === '' || YAML_TYPES.includes(type)) return 'yaml';
  throw unsupported(`unsupported Content-Type ${JSON.stringify(type.slice(0, 80))}: send ${BODY_TYPES.join(', ')}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body's text; bytes that are not UTF-8 are a 400 (never silently replaced). */
export function decodeBody(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new FusemlError('VALIDATION', 'the body is not valid UTF-8');
  }
}

/** Parses a request body in place (no worker): JSON or YAML by Content-Type, with the given limits. */
export function parseBody(contentType: string | undefined, text: string, limits: ParseLimits = DEFAULT_LIMITS): unknown {
  return parseBodyText(bodyKind(contentType), text, limits);
}

/**
 * Fastify does not parse bodies of GET requests; fuseml-core's query sends one. Reads and parses it
 * (same rules as other bodies, same limits). Undefined when there is none.
 */
export async function readGetBody(req: FastifyRequest): Promise<unknown> {
  const len = req.headers['content-length'];
  if ((len === undefined || len === '0') && req.headers['transfer-encoding'] === undefined) return undefined;
  const kind = bodyKind(req.headers['content-type']);
  const limit = req.server.registryLimits.bodyLimit;
  const tooLarge = (): Error => Object.assign(new Error(`request body is too large (limit ${limit} bytes)`), { statusCode: 413 });
  if (len !== undefined && Number(len) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.raw) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return req.server.parsePool.parse(kind, decodeBody(Buffer.concat(chunks)));
}

export function wantsYaml(req: FastifyRequest): boolean {
  const accept = (req.headers.accept ?? '').toLowerCase();
  return /yaml/.test(accept) && !/application\/json/.test(accept);
}

/** A content coding the registry sends (identity: none). */
export type Encoding = 'br' | 'gzip' | 'identity';

/** Bodies smaller than this go uncompressed whatever the client accepts (nothing to gain). */
export const COMPRESS_MIN_BYTES = 1024;

/**
 * The content coding for a response, from Accept-Encoding (RFC 9110 §12.5.3): br, else gzip, when the client
 * accepts it with a non-zero q (`*` counts for both); identity otherwise (no header, or neither accepted).
 */
export function negotiateEncoding(header: string | string[] | undefined): Encoding {
  const h = Array.isArray(header) ? header.join(',') : header;
  if (!h) return 'identity';
  const q = new Map<string, number>();
  for (const part of h.toLowerCase().split(',')) {
    const [name, ...params] = part.split(';').map((x) => x.trim());
    if (!name) continue;
    let weight = 1;
    for (const p of params) {
      const m = /^q=([0-9.]+)$/.exec(p);
      if (m) weight = Number(m[1]);
    }
    q.set(name, Number.isFinite(weight) ? weight : 0);
  }
  const accepts = (coding: string): boolean => (q.get(coding) ?? q.get('*') ?? 0) > 0;
  if (accepts('br')) return 'br';
  if (accepts('gzip')) return 'gzip';
  return 'identity';
}

/** `body` in content coding `encoding` (brotli at quality 5: near gzip's speed, smaller output). */
export function encodeBody(body: string | Buffer, encoding: Encoding): string | Buffer {
  if (encoding === 'br') return brotliCompressSync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 5 } });
  if (encoding === 'gzip') return gzipSync(body);
  return body;
}

/**
 * The content coding for this response body: identity for small bodies, else what the client accepts.
 * Sets `Vary: Accept-Encoding` (responses with a body may differ by it).
 */
export function encodingFor(req: FastifyRequest, reply: FastifyReply, byteLength: number): Encoding {
  reply.header('vary', 'Accept-Encoding');
  if (byteLength < COMPRESS_MIN_BYTES) return 'identity';
  return negotiateEncoding(req.headers['accept-encoding']);
}

/**
 * Sends a body already serialized (`json` or `yaml`), compressed when the client accepts it. Compressed bodies
 * get a Content-Encoding header, which tells the app's onSend hook to leave them as they are.
 */
export function sendSerialized(reply: FastifyReply, format: 'json' | 'yaml', body: string | Buffer, encoding: Encoding): FastifyReply {
  reply.type(format === 'yaml' ? 'application/yaml; charset=utf-8' : 'application/json; charset=utf-8');
  if (encoding !== 'identity') reply.header('content-encoding', encoding);
  return reply.send(body);
}

/** A record's entity tag: its revision, quoted (strong; what ifMatch below reads back). */
export function etagOf(revision: number): string {
  return `"${revision}"`;
}

/** Status and, for a record, its ETag. */
function head(reply: FastifyReply, status: number, revision: number | undefined): void {
  reply.code(status);
  if (revision !== undefined) reply.header('etag', etagOf(revision));
}

export async function send(req: FastifyRequest, reply: FastifyReply, status: number, data?: unknown, revision?: number): Promise<FastifyReply> {
  head(reply, status, revision);
  if (status === 204 || data === undefined) return reply.send();
  if (wantsYaml(req)) return reply.type('application/yaml; charset=utf-8').send(stringifyYaml(data));
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(data));
}

/** send, for a body already serialized as JSON (YAML clients get it converted). */
export async function sendJsonText(req: FastifyRequest, reply: FastifyReply, status: number, json: string, revision?: number): Promise<FastifyReply> {
  if (wantsYaml(req)) return send(req, reply, status, JSON.parse(json), revision);
  head(reply, status, revision);
  return reply.type('application/json; charset=utf-8').send(json);
}

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  VALIDATION: 400,
  USAGE: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  FORBIDDEN: 403,
};

const CODE_OF_STATUS: Record<number, string> = {
  400: 'VALIDATION',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  406: 'NOT_ACCEPTABLE',
  409: 'CONFLICT',
  412: 'PRECONDITION_FAILED',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  431: 'HEADERS_TOO_LARGE',
};

export interface RenderedError {
  status: number;
  body: ErrorBody;
  internal: boolean;
}

/** Turns any error into a status and a body (ours plus goa's fields, see ./wire.ts). Unknown errors: 500 and no detail. */
export function renderError(err: unknown): RenderedError {
  if (err instanceof PreconditionFailedError) {
    return { status: 412, body: errorBody(412, 'PRECONDITION_FAILED', err.message), internal: false };
  }
  if (err instanceof FusemlError) {
    const status = STATUS_OF[err.code];
    const name = err instanceof BadRequestError ? err.goaName : undefined;
    if (status) return { status, body: errorBody(status, err.code, err.message, { name }), internal: false };
  }
  const statusCode = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    const fst = (err as { code?: string }).code;
    let message = (err as Error).message || 'bad request';
    let name: string | undefined;
    if (fst === 'FST_ERR_CTP_BODY_TOO_LARGE') message = 'request body is too large';
    if (fst === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') message = 'unsupported Content-Type: send application/json or application/yaml';
    if (fst === 'FST_ERR_CTP_EMPTY_JSON_BODY') name = 'missing_payload';
    if (fst === 'FST_ERR_CTP_INVALID_JSON_BODY') name = 'decode_payload';
    // A body the parser refused as malformed (./body.ts): goa's name for an undecodable payload.
    if (err instanceof BodyError && statusCode === 400) name = 'decode_payload';
    return { status: statusCode, body: errorBody(statusCode, CODE_OF_STATUS[statusCode] ?? 'BAD_REQUEST', message, { name }), internal: false };
  }
  return { status: 500, body: errorBody(500, 'INTERNAL', 'internal error'), internal: true };
}

/** Sends an error body (JSON, or YAML when the client asks for YAML only) with goa's `goa-error` header. */
export function sendError(req: FastifyRequest | undefined, reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  reply.code(status).header('goa-error', body.name);
  if (req && wantsYaml(req)) return reply.type('application/yaml; charset=utf-8').send(stringifyYaml(body));
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(body));
}

export function forbidden(message: string): FusemlError {
  return new FusemlError('FORBIDDEN', message);
}

export function requireWrite(req: FastifyRequest): void {
  if (!canWrite(req.principal)) throw forbidden(`role ${req.principal.role} may not change the registry`);
}

function queryRecord(req: FastifyRequest): Record<string, unknown> {
  return (req.query ?? {}) as Record<string, unknown>;
}

/** A boolean query parameter: `true` or `false` (absent: false); anything else is a 400. */
function flag(name: string, v: unknown): boolean {
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  throw new FusemlError('VALIDATION', `query parameter ${name} must be true or false`);
}

/** What a read returns in clear: nothing unless `?reveal=true` and the token may see values. */
export function revealFor(req: FastifyRequest): Reveal {
  const q = queryRecord(req);
  if (!flag('reveal', q.reveal)) return { kind: 'none' };
  const scope = revealScope(req.principal);
  if (scope === undefined) throw forbidden(`role ${req.principal.role} may not read credential values`);
  return scope === 'all' ? { kind: 'all' } : { kind: 'scope', scope };
}

/**
 * The revision an If-Match header asks for. If-Match uses the strong comparison (RFC 9110 §13.1.1): a weak
 * entity tag (W/"3") never matches, so the precondition fails (412).
 */
export function ifMatch(req: FastifyRequest): number | undefined {
  const raw = req.headers['if-match'];
  const h = Array.isArray(raw) ? raw[0] : raw;
  if (h !== undefined && h.trim() === '') throw new FusemlError('VALIDATION', 'If-Match is empty: send a revision, e.g. "3", or leave the header out');
  if (h !== undefined && /^\s*W\//.test(h)) {
    throw new PreconditionFailedError('If-Match: a weak entity tag (W/"…") never matches (strong comparison, RFC 9110 §13.1.1); send the ETag as given, e.g. "3"');
  }
  return parseIfMatch(h);
}

/** Rejects query parameters a route does not know. */
export function checkQuery(req: FastifyRequest, allowed: readonly string[]): Record<string, string | undefined> {
  const q = queryRecord(req);
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(q)) {
    if (!allowed.includes(k)) {
      const near = suggest(k.slice(0, 60), allowed);
      const known = allowed.length > 0 ? `; this route takes ${allowed.join(', ')}` : '; this route takes none';
      throw new FusemlError('VALIDATION', `unknown query parameter ${JSON.stringify(k.slice(0, 60))}${near.length > 0 ? ` (did you mean ${near.join(' or ')}?)` : known}`);
    }
    if (Array.isArray(v)) throw new FusemlError('VALIDATION', `query parameter ${k} given more than once`);
    out[k] = typeof v === 'string' ? v : undefined;
  }
  return out;
}
