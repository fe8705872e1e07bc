/**
 * Loads one extension folder: extension.yaml (ours) or description.yaml
 * (FuseML's), plus its registration manifest; validates against the schemas and
 * the semantic rules (unique ids, known template references, files present and
 * inside the folder) and returns the normalized Extension — or every issue found.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ValidationError, type Issue } from '../core/errors.js';
import type {
  Extension,
  ExtensionDescriptor,
  ParameterSpec,
  RegistrationManifest,
  Step,
} from '../core/extension.js';
import { isRemoteLocation } from '../core/extension.js';
import { render, TemplateError } from '../core/template.js';
import { checkPath, DEFAULT_REGISTRATION_FILE, DESCRIPTOR_FILES, exists, findDescriptor, KUSTOMIZATION_FILES, manifestFiles, MAX_YAML_BYTES, toPointer } from './files.js';
import { importDescription } from './fuseml.js';
import { schemaIssues } from './schema.js';
import { parseYaml, readYamlFile, type YamlFile } from './yaml.js';

const EXTENSION_FIELDS = ['name', 'namespace', 'product', 'version'] as const;

const sources = new WeakMap<Extension, YamlFile>();

/** The parsed descriptor an extension was loaded from, for positioned issues. */
export function descriptorSource(ext: Extension): YamlFile | undefined {
  return sources.get(ext);
}

/**
 * An issue on `ext`'s descriptor at `pointer`, with line and column: from its parsed source, or — for an extension
 * answered by the repository cache, which has none — from its descriptor read again.
 */
export async function descriptorIssue(ext: Extension, pointer: string, message: string): Promise<Issue> {
  let doc = descriptorSource(ext);
  if (!doc) {
    const fresh = (await checkExtensionDir(ext.dir)).extension;
    doc = fresh ? descriptorSource(fresh) : undefined;
  }
  return doc?.issue(pointer, message) ?? { file: ext.file, pointer, message };
}

export interface LoadResult {
  extension?: Extension | undefined;
  issues: Issue[];
}

/** Every string in a value with its JSON pointer. */
function* strings(value: unknown, pointer: (string | number)[] = []): Generator<[string, string]> {
  if (typeof value === 'string') yield [toPointer(pointer), value];
  else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) yield* strings(value[i], [...pointer, i]);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) yield* strings(v, [...pointer, k]);
  }
}

type RefRoots = { params: Set<string>; outputs?: Set<string> };

/** Issues for references that name nothing declared, or are malformed. */
function referenceIssues(text: string, roots: RefRoots, where: (message: string) => Issue): Issue[] {
  if (!text.includes('{{')) return [];
  try {
    render(text, (path) => {
      const [root, name, ...rest] = path.split('.');
      if (root === 'extension') {
        if (name && (EXTENSION_FIELDS as readonly string[]).includes(name) && rest.length === 0) return '';
        throw new Error(`unknown reference: extension has ${EXTENSION_FIELDS.join(', ')}`);
      }
      const set = root === 'params' ? roots.params : root === 'outputs' ? roots.outputs : undefined;
      if (!set) {
        const allowed = roots.outputs ? 'params.NAME, outputs.NAME or extension.FIELD' : 'params.NAME or extension.FIELD';
        throw new Error(`unknown reference: expected ${allowed}`);
      }
      if (!name || rest.length > 0 || !set.has(name)) {
        const known = [...set].sort().join(', ') || 'none';
        throw new Error(`unknown reference: no ${root === 'params' ? 'parameter' : 'output'} "${name ?? ''}" is declared (declared: ${known})`);
      }
      return '';
    });
    return [];
  } catch (e) {
    if (e instanceof TemplateError) return e.problems.map((p) => where(`{{ ${p.ref} }}: ${p.message}`));
    throw e;
  }
}

