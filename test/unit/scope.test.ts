/**
 * The one credential-scope rule (src/core/scope.ts), pinned by a literal table: each row is a credential set,
 * a caller context and the answer written by hand from docs/registry.md ("Credential scope").
 */
import { describe, expect, test } from 'vitest';
import type { CredentialScope } from '../../src/core/records.js';
import { describeScope, grantAllows, sameScope, scopeAllows } from '../../src/core/scope.js';

type Row = [CredentialScope, string[], string[], string | undefined, string | undefined, boolean];
// scope, projects, users, ctx.project, ctx.user, allowed
const TABLE: Row[] = [
  ['global', [], [], undefined, undefined, true],
  ['global', ['A'], ['alice'], 'B', 'bob', true],
  ['project', ['A'], [], 'A', undefined, true],
  ['project', ['A'], [], 'A', 'bob', true],
  ['project', ['A'], [], 'B', undefined, false],
  ['project', ['A'], [], undefined, 'alice', false],
  ['project', [], [], 'A', undefined, false], // project-scoped without projects: nobody
  ['project', [], ['alice'], 'A', 'alice', false],
  ['project', ['A', 'B'], [], 'B', undefined, true],
  ['user', [], ['alice'], 'A', 'alice', true],
  ['user', [], ['alice'], undefined, 'alice', true],
  ['user', [], ['alice'], 'A', 'bob', false],
  ['user', [], ['alice'], 'A', undefined, false],
  ['user', ['A'], ['alice'], 'A', 'alice', true], // user AND one of the projects
  ['user', ['A'], ['alice'], 'B', 'alice', false], // issue 10 item 4: alice's team-b set is not for team-a
  ['user', ['A'], ['alice'], undefined, 'alice', false],
  ['user', ['A'], ['alice'], 'A', 'bob', false],
  ['user', ['A'], [], 'A', 'alice', false], // no users: nobody
  ['user', [], [], 'A', 'alice', false],
];

describe('scopeAllows', () => {
  test.each(TABLE)('%s projects=%j users=%j, caller project=%s user=%s → %s', (scope, projects, users, project, user, allowed) => {
    expect(scopeAllows({ scope, projects, users }, { project, user })).toBe(allowed);
  });
});

describe('grantAllows (a token listing projects and users)', () => {
  const userAB = { scope: 'user' as const, users: ['alice'], projects: ['team-b'] };
  test('a team-a resolver for alice does not get alice\'s team-b set', () => {
    expect(grantAllows(userAB, { projects: ['team-a'], users: ['alice'] })).toBe(false);
    expect(grantAllows(userAB, { projects: ['team-a', 'team-b'], users: ['alice'] })).toBe(true);
    expect(grantAllows(userAB, { projects: ['team-b'], users: ['bob'] })).toBe(false);
    expect(grantAllows(userAB, { projects: [], users: ['alice'] })).toBe(false);
  });
  test('a grant with no projects and no users (anonymous) gets global sets only', () => {
    const none = { projects: [], users: [] };
    expect(grantAllows({ scope: 'global' }, none)).toBe(true);
    expect(grantAllows({ scope: 'project', projects: ['A'] }, none)).toBe(false);
    expect(grantAllows({ scope: 'user', users: ['alice'] }, none)).toBe(false);
  });
  test('project-scoped sets: one listed project is enough; none listed: nobody', () => {
    expect(grantAllows({ scope: 'project', projects: ['A'] }, { projects: ['B', 'A'], users: [] })).toBe(true);
    expect(grantAllows({ scope: 'project', projects: [] }, { projects: ['A', 'B'], users: ['alice'] })).toBe(false);
  });
});

describe('sameScope / describeScope', () => {
  test('order and duplicates do not matter; scope, users and projects do', () => {
    expect(sameScope({ scope: 'project', projects: ['a', 'b'] }, { scope: 'project', projects: ['b', 'a', 'a'] })).toBe(true);
    expect(sameScope({ scope: 'project', projects: ['a'] }, { scope: 'project', projects: ['a', 'b'] })).toBe(false);
    expect(sameScope({ scope: 'user', users: ['x'] }, { scope: 'project', users: ['x'] })).toBe(false);
    expect(describeScope({ scope: 'user', users: ['alice'], projects: ['A'] })).toBe('user users=[alice] projects=[A]');
  });
});
