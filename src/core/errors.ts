/**
 * Typed errors. Library code throws these; only the CLI prints them and turns
 * `code` into a process exit code (see EXIT_CODES and the README).
 */

export type ErrorCode =
  | 'INTERNAL'
  | 'USAGE'
  | 'VALIDATION'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'EXEC'
  | 'TOOL_MISSING'
  | 'CLUSTER'
  | 'REGISTRY'
  | 'LOCKED'
  | 'TIMEOUT'
  | 'CANCELLED'
  | 'FORBIDDEN';

/** Exit codes, documented in the README. Keep both in step. */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  INTERNAL: 1,
  USAGE: 2,
  VALIDATION: 3,
  NOT_FOUND: 4,
  CONFLICT: 5,
  EXEC: 6,
  TOOL_MISSING: 7,
  CLUSTER: 8,
  REGISTRY: 9,
  LOCKED: 10,
  TIMEOUT: 11,
  FORBIDDEN: 12,
  CANCELLED: 130,
};

export interface ErrorOptions {
  hint?: string | undefined;
  cause?: unknown;
  /** Overrides the code's exit code (e.g. 143 for a run cancelled by SIGTERM). */
  exitCode?: number | undefined;
}

export class FusemlError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly #exitCode: number | undefined;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FusemlError';
    this.code = code;
    this.hint = options.hint;
    this.#exitCode = options.exitCode;
  }

  get exitCode(): number {
    return this.#exitCode ?? EXIT_CODES[this.code];
  }
}

/** One problem found in an input file, reported with its position. */
export interface Issue {
  file: string;
  /** 1-based line and column, when the source position is known. */
  line?: number | undefined;
  col?: number | undefined;
  /** JSON pointer into the document, '' for the whole document. */
  pointer: string;
  message: string;
}

export function formatIssue(issue: Issue): string {
  const pos = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.col ?? 1}`;
  const ptr = issue.pointer === '' ? '' : ` ${issue.pointer}`;
  return `${pos}${ptr} ${issue.message}`;
}

/** Raised with every issue found at once, never just the first. */
export class ValidationError extends FusemlError {
  readonly issues: readonly Issue[];

  constructor(issues: readonly Issue[], summary?: string, options: ErrorOptions = {}) {
    const n = issues.length;
    super('VALIDATION', summary ?? `${n} problem${n === 1 ? '' : 's'} found`, options);
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

export function isFusemlError(e: unknown): e is FusemlError {
  return e instanceof FusemlError;
}
