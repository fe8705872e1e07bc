/**
 * `fuseml-installer extensions init`: the files of a new extension folder, one
 * template per kind of install (an upstream chart from a helm repository, our
 * own chart in the folder, or plain manifests), each a valid extension as
 * written: it validates, installs and registers one service whose URL is the
 * in-cluster address of the Service it creates.
 *
 * The descriptor and the registration manifest start with a
 * `# yaml-language-server: $schema=URL` modeline. By default URL is the file
 * URL of the schema shipped with this installer (schemas/ of the package), so
 * editors complete and check the files with no network and with the very
 * schema this installer validates with; `schemaBase` writes another base
 * instead (the published form, see PUBLISHED_SCHEMA_BASE).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FusemlError } from '../core/errors.js';
import { DNS1123_LABEL_WORDS, EXTENSION_NAME_MAX, isExtensionName } from '../core/names.js';
import { SCHEMA_DIR } from './schema.js';

export const SCAFFOLD_KINDS = ['helm-repo', 'chart-dir', 'manifests'] as const;
export type ScaffoldKind = (typeof SCAFFOLD_KINDS)[number];

/**
 * Where the schemas are published, per release: the `$id` of each schema and the
 * base `init --schema-base` is meant for. Raw files of the tagged repository.
 */
export const PUBLISHED_SCHEMA_BASE = 'https://raw.githubusercontent.com/fuseml/fuseml-extensions/main/schemas/';

/** The modeline base by default: the schemas shipped with this installer, as a file URL (works offline). */
export function localSchemaBase(): string {
  return pathToFileURL(SCHEMA_DIR).href;
}

/** The `# yaml-language-server: $schema=…` line for one schema. */
export function modeline(schema: 'extension' | 'registration' | 'workflow', base: string = localSchemaBase()): string {
  return `# yaml-language-server: $schema=${base.endsWith('/') ? base : base + '/'}${schema}.schema.json`;
}

export interface ScaffoldOptions {
  name: string;
  from?: ScaffoldKind | undefined;
  /** helm-repo: `REPO_URL/CHART` (https:// or oci://). Default: a placeholder repository and a chart named like the extension. */
  chart?: string | undefined;
  /** helm-repo: the chart version to pin. */
  version?: string | undefined;
  /** Base URL of the schemas in the modelines (default: the shipped schemas as a file URL). */
  schemaBase?: string | undefined;
}

export interface ScaffoldFile {
  /** Relative to the extension folder. */
  path: string;
  content: string;
}

/** Splits `REPO_URL/CHART` into the repository URL and the chart name. */
export function splitChart(ref: string): { repo: string; chart: string } {
  const m = /^((?:https?|oci):\/\/[^/\s]+(?:\/[^\s]*)?)\/([A-Za-z0-9][A-Za-z0-9._-]*)$/.exec(ref.trim());
  if (!m) {
    throw new FusemlError('USAGE', `--chart ${JSON.stringify(ref)}: expected REPO_URL/CHART, e.g. https://charts.example.com/my-chart or oci://ghcr.io/org/charts/my-chart`);
  }
  return { repo: m[1] as string, chart: m[2] as string };
}

function checkName(name: string): void {
  if (!isExtensionName(name)) {
    throw new FusemlError('USAGE', `extension name ${JSON.stringify(name)} ${DNS1123_LABEL_WORDS}, at most ${EXTENSION_NAME_MAX} characters`);
  }
}

const quote = (s: string): string => JSON.stringify(s);

function descriptor(name: string, kind: ScaffoldKind, base: string, chart: { repo: string; chart: string; version: string } | undefined): string {
  const head = [
    modeline('extension', base),
    `# The extension ${name}: what to install, how, and what it registers (registration.yaml).`,
    '# Reference: docs/extension-format.md of fuseml-extensions. Check with:',
    `#   fuseml-installer extensions validate ${name}`,
    `name: ${name}`,
    `product: ${name}`,
    `version: ${quote(kind === 'helm-repo' ? (chart?.version ?? '0.1.0') : '0.1.0')}`,
    'description: |',
    `  ${name}: describe what it installs here (shown by "fuseml-installer extensions list").`,
    `namespace: ${name}`,
    'parameters:',
    '  replicas:',
    '    type: integer',
    '    description: Number of replicas',
    '    default: 1',
  ];
  const serviceWait = [
    '    waitFor:',
    '      - kind: Deployment',
    `        name: ${name}`,
    '        condition: Available',
    '        timeout: 5m',
  ];
  let steps: string[];
  if (kind === 'helm-repo') {
    const c = chart as { repo: string; chart: string; version: string };
    steps = [
      '# helm install --wait: the release is named after the extension.',
      'install:',
      '  - type: helm',
      `    repo: ${c.repo}`,
      `    chart: ${c.chart}`,
      `    version: ${quote(c.version)}`,
      '    values: values.yaml',
      'uninstall:',
      '  - type: helm',
    ];
  } else if (kind === 'chart-dir') {
    steps = ['# Our own chart, in chart/ (helm install --wait; the release is named after the extension).', 'install:', '  - type: helm', '    location: chart', '    values: values.yaml', 'uninstall:', '  - type: helm'];
  } else {
    steps = [
      '# kubectl apply of every YAML file in manifests/ (rendered with the parameters first).',
      'install:',
      '  - type: manifest',
      '    location: manifests',
      ...serviceWait,
      '# kubectl delete of the same objects.',
      'uninstall:',
      '  - type: manifest',
      '    location: manifests',
    ];
  }
  const outputs = [
    '# Read from the cluster after install; registration.yaml uses them as {{ outputs.NAME }}.',
    '# An external instance is registered with "fuseml-installer extensions register" giving them.',
    'outputs:',
    '  url:',
    `    description: In-cluster URL of the ${name} Service`,
    '    service:',
    `      name: ${name}`,
    '      port: http',
  ];
  return [...head, ...steps, ...outputs, ''].join('\n');
}

