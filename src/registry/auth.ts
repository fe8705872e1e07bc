/**
 * Bearer-token authentication and roles.
 *
 *   admin     everything, and may read credential values (explicitly asked for)
 *   writer    register / update / deregister; reads with credential values masked
 *   reader    list / get with credential values masked
 *   resolver  like reader, and may read the values of credentials in its scope: those usable in one of the
 *             token's (project, user) contexts by the one scope rule, src/core/scope.ts (the workflow
 *             resolver's token)
 *
 * `anonymous` gives callers without a token a role; a role that can read values (admin, resolver) only
 * with an explicit opt-in (serve --anonymous-reveal).
 *
 * Tokens are kept only as SHA-256 digests and compared in constant time.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import { FusemlError } from '../core/errors.js';
import type { CredentialsRecord } from '../core/records.js';
import { grantAllows } from '../core/scope.js';
import type { CredentialScopeFilter } from './store/types.js';

export const ROLES = ['admin', 'writer', 'reader', 'resolver'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  name: string;
  role: Role;
  /** For resolver tokens: whose credentials it may see. */
  projects: readonly string[];
  users: readonly string[];
}

export interface TokenEntry extends Principal {
  sha256: Buffer;
}

export interface AuthConfig {
  tokens: readonly TokenEntry[];
  /** Role of callers that send no token; undefined → 401. */
  anonymous?: Role | undefined;
}

export const MIN_TOKEN_LENGTH = 16;

export function digest(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}

export function tokenEntry(p: Omit<Principal, 'projects' | 'users'> & Partial<Principal>, token: string): TokenEntry {
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new FusemlError('USAGE', `token ${p.name}: too short (at least ${MIN_TOKEN_LENGTH} characters)`, { hint: 'generate one with: openssl rand -hex 24' });
  }
  return { name: p.name, role: p.role, projects: p.projects ?? [], users: p.users ?? [], sha256: digest(token) };
}

/** Outcome of looking at a request's Authorization header. */
export type AuthResult = { ok: true; principal: Principal } | { ok: false; status: 401; message: string };

export function authenticate(config: AuthConfig, authorization: string | undefined): AuthResult {
  if (authorization === undefined || authorization === '') {
    if (config.anonymous) return { ok: true, principal: { name: 'anonymous', role: config.anonymous, projects: [], users: [] } };
    return { ok: false, status: 401, message: 'authentication required: send Authorization: Bearer <token>' };
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m?.[1]) return { ok: false, status: 401, message: 'unsupported Authorization header: use Bearer <token>' };
  const presented = digest(m[1]);
  let found: TokenEntry | undefined;
  // Compare against every entry, in constant time each, so timing says nothing about which matched.
  for (const entry of config.tokens) {
    if (timingSafeEqual(presented, entry.sha256) && !found) found = entry;
  }
  if (!found) return { ok: false, status: 401, message: 'invalid token' };
  return { ok: true, principal: { name: found.name, role: found.role, projects: found.projects, users: found.users } };
}

/** Roles that can read credential values (in some scope). */
export function canReveal(role: Role): boolean {
  return role === 'admin' || role === 'resolver';
}

export function canWrite(p: Principal): boolean {
  return p.role === 'admin' || p.role === 'writer';
}

/** `p` as a writer: its name, and whether it may read a credential set's values (the scope rule of src/core/scope.ts). */
export function actorOf(p: Principal): { name: string; mayReveal(c: CredentialsRecord): boolean } {
  const scope = revealScope(p);
  return { name: p.name, mayReveal: (c) => scope === 'all' || (scope !== undefined && grantAllows(c, scope)) };
}

/** Which credential values `p` may see when it asks for them; undefined: none. */
export function revealScope(p: Principal): 'all' | CredentialScopeFilter | undefined {
  if (p.role === 'admin') return 'all';
  if (p.role === 'resolver') return { projects: p.projects, users: p.users };
  return undefined;
}
