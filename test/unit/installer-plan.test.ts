import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FusemlError, ValidationError } from '../../src/core/errors.js';
import { loadRepository, type Repository } from '../../src/descriptor/repository.js';
import { applyMirror, parseChartMirrors } from '../../src/installer/mirrors.js';
import { coerce, parseSetFlags, resolveParams, valuesAssignments } from '../../src/installer/params.js';
import { createPlan, mergeSet, type PlannedHelm, type PlannedManifest, type PlannedScript } from '../../src/installer/plan.js';
import { planView } from '../../src/cli/commands/install.js';

const REPO = resolve(import.meta.dirname, '../fixtures/installer/repo');
const SECRETS = { password: 'pw-PLANTED-4711', token: 'tok-PLANTED-0815' };
const base = () => parseSetFlags([`alpha.password=${SECRETS.password}`, `bravo.token=${SECRETS.token}`]).assignments;

let repo: Repository;
beforeAll(async () => {
  repo = await loadRepository(REPO);
  expect(repo.issues).toEqual([]);
});

describe('plan: names, closure, levels', () => {
  it('pulls in what is required and orders independent extensions into one level', async () => {
    const plan = await createPlan(repo, { extensions: ['bravo', 'charlie'], assignments: base() });
    expect(plan.levels).toEqual([['alpha', 'charlie'], ['bravo']]);
    expect(plan.order).toEqual(['alpha', 'charlie', 'bravo']);
    expect(plan.requested).toEqual(['bravo', 'charlie']);
    expect(plan.extensions.get('bravo')?.requires).toEqual(['alpha']);
  });

  it('resolves aliases', async () => {
    const plan = await createPlan(repo, { extensions: ['chuck'] });
    expect(plan.order).toEqual(['charlie']);
  });

  it('names every unknown extension, with a hint listing what exists', async () => {
    const err = await createPlan(repo, { extensions: ['nope', 'alpha', 'zilch'], assignments: base() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FusemlError);
    expect((err as FusemlError).code).toBe('NOT_FOUND');
    expect((err as FusemlError).message).toBe('unknown extensions: "nope", "zilch"');
    expect((err as FusemlError).hint).toContain('alpha, bravo, charlie, delta, faulty');
  });

  it('prints a dependency cycle', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fuseml-cycle-'));
    try {
      for (const [n, r] of [['x', 'y'], ['y', 'z'], ['z', 'x']]) {
        await mkdir(join(dir, n as string));
        await writeFile(join(dir, n as string, 'extension.yaml'), `name: ${n}\nproduct: p\nversion: "1"\nrequires: [${r}]\ninstall:\n  - { type: manifest, location: m.yaml }\n`);
        await writeFile(join(dir, n as string, 'm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n');
      }
      const cyclic = await loadRepository(dir);
      const err = await createPlan(cyclic, { extensions: ['x'] }).catch((e: unknown) => e);
      expect((err as FusemlError).code).toBe('VALIDATION');
      expect((err as FusemlError).message).toBe('dependency cycle: x -> y -> z -> x');
      expect((err as FusemlError).hint).toBeTruthy();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a bad concurrency and --id with several extensions', async () => {
    await expect(createPlan(repo, { extensions: ['charlie'], concurrency: 0 })).rejects.toThrow(/--concurrency/);
    await expect(createPlan(repo, { extensions: ['charlie', 'alpha'], id: 'x', assignments: base() })).rejects.toThrow(/--id applies to a single extension/);
  });
});

describe('plan: parameters', () => {
  it('reports every problem at once: missing required, unknown, wrong type, unknown extension', async () => {
    const { assignments, issues } = parseSetFlags(['alpha.replicas=three', 'alpha.colour=red', 'nosuch.x=1', 'no-equals-sign', 'bravo.token=a-long-token']);
    const err = await createPlan(repo, { extensions: ['bravo'], assignments, issues }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    const msgs = (err as ValidationError).issues.map((i) => i.message);
    expect(msgs).toEqual(expect.arrayContaining([
      expect.stringMatching(/"no-equals-sign" is not of the form/),
      expect.stringMatching(/parameter alpha.replicas expects a value of type integer/),
      expect.stringMatching(/unknown parameter "colour" of extension alpha \(declared: namespace, password, replicas\)/),
      expect.stringMatching(/"nosuch" is not an extension of this plan/),
      expect.stringMatching(/parameter alpha.password is required/),
    ]));
    expect(msgs).toHaveLength(5);
    expect((err as ValidationError).message).toMatch(/nothing was changed/);
  });

  it('merges defaults < --values < --set, typed', () => {
    const exts = [repo.get('alpha'), repo.get('charlie')].filter((e) => e !== undefined);
    const v = valuesAssignments({ alpha: { replicas: 2, password: 'from-file' }, charlie: { greeting: 'hi' } }, 'v.yaml');
    const s = parseSetFlags(['alpha.replicas=5', 'greeting=hey']);
    const r = resolveParams(exts, [...v.assignments, ...s.assignments]);
    expect(r.issues).toEqual([]);
    expect(r.values.get('alpha')).toEqual({ namespace: 'fx-alpha', replicas: 5, password: 'from-file' });
    expect(r.values.get('charlie')).toEqual({ namespace: 'fx-charlie', greeting: 'hey' });
    expect(r.sensitive.get('alpha')).toEqual(new Set(['password']));
  });

  it('coerces by declared type and checks enums without echoing sensitive values', () => {
    expect(coerce({ type: 'boolean' }, 'true')).toEqual({ value: true });
    expect(coerce({ type: 'integer' }, '2.5').error).toMatch(/integer/);
    expect(coerce({ type: 'number' }, '2.5')).toEqual({ value: 2.5 });
    expect(coerce({ type: 'string' }, 7)).toEqual({ value: '7' });
    expect(coerce({ enum: ['a', 'b'] }, 'c').error).toBe('must be one of "a", "b"');
    expect(coerce({ enum: ['a', 'b'], sensitive: true }, 'c').error).toBe('is not one of the allowed values');
  });

  it('never echoes a --set value in its problems', () => {
    const r = parseSetFlags(['bad key=SECRETVALUE']);
    expect(JSON.stringify(r.issues)).not.toContain('SECRETVALUE');
  });
});

describe('plan: rendering', () => {
  it('renders namespaces, values files, set values, manifests and script args before anything runs', async () => {
    const { assignments } = parseSetFlags([...base().map((a) => `${a.extension}.${a.param}=${String(a.value)}`), 'namespace=team-a', 'charlie.greeting=bonjour']);
    const plan = await createPlan(repo, { extensions: ['bravo', 'charlie'], assignments });
    const alpha = plan.extensions.get('alpha');
    const helm = alpha?.install[0] as PlannedHelm;
    expect(alpha?.namespace).toBe('team-a');
    expect(alpha?.namespaces).toEqual(['team-a']);
    expect(helm).toMatchObject({ type: 'helm', release: 'alpha', namespace: 'team-a', timeoutMs: 120_000, chart: { ref: join(REPO, 'alpha/chart') } });
    expect(helm.values).toEqual({ replicas: 1, port: 8080, password: SECRETS.password });
    expect(helm.waitFor).toEqual([{ kind: 'Deployment', name: 'alpha', selector: undefined, namespace: 'team-a', condition: undefined, timeoutMs: 120_000 }]);
    const bravo = plan.extensions.get('bravo');
    expect((bravo?.install[0] as PlannedHelm).values).toEqual({ password: SECRETS.token });
    expect((bravo?.install[0] as PlannedHelm).chart?.ref).toBe(join(REPO, 'bravo/fixture-app-0.1.0.tgz'));
    expect((bravo?.install[1] as PlannedScript).args).toEqual(['--namespace', 'team-a']);
    const manifest = plan.extensions.get('charlie')?.install[0] as PlannedManifest;
    expect(manifest.files[0]?.content).toContain('greeting: "bonjour"');
    expect(plan.secrets.sort()).toEqual([SECRETS.password, SECRETS.token].sort());
    // Derived uninstall: the install steps undone in reverse (scripts have no undo).
    expect(bravo?.uninstall.map((s) => `${s.type}:${s.id}`)).toEqual(['helm:undo-app']);
  });

  it('gives each step a digest that changes with its rendered content', async () => {
    const a = await createPlan(repo, { extensions: ['charlie'] });
    const b = await createPlan(repo, { extensions: ['charlie'], assignments: parseSetFlags(['charlie.greeting=other']).assignments });
    const c = await createPlan(repo, { extensions: ['charlie'] });
    expect(a.extensions.get('charlie')?.install[0]?.digest).toBe(c.extensions.get('charlie')?.install[0]?.digest);
    expect(a.extensions.get('charlie')?.install[0]?.digest).not.toBe(b.extensions.get('charlie')?.install[0]?.digest);
  });

  it('refuses a namespace parameter that is not a DNS label', async () => {
    const err = await createPlan(repo, { extensions: ['charlie'], assignments: parseSetFlags(['namespace=Not_Valid']).assignments }).catch((e: unknown) => e);
    expect((err as ValidationError).issues.map((i) => i.message)).toContain('namespace "Not_Valid" is not a DNS-1123 label');
  });

  it('the dry-run view shows commands and records with every secret masked', async () => {
    const plan = await createPlan(repo, { extensions: ['bravo'], assignments: base(), id: 'bravo-prod', zone: 'eu-1' });
    const view = planView(plan);
    const text = JSON.stringify(view);
    expect(text).not.toContain(SECRETS.password);
    expect(text).not.toContain(SECRETS.token);
    const exts = view.extensions as { name: string; steps: { commands: string[][] }[]; parameters: Record<string, unknown>; registration: { id: string; zone: string } }[];
    expect(exts.map((e) => e.name)).toEqual(['alpha', 'bravo']);
    expect(exts[1]?.registration).toMatchObject({ id: 'bravo-prod', zone: 'eu-1' });
    expect(exts[0]?.parameters.password).toBe('***');
    expect(exts[0]?.steps[0]?.commands[0]).toEqual(['helm', 'upgrade', '--install', 'alpha', join(REPO, 'alpha/chart'), '--namespace', 'fx-alpha', '--values', '<values.yaml>', '--wait', '--timeout', '2m', '--atomic']);
    expect(text).toContain('<outputs.url>');
  });
});

describe('chart mirrors', () => {
  const mirrors = parseChartMirrors(['https://charts.example.com=http://127.0.0.1:9000/mirror', 'https://charts.example.com/stable/=http://127.0.0.1:9000/stable']);
  it('rewrites the longest matching prefix, only at a path boundary', () => {
    expect(applyMirror('https://charts.example.com', mirrors)).toBe('http://127.0.0.1:9000/mirror');
    expect(applyMirror('https://charts.example.com/', mirrors)).toBe('http://127.0.0.1:9000/mirror');
    expect(applyMirror('https://charts.example.com/incubator', mirrors)).toBe('http://127.0.0.1:9000/mirror/incubator');
    expect(applyMirror('https://charts.example.com/stable', mirrors)).toBe('http://127.0.0.1:9000/stable');
    expect(applyMirror('https://charts.example.community', mirrors)).toBe('https://charts.example.community');
  });
  it('the plan uses the mirror for repo charts', async () => {
    const p = await createPlan(repo, { extensions: ['delta'], chartMirrors: parseChartMirrors(['https://charts.fixture.invalid=http://127.0.0.1:1234/m']) });
    expect((p.extensions.get('delta')?.install[0] as PlannedHelm).chart).toEqual({ ref: 'fixture-app', repo: 'http://127.0.0.1:1234/m/stable', version: '0.1.0' });
  });
  it('OCI repositories become chart references; mirrored to http they use --repo', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fuseml-oci-'));
    try {
      await mkdir(join(dir, 'k'));
      await writeFile(join(dir, 'k', 'extension.yaml'), 'name: k\nproduct: p\nversion: "1"\ninstall:\n  - { type: helm, repo: "oci://ghcr.io/kserve/charts", chart: kserve-crd, version: v0.15.0 }\n');
      const r = await loadRepository(dir);
      const direct = await createPlan(r, { extensions: ['k'] });
      expect((direct.extensions.get('k')?.install[0] as PlannedHelm).chart).toEqual({ ref: 'oci://ghcr.io/kserve/charts/kserve-crd', version: 'v0.15.0' });
      const mirrored = await createPlan(r, { extensions: ['k'], chartMirrors: parseChartMirrors(['oci://ghcr.io/kserve/charts=http://127.0.0.1:9/charts']) });
      expect((mirrored.extensions.get('k')?.install[0] as PlannedHelm).chart).toEqual({ ref: 'kserve-crd', repo: 'http://127.0.0.1:9/charts', version: 'v0.15.0' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('refuses malformed mirror flags', () => {
    expect(() => parseChartMirrors(['no-equals'])).toThrow(/ORIGINAL=MIRROR/);
    expect(() => parseChartMirrors(['https://a.example=notaurl'])).toThrow(/not a URL/);
    expect(() => parseChartMirrors(['ftp://a.example=http://b.example'])).toThrow(/http\(s\), oci or file/);
  });
});

describe('mergeSet', () => {
  it('sets dotted keys into nested values without touching the input', () => {
    const base = { a: { b: 1, keep: true }, list: [1] };
    expect(mergeSet(base, { 'a.b': 2, 'x.y.z': 'v', list: 'replaced' })).toEqual({ a: { b: 2, keep: true }, x: { y: { z: 'v' } }, list: 'replaced' });
    expect(base.a.b).toBe(1);
  });
});
