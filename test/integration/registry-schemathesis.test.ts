/**
 * schemathesis (pinned, installed from PyPI into a cached venv by scripts/schemathesis.sh) against a real
 * `fuseml-registry serve` on loopback: every operation of the served OpenAPI document, every check, a bounded
 * number of examples, a fixed seed. Fails on any schemathesis failure or error (exit status not 0).
 * Needs python3 (with venv) and PyPI the first time, like the MLflow test.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { run } from '../../src/exec/index.js';
import { ROOT, startRegistry, type RegistryProcess } from '../helpers/registry.js';

let reg: RegistryProcess;
beforeAll(async () => {
  reg = await startRegistry();
});
afterAll(async () => {
  await reg?.cleanup();
});

test(
  'schemathesis finds no failure in the served OpenAPI document',
  async () => {
    const lines: string[] = [];
    const r = await run('bash', [join(ROOT, 'scripts/schemathesis.sh'), reg.url], {
      cwd: ROOT,
      secretEnv: { FUSEML_SCHEMATHESIS_TOKEN: reg.adminToken as string },
      timeoutMs: 15 * 60_000,
      allowFailure: true,
      onLine: (line) => lines.push(line),
    });
    const summary = lines.slice(-40).join('\n');
    expect(r.exitCode, summary).toBe(0);
    expect(summary).toMatch(/Test cases:\s+\d+ generated, \d+ passed/);
    // The server stayed healthy throughout.
    expect((await fetch(`${reg.url}/healthz`)).status).toBe(200);
  },
  16 * 60_000,
);
