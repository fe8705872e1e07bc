/**
 * Parses request bodies off the event loop: small bodies (≤ INLINE_BYTES, whose worst case costs well under a
 * millisecond or two) in place, larger ones in one worker thread, one at a time, each with a time budget
 * (`parseTimeoutMs`: the worker is ended and the body refused with 413) and a heap cap (a body that exhausts it
 * is refused the same way). So no body, however hostile, holds up the requests of others.
 *
 * When the compiled worker is not there (tests running the TypeScript sources), bodies are parsed in place.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { BodyError, parseBodyText, type BodyKind, type ParseLimits } from './body.js';

/** Bodies up to this many bytes are parsed in place. */
export const INLINE_BYTES = 4096;
/** Heap cap of the parse worker (MiB). */
const WORKER_HEAP_MB = 256;

interface Pending {
  id: number;
  kind: BodyKind;
  text: string;
  limits: ParseLimits;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export class ParsePool {
  private worker: Worker | undefined;
  private readonly queue: Pending[] = [];
  private current: { job: Pending; timer: NodeJS.Timeout } | undefined;
  private nextId = 1;
  private closed = false;
  private readonly workerUrl = new URL('./parse-worker.js', import.meta.url);
  readonly offLoop: boolean;

  constructor(
    private readonly limits: ParseLimits,
    private readonly timeoutMs: number,
  ) {
    this.offLoop = this.workerUrl.protocol === 'file:' && existsSync(fileURLToPath(this.workerUrl));
  }

  async parse(kind: BodyKind, text: string): Promise<unknown> {
    if (!this.offLoop || text.length <= INLINE_BYTES) return parseBodyText(kind, text, this.limits);
    if (this.closed) throw new BodyError(413, 'the server is shutting down');
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, kind, text, limits: this.limits, resolve, reject });
      void this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.queue.splice(0)) j.reject(new BodyError(413, 'the server is shutting down'));
    if (this.current) {
      clearTimeout(this.current.timer);
      this.current.job.reject(new BodyError(413, 'the server is shutting down'));
      this.current = undefined;
    }
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private async ensureWorker(): Promise<Worker> {
    if (this.worker) return this.worker;
    const { Worker } = await import('node:worker_threads');
    const w = new Worker(this.workerUrl, { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: 16 } });
    w.unref();
    w.on('message', (m: { id: number; ok: boolean; value?: unknown; status?: 400 | 413; message?: string }) => {
      const cur = this.current;
      if (!cur || cur.job.id !== m.id) return;
      clearTimeout(cur.timer);
      this.current = undefined;
      if (m.ok) cur.job.resolve(m.value);
      else cur.job.reject(new BodyError(m.status ?? 400, m.message ?? 'malformed body'));
      void this.pump();
    });
    const lost = (): void => {
      if (this.worker !== w) return;
      this.worker = undefined;
      const cur = this.current;
      this.current = undefined;
      if (cur) {
        clearTimeout(cur.timer);
        cur.job.reject(new BodyError(413, 'the body is too complex to parse'));
      }
      void this.pump();
    };
    w.on('error', lost);
    w.on('exit', lost);
    this.worker = w;
    return w;
  }

  private async pump(): Promise<void> {
    if (this.current || this.closed) return;
    const job = this.queue.shift();
    if (!job) return;
    const timer = setTimeout(() => {
      if (this.current?.job !== job) return;
      this.current = undefined;
      const w = this.worker;
      this.worker = undefined;
      job.reject(new BodyError(413, `the body took more than ${this.timeoutMs} ms to parse`));
      void w?.terminate().finally(() => void this.pump());
    }, this.timeoutMs);
    this.current = { job, timer };
    try {
      const w = await this.ensureWorker();
      w.postMessage({ id: job.id, kind: job.kind, text: job.text, limits: job.limits });
    } catch (err) {
      clearTimeout(timer);
      this.current = undefined;
      job.reject(err);
      void this.pump();
    }
  }
}
