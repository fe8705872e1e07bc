/**
 * The one mapping of a Kubernetes API failure (a @kubernetes/client-node
 * error, or a transport error before any answer) to a FusemlError. Every
 * caller in src/kube goes through kubeError(); nothing else decides what an
 * HTTP status from the API server means.
 *
 * Meaning of the statuses (as the API server uses them):
 * - no status: the API server was not reached (connection refused, TLS, DNS) → CLUSTER, hint to check the target;
 * - 401 Unauthorized: the server did not accept the kubeconfig's credentials at all (authentication failed:
 *   wrong or expired token or certificate). That is a problem of the cluster access, not of rights, so it is
 *   CLUSTER (exit 8) with a hint about the credentials — never FORBIDDEN, which says "authenticated, but not
 *   allowed";
 * - 403 Forbidden: authenticated, but RBAC does not allow the call → FORBIDDEN (exit 12), with the caller's hint
 *   naming the rights it needs;
 * - 404 → NOT_FOUND, 409 → CONFLICT, anything else → CLUSTER.
 */
import { FusemlError, type ErrorCode } from '../core/errors.js';

const TARGET_HINT = 'check --kubeconfig / --context / KUBECONFIG and that the cluster is up (e.g. npm run cluster:up)';
const CREDENTIALS_HINT = "the kubeconfig's credentials (token or client certificate) were not accepted: renew them, or pick another user or context (--context)";

/** A failed Kubernetes API call: `status` is the HTTP status (undefined when no answer came), `reason` the API's Status reason. */
export class KubeApiError extends FusemlError {
  readonly status: number | undefined;
  readonly reason: string;
  constructor(code: ErrorCode, message: string, status: number | undefined, reason: string, cause: unknown, hint?: string) {
    super(code, message, { cause, hint: hint ?? (code === 'CLUSTER' ? TARGET_HINT : undefined) });
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }
}

/** HTTP status of a client-node error (or of an already mapped KubeApiError), if it carries one. */
export function httpStatus(e: unknown): number | undefined {
  if (e instanceof KubeApiError) return e.status;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The API server's Status body (`reason`, `message`) when the error carries one, as a string or parsed. */
function statusBody(e: unknown): { reason: string; message: string } {
  const body = (e as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { reason?: unknown; message?: unknown };
      return { reason: String(parsed.reason ?? ''), message: String(parsed.message ?? '') };
    } catch {
      return { reason: '', message: body.slice(0, 200) };
    }
  }
  if (body && typeof body === 'object') {
    const b = body as { reason?: unknown; message?: unknown };
    return { reason: typeof b.reason === 'string' ? b.reason : '', message: typeof b.message === 'string' ? b.message : '' };
  }
  return { reason: '', message: '' };
}

export interface KubeErrorOptions {
  /** For a 403: the rights the caller needs, e.g. "the kubeconfig user needs rights on secrets". */
  forbiddenHint?: string | undefined;
}

/**
 * `e` (thrown by a call described by `what`) as a FusemlError. A FusemlError
 * passes through unchanged; anything else becomes a KubeApiError (see the
 * module comment for the meaning of each status).
 */
export function kubeError(e: unknown, what: string, opts: KubeErrorOptions = {}): FusemlError {
  if (e instanceof FusemlError) return e;
  const status = httpStatus(e);
  const first = (e as Error | null)?.message?.split('\n')[0] ?? String(e);
  if (status === undefined) {
    return new KubeApiError('CLUSTER', `${what}: cannot reach the Kubernetes API server (${first})`, undefined, '', e);
  }
  const body = statusBody(e);
  const message = body.message || first;
  const line = `${what}: HTTP ${status}: ${message}`;
  switch (status) {
    case 401:
      return new KubeApiError('CLUSTER', `${what}: HTTP 401: the API server did not accept the credentials${body.message ? ` (${body.message})` : ''}`, status, body.reason, e, CREDENTIALS_HINT);
    case 403:
      return new KubeApiError('FORBIDDEN', line, status, body.reason, e, opts.forbiddenHint);
    case 404:
      return new KubeApiError('NOT_FOUND', line, status, body.reason, e);
    case 409:
      return new KubeApiError('CONFLICT', line, status, body.reason, e);
    default:
      return new KubeApiError('CLUSTER', line, status, body.reason, e);
  }
}
