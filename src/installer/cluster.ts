/**
 * What the installer needs from the cluster, as an interface: the real one
 * lives in src/installer/kube-cluster.ts (over src/kube's generic resource
 * client); tests and the benchmark use an in-memory one (test/helpers/memory-cluster.ts).
 */
import type { OutputSpec, Scalar } from '../core/extension.js';
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
}

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
  deleteRecord(extension: string): Promise<void>;
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
