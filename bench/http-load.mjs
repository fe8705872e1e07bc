/**
 * A closed-loop HTTP/1.1 load client, for the write-load figure of bench/registry.bench.mjs: `inFlight` keep-alive
 * connections, each sending its next request as soon as the answer to the previous one is in.
 *
 * Why not node:http's client: on this 2-core machine the client shares the CPU with the server it measures, and
 * node:http's costs ~100 µs of CPU per request (request and response objects, streams, header parsing), about a
 * quarter of what the server spends on a create. This one writes requests serialized before the clock starts and
 * frames answers by their Content-Length (the registry always sends one; a chunked answer is refused), ~25 µs per
 * request. Every answer's status is checked; the first unexpected one fails the run with its body.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const HEAD_END = Buffer.from('\r\n\r\n');

/** One request's bytes: method, path, headers (Host and Content-Length added) and a body (string or Buffer). */
export function httpRequest(url, method, path, headers, body) {
  const { host } = new URL(url);
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
  const lines = [`${method} ${path} HTTP/1.1`, `host: ${host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), `content-length: ${payload.length}`];
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), payload]);
}

/**
 * Sends `requests` (Buffers from httpRequest) over `inFlight` connections to `url`, each answer expected with
 * status `expect`. Resolves with the wall time in seconds, from the first request written to the last answer read.
 */
export async function closedLoop(url, requests, { inFlight, expect }) {
  const { hostname, port } = new URL(url);
  let next = 0;
  let failed;
  const connection = () =>
    new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), hostname);
      socket.setNoDelay(true);
      let pending = Buffer.alloc(0);
      let waiting = false;
      const fail = (err) => {
        failed ??= err;
        socket.destroy();
        reject(err);
      };
      const sendNext = () => {
        if (failed || next >= requests.length) {
          socket.end();
          resolve();
          return;
        }
        waiting = true;
        socket.write(requests[next++]);
      };
      socket.on('connect', sendNext);
      socket.on('data', (chunk) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        for (;;) {
          const end = pending.indexOf(HEAD_END);
          if (end < 0) return;
          const head = pending.toString('latin1', 0, end);
          if (/\r\ntransfer-encoding:/i.test(head)) return fail(new Error('http-load: a chunked answer (only Content-Length framing is read)'));
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (pending.length < end + 4 + length) return;
          const status = Number(head.slice(9, 12));
          if (status !== expect) return fail(new Error(`http-load: HTTP ${status}, expected ${expect}: ${pending.toString('utf8', end + 4, end + 4 + Math.min(length, 500))}`));
          pending = pending.subarray(end + 4 + length);
          waiting = false;
          sendNext();
        }
      });
      socket.on('error', fail);
      socket.on('end', () => {
        if (waiting) fail(new Error('http-load: the server closed a connection before answering'));
      });
    });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, connection));
  return (performance.now() - t0) / 1000;
}
