/**
 * Durability (issues 10 and 16): a real `fuseml-registry serve` over SQLite, killed with SIGKILL again and again
 * while several clients write concurrently. Every write acknowledged (2xx) before a kill must be there, with its
 * credential value, after the restart; SQLite's integrity check (fuseml-registry doctor) stays clean. The second
 * test loads the group commit: 24 writers at once (many writes per commit), some of them failing (409) inside
 * the same groups, killed mid-group.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { run } from '../../src/exec/index.js';
import { REGISTRY_BIN, ROOT, randomToken, startRegistry, type RegistryProcess } from '../helpers/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'fuseml-durability-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROUNDS = 6;
const WRITERS = 6;
const adminToken = randomToken();

async function write(reg: RegistryProcess, method: string, path: string, body: unknown): Promise<number> {
  return (await writeAs(reg, adminToken, method, path, body)).status;
}

async function writeAs(reg: RegistryProcess, token: string, method: string, path: string, body: unknown): Promise<{ status: number }> {
  const r = await fetch(`${reg.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await r.text();
  return { status: r.status };
}

/** Runs doctor on a stopped registry's files: integrity ok, every credential decrypts. */
async function doctor(where: string): Promise<void> {
  const d = await run(process.execPath, [REGISTRY_BIN, 'doctor', '--db', join(where, 'registry.db'), '--key-file', join(where, 'registry.key')], {
    cwd: ROOT,
    env: { FUSEML_REGISTRY_KEY: undefined },
    allowFailure: true,
    timeoutMs: 60_000,
  });
  expect(d.stdout).toMatch(/0 undecryptable credential set\(s\), integrity ok/);
  expect(d.exitCode).toBe(0);
}

test('SIGKILL during concurrent writes, repeatedly: 0 acknowledged writes lost, integrity ok', async () => {
  /** Acknowledged state: extension id → the credential value its last acknowledged write set. */
  const acked = new Map<string, string>();
  /** Writes sent whose answer never came (the server died): they may or may not have been applied. */
  const inFlight = new Map<string, string>();
  let acknowledged = 0;
  let failedInFlight = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const reg = await startRegistry({ dir, adminToken });
    let stop = false;
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const id = `r${round}-w${w}-${i}`;
        const value = `v-${id}`;
        try {
          // A create, then an update of the credential value of an earlier extension (read-modify-write path).
          inFlight.set(id, value);
          if ((await write(reg, 'PUT', `/extensions/${id}/record`, { id, services: [{ id: 's', credentials: [{ id: 'c', scope: 'global', configuration: { K: value } }] }] })) === 201) {
            acked.set(id, value);
            acknowledged++;
          }
          inFlight.delete(id);
          if (i > 0) {
            const prev = `r${round}-w${w}-${i - 1}`;
            const next = `${value}-updated`;
            inFlight.set(prev, next);
            if ((await write(reg, 'PUT', `/extensions/${prev}/services/s/credentials/c`, { configuration: { K: next } })) === 200) {
              acked.set(prev, next);
              acknowledged++;
            }
            inFlight.delete(prev);
          }
        } catch {
          failedInFlight++; // the connection died with the server: not acknowledged
          return;
        }
      }
    });
    await new Promise((r) => setTimeout(r, 1200 + round * 200));
    process.kill(reg.pid, 'SIGKILL');
    stop = true;
    await Promise.all(writers);
    try {
      await reg.stop(); // the process is gone: only reaps it
    } catch {
      // ESRCH: already dead
    }
  }

  const reg = await startRegistry({ dir, adminToken });
  try {
    const r = await fetch(`${reg.url}/extensions?reveal=true`, { headers: { authorization: `Bearer ${adminToken}` } });
    const all = (await r.json()) as { id: string; services: { credentials: { configuration: { K: string } }[] }[] }[];
    const stored = new Map(all.map((e) => [e.id, e.services[0]?.credentials[0]?.configuration.K]));
    // Lost: the stored value is neither the last acknowledged one nor that of a write cut off by the kill.
    const lost = [...acked].filter(([id, value]) => stored.get(id) !== value && stored.get(id) !== inFlight.get(id));
    expect(acknowledged).toBeGreaterThan(60);
    expect(failedInFlight).toBeGreaterThan(0);
    expect({ acknowledged, lost: lost.length }).toEqual({ acknowledged, lost: 0 });
    console.log(`durability: ${ROUNDS} SIGKILLs, ${acknowledged} acknowledged writes, ${lost.length} lost, ${failedInFlight} in flight at a kill`);
  } finally {
    await reg.stop();
  }
  await doctor(dir);
}, 240_000);

