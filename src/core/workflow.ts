/**
 * A FuseML-compatible workflow, as far as extension resolution is concerned.
 * schemas/workflow.schema.json describes the same shape; a unit test keeps the
 * two from drifting apart (test/unit/workflow-schema.test.ts).
 */

/** What a step needs from the registry: every given field must match. */
export interface ExtensionRequirement {
  /** Local name: env prefix `FUSEML_EXT_<NAME>_`, and `{{ extensions.<name>.… }}` in step env. */
  name: string;
  extension_id?: string;
  service_id?: string;
  product?: string;
  /** Exact version, or a semver range such as `>=1.0,<1.1` or `^2`. */
  version?: string;
  zone?: string;
  service_resource?: string;
  service_category?: string;
  /**
   * Written by fuseml-core into stored workflows (with credentials inlined). Accepted
   * for compatibility and ignored: we resolve from the registry at run time.
   */
  extensionAccess?: Record<string, unknown>;
  /** Written by fuseml-core: what it resolved the requirement to. Accepted and ignored. */
  status?: RequirementStatus;
}

/** fuseml-core's WorkflowStepExtensionStatus. */
export interface RequirementStatus {
  extension_id?: string;
  service_id?: string;
  url?: string;
  credentials_id?: string;
}

/** Resource name (cpu, memory, nvidia.com/gpu, …) to quantity (1, 500m, 2Gi). */
export type ResourceList = Record<string, string | number>;

/** Compute resources of a step's container (fuseml-core's step `resources`). */
export interface StepResources {
  requests?: ResourceList;
  limits?: ResourceList;
}

export interface StepEnvVar {
  name: string;
  /** May use `{{ extensions.<name>.url }}`, `{{ extensions.<name>.cfg.KEY }}`. */
  value: string;
}

export interface StepInputCodeset {
  name: string;
  path?: string;
}

export interface WorkflowStepInput {
  name?: string;
  value?: string;
  codeset?: StepInputCodeset;
}

export interface WorkflowStepOutput {
  name: string;
  image?: { name?: string; dockerfile?: string };
}

export interface WorkflowStep {
  name: string;
  image?: string;
  inputs?: WorkflowStepInput[];
  outputs?: WorkflowStepOutput[];
  env?: StepEnvVar[];
  extensions?: ExtensionRequirement[];
  resources?: StepResources;
}

export interface WorkflowInput {
  name: string;
  description?: string;
  type?: string;
  default?: string;
  labels?: string[];
}

export interface WorkflowOutput {
  name: string;
  description?: string;
  type?: string;
}

export interface Workflow {
  name: string;
  description?: string;
  created?: string;
  inputs?: WorkflowInput[];
  outputs?: WorkflowOutput[];
  steps: WorkflowStep[];
}

/** Requirement and step names: FuseML uses names like `mlflow-store`, `s3-storage`. */
export const REQUIREMENT_NAME_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_-]*$';
export const STEP_NAME_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]*$';
/** Environment variable names (POSIX portable set). */
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';

/** The selector fields of a requirement, in the order messages show them. */
export const REQUIREMENT_SELECTORS = [
  'extension_id',
  'service_id',
  'product',
  'version',
  'zone',
  'service_resource',
  'service_category',
] as const;
export type RequirementSelector = (typeof REQUIREMENT_SELECTORS)[number];

/** A selector filters only when given and not empty: fuseml-core writes "" (its default) for the ones not set. */
export function selectorGiven(v: string | undefined): v is string {
  return v !== undefined && v !== '';
}
