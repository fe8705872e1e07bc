/**
 * The credential-scope rule, once: who may use (and so read the values of) a credential set.
 * Every path asks this module: the resolver (./resolve.ts), the stores' scoped queries and
 * `?reveal=true` for resolver tokens (src/registry). docs/registry.md has the table.
 *
 * For one caller context {project?, user?}:
 *   global                      everyone
 *   project, projects P         a caller in a project of P; P empty → nobody
 *   user, users U, no projects  a caller who is a user of U (in any project)
 *   user, users U, projects P   a caller who is a user of U AND in a project of P (both)
 *   users U empty               nobody
 *
 * A grant (a resolver token's projects and users) may act as any context it lists: one of
 * its projects (or none) with one of its users (or none); a set is in a grant when it is
 * usable in one of those contexts.
 */
import type { CredentialScope } from './records.js';

/** The fields of a credential set that decide its scope. */
export interface Scoped {
  scope: CredentialScope;
  projects?: readonly string[] | undefined;
  users?: readonly string[] | undefined;
}

/** One caller: the project it works in and the user it acts for, when known. */
export interface ScopeContext {
  project?: string | undefined;
  user?: string | undefined;
}

/** What a token may act as: its projects and users (empty: none). */
export interface ScopeGrant {
  projects: readonly string[];
  users: readonly string[];
}

/** Whether a caller in `ctx` may use the credential set `c`. */
export function scopeAllows(c: Scoped, ctx: ScopeContext): boolean {
  const projects = c.projects ?? [];
  const users = c.users ?? [];
  switch (c.scope) {
    case 'global':
      return true;
    case 'project':
      return ctx.project !== undefined && projects.includes(ctx.project);
    case 'user':
      if (ctx.user === undefined || !users.includes(ctx.user)) return false;
      return projects.length === 0 || (ctx.project !== undefined && projects.includes(ctx.project));
    default:
      return false;
  }
}

/** Whether `c` is usable in one of the contexts `grant` may act as. */
export function grantAllows(c: Scoped, grant: ScopeGrant): boolean {
  const projects: (string | undefined)[] = grant.projects.length > 0 ? [...grant.projects] : [undefined];
  const users: (string | undefined)[] = grant.users.length > 0 ? [...grant.users] : [undefined];
  return projects.some((project) => users.some((user) => scopeAllows(c, { project, user })));
}

/** Whether no caller at all may use `c` (a project scope listing no project, a user scope listing no user). */
export function admitsNobody(c: Scoped): boolean {
  if (c.scope === 'project') return (c.projects ?? []).length === 0;
  if (c.scope === 'user') return (c.users ?? []).length === 0;
  return false;
}

/** Whether two credential sets have the same scope, users and projects (order and duplicates ignored). */
export function sameScope(a: Scoped, b: Scoped): boolean {
  const set = (xs: readonly string[] | undefined): string => [...new Set(xs ?? [])].sort().join('\n');
  return a.scope === b.scope && set(a.projects) === set(b.projects) && set(a.users) === set(b.users);
}

/** `user users=[alice] projects=[team-a]`, for audit lines and messages (names only, never values). */
export function describeScope(c: Scoped): string {
  const parts: string[] = [c.scope];
  if ((c.users ?? []).length > 0) parts.push(`users=[${(c.users ?? []).join(',')}]`);
  if ((c.projects ?? []).length > 0) parts.push(`projects=[${(c.projects ?? []).join(',')}]`);
  return parts.join(' ');
}
