/**
 * The registry's configuration file (YAML, `fuseml-registry serve --config FILE`):
 *
 *   db: /var/lib/fuseml/registry.db          # optional
 *   key_file: /var/lib/fuseml/registry.key   # optional, default next to db
 *   anonymous: reader                        # optional role for callers without a token
 *   anonymous_reveal: false                  # needed for anonymous resolver / admin (they read values)
 *   body_limit: 1048576                      # optional, bytes
 *   tokens:
 *     - name: installer
 *       role: writer
 *       token_sha256: 5e884898…               # or token_file: /path (first line), or token: <plain>
 *     - name: workflow-resolver
 *       role: resolver
 *       token_file: /etc/fuseml/resolver.token
 *       projects: [team-a]
 *       users: [alice]
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { newAjv, schemaErrorWords, valueAt } from '../descriptor/schema.js';
import { parse } from 'yaml';
import { FusemlError, fileError } from '../core/errors.js';
import { MIN_TOKEN_LENGTH, ROLES, digest, tokenEntry, type Role, type TokenEntry } from './auth.js';

export interface RegistryConfig {
  db?: string | undefined;
  key_file?: string | undefined;
  anonymous?: Role | 'none' | undefined;
  anonymous_reveal?: boolean | undefined;
  body_limit?: number | undefined;
  tokens: TokenEntry[];
}

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    db: { type: 'string', minLength: 1 },
    key_file: { type: 'string', minLength: 1 },
    anonymous: { enum: [...ROLES, 'none'] },
    anonymous_reveal: { type: 'boolean' },
    body_limit: { type: 'integer', minimum: 1024, maximum: 104857600 },
    tokens: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'role'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,100}$' },
          role: { enum: [...ROLES] },
          token: { type: 'string', minLength: MIN_TOKEN_LENGTH },
          token_sha256: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
          token_file: { type: 'string', minLength: 1 },
          projects: { type: 'array', items: { type: 'string', minLength: 1 } },
          users: { type: 'array', items: { type: 'string', minLength: 1 } },
        },
        oneOf: [{ required: ['token'] }, { required: ['token_sha256'] }, { required: ['token_file'] }],
      },
    },
  },
} as const;

interface RawToken {
  name: string;
  role: Role;
  token?: string;
  token_sha256?: string;
  token_file?: string;
  projects?: string[];
  users?: string[];
}

export async function loadConfig(file: string): Promise<RegistryConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw fileError('config file', file, err);
  }
  let raw: unknown;
  try {
    raw = parse(text, { uniqueKeys: true, maxAliasCount: 50 }) ?? {};
  } catch (err) {
    throw new FusemlError('VALIDATION', `${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const validate = newAjv().compile(schema);
  if (!validate(raw)) {
    // Messages name fields, never values (the file may hold tokens).
    const msgs = (validate.errors ?? []).flatMap((e) => {
      const w = schemaErrorWords(e, valueAt(raw, e.instancePath), { echo: false });
      return w ? [`${e.instancePath || '/'}: ${w.message}`] : [];
    });
    throw new FusemlError('VALIDATION', `${file}: ${[...new Set(msgs)].join('; ')}`);
  }
  const cfg = raw as { db?: string; key_file?: string; anonymous?: Role | 'none'; anonymous_reveal?: boolean; body_limit?: number; tokens?: RawToken[] };
  const base = dirname(resolve(file));
  const tokens: TokenEntry[] = [];
  for (const t of cfg.tokens ?? []) {
    const p = { name: t.name, role: t.role, projects: t.projects ?? [], users: t.users ?? [] };
    if (t.token_sha256) tokens.push({ ...p, sha256: Buffer.from(t.token_sha256, 'hex') });
    else if (t.token) tokens.push(tokenEntry(p, t.token));
    else if (t.token_file) {
      const path = resolve(base, t.token_file);
      let tok: string;
      try {
        tok = (await readFile(path, 'utf8')).split('\n')[0]?.trim() ?? '';
      } catch (err) {
        throw new FusemlError('USAGE', `token ${t.name}: cannot read ${path}`, { cause: err });
      }
      tokens.push(tokenEntry(p, tok));
    }
  }
  const names = tokens.map((t) => t.name);
  const dupName = names.find((n, i) => names.indexOf(n) !== i);
  if (dupName) throw new FusemlError('VALIDATION', `${file}: token name ${dupName} given twice`);
  return {
    db: cfg.db === undefined ? undefined : resolve(base, cfg.db),
    key_file: cfg.key_file === undefined ? undefined : resolve(base, cfg.key_file),
    anonymous: cfg.anonymous,
    anonymous_reveal: cfg.anonymous_reveal,
    body_limit: cfg.body_limit,
    tokens,
  };
}

export { digest };
