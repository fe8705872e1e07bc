#!/usr/bin/env node
/**
 * Durability under the write load (issue 16): the real `fuseml-registry serve` (SQLite, the log fsynced before a write is answered,
 * group commit) receives creates from 24 concurrent writers — many writes per commit — and is killed with
 * SIGKILL mid-load, several times. After each restart every acknowledged (201) write must be there with the value
 * it was acknowledged with. Reports acknowledged writes, lost ones (target 0) and the machine load.
 *
 * Run through `npm run bench` (or `node bench/run.mjs registry-durability`). Knobs (env): BENCH_KILLS (5),
 * BENCH_WRITERS (24).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './serve.mjs';

const KILLS = Number(process.env.BENCH_KILLS ?? 5);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 24);
const dir = await mkdtemp(join(tmpdir(), 'fuseml-durability-bench-'));
const token = randomBytes(24).toString('hex');

/** The server on the bench's directory (same database and key after every restart). */
function start() {
  return startServer(['--max-concurrent', '64'], { dir, token, startTimeoutMs: 30_000 });
}

function call(url, method, path, body) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const acked = new Map();
let unanswered = 0;
const loadStart = loadavg()[0];
try {
  for (let round = 0; round < KILLS; round++) {
    const srv = await start();
    let stop = false;
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const id = `k${round}-w${w}-${i}`;
        const value = randomBytes(8).toString('hex');
        const body = JSON.stringify({ id, services: [{ id: 's', credentials: [{ id: 'c', scope: 'global', configuration: { K: value } }] }] });
        try {
          const r = await call(srv.url, 'POST', '/extensions', body);
          if (r.status !== 201) throw new Error(`HTTP ${r.status}: ${r.text.slice(0, 200)}`);
          acked.set(id, value);
        } catch (err) {
          if (String(err).includes('HTTP ')) throw err;
          unanswered++;
          return;
        }
      }
    });
    // Kill at a random moment once this round's writes are flowing (at least 50 acknowledged).
    const before = acked.size;
    const until = Date.now() + 1500 + Math.random() * 1500;
    while (Date.now() < until || (acked.size - before < 50 && Date.now() < until + 120_000)) await new Promise((r) => setTimeout(r, 20));
    process.kill(srv.pid, 'SIGKILL');
    stop = true;
    await Promise.all(writers);
    await srv.stop(); // the process is gone: only reaps it
    console.log(`kill ${round + 1}: ${acked.size} acknowledged so far`);
  }
  const srv = await start();
  const all = JSON.parse((await call(srv.url, 'GET', '/extensions?reveal=true')).text);
  const stored = new Map(all.map((e) => [e.id, e.services[0]?.credentials[0]?.configuration.K]));
  const lost = [...acked].filter(([id, value]) => stored.get(id) !== value).length;
  await srv.stop();
  console.log(`${KILLS} SIGKILLs, ${acked.size} acknowledged creates, ${lost} lost, ${unanswered} unanswered at a kill`);
  const result = {
    name: 'registry-durability',
    description: `fuseml-registry (SQLite, group commit, each group's log fsynced before any of it is answered): ${WRITERS} concurrent writers, SIGKILL ${KILLS} times during the writes; acknowledged writes lost after restart`,
    figures: [
      { name: 'machine load average (1 min) at start', value: loadStart },
      { name: 'SIGKILLs during the write load', value: KILLS },
      { name: 'acknowledged (201) creates before the kills', value: acked.size },
      { name: 'writes in flight (unanswered) at a kill', value: unanswered },
      { name: 'acknowledged writes lost', value: lost, target: { max: 0 } },
      { name: 'machine load average (1 min) at the end', value: loadavg()[0] },
    ],
    notes: [
      'Every acknowledged write must be present after the restart with the credential value it was acknowledged with; writes whose answer never came may or may not be present. The same check, with refused (409) writes inside the groups, runs in test/integration/registry-durability.test.ts.',
    ],
  };
  if (process.env.BENCH_RESULT_FILE) await writeFile(process.env.BENCH_RESULT_FILE, JSON.stringify(result, null, 2));
  else console.log(JSON.stringify(result, null, 2));
  if (lost > 0) process.exitCode = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
