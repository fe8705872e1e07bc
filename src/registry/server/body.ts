/**
 * Request body parsing with bounded work: JSON or YAML text → a plain value, strictly and losslessly.
 *
 * - Duplicate keys are refused in JSON as in YAML (a linear check: one Set per map).
 * - Reserved keys (`__proto__`, `constructor`, `prototype`) are refused with the key's path: a JS object
 *   could not hold `__proto__` faithfully everywhere the value travels.
 * - YAML: exactly one document, YAML 1.2 core schema, no unknown tags, at most `maxAliases` aliases.
 * - Limits checked while parsing: nesting depth, number of keys + sequence items and JSON size, both counted
 *   with aliases expanded (an alias bomb stops at the limit, not after building the document).
 * - YAML is lexed first (linear, stops at the first excess) so a hostile body is refused before the parser
 *   builds a tree for it.
 *
 * Pure and synchronous: the server runs it off its event loop for large bodies (./parse-pool.ts).
 */
import { isAlias, isMap, isPair, isScalar, isSeq, Lexer, parseAllDocuments, type Node } from 'yaml';

export type BodyKind = 'json' | 'yaml';

export interface ParseLimits {
  parsedLimit: number;
  maxKeys: number;
  maxDepth: number;
  maxAliases: number;
}

export const RESERVED_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** A body the server refuses: status 400 (malformed) or 413 (over a limit), with a message safe to show. */
export class BodyError extends Error {
  constructor(
    readonly statusCode: 400 | 413,
    message: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

const tooLarge = (m: string): BodyError => new BodyError(413, m);
const bad = (m: string): BodyError => new BodyError(400, m);

function pointer(path: readonly (string | number)[]): string {
  if (path.length === 0) return '/';
  return path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1').slice(0, 80)}`).join('');
}

function quoteKey(k: string): string {
  return JSON.stringify(k.length > 60 ? `${k.slice(0, 60)}…` : k);
}

/** `depth`: how much of `path` is the key's (the rest is stale); the pointer is built only for an error. */
function checkKey(key: string, seen: Set<string>, path: readonly (string | number)[], what: string, depth = path.length): void {
  if (RESERVED_KEYS.includes(key)) throw bad(`${what} body: reserved key ${quoteKey(key)} at ${pointer(path.slice(0, depth))} is not accepted`);
  if (seen.has(key)) throw bad(`${what} body: duplicate key ${quoteKey(key)} at ${pointer(path.slice(0, depth))}`);
  seen.add(key);
}

export function parseBodyText(kind: BodyKind, text: string, limits: ParseLimits): unknown {
  if (text.trim() === '') return undefined;
  return kind === 'json' ? parseJson(text, limits) : parseYaml(text, limits);
}

// ---------------------------------------------------------------------------------------------- JSON

/**
 * One linear pass over the JSON text: depth, keys + items, duplicate and reserved keys. Malformed text is
 * left to JSON.parse afterwards (the scan never throws on it, only stops early).
 */
function scanJson(text: string, limits: ParseLimits): void {
  const stack: Array<{ keys: Set<string> } | null> = []; // null: an array
  const path: Array<string | number> = [];
  let entries = 0;
  const n = text.length;
  const count = (): void => {
    if (++entries > limits.maxKeys) throw tooLarge(`the body has more than ${limits.maxKeys} keys and items`);
  };
  const nextNonSpace = (from: number): number => {
    let k = from;
    while (k < n) {
      const c = text.charCodeAt(k);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      k++;
    }
    return k;
  };
  // The next backslash at or after a position (strings are skipped with indexOf, escapes found the same way).
  let backslash = text.indexOf('\\');
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // The closing quote: the first one not escaped (preceded by an even number of backslashes).
      let k = text.indexOf('"', i + 1);
      let escaped = false;
      while (k !== -1 && backslash !== -1 && backslash < k) {
        if (backslash > i) escaped = true;
        let b = k - 1;
        while (text.charCodeAt(b) === 0x5c) b--;
        if ((k - 1 - b) % 2 === 0) break;
        k = text.indexOf('"', k + 1);
      }
      if (k === -1) return; // unterminated: JSON.parse reports it
      if (backslash !== -1 && backslash < k) backslash = text.indexOf('\\', k);
      const top = stack[stack.length - 1];
      const after = nextNonSpace(k + 1);
      if (top && text.charCodeAt(after) === 0x3a /* : */) {
        let key: string;
        try {
          key = escaped ? (JSON.parse(text.slice(i, k + 1)) as string) : text.slice(i + 1, k);
        } catch {
          return; // bad escape: JSON.parse reports it
        }
        path[stack.length - 1] = key;
        checkKey(key, top.keys, path, 'JSON', stack.length);
        count();
      }
      i = k + 1;
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= limits.maxDepth) throw tooLarge(`the body nests deeper than ${limits.maxDepth} levels`);
      stack.push(c === 0x7b ? { keys: new Set() } : null);
      path.length = stack.length;
      if (c === 0x5b) {
        path[stack.length - 1] = 0;
        const next = nextNonSpace(i + 1);
        if (next < n && text.charCodeAt(next) !== 0x5d) count();
      }
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      path.length = stack.length;
    } else if (c === 0x2c /* , */ && stack[stack.length - 1] === null) {
      path[stack.length - 1] = (path[stack.length - 1] as number) + 1;
      count();
    }
    i++;
  }
}

function parseJson(text: string, limits: ParseLimits): unknown {
  scanJson(text, limits);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // V8's message may quote part of the body (which may hold secrets): keep only the position.
    const pos = /position (\d+)/.exec((err as Error).message)?.[1];
    throw bad(`malformed JSON body${pos === undefined ? '' : ` at position ${pos}`}`);
  }
}

