/**
 * Remote `location` / `values` URLs of FuseML descriptors: fetched at install
 * time only (never by validate), from the URL the mirrors gave (see
 * src/installer/mirrors.ts). Bounded in size and time, cancellable; the body
 * is never shown in errors.
 */
import { FusemlError } from '../core/errors.js';

export const MAX_REMOTE_BYTES = 64 * 1024 * 1024;
export const REMOTE_TIMEOUT_MS = 120_000;

export interface FetchOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  maxBytes?: number | undefined;
  /** The URL as written in the descriptor, for messages (when a mirror rewrote it). */
  original?: string | undefined;
}

const MIRROR_HINT = 'check the URL, or fetch it from a reachable copy with --mirror ORIGINAL=MIRROR';

/** Downloads `url` (http or https), following redirects; throws a FusemlError naming the URL. */
export async function fetchRemote(url: string, opts: FetchOptions = {}): Promise<Buffer> {
  const max = opts.maxBytes ?? MAX_REMOTE_BYTES;
  const what = opts.original && opts.original !== url ? `${opts.original} (mirror ${url})` : url;
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? REMOTE_TIMEOUT_MS);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(url, { signal, redirect: 'follow' });
  } catch (e) {
    if (opts.signal?.aborted) throw new FusemlError('CANCELLED', `fetching ${what}: cancelled`);
    if (timeout.aborted) throw new FusemlError('TIMEOUT', `fetching ${what}: no answer within ${Math.round((opts.timeoutMs ?? REMOTE_TIMEOUT_MS) / 1000)}s`, { hint: MIRROR_HINT });
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new FusemlError('EXEC', `fetching ${what}: ${cause?.code ?? cause?.message ?? (e as Error).message}`, { hint: MIRROR_HINT, cause: e });
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new FusemlError(res.status === 404 ? 'NOT_FOUND' : 'EXEC', `fetching ${what}: HTTP ${res.status}`, { hint: MIRROR_HINT });
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await res.body?.cancel().catch(() => undefined);
    throw new FusemlError('EXEC', `fetching ${what}: ${declared} bytes; the limit is ${max}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body ?? []) {
      size += (chunk as Uint8Array).byteLength;
      if (size > max) throw new FusemlError('EXEC', `fetching ${what}: more than ${max} bytes`);
      chunks.push(Buffer.from(chunk as Uint8Array));
    }
  } catch (e) {
    if (e instanceof FusemlError) throw e;
    if (opts.signal?.aborted) throw new FusemlError('CANCELLED', `fetching ${what}: cancelled`);
    throw new FusemlError(timeout.aborted ? 'TIMEOUT' : 'EXEC', `fetching ${what}: ${(e as Error).message}`, { hint: MIRROR_HINT });
  }
  return Buffer.concat(chunks);
}
