/**
 * Reachability checks of a URL without credentials: an HTTP GET answered at all (its status), or a TCP connect,
 * each with one deadline for the whole exchange and cancellation; and the few words saying why one failed.
 * Used by `extensions register` (src/registration/probe.ts) and the registry's endpoint probes (src/registry/probe.ts).
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** How a reachability check may run: a deadline for the whole exchange, and a cancellation signal. */
export interface ReachOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  userAgent?: string | undefined;
}

const timedOut = (): Error => Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' });

/**
 * GET url with node:http(s) (fetch refuses some ports, e.g. 6000) and resolves with the status as soon as the
 * response head arrives. Sends no credentials: user and password in the URL are dropped (node would turn
 * them into an Authorization header), and the only header is User-Agent. Redirects are not followed. A fresh
 * connection each time (no keep-alive pool), closed after the answer; the deadline covers the whole exchange.
 */
export function httpStatus(url: URL, options: ReachOptions): Promise<number> {
  const target = new URL(url.href);
  target.username = '';
  target.password = '';
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
    const mod = target.protocol === 'https:' ? https : http;
    const req = mod.request(
      target,
      { method: 'GET', agent: false, signal: options.signal, headers: { 'user-agent': options.userAgent ?? 'fuseml-installer-check', connection: 'close' } },
      (res) => {
        clearTimeout(timer);
        resolve(res.statusCode ?? 0);
        res.destroy();
      },
    );
    const timer = setTimeout(() => req.destroy(timedOut()), options.timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

/** Opens a TCP connection to host:port and closes it at once; the deadline covers the connect. */
export function tcpConnect(host: string, port: number, options: ReachOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
    const sock = net.connect({ host, port, signal: options.signal });
    const timer = setTimeout(() => sock.destroy(timedOut()), options.timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve();
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Why a check failed, in a few words (never the URL: it may carry a user name). */
export function unreachableReason(err: unknown, timeoutMs: number): string {
  const code = (err as { code?: string }).code;
  if (code === 'ETIMEDOUT') return `no answer within ${timeoutMs} ms`;
  if (code === 'ECONNREFUSED') return 'connection refused (nothing listens on that port)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name does not resolve';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'connection reset';
  if (code === 'ABORT_ERR') return 'cancelled';
  if (code !== undefined && /CERT|SSL|TLS|SELF_SIGNED/i.test(code)) return `TLS failed (${code})`;
  if (code) return `cannot connect (${code})`;
  return 'cannot connect';
}
