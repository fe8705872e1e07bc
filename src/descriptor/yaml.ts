/**
 * YAML reading with source positions and resource limits: a size cap, an alias
 * cap (billion-laughs documents are refused), duplicate keys refused, and every
 * parse error reported as an Issue with its line and column.
 */
import { readFile, stat } from 'node:fs/promises';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { FusemlError, ValidationError, fileError, type Issue } from '../core/errors.js';
import { MAX_YAML_BYTES, toPointer } from './files.js';

export { MAX_YAML_BYTES, toPointer };

export const MAX_ALIAS_COUNT = 100;

export interface Position {
  line: number;
  col: number;
}

export interface YamlFile {
  file: string;
  data: unknown;
  /** Source position of the value at a JSON pointer (or of `key` inside it), nearest ancestor if absent. */
  locate(pointer: string, key?: string): Position | undefined;
  issue(pointer: string, message: string, key?: string): Issue;
}

export function pointerSegments(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .replace(/^\//, '')
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}


function child(node: unknown, seg: string): { value: unknown; keyNode?: unknown } | undefined {
  if (isMap(node)) {
    const lower = seg.toLowerCase();
    const pair =
      node.items.find((p) => isScalar(p.key) && String(p.key.value) === seg) ??
      node.items.find((p) => isScalar(p.key) && String(p.key.value).toLowerCase() === lower);
    return pair && isPair(pair) ? { value: pair.value, keyNode: pair.key } : undefined;
  }
  if (isSeq(node) && /^\d+$/.test(seg)) {
    const item = node.items[Number(seg)];
    return item === undefined ? undefined : { value: item };
  }
  return undefined;
}

function rangeOf(node: unknown): [number, number, number] | undefined {
  const r = (node as Node | undefined)?.range;
  return r ?? undefined;
}

export function parseYaml(text: string, file: string): YamlFile {
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  const at = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };
  const issues: Issue[] = [];
  for (const e of doc.errors) {
    const pos = at(e.pos[0]);
    issues.push({ file, line: pos.line, col: pos.col, pointer: '', message: `invalid YAML: ${e.message.split('\n')[0]}` });
  }
  if (issues.length > 0) throw new ValidationError(issues, `${file}: invalid YAML`);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    throw new ValidationError(
      [{ file, pointer: '', message: `invalid YAML: ${(e as Error).message} (aliases expand to more than ${MAX_ALIAS_COUNT} nodes)` }],
      `${file}: invalid YAML`,
    );
  }

  const locate = (pointer: string, key?: string): Position | undefined => {
    let node: unknown = doc.contents;
    let best = rangeOf(node);
    let keyRange: [number, number, number] | undefined;
    for (const seg of [...pointerSegments(pointer), ...(key === undefined ? [] : [key])]) {
      const next = child(node, seg);
      if (!next) break;
      node = next.value;
      keyRange = rangeOf(next.keyNode);
      best = key !== undefined && seg === key && keyRange ? keyRange : (rangeOf(node) ?? keyRange ?? best);
    }
    return best ? at(best[0]) : undefined;
  };

  return {
    file,
    data,
    locate,
    issue(pointer, message, key) {
      const pos = locate(pointer, key);
      return { file, line: pos?.line, col: pos?.col, pointer, message };
    },
  };
}

/**
 * Reads and parses a YAML file, refusing files over `maxBytes`. With `what` (e.g. "workflow file"), a file
 * that cannot be read is the user's input error (fileError); without, a validation issue of the folder.
 */
export async function readYamlFile(file: string, maxBytes = MAX_YAML_BYTES, what?: string): Promise<YamlFile> {
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new ValidationError([{ file, pointer: '', message: 'not a regular file' }]);
    size = st.size;
  } catch (e) {
    if (e instanceof FusemlError) throw e;
    // A file the user named (`what` says how): not-found and the like, in the one wording.
    if (what !== undefined) throw fileError(what, file, e);
    throw new ValidationError([{ file, pointer: '', message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
  if (size > maxBytes) {
    throw new ValidationError([{ file, pointer: '', message: `file is ${size} bytes; the limit is ${maxBytes} bytes` }]);
  }
  const text = await readFile(file, 'utf8');
  return parseYaml(text, file);
}