function registration(name: string, base: string): string {
  return [
    modeline('registration', base),
    `# The registry record ${name} creates once installed (the registry's wire format, snake_case).`,
    '# Workflows find the service by resource / category; endpoint and credentials configuration',
    '# keys become the environment of the workflow steps that use it.',
    'product: "{{ extension.product }}"',
    'version: "{{ extension.version }}"',
    `description: ${name}`,
    'services:',
    `  - id: ${name}`,
    `    resource: ${name}`,
    '    # e.g. experiment-tracking, model-store, object-storage, prediction-serving',
    '    category: service',
    `    description: ${name} API`,
    '    auth_required: false',
    '    endpoints:',
    '      - url: "{{ outputs.url }}"',
    '        type: internal',
    '        configuration:',
    `          ${name.toUpperCase().replace(/-/g, '_')}_URL: "{{ outputs.url }}"`,
    '',
  ].join('\n');
}

function values(kind: ScaffoldKind): string {
  const lines = ['# Values given to the chart (helm --values), rendered first: params.NAME and extension.name / namespace / version references are filled in.'];
  if (kind === 'helm-repo') lines.push('# Keys depend on the chart: see its values.yaml (helm show values REPO/CHART --version V).');
  lines.push('replicaCount: {{ params.replicas }}', '');
  return lines.join('\n');
}

/** The Deployment and Service that chart-dir (helm templating) and manifests (params) both write. */
interface Workload {
  name: string;
  labels: string[];
  replicas: string;
  image: string;
  port: string;
  /** Labels on the objects' own metadata too (a chart's convention). */
  metadataLabels: boolean;
}

function deploymentYaml(w: Workload, container: string): string {
  const labels = (indent: string): string[] => w.labels.map((l) => `${indent}${l}`);
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${w.name}`,
    ...(w.metadataLabels ? ['  labels:', ...labels('    ')] : []),
    'spec:',
    `  replicas: ${w.replicas}`,
    '  selector:',
    '    matchLabels:',
    ...labels('      '),
    '  template:',
    '    metadata:',
    '      labels:',
    ...labels('        '),
    '    spec:',
    '      containers:',
    `        - name: ${container}`,
    `          image: ${w.image}`,
    '          ports:',
    '            - name: http',
    `              containerPort: ${w.port}`,
    '          readinessProbe:',
    '            httpGet:',
    '              path: /',
    '              port: http',
    '',
  ].join('\n');
}

function serviceYaml(w: Workload): string {
  const labels = w.labels.map((l) => `    ${l}`);
  return [
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    `  name: ${w.name}`,
    ...(w.metadataLabels ? ['  labels:', ...labels] : []),
    'spec:',
    '  selector:',
    ...labels,
    '  ports:',
    '    - name: http',
    '      port: 80',
    '      targetPort: http',
    '',
  ].join('\n');
}

function chartFiles(name: string): ScaffoldFile[] {
  const w: Workload = {
    name: '{{ .Release.Name }}',
    labels: ['app.kubernetes.io/name: {{ .Chart.Name }}', 'app.kubernetes.io/instance: {{ .Release.Name }}'],
    replicas: '{{ .Values.replicaCount }}',
    image: '{{ .Values.image | quote }}',
    port: '{{ .Values.port }}',
    metadataLabels: true,
  };
  return [
    { path: 'chart/Chart.yaml', content: ['apiVersion: v2', `name: ${name}`, `description: ${name}, installed by its FuseML extension`, 'type: application', 'version: 0.1.0', 'appVersion: "0.1.0"', ''].join('\n') },
    { path: 'chart/values.yaml', content: ['replicaCount: 1', 'image: nginxinc/nginx-unprivileged:1.27', 'port: 8080', ''].join('\n') },
    { path: 'chart/templates/deployment.yaml', content: deploymentYaml(w, name) },
    { path: 'chart/templates/service.yaml', content: serviceYaml(w) },
  ];
}

function manifestFiles(name: string): ScaffoldFile[] {
  const w: Workload = { name, labels: [`app.kubernetes.io/name: ${name}`], replicas: '{{ params.replicas }}', image: 'nginxinc/nginx-unprivileged:1.27', port: '8080', metadataLabels: false };
  return [
    { path: 'manifests/deployment.yaml', content: `# Rendered with the parameters, then applied in the extension namespace.\n${deploymentYaml(w, name)}` },
    { path: 'manifests/service.yaml', content: serviceYaml(w) },
  ];
}

