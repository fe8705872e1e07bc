/**
 * Access matrix (issue 10): every role × every route that can return credential values × every kind of scope,
 * against real `fuseml-registry serve` processes with SQLite. The oracle is the hand-written tables below (which
 * set each caller may read), NOT the implementation's scope function. Every set has values no other set has, so a
 * value in a response body that the table does not allow is a leak.
 *
 * Also: re-scoping without the values (issue 10 item 3), the audit line, the revision on equal values, and
 * `--anonymous` roles that can read values.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { run } from '../../src/exec/index.js';
import { REGISTRY_BIN, ROOT, randomToken, startRegistry, type RegistryProcess } from '../helpers/registry.js';

/** The credential sets, one service each (resource r-<id>), each with its own values. */
const SETS = {
  g: { scope: 'global' },
  pa: { scope: 'project', projects: ['team-a'] },
  pb: { scope: 'project', projects: ['team-b'] },
  ua: { scope: 'user', users: ['alice'] },
  uab: { scope: 'user', users: ['alice'], projects: ['team-b'] },
  ubob: { scope: 'user', users: ['bob'] },
} as const;
type SetId = keyof typeof SETS;
const SET_IDS = Object.keys(SETS) as SetId[];
const RUN = randomToken().slice(0, 8);
const value = (id: SetId): string => `VALUE-${id}-${RUN}`;

/** Oracle 1: contexts (project/user, '-' for no user) in which each set may be used. Written by hand. */
const USABLE_IN: Record<SetId, string[]> = {
  g: ['team-a/alice', 'team-a/bob', 'team-a/-', 'team-b/alice', 'team-b/bob', 'team-b/-'],
  pa: ['team-a/alice', 'team-a/bob', 'team-a/-'],
  pb: ['team-b/alice', 'team-b/bob', 'team-b/-'],
  ua: ['team-a/alice', 'team-b/alice'],
  uab: ['team-b/alice'],
  ubob: ['team-a/bob', 'team-b/bob'],
};
const CONTEXTS = ['team-a/alice', 'team-a/bob', 'team-a/-', 'team-b/alice', 'team-b/bob', 'team-b/-'];

interface Caller {
  role: string;
  token?: string;
  projects?: string[];
  users?: string[];
  /** Oracle 2: the sets `?reveal=true` shows in clear; 'forbidden' → 403. Written by hand. */
  reveals: SetId[] | 'forbidden';
  /** Contexts it may resolve for ('all' for admin). */
  resolves: string[] | 'all';
}

const CALLERS: Record<string, Caller> = {
  admin: { role: 'admin', reveals: [...SET_IDS], resolves: 'all' },
  writer: { role: 'writer', reveals: 'forbidden', resolves: [] },
  reader: { role: 'reader', reveals: 'forbidden', resolves: [] },
  'resolver-a-alice': { role: 'resolver', projects: ['team-a'], users: ['alice'], reveals: ['g', 'pa', 'ua'], resolves: ['team-a/alice', 'team-a/-'] },
  'resolver-b-alice': { role: 'resolver', projects: ['team-b'], users: ['alice'], reveals: ['g', 'pb', 'ua', 'uab'], resolves: ['team-b/alice', 'team-b/-'] },
  'resolver-a': { role: 'resolver', projects: ['team-a'], reveals: ['g', 'pa'], resolves: ['team-a/-'] },
  'resolver-b-bob': { role: 'resolver', projects: ['team-b'], users: ['bob'], reveals: ['g', 'pb', 'ubob'], resolves: ['team-b/bob', 'team-b/-'] },
  'resolver-alice-only': { role: 'resolver', users: ['alice'], reveals: ['g', 'ua'], resolves: [] },
};
for (const c of Object.values(CALLERS)) c.token = randomToken();

const CONFIG = `tokens:\n${Object.entries(CALLERS)
  .filter(([name]) => name !== 'admin')
  .map(([name, c]) => `  - { name: ${name}, role: ${c.role}, token: ${c.token}${c.projects ? `, projects: [${c.projects.join(', ')}]` : ''}${c.users ? `, users: [${c.users.join(', ')}]` : ''} }`)
  .join('\n')}\n`;

