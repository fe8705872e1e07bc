/**
 * The `{{ … }}` renderer: small and strict. A reference is a dotted path
 * (`extensions.mlflow.url`, `outputs.x`, `params.y`); the caller's lookup
 * resolves it or throws. Every unknown or malformed reference of a template (or
 * of a whole set of templates, see renderAll) is reported in one error; an
 * unknown reference never renders as an empty string.
 *
 * Syntax inside the braces, surrounded by optional spaces:
 *   - a path: segments of letters, digits, `_` and `-`, separated by dots;
 *   - a quoted string literal ('…' or "…", no escapes), rendered as is, so a
 *     literal `{{` can be written `{{ "{{" }}`.
 * Nothing else (no filters, no expressions).
 */
import { FusemlError } from './errors.js';

/** Resolves a dotted path to its value, or throws an Error whose message says why. */
export type Lookup = (path: string) => string;

/** Optional: references left verbatim in the output (e.g. run-time ones resolved by someone else). */
export type PassThrough = (path: string) => boolean;

export interface TemplateProblem {
  /** Which template (e.g. `steps[0].env.FOO`), when rendering several. */
  label?: string | undefined;
  /** The reference as written between the braces, trimmed. */
  ref: string;
  message: string;
}

export class TemplateError extends FusemlError {
  readonly problems: readonly TemplateProblem[];

  constructor(problems: readonly TemplateProblem[]) {
    const lines = problems.map((p) => `${p.label ? `${p.label}: ` : ''}{{ ${p.ref} }}: ${p.message}`);
    super('VALIDATION', `${problems.length} template problem${problems.length === 1 ? '' : 's'}: ${lines.join('; ')}`);
    this.name = 'TemplateError';
    this.problems = problems;
  }
}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
const OPEN = '{{';
const CLOSE = '}}';

type Part = { kind: 'text'; text: string } | { kind: 'path'; path: string; raw: string } | { kind: 'bad'; raw: string; message: string };

/** Splits a template into text and references; malformed references are kept as `bad` parts. */
function parse(template: string): Part[] {
  const parts: Part[] = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf(OPEN, i);
    if (open < 0) {
      parts.push({ kind: 'text', text: template.slice(i) });
      break;
    }
    if (open > i) parts.push({ kind: 'text', text: template.slice(i, open) });
    const close = template.indexOf(CLOSE, open + OPEN.length);
    if (close < 0) {
      parts.push({ kind: 'bad', raw: template.slice(open + OPEN.length).trim(), message: 'unclosed "{{"' });
      break;
    }
    const inner = template.slice(open + OPEN.length, close);
    const raw = inner.trim();
    parts.push(parseExpression(raw));
    i = close + CLOSE.length;
  }
  return parts;
}

function parseExpression(raw: string): Part {
  const quote = raw[0];
  if ((quote === '"' || quote === "'") && raw.length >= 2 && raw.endsWith(quote) && !raw.slice(1, -1).includes(quote)) {
    return { kind: 'text', text: raw.slice(1, -1) };
  }
  if (raw === '') return { kind: 'bad', raw, message: 'empty reference' };
  const segments = raw.split('.');
  if (segments.some((s) => !SEGMENT.test(s))) {
    return { kind: 'bad', raw, message: 'not a reference (expected a dotted path like extensions.NAME.url)' };
  }
  return { kind: 'path', path: raw, raw };
}

/** The references (dotted paths) a template uses, in order; malformed ones are skipped. */
export function references(template: string): string[] {
  return parse(template).flatMap((p) => (p.kind === 'path' ? [p.path] : []));
}

/** True when the string contains a `{{`, i.e. would be rendered. */
export function isTemplate(value: string): boolean {
  return value.includes(OPEN);
}

function renderCollect(
  template: string,
  lookup: Lookup,
  passThrough: PassThrough | undefined,
  label: string | undefined,
  problems: TemplateProblem[],
): string {
  let out = '';
  for (const part of parse(template)) {
    if (part.kind === 'text') out += part.text;
    else if (part.kind === 'bad') problems.push({ label, ref: part.raw, message: part.message });
    else if (passThrough?.(part.path)) out += `${OPEN} ${part.path} ${CLOSE}`;
    else {
      try {
        const value = lookup(part.path);
        if (typeof value !== 'string') throw new Error(`resolves to ${value === null ? 'null' : typeof value}, not a string`);
        out += value;
      } catch (err) {
        problems.push({ label, ref: part.path, message: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  return out;
}

export interface RenderOptions {
  passThrough?: PassThrough | undefined;
}

/** Renders one template; throws TemplateError listing every bad reference. */
export function render(template: string, lookup: Lookup, options: RenderOptions = {}): string {
  const problems: TemplateProblem[] = [];
  const out = renderCollect(template, lookup, options.passThrough, undefined, problems);
  if (problems.length > 0) throw new TemplateError(problems);
  return out;
}

/**
 * Renders a set of labelled templates (e.g. every env value of a step); throws
 * one TemplateError with the problems of all of them.
 */
export function renderAll(templates: Readonly<Record<string, string>>, lookup: Lookup, options: RenderOptions = {}): Record<string, string> {
  const problems: TemplateProblem[] = [];
  const out: Record<string, string> = {};
  for (const [label, template] of Object.entries(templates)) {
    out[label] = renderCollect(template, lookup, options.passThrough, label, problems);
  }
  if (problems.length > 0) throw new TemplateError(problems);
  return out;
}

/**
 * A Lookup over nested plain objects: `a.b.c` walks own properties; the leaf
 * must be a string, number or boolean. The error names the missing segment and
 * the keys available there (keys only: values may be secret).
 */
export function objectLookup(root: unknown): Lookup {
  return (path: string) => {
    const segments = path.split('.');
    let node: unknown = root;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i] as string;
      if (node === null || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, seg)) {
        const at = segments.slice(0, i).join('.');
        const keys = node !== null && typeof node === 'object' ? Object.keys(node) : [];
        const where = at === '' ? '' : ` in ${at}`;
        const known = keys.length > 0 ? ` (known: ${keys.sort().join(', ')})` : '';
        throw new Error(`unknown reference: no "${seg}"${where}${known}`);
      }
      node = (node as Record<string, unknown>)[seg];
    }
    if (typeof node === 'string') return node;
    if (typeof node === 'number' || typeof node === 'boolean') return String(node);
    throw new Error(node === null || node === undefined ? 'has no value' : 'refers to a group of values, not a single value');
  };
}