function parameterIssues(doc: YamlFile, params: Record<string, ParameterSpec>): Issue[] {
  const issues: Issue[] = [];
  for (const [name, p] of Object.entries(params)) {
    const ptr = toPointer(['parameters', name]);
    const type = p.type ?? 'string';
    const fits = (v: unknown): boolean =>
      type === 'string' ? typeof v === 'string'
      : type === 'boolean' ? typeof v === 'boolean'
      : type === 'integer' ? Number.isInteger(v)
      : typeof v === 'number';
    if (p.default !== undefined && !fits(p.default)) issues.push(doc.issue(`${ptr}/default`, `default ${JSON.stringify(p.default)} is not of type ${type}`));
    if (p.enum) {
      p.enum.forEach((v, i) => {
        if (!fits(v)) issues.push(doc.issue(`${ptr}/enum/${i}`, `${JSON.stringify(v)} is not of type ${type}`));
      });
      if (p.default !== undefined && !p.enum.includes(p.default)) issues.push(doc.issue(`${ptr}/default`, `default ${JSON.stringify(p.default)} is not one of the enum values`));
    }
    if (p.sensitive && p.default !== undefined) issues.push(doc.issue(`${ptr}/default`, 'a sensitive parameter must not have a default (it would live in the repository)'));
  }
  return issues;
}

async function stepIssues(doc: YamlFile, dir: string, phase: 'install' | 'uninstall', steps: Step[], roots: RefRoots): Promise<Issue[]> {
  const issues: Issue[] = [];
  const names = new Map<string, number>();
  for (const [i, step] of steps.entries()) {
    const ptr = `/${phase}/${i}`;
    if (step.name) {
      const first = names.get(step.name);
      if (first !== undefined) issues.push(doc.issue(`${ptr}/name`, `duplicate step name "${step.name}" (also ${phase}[${first}])`));
      else names.set(step.name, i);
    }
    const fileIssue = async (field: string, ref: string, kind: 'file' | 'directory' | 'any', executable = false): Promise<string | undefined> => {
      const r = await checkPath(dir, ref, kind, { executable });
      if (!r.ok) issues.push(doc.issue(`${ptr}/${field}`, r.message ?? 'invalid path'));
      return r.ok ? r.path : undefined;
    };
    // Files rendered with params must only reference declared ones.
    const renderedFile = async (file: string, field: string): Promise<void> => {
      const st = await stat(file);
      if (st.size > MAX_YAML_BYTES) {
        issues.push(doc.issue(`${ptr}/${field}`, `${file} is ${st.size} bytes; the limit is ${MAX_YAML_BYTES} bytes`));
        return;
      }
      const text = await readFile(file, 'utf8');
      text.split('\n').forEach((line, n) => {
        issues.push(...referenceIssues(line, roots, (m) => ({ file, line: n + 1, col: 1, pointer: '', message: m })));
      });
    };
    switch (step.type) {
      case 'helm': {
        if (step.location && !/^(https?|oci):\/\//.test(step.location)) {
          const p = await fileIssue('location', step.location, 'any');
          if (p && !(await stat(p)).isDirectory() && !p.endsWith('.tgz')) {
            issues.push(doc.issue(`${ptr}/location`, `"${step.location}" must be a chart folder or a .tgz`));
          } else if (p && (await stat(p)).isDirectory() && !(await exists(join(p, 'Chart.yaml')))) {
            issues.push(doc.issue(`${ptr}/location`, `"${step.location}" has no Chart.yaml`));
          }
        }
        if (step.values && !isRemoteLocation(step.values)) {
          const p = await fileIssue('values', step.values, 'file');
          if (p) await renderedFile(p, 'values');
        }
        break;
      }
      case 'manifest': {
        if (isRemoteLocation(step.location)) break; // remote: fetched at install, never here
        const p = await fileIssue('location', step.location, 'any');
        if (p) {
          const files = await manifestFiles(p);
          if (files.length === 0) issues.push(doc.issue(`${ptr}/location`, `"${step.location}" holds no .yaml files`));
          for (const f of files) await renderedFile(f, 'location');
        }
        break;
      }
      case 'kustomize': {
        if (isRemoteLocation(step.location)) break;
        const p = await fileIssue('location', step.location, 'directory');
        if (p) {
          const found = await Promise.all(KUSTOMIZATION_FILES.map((f) => exists(join(p, f))));
          if (!found.some(Boolean)) issues.push(doc.issue(`${ptr}/location`, `"${step.location}" has no kustomization.yaml`));
        }
        break;
      }
      case 'script':
        if (!isRemoteLocation(step.location)) await fileIssue('location', step.location, 'file', true);
        break;
    }
  }
  return issues;
}