test('group commit: 24 concurrent writers, failing writes inside the groups, SIGKILL mid-group: 0 acknowledged writes lost', async () => {
  const gdir = mkdtempSync(join(tmpdir(), 'fuseml-durability-group-'));
  const token = randomToken();
  const GROUP_WRITERS = 24;
  /** id → the value of its acknowledged create. */
  const acked = new Map<string, string>();
  /** Duplicate creates (answered 409): their value must never be stored. */
  const refused = new Map<string, string>();
  const unanswered = new Set<string>();
  let kills = 0;
  try {
    for (let round = 0; round < 4; round++) {
      const reg = await startRegistry({ dir: gdir, adminToken: token, args: ['--max-concurrent', '64'] });
      let stop = false;
      const writers = Array.from({ length: GROUP_WRITERS }, async (_, w) => {
        for (let i = 0; !stop; i++) {
          // Every third request of a writer re-creates its previous id: a 409 that shares its group with others.
          const dup = i % 3 === 2 && acked.has(`g${round}-w${w}-${i - 1}`);
          const id = dup ? `g${round}-w${w}-${i - 1}` : `g${round}-w${w}-${i}`;
          const value = `${dup ? 'dup' : 'v'}-${round}-${w}-${i}`;
          try {
            unanswered.add(value);
            const { status } = await writeAs(reg, token, 'POST', '/extensions', { id, services: [{ id: 's', credentials: [{ id: 'c', scope: 'global', configuration: { K: value } }] }] });
            unanswered.delete(value);
            if (status === 201) acked.set(id, value);
            else if (status === 409) refused.set(id, value);
            else throw new Error(`unexpected HTTP ${status}`);
          } catch (err) {
            if (String(err).includes('unexpected HTTP')) throw err;
            return; // the server died with this request in flight
          }
        }
      });
      await new Promise((r) => setTimeout(r, 1500 + round * 300));
      process.kill(reg.pid, 'SIGKILL');
      kills++;
      stop = true;
      await Promise.all(writers);
      try {
        await reg.stop(); // the process is gone: only reaps it
      } catch {
        // ESRCH: already dead
      }
    }
    const reg = await startRegistry({ dir: gdir, adminToken: token });
    try {
      const all = (await (await fetch(`${reg.url}/extensions?reveal=true`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        id: string;
        services: { credentials: { configuration: { K: string } }[] }[];
      }[];
      const stored = new Map(all.map((e) => [e.id, e.services[0]?.credentials[0]?.configuration.K]));
      const lost = [...acked].filter(([id, value]) => stored.get(id) !== value);
      const overwritten = [...refused].filter(([id, value]) => stored.get(id) === value);
      const phantom = [...stored].filter(([id, value]) => !acked.has(id) && !unanswered.has(value as string));
      expect(acked.size).toBeGreaterThan(100);
      expect(refused.size).toBeGreaterThan(10);
      expect({ lost: lost.length, overwritten: overwritten.length, phantom: phantom.length }).toEqual({ lost: 0, overwritten: 0, phantom: 0 });
      console.log(`group-commit durability: ${kills} SIGKILLs, ${acked.size} acknowledged creates, ${refused.size} refused duplicates, ${lost.length} lost`);
    } finally {
      await reg.stop();
    }
    await doctor(gdir);
  } finally {
    rmSync(gdir, { recursive: true, force: true });
  }
}, 240_000);