// ---------------------------------------------------------------------------------------------- YAML

/** Lexes the text once: flow nesting and a token budget, so the parser never sees a hostile body. */
function prescanYaml(text: string, limits: ParseLimits): void {
  // A key or item costs at least a few tokens (indicator, scalar, space, newline), never more than ~8 here.
  const budget = limits.maxKeys * 8 + 64;
  let tokens = 0;
  let flow = 0;
  for (const tok of new Lexer().lex(text)) {
    if (++tokens > budget) throw tooLarge(`the body has more than ${limits.maxKeys} keys and items`);
    if (tok === '[' || tok === '{') {
      if (++flow > limits.maxDepth) throw tooLarge(`the body nests deeper than ${limits.maxDepth} levels`);
    } else if (tok === ']' || tok === '}') flow--;
  }
}

function firstLine(m: string): string {
  return m.split('\n')[0] ?? m;
}

function parseYaml(text: string, limits: ParseLimits): unknown {
  prescanYaml(text, limits);
  let docs;
  try {
    // uniqueKeys off: the library's check is quadratic; toPlain() below does it in linear time.
    // logLevel silent: problems become 400s, not warnings the client could make the server print.
    docs = parseAllDocuments(text, { uniqueKeys: false, prettyErrors: false, strict: true, logLevel: 'silent', version: '1.2', merge: false });
  } catch (err) {
    throw bad(`malformed YAML body: ${firstLine((err as Error).message)}`);
  }
  if (!Array.isArray(docs)) return undefined; // an empty stream (comments only)
  if (docs.length > 1) throw bad(`the YAML body holds ${docs.length} documents; send exactly one`);
  const doc = docs[0];
  if (!doc) return undefined;
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw bad(`malformed YAML body: ${firstLine(problem.message)}`);
  return toPlain(doc.contents as Node | null, limits);
}

/**
 * The document's value as plain JSON-compatible data, with every limit checked on the way: aliases are
 * expanded (and counted) as they are met, so the work done is bounded by the limits, not by the expansion.
 */
function toPlain(root: Node | null, limits: ParseLimits): unknown {
  const anchors = new Map<string, Node>();
  let keys = 0;
  let size = 0;
  let aliases = 0;
  const path: Array<string | number> = [];
  const grow = (bytes: number): void => {
    size += bytes;
    if (size > limits.parsedLimit) throw tooLarge(`the body is larger than ${limits.parsedLimit} bytes once parsed (aliases expanded)`);
  };
  const count = (): void => {
    if (++keys > limits.maxKeys) throw tooLarge(`the body has more than ${limits.maxKeys} keys and items (aliases expanded)`);
  };
  const scalarValue = (v: unknown): unknown => {
    if (v === null || v === undefined) {
      grow(4);
      return null;
    }
    if (typeof v === 'string') {
      grow(v.length + 2);
      return v;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw bad(`the YAML body has a number JSON cannot hold (${String(v)}) at ${pointer(path)}`);
      grow(String(v).length);
      return v;
    }
    if (typeof v === 'boolean') {
      grow(5);
      return v;
    }
    throw bad(`the YAML body has an unsupported value at ${pointer(path)}`);
  };
  const visit = (node: Node | null, depth: number, expanding: boolean): unknown => {
    if (node === null) return scalarValue(null);
    if (!expanding && node.anchor) anchors.set(node.anchor, node);
    if (isAlias(node)) {
      if (++aliases > limits.maxAliases) throw tooLarge(`the body has more than ${limits.maxAliases} YAML aliases`);
      const target = anchors.get(node.source);
      if (!target) throw bad(`the YAML body uses an undefined alias *${node.source.slice(0, 60)} at ${pointer(path)}`);
      return visit(target, depth, true);
    }
    if (isScalar(node)) return scalarValue(node.value);
    if (depth >= limits.maxDepth) throw tooLarge(`the body nests deeper than ${limits.maxDepth} levels`);
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      const seen = new Set<string>();
      grow(2);
      path.push('');
      for (const pair of node.items) {
        if (!isPair(pair)) throw bad(`malformed YAML body at ${pointer(path.slice(0, -1))}`);
        let keyNode = pair.key as Node | null;
        if (isAlias(keyNode)) {
          if (++aliases > limits.maxAliases) throw tooLarge(`the body has more than ${limits.maxAliases} YAML aliases`);
          keyNode = anchors.get(keyNode.source) ?? null;
        }
        if (keyNode !== null && !isScalar(keyNode)) throw bad(`the YAML body has a key that is not a string at ${pointer(path.slice(0, -1))}`);
        const kv = keyNode === null ? null : keyNode.value;
        if (kv !== null && typeof kv === 'object') throw bad(`the YAML body has a key that is not a string at ${pointer(path.slice(0, -1))}`);
        const key = kv === null || kv === undefined ? '' : String(kv);
        path[path.length - 1] = key;
        checkKey(key, seen, path, 'YAML');
        count();
        grow(key.length + 4);
        const value = visit(pair.value as Node | null, depth + 1, expanding);
        Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      }
      path.pop();
      return out;
    }
    if (isSeq(node)) {
      const out: unknown[] = [];
      grow(2);
      path.push(0);
      node.items.forEach((item, i) => {
        path[path.length - 1] = i;
        count();
        grow(1);
        out.push(visit(item as Node | null, depth + 1, expanding));
      });
      path.pop();
      return out;
    }
    throw bad(`the YAML body has an unsupported node at ${pointer(path)}`);
  };
  return visit(root, 0, false);
}
