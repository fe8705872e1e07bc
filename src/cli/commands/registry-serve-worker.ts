/**
 * Worker-thread entry of `fuseml-registry serve` (see serve() in ./registry-serve.ts): runs the server with
 * the worker's heap limits, reports the listening line, stops on the main thread's request, and sends back
 * errors as plain data (the main thread turns them into FusemlErrors for the CLI's one exit point).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FusemlError } from '../../core/errors.js';
import { serveInProcess, type ServeOptions } from './registry-serve.js';

const port = parentPort;
if (!port) throw new Error('registry-serve-worker must run in a worker thread');

serveInProcess(workerData as ServeOptions, {
  onListening: (line) => port.postMessage({ type: 'listening', line }),
  stopRequested: () =>
    new Promise((resolve) => {
      port.on('message', (m: { type?: string; signal?: string }) => {
        if (m.type === 'stop') resolve(m.signal ?? 'stop');
      });
    }),
}).then(
  () => {
    port.postMessage({ type: 'stopped' });
    port.close();
  },
  (err: unknown) => {
    const e = err instanceof FusemlError ? err : undefined;
    port.postMessage({
      type: 'error',
      code: e?.code ?? 'INTERNAL',
      message: e ? e.message : `internal error: ${(err as Error)?.message ?? String(err)}`,
      hint: e?.hint,
    });
    port.close();
  },
);