const RECORD = {
  id: 'ext',
  product: 'p',
  version: '1.0.0',
  services: SET_IDS.map((id) => ({
    id: `svc-${id}`,
    resource: `r-${id}`,
    endpoints: [{ url: `http://svc-${id}.local`, type: 'internal' }],
    credentials: [{ id, ...SETS[id], configuration: { SECRET: value(id) } }],
  })),
};

async function call(reg: RegistryProcess, token: string | undefined, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${reg.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, text: await r.text() };
}

/** Which sets' values appear in a response body. */
function leaked(text: string): SetId[] {
  return SET_IDS.filter((id) => text.includes(value(id)));
}

/** Every read route that can carry credential values, for every set (the set's service and the set itself). */
function readRoutes(reveal: boolean): string[] {
  const q = reveal ? '?reveal=true' : '';
  const routes = [`/extensions${q}`, `/extensions/ext${q}`, `/extensions/ext/services${q}`];
  for (const id of SET_IDS) {
    routes.push(`/extensions/ext/services/svc-${id}${q}`, `/extensions/ext/services/svc-${id}/credentials${q}`, `/extensions/ext/services/svc-${id}/credentials/${id}${q}`);
  }
  return routes;
}

/** The sets a route covers (the whole extension, or one service). */
function setsOf(route: string): SetId[] {
  const m = /services\/svc-(\w+)/.exec(route);
  return m ? [m[1] as SetId] : SET_IDS;
}

function workflow(id: SetId): unknown {
  return { name: 'w', steps: [{ name: 's', extensions: [{ name: 'x', service_resource: `r-${id}` }] }] };
}

function contextBody(ctx: string, id: SetId): Record<string, unknown> {
  const [project, user] = ctx.split('/');
  return { workflow: workflow(id), project, ...(user === '-' ? {} : { user }) };
}

let reg: RegistryProcess;

beforeAll(async () => {
  reg = await startRegistry({ config: CONFIG });
  CALLERS.admin!.token = reg.adminToken;
  const put = await call(reg, reg.adminToken, 'PUT', '/extensions/ext/record', RECORD);
  expect(put.status).toBe(201);
  expect(leaked(put.text)).toEqual([]);
}, 60_000);

afterAll(async () => {
  await reg?.cleanup();
});

describe('access matrix: role × route × scope (real server, SQLite)', () => {
  test('without ?reveal no route returns any value, for every role', async () => {
    for (const [name, c] of Object.entries(CALLERS)) {
      for (const route of readRoutes(false)) {
        const r = await call(reg, c.token, 'GET', route);
        expect([name, route, r.status]).toEqual([name, route, 200]);
        expect([name, route, leaked(r.text)]).toEqual([name, route, []]);
      }
    }
  });

  test('?reveal=true shows exactly the sets of the oracle table, on every route; 403 for roles without reveal', async () => {
    let checked = 0;
    for (const [name, c] of Object.entries(CALLERS)) {
      for (const route of readRoutes(true)) {
        const r = await call(reg, c.token, 'GET', route);
        if (c.reveals === 'forbidden') {
          expect([name, route, r.status]).toEqual([name, route, 403]);
          expect(leaked(r.text)).toEqual([]);
        } else {
          expect([name, route, r.status]).toEqual([name, route, 200]);
          const want = setsOf(route).filter((id) => (c.reveals as SetId[]).includes(id));
          expect([name, route, leaked(r.text)]).toEqual([name, route, want]);
        }
        checked++;
      }
    }
    expect(checked).toBe(Object.keys(CALLERS).length * readRoutes(true).length);
  });

  test('POST /workflows/resolve: values only in the contexts of the oracle table; other contexts and roles 403', async () => {
    let granted = 0;
    for (const [name, c] of Object.entries(CALLERS)) {
      for (const ctx of CONTEXTS) {
        for (const id of SET_IDS) {
          const r = await call(reg, c.token, 'POST', '/workflows/resolve', contextBody(ctx, id));
          const mayResolve = c.resolves === 'all' || c.resolves.includes(ctx);
          if (!mayResolve) {
            expect([name, ctx, id, r.status]).toEqual([name, ctx, id, 403]);
            expect(leaked(r.text)).toEqual([]);
            continue;
          }
          const usable = USABLE_IN[id].includes(ctx);
          expect([name, ctx, id, r.status]).toEqual([name, ctx, id, usable ? 200 : 422]);
          expect([name, ctx, id, leaked(r.text)]).toEqual([name, ctx, id, usable ? [id] : []]);
          granted++;
        }
      }
    }
    expect(granted).toBeGreaterThan(60);
  });

  test('PUT /extensions/{id}/record answers without values, for the writer as for the admin', async () => {
    const masked = JSON.parse((await call(reg, CALLERS.reader!.token, 'GET', '/extensions/ext')).text);
    for (const name of ['writer', 'admin']) {
      const r = await call(reg, CALLERS[name]!.token, 'PUT', '/extensions/ext/record', masked);
      expect([name, r.status]).toEqual([name, 200]);
      expect(leaked(r.text)).toEqual([]);
    }
  });
});

