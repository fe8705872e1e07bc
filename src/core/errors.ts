/**
 * Typed errors. Library code throws these; only the CLI prints them and turns
 * `code` into a process exit code (see EXIT_CODES and the README).
 */

export type ErrorCode =
  | 'INTERNAL'
  | 'DRIFT'
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
  DRIFT: 1,
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

/** What each exit code means: the README table and every help page's exit-code list come from here. */
export const EXIT_CODE_MEANINGS: Readonly<Record<ErrorCode, string>> = {
  INTERNAL: 'internal error (a bug: run again with --verbose and report it)',
  DRIFT: 'fuseml-installer doctor found drift: install records, helm releases, the cluster and the registry disagree (the report names each)',
  USAGE: 'usage: unknown command, flag or flag value',
  VALIDATION: 'validation: bad input file, every problem listed as file:line:col pointer message',
  NOT_FOUND: 'not found: unknown extension, record or file',
  CONFLICT: 'conflict: the record exists, or changed since read (stale revision)',
  EXEC: 'an external command (helm, kubectl, a script) failed; the tail of its stderr is shown',
  TOOL_MISSING: 'a required tool (helm, kubectl) is missing',
  CLUSTER: 'the Kubernetes cluster is unreachable or refused a request',
  REGISTRY: 'the registry is unreachable or failed; pending registrations are journaled',
  LOCKED: 'locked: another installer holds the cluster lock',
  TIMEOUT: 'timed out waiting',
  FORBIDDEN: 'forbidden: the token may not do that (the installer checks the registry token before touching the cluster)',
  CANCELLED: 'cancelled (Ctrl-C / SIGINT; also a confirmation answered "no")',
};

/** A run cancelled by SIGTERM exits 128 + 15, as shells report it (a CANCELLED error with this exit code). */
export const TERMINATED_EXIT_CODE = 143;
export const TERMINATED_MEANING = 'terminated (SIGTERM): cancelled the same way';

/** The exit-code list shown at the end of help pages: "0 success, 1 …", generated from EXIT_CODES. */
export function exitCodesHelp(): string {
  const codes = (Object.keys(EXIT_CODES) as ErrorCode[]).sort((a, b) => EXIT_CODES[a] - EXIT_CODES[b]);
  return ['  0    success', ...codes.map((c) => `  ${String(EXIT_CODES[c]).padEnd(4)} ${EXIT_CODE_MEANINGS[c]}`), `  ${TERMINATED_EXIT_CODE}  ${TERMINATED_MEANING}`].join('\n');
}

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

/** An Issue[] as read back from JSON (e.g. a cache file): anything else is not one. */
export function isIssueList(v: unknown): v is Issue[] {
  return (
    Array.isArray(v) &&
    v.every((i: Partial<Issue> | null) => {
      if (i === null || typeof i !== 'object') return false;
      const pos = (n: unknown): boolean => n === undefined || (typeof n === 'number' && Number.isInteger(n) && n > 0);
      return typeof i.file === 'string' && typeof i.pointer === 'string' && typeof i.message === 'string' && pos(i.line) && pos(i.col);
    })
  );
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

/**
 * The one error for a file a user named that cannot be read: a missing file is NOT_FOUND (exit 4)
 * everywhere, with one wording; other reasons (a directory, no permission) are USAGE (exit 2).
 * `what` names where the path came from, e.g. "--values" or "workflow file".
 */
export function fileError(what: string, path: string, err: unknown): FusemlError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const subject = `${what} ${path}`;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new FusemlError('NOT_FOUND', `${subject}: no such file or directory`, { cause: err });
  if (code === 'EISDIR') return new FusemlError('USAGE', `${subject}: is a directory, not a file`, { cause: err });
  if (code === 'EACCES' || code === 'EPERM') return new FusemlError('USAGE', `${subject}: permission denied`, { cause: err });
  return new FusemlError('USAGE', `${subject}: cannot be read (${code ?? (err instanceof Error ? err.message : 'error')})`, { cause: err });
}

export function isFusemlError(e: unknown): e is FusemlError {
  return e instanceof FusemlError;
}
