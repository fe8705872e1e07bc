/**
 * The one rule for `KEY=VALUE` text — flags such as --set, --input, --mirror, -c, and the lines a script writes
 * to its outputs file: split at the first separator (`=` unless told otherwise); the key must be non-empty and
 * match the caller's pattern. A failed split returns only the key, so callers can name it without echoing a
 * value that may be a secret.
 */

/** An environment-variable style name: letters, digits and "_", not starting with a digit. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type Assignment = { ok: true; key: string; value: string } | { ok: false; key: string };

export interface SplitOptions {
  /** Pattern the key must match (default: any non-empty key). */
  key?: RegExp;
  /** Characters that separate key and value; the first one found wins (default "="). */
  separators?: string;
  /** Trim white space around the key (for lines in files). */
  trimKey?: boolean;
}

export function splitAssignment(entry: string, opts: SplitOptions = {}): Assignment {
  const separators = opts.separators ?? '=';
  let at = -1;
  for (let i = 0; i < entry.length; i++) {
    if (separators.includes(entry[i]!)) {
      at = i;
      break;
    }
  }
  const rawKey = at < 0 ? entry : entry.slice(0, at);
  const key = opts.trimKey === true ? rawKey.trim() : rawKey;
  if (at < 0 || key === '' || (opts.key !== undefined && !opts.key.test(key))) return { ok: false, key };
  return { ok: true, key, value: entry.slice(at + 1) };
}
