/**
 * Worker-thread side of ./parse-pool.ts: parses one body at a time with ./body.ts and posts the value back
 * (or the BodyError's status and message). Never logs a body.
 */
import { parentPort } from 'node:worker_threads';
import { BodyError, parseBodyText, type BodyKind, type ParseLimits } from './body.js';

interface Job {
  id: number;
  kind: BodyKind;
  text: string;
  limits: ParseLimits;
}

const port = parentPort;
if (!port) throw new Error('parse-worker must run in a worker thread');
port.on('message', (job: Job) => {
  try {
    port.postMessage({ id: job.id, ok: true, value: parseBodyText(job.kind, job.text, job.limits) });
  } catch (err) {
    if (err instanceof BodyError) port.postMessage({ id: job.id, ok: false, status: err.statusCode, message: err.message });
    else if (err instanceof RangeError) port.postMessage({ id: job.id, ok: false, status: 413, message: 'the body is too complex to parse' });
    else port.postMessage({ id: job.id, ok: false, status: 400, message: 'malformed body' });
  }
});
