/** What a step is once planned (src/installer/plan.ts makes them): the input of src/steps' runners and of the installer's waits. */
export interface PlannedWait {
  kind: string;
  name?: string | undefined;
  selector?: string | undefined;
  /** Every object of the kind (FuseML's `selector: all`). */
  all?: true | undefined;
  namespace: string;
  condition?: string | undefined;
  timeoutMs: number;
}

interface PlannedBase {
  /** Stable id within the extension: the step name, else `<phase>-<index>`. */
  id: string;
  phase: 'install' | 'uninstall';
  namespace: string;
  timeoutMs: number;
  waitFor: PlannedWait[];
  /** sha256 of the rendered step: a changed step is redone on the next install. */
  digest: string;
}

export interface HelmChart {
  /** Absolute chart folder or .tgz, a chart URL, or a chart name in `repo`. */
  ref: string;
  repo?: string | undefined;
  version?: string | undefined;
}

export interface PlannedHelm extends PlannedBase {
  type: 'helm';
  action: 'install' | 'uninstall';
  release: string;
  chart?: HelmChart | undefined;
  /** Rendered values (given to helm in a 0600 temp file, never argv). */
  values: Record<string, unknown>;
}

export interface PlannedManifest extends PlannedBase {
  type: 'manifest';
  action: 'apply' | 'delete';
  /** Rendered YAML documents (given to kubectl in a 0600 temp file). */
  files: { source: string; content: string }[];
  /** A remote manifest (mirrors applied): fetched when the step runs, not rendered; `files` is empty. */
  url?: string | undefined;
  /** false: kubectl gets no --namespace (FuseML descriptors without one: the objects name theirs). */
  namespaceFlag?: false | undefined;
}

export interface PlannedKustomize extends PlannedBase {
  type: 'kustomize';
  action: 'apply' | 'delete';
  /** A local folder, or a remote kustomization URL (mirrors applied) that kubectl fetches. */
  dir: string;
  /** false: kubectl gets no --namespace (see PlannedManifest). */
  namespaceFlag?: false | undefined;
}

export interface PlannedScript extends PlannedBase {
  type: 'script';
  file: string;
  args: string[];
  cwd: string;
  /** A remote script (mirrors applied): fetched into a private folder when the step runs, then run as `file`. */
  url?: string | undefined;
}

export type PlannedStep = PlannedHelm | PlannedManifest | PlannedKustomize | PlannedScript;
