/**
 * What the installer needs from the cluster, as an interface: the real one
 * lives in src/installer/kube-cluster.ts (over src/kube's generic resource
 * client); tests and the benchmark use an in-memory one (test/helpers/memory-cluster.ts).
 */
import type { ExtensionSource, OutputSpec, Scalar } from '../core/extension.js';
import type { PlannedWait } from './plan.js';

/** `interrupted`: the run was cancelled (SIGINT / SIGTERM) while this step ran; the next run redoes it. */
/** `running`: started, not finished (a step redone over a `done` one is marked so first: a run killed in it redoes it). */
export type StepState = 'done' | 'failed' | 'interrupted' | 'running';

export interface StepRecord {
  state: StepState;
  digest: string;
  at: string;
}

export interface RegistrationState {
  id: string;
  registryUrl: string;
  /** sha256 of the record last delivered (or journaled). */
  digest: string;
  state: 'registered' | 'pending';
}

/** What is installed: one per extension, in the installer's namespace (a labelled Secret). */
export interface InstallRecord {
  extension: string;
  product: string;
  version: string;
  namespace: string;
  /** Namespaces the install steps use. */
  namespaces: string[];
  requires: string[];
  /** Non-sensitive parameter values only. */
  params: Record<string, Scalar>;
  /** Non-sensitive output values only. */
  outputs: Record<string, string>;
  steps: Record<string, StepRecord>;
  /** `interrupted`: a run was cancelled (SIGINT / SIGTERM); `message` names the step; the next run resumes. */
  status: 'installing' | 'installed' | 'failed' | 'uninstalling' | 'interrupted';
  message?: string | undefined;
  registration?: RegistrationState | undefined;
  installedAt?: string | undefined;
  updatedAt: string;
  /** Where the extension came from when given by location (`install -e git+…`, `.tgz`, `./dir`): commit / digest pinned. */
  source?: ExtensionSource | undefined;
  /** The parameter values the user set (kept by later runs, as helm's --reuse-values); absent in older records. */
  values?: RecordedValues | undefined;
  /** Revisions, oldest first, at most HISTORY_LIMIT (`status --history`, `rollback`). */
  history?: Revision[] | undefined;
}

/** User-set parameters: non-sensitive ones by value, sensitive ones by name (their values: the private Secret). */
export interface RecordedValues {
  set: Record<string, Scalar>;
  sensitive: string[];
}

export interface HelmRevision {
  step: string;
  release: string;
  namespace: string;
  /** helm's revision of the release after this installer revision. */
  revision: number;
}

/** One install / upgrade / rollback that changed the extension. */
export interface Revision {
  revision: number;
  action: 'install' | 'upgrade' | 'rollback';
  at: string;
  version: string;
  values: RecordedValues;
  helm: HelmRevision[];
  /** Step id → digest of the step as it ran. */
  steps: Record<string, string>;
  /** Registry id registered (the record itself: the private Secret). */
  registration?: string | undefined;
  description?: string | undefined;
}

export const HISTORY_LIMIT = 10;

export interface Lock {
  release(): Promise<void>;
}

export interface LockOptions {
  holder: string;
  /** How long to wait for another holder; 0 = fail at once. */
  timeoutMs: number;
  onWait?: ((holder: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export interface OutputContext {
  namespace: string;
  /** Values a script step wrote. */
  scriptOutputs: Readonly<Record<string, string>>;
  /** Renders `value` outputs. */
  renderValue: (template: string) => string;
  deadline: number;
  signal?: AbortSignal | undefined;
}

export interface ClusterBackend {
  /** A cheap call that fails with a CLUSTER error when the API server cannot be reached. */
  ping(): Promise<void>;
  acquireLock(opts: LockOptions): Promise<Lock>;
  readRecords(): Promise<InstallRecord[]>;
  writeRecord(record: InstallRecord): Promise<void>;
  /** Deletes the record and its private data. */
  deleteRecord(extension: string): Promise<void>;
  /**
   * The record's private data (key → JSON text; sensitive values and rendered registrations): a
   * Secret of its own, referenced by name from nothing but the extension, never in the record.
   */
  readPrivate(extension: string): Promise<Record<string, string>>;
  /** Replaces the private data. */
  writePrivate(extension: string, data: Record<string, string>): Promise<void>;
  /** Creates the namespace with our label when missing (waiting first for one still Terminating); true when we created it. */
  ensureNamespace(namespace: string, extension: string, signal?: AbortSignal): Promise<boolean>;
  /** Deletes the namespace only when it carries our label; true when deleted. */
  deleteNamespaceIfOurs(namespace: string): Promise<boolean>;
  wait(w: PlannedWait, signal?: AbortSignal): Promise<void>;
  /**
   * Why things in a namespace are not becoming ready, read from objects' status and conditions: a
   * PersistentVolumeClaim Pending (no StorageClass), a pod that cannot be scheduled, ImagePullBackOff,
   * CrashLoopBackOff, a failed Job. Empty when nothing looks stuck. Optional (in-memory backends).
   */
  diagnose?(namespace: string): Promise<string[]>;
  readOutput(name: string, spec: OutputSpec, ctx: OutputContext): Promise<string>;
}

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'fuseml-installer';
export const EXTENSION_LABEL = 'fuseml.io/extension';
export const RECORD_LABEL = 'fuseml.io/install-record';
export const DEFAULT_INSTALLER_NAMESPACE = 'fuseml-installer';
export const LEASE_NAME = 'fuseml-installer-lock';

/** The port a `service:` output names: the one with that name or number, else (none named) the Service's first. */
export function pickServicePort<P extends { name?: string | undefined; port: number }>(ports: readonly P[], wanted: string | number | undefined): P | undefined {
  return wanted === undefined ? ports[0] : ports.find((p) => p.name === String(wanted) || p.port === Number(wanted));
}
