/** Registry-specific errors, on top of FusemlError. */
import { FusemlError, type ErrorOptions } from '../core/errors.js';

/** A write carried a stale revision (If-Match): HTTP 412. */
export class PreconditionFailedError extends FusemlError {
  readonly status = 412;
  constructor(message: string, options: ErrorOptions = {}) {
    super('CONFLICT', message, options);
    this.name = 'PreconditionFailedError';
  }
}