function readme(name: string, kind: ScaffoldKind, chart: { repo: string; chart: string; version: string } | undefined): string {
  const what =
    kind === 'helm-repo'
      ? `the upstream chart \`${chart?.chart}\` ${chart?.version} from \`${chart?.repo}\` (helm \`--wait\`), values from \`values.yaml\``
      : kind === 'chart-dir'
        ? 'its own chart in `chart/` (helm `--wait`), values from `values.yaml`'
        : 'the manifests in `manifests/` (`kubectl apply`, then waits for the Deployment to be Available)';
  return [
    `# ${name}`,
    '',
    `Installs ${what} in namespace \`${name}\`, and registers the service \`${name}\` (resource \`${name}\`)`,
    'with the in-cluster URL of its Service (`registration.yaml`).',
    '',
    '```sh',
    `fuseml-installer extensions validate ${name}`,
    `fuseml-installer --extensions-repository . extensions describe ${name}`,
    `fuseml-installer --extensions-repository . install --extensions ${name}`,
    `fuseml-installer --extensions-repository . uninstall --extensions ${name}`,
    '# an instance installed elsewhere: give the outputs yourself',
    `fuseml-installer --extensions-repository . extensions register ${name} --set url=http://${name}.example.com`,
    '```',
    '',
    '| parameter | type | default | |',
    '| --- | --- | --- | --- |',
    '| `replicas` | integer | `1` | number of replicas |',
    '',
    'The first line of `extension.yaml` and `registration.yaml` points editors (the YAML language server) at',
    'the JSON Schemas, for completion and checks.',
    '',
  ].join('\n');
}

/** The files of a new extension folder (relative paths, contents). */
export function scaffoldFiles(options: ScaffoldOptions): ScaffoldFile[] {
  const kind = options.from ?? 'helm-repo';
  checkName(options.name);
  if (kind !== 'helm-repo' && (options.chart !== undefined || options.version !== undefined)) {
    throw new FusemlError('USAGE', `--chart and --version are for --from helm-repo, not --from ${kind}`);
  }
  const base = options.schemaBase ?? localSchemaBase();
  const chart =
    kind === 'helm-repo'
      ? { ...(options.chart !== undefined ? splitChart(options.chart) : { repo: 'https://charts.example.com', chart: options.name }), version: options.version ?? '0.1.0' }
      : undefined;
  const files: ScaffoldFile[] = [
    { path: 'extension.yaml', content: descriptor(options.name, kind, base, chart) },
    { path: 'registration.yaml', content: registration(options.name, base) },
    { path: 'README.md', content: readme(options.name, kind, chart) },
  ];
  if (kind !== 'manifests') files.push({ path: 'values.yaml', content: values(kind) });
  if (kind === 'chart-dir') files.push(...chartFiles(options.name));
  if (kind === 'manifests') files.push(...manifestFiles(options.name));
  return files;
}

/**
 * Writes a new extension folder at `dir` (default: ./NAME). Refuses an existing
 * path (CONFLICT, naming it); the folder itself is created exclusively, so two
 * runs never write into the same one.
 */
export async function writeScaffold(options: ScaffoldOptions & { dir?: string | undefined }): Promise<{ dir: string; files: string[] }> {
  const files = scaffoldFiles(options);
  const dir = resolve(options.dir ?? options.name);
  await mkdir(dirname(dir), { recursive: true });
  try {
    await mkdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new FusemlError('CONFLICT', `${dir} already exists: not overwriting it`, { hint: 'choose another folder with --dir, or remove it first' });
    }
    throw err;
  }
  try {
    for (const f of files) {
      const path = join(dir, f.path);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, f.content, { flag: 'wx' });
    }
  } catch (err) {
    // Nothing half-written: the folder was created by this call.
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, files: files.map((f) => f.path) };
}
