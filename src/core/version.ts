/**
 * The version selector, once: `GET /extensions?version=X` (src/registry/registry.ts) and a
 * workflow requirement's `version: X` (./resolve.ts) both parse X here, so both select the same
 * records. Grammar (docs/registry.md, "Version selectors"):
 *
 *   1.19.2            that version (semver equality: `v1.19.2` too)
 *   1.19  /  1        a partial version is a wildcard: 1.19.x / 1.x.x (`1.19.x`, `1.19.*` alike)
 *   >=1.0,<1.1        a semver range; commas (or spaces) mean AND, `||` OR; operators
 *                     < <= > >= = ~ ^, hyphen ranges `1.0 - 1.4`
 *   anything else     without operators and not a version (`latest`, `2024-05`): that exact string
 *
 * A record version equal to X as a string always matches. Record versions that are not semver
 * are compared after semver coercion (`v1.2` → 1.2.0). A selector with operators that does not
 * parse completely (`>=1.0,<`, `>=`, `1.0,,2.0`) is a VALIDATION error, never "match all".
 */
import semver from 'semver';
import { FusemlError } from './errors.js';

export type VersionMatcher = (recordVersion: string | undefined) => boolean;

const PART = String.raw`(?:\d+|[xX*])`;
const PRE = String.raw`(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?`;
/** A version, possibly partial or with wildcards, as it may appear in a range. */
const VERSION = new RegExp(String.raw`^v?${PART}(?:\.${PART}){0,2}${PRE}$`);
/** A numeric version without operators (the "is it a version at all" test). */
const PLAIN_VERSION = new RegExp(String.raw`^v?\d+(?:\.${PART}){0,2}$|^v?\d+\.\d+\.\d+${PRE}$`);
const COMPARATOR = new RegExp(String.raw`^(?:<=|>=|<|>|=|~>|~|\^)?v?${PART}(?:\.${PART}){0,2}${PRE}$`);
const OPERATOR_CHARS = /[<>=~^|,*]|\s/;

function invalid(wanted: string, why: string): FusemlError {
  return new FusemlError('VALIDATION', `version ${JSON.stringify(wanted.slice(0, 100))} is not a version or a version range: ${why}`, {
    hint: 'use a version (1.19.2), a partial version (1.19 means 1.19.x) or a range such as >=1.0,<1.1',
  });
}

/** Translates one `||` branch into node-semver's syntax, checking every comparator. */
function branch(text: string, wanted: string): string {
  const t = text.trim();
  if (t === '') throw invalid(wanted, 'an empty alternative around ||');
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(t);
  if (hyphen) {
    if (!VERSION.test(hyphen[1] as string) || !VERSION.test(hyphen[2] as string)) throw invalid(wanted, `bad hyphen range "${t}"`);
    return `${hyphen[1]} - ${hyphen[2]}`;
  }
  if (t === '*') return '*';
  const comparators = t.split(',').map((c) => c.trim());
  const out: string[] = [];
  for (const group of comparators) {
    if (group === '') throw invalid(wanted, 'an empty comparator (a stray comma)');
    // `>= 1.0` (operator, space, version) is one comparator.
    const tokens = group.replace(/(<=|>=|<|>|=|~>|~|\^)\s+/g, '$1').split(/\s+/);
    for (const c of tokens) {
      if (!COMPARATOR.test(c)) throw invalid(wanted, `"${c}" is not a comparator such as >=1.0`);
      out.push(c);
    }
  }
  return out.join(' ');
}

/** Parses a version selector once; the matcher tests record versions against it. Throws VALIDATION. */
export function versionMatcher(wanted: string): VersionMatcher {
  const w = wanted.trim();
  if (w === '') throw invalid(wanted, 'it is empty');
  let rangeText: string | undefined;
  if (PLAIN_VERSION.test(w)) rangeText = w;
  else if (OPERATOR_CHARS.test(w)) rangeText = w.split('||').map((b) => branch(b, wanted)).join(' || ');
  if (rangeText === undefined) return (v) => v === wanted;
  let range: semver.Range;
  try {
    range = new semver.Range(rangeText, { loose: true });
  } catch {
    throw invalid(wanted, 'not a semver range');
  }
  return (recordVersion) => {
    if (recordVersion === undefined) return false;
    if (recordVersion === wanted) return true;
    const v = semver.valid(recordVersion, { loose: true }) ?? semver.coerce(recordVersion)?.version;
    return v !== undefined && v !== null && range.test(v);
  };
}

/** The problem with a selector, or undefined when it parses. */
export function versionSelectorProblem(wanted: string): string | undefined {
  try {
    versionMatcher(wanted);
    return undefined;
  } catch (err) {
    if (err instanceof FusemlError) return err.message;
    throw err;
  }
}

/** One-off match; false for a selector that does not parse (callers that must report it use versionMatcher). */
export function versionMatches(recordVersion: string | undefined, wanted: string): boolean {
  try {
    return versionMatcher(wanted)(recordVersion);
  } catch (err) {
    if (err instanceof FusemlError) return false;
    throw err;
  }
}