function registrationIssues(reg: YamlFile, manifest: RegistrationManifest, roots: RefRoots): Issue[] {
  const issues: Issue[] = [];
  const serviceIds = new Map<string, number>();
  for (const [i, svc] of (manifest.services ?? []).entries()) {
    const ptr = `/services/${i}`;
    const first = serviceIds.get(svc.id);
    if (first !== undefined) issues.push(reg.issue(`${ptr}/id`, `duplicate service id "${svc.id}" (also services[${first}])`));
    else serviceIds.set(svc.id, i);
    const urls = new Map<string, number>();
    for (const [j, ep] of (svc.endpoints ?? []).entries()) {
      const f = urls.get(ep.url);
      if (f !== undefined) issues.push(reg.issue(`${ptr}/endpoints/${j}/url`, `duplicate endpoint url "${ep.url}" (also endpoints[${f}])`));
      else urls.set(ep.url, j);
    }
    const credIds = new Map<string, number>();
    let defaults = 0;
    for (const [j, c] of (svc.credentials ?? []).entries()) {
      const f = credIds.get(c.id);
      if (f !== undefined) issues.push(reg.issue(`${ptr}/credentials/${j}/id`, `duplicate credentials id "${c.id}" (also credentials[${f}])`));
      else credIds.set(c.id, j);
      if (c.default) defaults++;
      if (c.scope === 'project' && !(c.projects?.length)) issues.push(reg.issue(`${ptr}/credentials/${j}`, 'scope "project" needs a non-empty "projects" list'));
      if (c.scope === 'user' && !(c.users?.length)) issues.push(reg.issue(`${ptr}/credentials/${j}`, 'scope "user" needs a non-empty "users" list'));
    }
    if (defaults > 1) issues.push(reg.issue(`${ptr}/credentials`, `${defaults} credentials are marked default; at most one may be`));
  }
  for (const [pointer, text] of strings(manifest)) {
    issues.push(...referenceIssues(text, roots, (m) => reg.issue(pointer, m)));
  }
  return issues;
}

