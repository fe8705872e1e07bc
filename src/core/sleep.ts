/** The one sleep: resolves after `ms`, or rejects with CANCELLED when `signal` aborts first. */
import { FusemlError } from './errors.js';

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new FusemlError('CANCELLED', 'cancelled'));
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new FusemlError('CANCELLED', 'cancelled'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
