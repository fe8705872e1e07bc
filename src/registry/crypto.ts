/**
 * Encryption at rest for credential values: AES-256-GCM (node:crypto), a fresh
 * 96-bit IV per value, the record's location as additional authenticated data
 * so a ciphertext cannot be moved to another credential. The key comes from the
 * env var FUSEML_REGISTRY_KEY or a key file (generated with mode 0600 on first
 * start). The key is never logged, printed or put in an error message.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
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
}

/** Loads the key from env or file, generating the file (0600) when neither exists. */
export async function loadOrCreateKey(source: KeySource): Promise<{ key: Buffer; origin: string; generated: boolean }> {
  const fromEnv = (source.env ?? process.env)[KEY_ENV];
  if (fromEnv) return { key: parseKey(fromEnv, KEY_ENV), origin: `env ${KEY_ENV}`, generated: false };
  try {
    const text = await readFile(source.keyFile, 'utf8');
    const st = await stat(source.keyFile);
    if ((st.mode & 0o077) !== 0) {
      throw new FusemlError('USAGE', `key file ${source.keyFile} is readable by group or others`, { hint: `chmod 600 ${source.keyFile}` });
    }
    return { key: parseKey(text, `key file ${source.keyFile}`), origin: `file ${source.keyFile}`, generated: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = randomBytes(KEY_BYTES);
  await mkdir(dirname(source.keyFile), { recursive: true, mode: 0o700 });
  try {
    await writeFile(source.keyFile, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateKey(source);
    throw err;
  }
  return { key, origin: `file ${source.keyFile}`, generated: true };
}

export class Cipher {
  readonly #key: Buffer;
  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new FusemlError('INTERNAL', 'encryption key must be 32 bytes');
    this.#key = Buffer.from(key);
  }

  encrypt(plain: string, aad: string): string {
    const iv = randomBytes(IV_BYTES);
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
