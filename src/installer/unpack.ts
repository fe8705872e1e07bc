/**
 * Safe unpacking of an extension archive (.tgz, or the tar `git archive` writes) into a fresh folder:
 * no absolute paths, no `..`, no links that could lead out, no devices, bounded in entries and size.
 * A small tar reader (ustar, pax and GNU long names) so every entry passes these checks before a byte
 * is written.
 */
import { gunzipSync } from 'node:zlib';
import { lstat, mkdir, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FusemlError } from '../core/errors.js';

export interface UnpackLimits {
  /** Total bytes of the unpacked files. */
  maxBytes: number;
  maxEntries: number;
}

export const DEFAULT_UNPACK_LIMITS: UnpackLimits = { maxBytes: 256 * 1024 * 1024, maxEntries: 20_000 };

export interface UnpackResult {
  files: number;
  bytes: number;
  /** Links and special files left out, with why. */
  skipped: string[];
}

const BLOCK = 512;

function bad(what: string, why: string): FusemlError {
  return new FusemlError('VALIDATION', `${what}: ${why}`, { hint: 'an extension archive holds plain files and folders below one root' });
}

function text(buf: Buffer, start: number, len: number): string {
  const raw = buf.subarray(start, start + len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? raw.length : nul).toString('utf8');
}

function octal(buf: Buffer, start: number, len: number, what: string): number {
  const field = buf.subarray(start, start + len);
  if ((field[0] as number) & 0x80) {
    // base-256 (GNU): only for sizes we would refuse anyway
    throw bad(what, 'an entry is too large');
  }
  const s = text(buf, start, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw bad(what, 'not a tar archive (bad header)');
  return parseInt(s, 8);
}

function paxRecords(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    const space = body.indexOf(0x20, i);
    if (space < 0) break;
    const len = Number(body.subarray(i, space).toString('ascii'));
    if (!Number.isInteger(len) || len <= 0 || i + len > body.length) break;
    const rec = body.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** The entry's path, relative and normalized; throws for absolute paths and `..`. */
export function safeEntryPath(name: string, what: string): string | undefined {
  if (name.includes('\0')) throw bad(what, `entry "${name}" has a NUL byte`);
  if (name.startsWith('/') || /^[A-Za-z]:[\\/]/.test(name) || name.includes('\\')) throw bad(what, `entry "${name}" is an absolute or Windows path`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw bad(what, `entry "${name}" leads outside the archive (..)`);
  return parts.length === 0 ? undefined : parts.join('/');
}

/** A link stays inside when its target is relative and never goes up: every hop then descends. */
function linkStaysInside(target: string): boolean {
  return target !== '' && !target.startsWith('/') && !target.includes('\\') && !target.split('/').includes('..');
}

async function removeIfPresent(p: string): Promise<void> {
  try {
    const st = await lstat(p);
    if (!st.isDirectory()) await unlink(p);
  } catch {
    // absent
  }
}

/**
 * Unpacks tar bytes (gzip-compressed when `gzip`) into `dest` (created; should be a fresh folder).
 * `what` names the archive in messages (a URL without credentials).
 */
export async function unpackTar(data: Buffer, dest: string, what: string, opts: { gzip?: boolean; limits?: Partial<UnpackLimits> } = {}): Promise<UnpackResult> {
  const limits = { ...DEFAULT_UNPACK_LIMITS, ...opts.limits };
  let tar: Buffer;
  if (opts.gzip ?? true) {
    try {
      tar = gunzipSync(data, { maxOutputLength: limits.maxBytes + limits.maxEntries * 2 * BLOCK });
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw code === 'ERR_BUFFER_TOO_LARGE' ? bad(what, `unpacks to more than ${limits.maxBytes} bytes`) : bad(what, 'not a gzip file');
    }
  } else tar = data;
  await mkdir(dest, { recursive: true });
  const result: UnpackResult = { files: 0, bytes: 0, skipped: [] };
  let entries = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  let off = 0;
  while (off + BLOCK <= tar.length) {
    const header = tar.subarray(off, off + BLOCK);
    if (header.every((b) => b === 0)) break;
    const sum = header.reduce((acc, b, i) => acc + (i >= 148 && i < 156 ? 0x20 : b), 0);
    if (sum !== octal(header, 148, 8, what)) throw bad(what, 'not a tar archive (checksum mismatch)');
    const size = octal(header, 124, 12, what);
    const type = String.fromCharCode(header[156] as number);
    const bodyStart = off + BLOCK;
    const body = tar.subarray(bodyStart, bodyStart + size);
    if (body.length < size) throw bad(what, 'truncated archive');
    off = bodyStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      pax = paxRecords(body);
      continue;
    }
    if (type === 'g') continue; // global header (git archive puts the commit id here)
    if (type === 'L') {
      longName = text(body, 0, body.length);
      continue;
    }
    if (type === 'K') {
      longLink = text(body, 0, body.length);
      continue;
    }
    if (++entries > limits.maxEntries) throw bad(what, `more than ${limits.maxEntries} entries`);
    const prefix = text(header, 345, 155);
    const rawName = pax.path ?? longName ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
    const linkName = pax.linkpath ?? longLink ?? text(header, 157, 100);
    const mode = octal(header, 100, 8, what);
    pax = {};
    longName = undefined;
    longLink = undefined;
    const rel = safeEntryPath(rawName, what);
    if (rel === undefined) continue; // the root itself
    const target = join(dest, ...rel.split('/'));
    switch (type) {
      case '0':
      case '\0':
      case '7': {
        result.bytes += size;
        if (result.bytes > limits.maxBytes) throw bad(what, `unpacks to more than ${limits.maxBytes} bytes`);
        await mkdir(dirname(target), { recursive: true });
        await removeIfPresent(target);
        await writeFile(target, body, { mode: mode & 0o111 ? 0o755 : 0o644, flag: 'wx' });
        result.files++;
        break;
      }
      case '5':
        await mkdir(target, { recursive: true, mode: 0o755 });
        break;
      case '2':
        if (!linkStaysInside(linkName)) {
          result.skipped.push(`${rel}: a link to "${linkName}" could lead outside the extension`);
          break;
        }
        await mkdir(dirname(target), { recursive: true });
        await removeIfPresent(target);
        await symlink(linkName, target);
        break;
      case '1':
        result.skipped.push(`${rel}: hard links are not unpacked`);
        break;
      default:
        result.skipped.push(`${rel}: not a file, folder or link (tar type "${type}")`);
    }
  }
  return result;
}