/** Loads and validates one extension folder; never throws for bad input, returns issues instead. */
export async function checkExtensionDir(path: string): Promise<LoadResult> {
  const found = await findDescriptor(path);
  if (!found) {
    return { issues: [{ file: resolve(path), pointer: '', message: `no ${DESCRIPTOR_FILES.join(' or ')} found` }] };
  }
  const { dir, file, format } = found;
  let doc: YamlFile;
  try {
    doc = await readYamlFile(file);
  } catch (e) {
    if (e instanceof ValidationError) return { issues: [...e.issues] };
    throw e;
  }

  let data: unknown = doc.data;
  let registration: RegistrationManifest | undefined;
  let regDoc: YamlFile | undefined;
  let registrationFile: string | undefined;
  const issues: Issue[] = [];

  if (format === 'description.yaml') {
    const imported = importDescription(doc.data);
    data = imported.descriptor;
    if (imported.registration) {
      registration = imported.registration;
      regDoc = doc; // services live in the same file, under the same pointers
    }
  }

  issues.push(...schemaIssues('extension', doc, data));
  if (issues.length > 0) return { issues };
  const d = data as ExtensionDescriptor;

  if (format === 'extension.yaml') {
    const regRef = d.registration ?? DEFAULT_REGISTRATION_FILE;
    const r = await checkPath(dir, regRef, 'file');
    if (r.ok) {
      registrationFile = r.path;
      try {
        regDoc = await readYamlFile(r.path);
        registration = regDoc.data as RegistrationManifest;
      } catch (e) {
        if (e instanceof ValidationError) issues.push(...e.issues);
        else throw e;
      }
    } else if (d.registration !== undefined) {
      issues.push(doc.issue('/registration', r.message ?? 'invalid path'));
    }
  }

  const params = d.parameters ?? {};
  const outputs = d.outputs ?? {};
  const stepRoots: RefRoots = { params: new Set(Object.keys(params)) };
  issues.push(...parameterIssues(doc, params));
  issues.push(...(await stepIssues(doc, dir, 'install', d.install, stepRoots)));
  issues.push(...(await stepIssues(doc, dir, 'uninstall', d.uninstall ?? [], stepRoots)));
  for (const [pointer, text] of strings({ namespace: d.namespace, outputs: d.outputs, install: d.install, uninstall: d.uninstall })) {
    issues.push(...referenceIssues(text, stepRoots, (m) => doc.issue(pointer, m)));
  }
  const hasScript = d.install.some((s) => s.type === 'script');
  for (const [name, o] of Object.entries(outputs)) {
    if (o.script && !hasScript) issues.push(doc.issue(toPointer(['outputs', name, 'script']), 'a script output needs an install step of type script'));
  }

  if (registration !== undefined && regDoc) {
    if (registration === null || typeof registration !== 'object' || Array.isArray(registration)) {
      issues.push(regDoc.issue('', 'the registration manifest must be a mapping'));
    } else {
      const schema = schemaIssues('registration', regDoc, registration);
      issues.push(...schema);
      if (schema.length === 0) {
        issues.push(...registrationIssues(regDoc, registration, { params: stepRoots.params, outputs: new Set(Object.keys(outputs)) }));
      }
    }
  }

  if (issues.length > 0) return { issues };
  const extension: Extension = {
    name: d.name,
    product: d.product,
    version: d.version,
    description: (d.description ?? '').trim(),
    namespace: d.namespace ?? d.name,
    ...(format === 'description.yaml' && d.namespace === undefined ? { namespaceImplicit: true as const } : {}),
    zone: d.zone,
    requires: d.requires ?? [],
    aliases: d.aliases ?? [],
    parameters: params,
    install: d.install,
    uninstall: d.uninstall ?? [],
    outputs,
    registration,
    gateways: d.gateways ?? [],
    rolerules: d.rolerules ?? [],
    dir,
    file,
    registrationFile,
    format,
  };
  sources.set(extension, doc);
  return { extension, issues: [] };
}

/** Loads one extension folder, throwing a ValidationError with every issue. */
export async function loadExtensionDir(path: string): Promise<Extension> {
  const r = await checkExtensionDir(path);
  if (!r.extension) throw new ValidationError(r.issues, `${path}: invalid extension`);
  return r.extension;
}

/** Parses and validates a stand-alone registration manifest (e.g. for `extensions register -f`). */
export async function loadRegistrationFile(file: string): Promise<{ manifest: RegistrationManifest; doc: YamlFile }> {
  const doc = await readYamlFile(file, undefined, 'registration manifest');
  const issues = schemaIssues('registration', doc);
  if (issues.length > 0) throw new ValidationError(issues, `${file}: invalid registration manifest`);
  return { manifest: doc.data as RegistrationManifest, doc };
}

export { parseYaml };
// Light helpers that live in ./files.js (no YAML or schema code), here too for existing importers.
export { DEFAULT_REGISTRATION_FILE, DESCRIPTOR_FILES, findDescriptor, remoteLocations } from './files.js';
