/**
 * `npm run demo` (scripts/demo.sh) as a user runs it: its own control plane
 * (private state dir and port), registry and chart repository; install
 * mlflow,seldon as typed, list, resolve, run the trainer step as a Job and
 * show its Pod's env sources, uninstall, empty registry; nothing
 * left running afterwards.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/exec/index.js';
import { ROOT } from '../helpers/registry.js';

describe('npm run demo', () => {
  it('installs mlflow,seldon, lists, resolves the sample workflow, runs the trainer step, uninstalls and cleans up', async () => {
    const port = String(40000 + Math.floor(Math.random() * 9000));
    const r = await run('bash', ['scripts/demo.sh'], {
      cwd: ROOT,
      env: { FUSEML_DEMO_CLUSTER_PORT: port, FUSEML_DEMO_NO_BUILD: '1', FUSEML_CLUSTER_DIR: undefined, FUSEML_CLUSTER_PORT: undefined },
      timeoutMs: 15 * 60_000,
      allowFailure: true,
    });
    const out = r.stdout + r.stderr;
    expect(r.exitCode, out.slice(-4000)).toBe(0);
    expect(out).toContain('install --extensions mlflow,seldon --chart-mirror');
    expect(out).toMatch(/mlflow\s+installed\s+install-0:done\s+registered/);
    expect(out).toMatch(/seldon-core\s+installed\s+install-0:done\s+registered/);
    expect(out).toMatch(/mlflow\s+mlflow\s+3\.17\.2\s+mlflow-tracking, mlflow-store/);
    expect(out).toMatch(/serve\s+serving\s+seldon-core\s+seldon-core-api\s+https:\/\/kubernetes\.default\.svc/);
    expect(out).toMatch(/train\s+store\s+mlflow\s+mlflow-store\s+http:\/\/mlflow-minio\.mlflow\.svc\.cluster\.local:9000\s+default \(global\)/);
    // The trainer step ran as a Job: its Pod's env comes from the run's binding Secrets, values masked.
    expect(out).toContain('workflow run examples/workflow.yaml --project demo --engine job --step train');
    expect(out).toMatch(/Run [a-z0-9]+ of workflow mlflow-train-and-serve in namespace demo-workflows/);
    const secret = (req: string, key: string, env = key) => new RegExp(`\\n${env}\\s+secret mlflow-train-and-serve-train-${req}-[a-z0-9]+ key ${key} {2}= \\*\\*\\*\\*\\n`);
    expect(out).toMatch(secret('tracking', 'MLFLOW_TRACKING_URI'));
    expect(out).toMatch(secret('store', 'MLFLOW_S3_ENDPOINT_URL'));
    expect(out).toMatch(secret('store', 'AWS_ACCESS_KEY_ID'));
    expect(out).toMatch(secret('store', 'AWS_SECRET_ACCESS_KEY'));
    expect(out).toMatch(secret('store', 'AWS_SECRET_ACCESS_KEY', 'FUSEML_EXT_STORE_AWS_SECRET_ACCESS_KEY'));
    expect(out).toMatch(secret('tracking', 'uri', 'FUSEML_EXT_TRACKING_URL'));
    expect(out).toMatch(/\nFUSEML_CODESET_NAME\s+value \(literal, masked\) {2}= \*\*\*\*\n/);
    expect(out).toMatch(/\/bindings\/tracking {2}<- secret mlflow-train-and-serve-train-tracking-[a-z0-9]+\n/);
    expect(out).toMatch(/\/bindings\/store {2}<- secret mlflow-train-and-serve-train-store-[a-z0-9]+\n/);
    expect(out).toMatch(/seldon-core\s+uninstalled[\s\S]*deregistered/);
    expect(out).toMatch(/the registry is empty again[\s\S]*No extensions found\./);
    expect(out).toContain('cluster.sh: stopped');
    // The demo's work dir (cluster state, registry db, charts) is gone.
    const work = /state: (\S+)\/cluster\)/.exec(out)?.[1];
    expect(work).toBeTruthy();
    expect(existsSync(work as string)).toBe(false);
    // Nothing listens on the demo's apiserver port any more.
    const probe = await run('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], { allowFailure: true });
    expect(probe.exitCode).not.toBe(0);
  });
});
