/** One interface for every step type: what it would run (for --dry-run) and running it. */
import type { PlannedStep } from './planned.js';

export interface Tools {
  helm: string;
  kubectl: string;
}

export interface StepContext {
  tools: Tools;
  /** Extension the step belongs to. */
  extension: string;
  /** Environment for every process (KUBECONFIG, FUSEML_KUBE_CONTEXT: the target cluster). */
  env: Readonly<Record<string, string>>;
  /**
   * Cluster flags put before every helm / kubectl sub-command so that they act on the
   * installer's target whatever their own defaults (src/kube/target.ts childKubeAccess).
   */
  kube?: { helm: readonly string[]; kubectl: readonly string[] } | undefined;
  /** Secret environment (e.g. sensitive parameters for scripts). */
  secretEnv: Readonly<Record<string, string>>;
  /** Values to mask in anything shown. */
  secrets: readonly string[];
  signal?: AbortSignal | undefined;
  /** Each line of the child's output, secrets already masked. */
  onLine?: ((line: string) => void) | undefined;
}

export interface StepResult {
  /** key=value pairs a script wrote to $FUSEML_OUTPUTS. */
  outputs?: Record<string, string> | undefined;
}

export interface StepRunner<S extends PlannedStep = PlannedStep> {
  /** The commands the step runs, as argument arrays (temp files shown as placeholders). */
  commands(step: S, tools: Tools): string[][];
  run(step: S, ctx: StepContext): Promise<StepResult>;
}