describe('re-scoping credentials needs their values or the right to read them (issue 10 item 3)', () => {
  const path = '/extensions/ext/services/svc-pa/credentials/pa';

  test('a writer cannot widen a set without sending its values; a team-b resolver still cannot read it', async () => {
    const before = JSON.parse((await call(reg, reg.adminToken, 'GET', path)).text);
    const r = await call(reg, CALLERS.writer!.token, 'PUT', path, { projects: ['team-a', 'team-b'] });
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/needs the right to read their values/);
    const r2 = await call(reg, CALLERS.writer!.token, 'PUT', path, { projects: ['team-a', 'team-b'], configuration: { SECRET: '<hidden>' } });
    expect(r2.status).toBe(403);
    const r3 = await call(reg, CALLERS.writer!.token, 'PUT', `/extensions/ext/services/svc-pa/credentials/pa`, { scope: 'global' });
    expect(r3.status).toBe(403);
    // whole-record upsert path: the same rule
    const masked = JSON.parse((await call(reg, CALLERS.writer!.token, 'GET', '/extensions/ext')).text);
    masked.services.find((s: { id: string }) => s.id === 'svc-pa').credentials[0].projects = ['team-a', 'team-b'];
    expect((await call(reg, CALLERS.writer!.token, 'PUT', '/extensions/ext/record', masked)).status).toBe(403);
    const read = await call(reg, CALLERS['resolver-b-bob']!.token, 'GET', `${path}?reveal=true`);
    expect(leaked(read.text)).toEqual([]);
    expect(JSON.parse((await call(reg, reg.adminToken, 'GET', path)).text).revision).toBe(before.revision);
  });

  test('with every value sent again a writer may re-scope (the old values are gone); audited without values', async () => {
    const r = await call(reg, CALLERS.writer!.token, 'PUT', path, { projects: ['team-a', 'team-b'], configuration: { SECRET: `NEW-${RUN}` } });
    expect(r.status).toBe(200);
    const seen = await call(reg, CALLERS['resolver-b-bob']!.token, 'GET', `${path}?reveal=true`);
    expect(seen.text).toContain(`NEW-${RUN}`);
    expect(leaked(seen.text)).toEqual([]);
    // an admin may re-scope without the values
    const back = await call(reg, reg.adminToken, 'PUT', path, { projects: ['team-a'] });
    expect(back.status).toBe(200);
    await expect.poll(() => reg.stderr.filter((l) => l.includes('audit')).length).toBeGreaterThanOrEqual(2);
    const audit = reg.stderr.filter((l) => l.includes('"credentials-rescope"'));
    expect(audit).toContainEqual(expect.stringContaining('"actor":"writer"'));
    expect(audit).toContainEqual(expect.stringMatching(/"actor":"env-admin".*"from":"project projects=\[team-a,team-b\]","to":"project projects=\[team-a\]"/));
    expect(audit.join('\n')).not.toContain(`NEW-${RUN}`);
    expect(audit.join('\n')).not.toContain('VALUE-');
  });

  test('sending the value already stored still bumps the revision (no guessing oracle)', async () => {
    const p = '/extensions/ext/services/svc-g/credentials/g';
    const rev = JSON.parse((await call(reg, reg.adminToken, 'GET', p)).text).revision as number;
    const wrong = await call(reg, CALLERS.writer!.token, 'PUT', p, { configuration: { SECRET: 'a wrong guess' } });
    expect(JSON.parse(wrong.text).revision).toBe(rev + 1);
    const right = await call(reg, CALLERS.writer!.token, 'PUT', p, { configuration: { SECRET: 'a wrong guess' } });
    expect(JSON.parse(right.text).revision).toBe(rev + 2);
    const restore = await call(reg, CALLERS.writer!.token, 'PUT', p, { configuration: { SECRET: value('g') } });
    expect(restore.status).toBe(200);
  });
});

