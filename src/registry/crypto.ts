/**
 * Encryption at rest for credential values: AES-256-GCM (node:crypto), a fresh
 * 96-bit IV per value, the record's location as additional authenticated data
 * so a ciphertext cannot be moved to another credential. The key comes from the
 * env var FUSEML_REGISTRY_KEY or a key file (generated with mode 0600 on first
 * start, never next to an existing database). The key is never logged, printed or put in an error message.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FusemlError } from '../core/errors.js';

export const KEY_ENV = 'FUSEML_REGISTRY_KEY';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const PREFIX = 'v1:';

/** Parses a key given as base64 or 64 hex digits. */
export function parseKey(text: string, source: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== KEY_BYTES || (!/^[0-9a-fA-F]{64}$/.test(t) && !/^[A-Za-z0-9+/]+={0,2}$/.test(t))) {
    throw new FusemlError('USAGE', `${source}: not a 256-bit key`, {
      hint: 'give 32 random bytes as base64 (openssl rand -base64 32) or as 64 hex digits',
    });
  }
  return key;
}

export interface KeySource {
  keyFile: string;
  env?: NodeJS.ProcessEnv;
  /**
   * The database the key is for. When it exists and no key is found, loading fails instead of generating
   * a key: a new key next to existing data is always the wrong key.
   */
  database?: string | undefined;
  /** Generate the key file when it is missing (and `database` does not exist); default true. */
  create?: boolean;
}

function keyFileError(file: string, err: unknown): FusemlError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'EISDIR' ? 'is a directory, not a key file'
    : code === 'EACCES' || code === 'EPERM' ? 'cannot be read (permission denied)'
    : code === 'ENOTDIR' ? 'is not reachable (a part of its path is not a directory)'
    : code === 'ELOOP' ? 'is not reachable (too many symbolic links)'
    : `cannot be read (${code ?? 'error'})`;
  return new FusemlError('USAGE', `key file ${file} ${why}`, {
    hint: 'give the file holding the registry key (--key-file, key_file in the config) or set FUSEML_REGISTRY_KEY',
    cause: err,
  });
}

/** Reads and checks the key file; undefined when it does not exist. */
export async function readKeyFile(file: string): Promise<Buffer | undefined> {
  let text: string;
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    text = await readFile(file, 'utf8');
    if ((st.mode & 0o077) !== 0) {
      throw new FusemlError('USAGE', `key file ${file} is readable by group or others`, { hint: `chmod 600 ${file}` });
    }
  } catch (err) {
    if (err instanceof FusemlError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw keyFileError(file, err);
  }
  return parseKey(text, `key file ${file}`);
}

/** A short, non-secret name of a key (first 16 hex digits of its SHA-256), to tell keys apart in messages. */
export function keyFingerprint(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/**
 * Loads the key from env or file. When neither exists, generates the file (0600) unless `database` exists
 * (then: an error naming both paths, and no file is written) or `create` is false.
 */
export async function loadOrCreateKey(source: KeySource): Promise<{ key: Buffer; origin: string; generated: boolean }> {
  const fromEnv = (source.env ?? process.env)[KEY_ENV];
  if (fromEnv) return { key: parseKey(fromEnv, KEY_ENV), origin: `env ${KEY_ENV}`, generated: false };
  const existing = await readKeyFile(source.keyFile);
  if (existing) return { key: existing, origin: `file ${source.keyFile}`, generated: false };
  if (source.database !== undefined && existsSync(source.database)) {
    throw new FusemlError('USAGE', `the key file ${source.keyFile} does not exist, but the database ${source.database} does: refusing to generate a new key (it could not decrypt the stored credentials)`, {
      hint: `restore the key file the database was created with, point --key-file at it, or set ${KEY_ENV}`,
    });
  }
  if (source.create === false) {
    throw new FusemlError('USAGE', `the key file ${source.keyFile} does not exist`, { hint: `create one with: openssl rand -base64 32 > ${source.keyFile}; chmod 600 ${source.keyFile}` });
  }
  const key = randomBytes(KEY_BYTES);
  try {
    await mkdir(dirname(source.keyFile), { recursive: true, mode: 0o700 });
    await writeFile(source.keyFile, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateKey(source);
    throw keyFileError(source.keyFile, err);
  }
  return { key, origin: `file ${source.keyFile}`, generated: true };
}

/**
 * Random bytes for IVs, cut from a 4 KiB block of the system CSPRNG (one getrandom per ~340 IVs instead of one
 * per encryption). Each IV is used once: the pool never hands out the same bytes twice.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;
function ivBytes(n: number): Buffer {
  if (poolOffset + n > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const out = Buffer.from(pool.subarray(poolOffset, poolOffset + n));
  poolOffset += n;
  return out;
}

export class Cipher {
  readonly #key: Buffer;
  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new FusemlError('INTERNAL', 'encryption key must be 32 bytes');
    this.#key = Buffer.from(key);
  }

  encrypt(plain: string, aad: string): string {
    const iv = ivBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.#key, iv);
    c.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return PREFIX + Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64');
  }

  decrypt(sealed: string, aad: string): string {
    if (!sealed.startsWith(PREFIX)) throw new FusemlError('INTERNAL', 'stored credentials: unknown encryption format');
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    try {
      const d = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_BYTES));
      d.setAAD(Buffer.from(aad, 'utf8'));
      d.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([d.update(raw.subarray(IV_BYTES + TAG_BYTES)), d.final()]).toString('utf8');
    } catch {
      throw new FusemlError('INTERNAL', 'stored credentials cannot be decrypted (wrong key or corrupted data)');
    }
  }
}
