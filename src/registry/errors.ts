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

/**
 * Bad input (HTTP 400) with the goa error name fuseml-core's server would use for it
 * (`missing_payload`, `decode_payload`, `missing_field`, `invalid_pattern`, …; see server/wire.ts).
 */
export class BadRequestError extends FusemlError {
  readonly goaName: string;
  constructor(goaName: string, message: string, options: ErrorOptions = {}) {
    super('VALIDATION', message, options);
    this.name = 'BadRequestError';
    this.goaName = goaName;
  }
}