describe('--anonymous roles', () => {
  test.each(['reader', 'writer'])('anonymous %s: reads without values, 403 on reveal and resolve', async (role) => {
    const anon = await startRegistry({ args: ['--anonymous', role] });
    try {
      expect((await call(anon, anon.adminToken, 'PUT', '/extensions/ext/record', RECORD)).status).toBe(201);
      for (const route of readRoutes(false)) expect(leaked((await call(anon, undefined, 'GET', route)).text)).toEqual([]);
      for (const route of readRoutes(true)) expect((await call(anon, undefined, 'GET', route)).status).toBe(403);
      expect((await call(anon, undefined, 'POST', '/workflows/resolve', contextBody('team-a/-', 'g'))).status).toBe(403);
    } finally {
      await anon.cleanup();
    }
  });

  test.each(['resolver', 'admin'])('--anonymous %s refuses to start without --anonymous-reveal (exit 2)', async (role) => {
    const r = await run(process.execPath, [REGISTRY_BIN, 'serve', '--port', '0', '--db', '/nonexistent/never/created.db', '--anonymous', role], {
      cwd: ROOT,
      allowFailure: true,
      timeoutMs: 30_000,
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`--anonymous ${role}: this role can read credential values`));
    expect(r.stderr).toMatch(/--anonymous-reveal/);
  });

  test('--anonymous admin --anonymous-reveal: warns; callers without a token read everything', async () => {
    const anon = await startRegistry({ args: ['--anonymous', 'admin', '--anonymous-reveal'] });
    try {
      expect(anon.stderr.join('\n')).toMatch(/warning: --anonymous admin --anonymous-reveal: callers WITHOUT a token may read credential values \(all of them\)/);
      expect((await call(anon, undefined, 'PUT', '/extensions/ext/record', RECORD)).status).toBe(201);
      expect(leaked((await call(anon, undefined, 'GET', '/extensions/ext?reveal=true')).text)).toEqual(SET_IDS);
    } finally {
      await anon.cleanup();
    }
  });

  test('--anonymous resolver --anonymous-reveal: warns; callers without a token read global values only', async () => {
    const anon = await startRegistry({ args: ['--anonymous', 'resolver', '--anonymous-reveal'] });
    try {
      expect(anon.stderr.join('\n')).toMatch(/warning: --anonymous resolver --anonymous-reveal: callers WITHOUT a token may read credential values/);
      expect((await call(anon, anon.adminToken, 'PUT', '/extensions/ext/record', RECORD)).status).toBe(201);
      for (const route of readRoutes(true)) {
        const r = await call(anon, undefined, 'GET', route);
        expect([route, leaked(r.text)]).toEqual([route, setsOf(route).filter((id) => id === 'g')]);
      }
    } finally {
      await anon.cleanup();
    }
  });
});
