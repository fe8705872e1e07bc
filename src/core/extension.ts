/**
 * The extension descriptor model. `ExtensionDescriptor` is extension.yaml as
 * written (schemas/extension.schema.json describes the same shape; a test keeps
 * the two in step). `Extension` is the normalized form every other module uses,
 * whether the folder held an extension.yaml or a FuseML description.yaml.
 */

export type ParamType = 'string' | 'integer' | 'number' | 'boolean';
export type Scalar = string | number | boolean;

export interface ParameterSpec {
  type?: ParamType;
  description?: string;
  default?: Scalar;
  required?: boolean;
  sensitive?: boolean;
  enum?: Scalar[];
}

export interface WaitFor {
  kind: string;
  name?: string;
  selector?: string;
  /** Every object of the kind in the namespace (FuseML's `selector: all`). */
  all?: true;
  namespace?: string;
  condition?: string;
  timeout?: string;
}

interface StepBase {
  name?: string;
  namespace?: string;
  timeout?: string;
  waitFor?: WaitFor[];
}

export interface HelmStep extends StepBase {
  type: 'helm';
  release?: string;
  location?: string;
  repo?: string;
  chart?: string;
  version?: string;
  values?: string;
  set?: Record<string, Scalar>;
}

export interface ManifestStep extends StepBase {
  type: 'manifest';
  location: string;
}

export interface KustomizeStep extends StepBase {
  type: 'kustomize';
  location: string;
}

export interface ScriptStep extends StepBase {
  type: 'script';
  location: string;
  args?: string[];
}

/** A `location` (or helm `values`) that is an http(s) URL: fetched at install time, through the mirrors. */
export function isRemoteLocation(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

export type Step = HelmStep | ManifestStep | KustomizeStep | ScriptStep;
export type StepType = Step['type'];

export interface ObjectKeyRef {
  name: string;
  key: string;
  namespace?: string;
}

export interface ServiceOutput {
  name: string;
  namespace?: string;
  port?: string | number;
  scheme?: string;
  path?: string;
  address?: 'cluster' | 'loadBalancer';
}

export interface IngressOutput {
  name: string;
  namespace?: string;
  scheme?: string;
}

export interface JsonPathOutput {
  apiVersion?: string;
  kind: string;
  name: string;
  namespace?: string;
  path: string;
}

export interface ScriptOutput {
  key: string;
}

/** Exactly one source field is set (the schema enforces it). */
export interface OutputSpec {
  description?: string;
  sensitive?: boolean;
  secret?: ObjectKeyRef;
  configMap?: ObjectKeyRef;
  service?: ServiceOutput;
  ingress?: IngressOutput;
  jsonPath?: JsonPathOutput;
  script?: ScriptOutput;
  value?: string;
}

export const OUTPUT_SOURCES = ['secret', 'configMap', 'service', 'ingress', 'jsonPath', 'script', 'value'] as const;
export type OutputSource = (typeof OUTPUT_SOURCES)[number];

export interface Gateway {
  name: string;
  namespace?: string;
  port?: number;
  hostprefix?: string;
  servicehost?: string;
}

export interface RoleRule {
  apigroups?: string[];
  resources?: string[];
  verbs?: string[];
}

/** extension.yaml, as written. */
export interface ExtensionDescriptor {
  name: string;
  product: string;
  version: string;
  description?: string;
  namespace?: string;
  zone?: string;
  requires?: string[];
  aliases?: string[];
  parameters?: Record<string, ParameterSpec>;
  install: Step[];
  uninstall?: Step[];
  outputs?: Record<string, OutputSpec>;
  registration?: string;
  gateways?: Gateway[];
  rolerules?: RoleRule[];
}

/** registration.yaml: the registry record with {{ outputs.x }} / {{ params.y }} references. */
export interface RegistrationEndpoint {
  url: string;
  type: 'internal' | 'external';
  configuration?: Record<string, string>;
}

export interface RegistrationCredentials {
  id: string;
  default?: boolean;
  scope: 'global' | 'project' | 'user';
  projects?: string[];
  users?: string[];
  configuration?: Record<string, string>;
}

export interface RegistrationService {
  id: string;
  resource?: string;
  category?: string;
  description?: string;
  auth_required?: boolean;
  default?: boolean;
  configuration?: Record<string, string>;
  endpoints?: RegistrationEndpoint[];
  credentials?: RegistrationCredentials[];
}

export interface RegistrationManifest {
  id?: string;
  product?: string;
  version?: string;
  description?: string;
  zone?: string;
  configuration?: Record<string, string>;
  services?: RegistrationService[];
}

/** Where a descriptor came from. */
export type DescriptorFormat = 'extension.yaml' | 'description.yaml';

/** The normalized extension every other module works with. */
export interface Extension {
  name: string;
  product: string;
  version: string;
  description: string;
  /** Default namespace of steps and outputs (may be a {{ params.x }} template). */
  namespace: string;
  /**
   * A description.yaml without a top-level namespace: its manifest and kustomize steps without a
   * namespace of their own are applied without --namespace (their objects keep the namespaces they
   * name), as FuseML's installer does.
   */
  namespaceImplicit?: true | undefined;
  zone?: string | undefined;
  requires: string[];
  aliases: string[];
  parameters: Record<string, ParameterSpec>;
  install: Step[];
  uninstall: Step[];
  outputs: Record<string, OutputSpec>;
  /** Undefined when the extension registers nothing. */
  registration?: RegistrationManifest | undefined;
  gateways: Gateway[];
  rolerules: RoleRule[];
  /** Absolute path of the extension folder. */
  dir: string;
  /** Absolute path of the descriptor file. */
  file: string;
  /** Absolute path of the registration manifest, when it is a file of its own. */
  registrationFile?: string | undefined;
  format: DescriptorFormat;
  /** Set when the folder was fetched (`install -e git+…` / `-e https://….tgz`) or named on its own (`-e ./dir`). */
  source?: ExtensionSource | undefined;
}

/**
 * Where an extension given to `install -e` came from, pinned: recorded in the install record.
 * `url` never holds credentials (they are refused in source URLs).
 */
export type ExtensionSource =
  | { kind: 'dir'; path: string }
  | { kind: 'git'; url: string; ref: string; subdir?: string | undefined; commit: string }
  | { kind: 'archive'; url: string; subdir?: string | undefined; digest: string };

/**
 * An external-only extension has no install steps (`install: []`): nothing to put on
 * a cluster, only an existing instance to register with `extensions register`.
 */
export function isExternalOnly(ext: Pick<Extension, 'install'>): boolean {
  return ext.install.length === 0;
}
