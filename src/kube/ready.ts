/**
 * Readiness per workload kind: one pure function per kind, judging a
 * Deployment, StatefulSet or DaemonSet the way `kubectl rollout status` and
 * helm's --wait do. A workload is ready only when its controller has observed
 * the current spec (status.observedGeneration >= metadata.generation) and the
 * rollout of that spec is complete — counting ready pods alone is wrong in the
 * middle of a rollout, when old pods are still ready.
 *
 * The inputs are the plain API objects (only the fields read here are typed),
 * so unit tests pass object fixtures.
 */

export interface WorkloadCondition {
  type?: string | undefined;
  status?: string | undefined;
  reason?: string | undefined;
  message?: string | undefined;
}

interface Meta {
  metadata?: { name?: string | undefined; generation?: number | undefined } | undefined;
}

export interface DeploymentLike extends Meta {
  spec?: { replicas?: number | undefined; paused?: boolean | undefined } | undefined;
  status?: {
    observedGeneration?: number | undefined;
    replicas?: number | undefined;
    updatedReplicas?: number | undefined;
    availableReplicas?: number | undefined;
    conditions?: WorkloadCondition[] | undefined;
  } | undefined;
}

export interface StatefulSetLike extends Meta {
  spec?: {
    replicas?: number | undefined;
    updateStrategy?: { type?: string | undefined; rollingUpdate?: { partition?: number | undefined } | undefined } | undefined;
  } | undefined;
  status?: {
    observedGeneration?: number | undefined;
    readyReplicas?: number | undefined;
    updatedReplicas?: number | undefined;
    currentRevision?: string | undefined;
    updateRevision?: string | undefined;
  } | undefined;
}

export interface DaemonSetLike extends Meta {
  spec?: { updateStrategy?: { type?: string | undefined } | undefined } | undefined;
  status?: {
    observedGeneration?: number | undefined;
    desiredNumberScheduled?: number | undefined;
    updatedNumberScheduled?: number | undefined;
    numberReady?: number | undefined;
  } | undefined;
}

/** ready: the rollout is complete; otherwise `reason` says what is awaited. `failed`: it will not complete by waiting. */
export interface Readiness {
  ready: boolean;
  reason: string;
  failed?: string;
}

const notReady = (reason: string): Readiness => ({ ready: false, reason });
const READY: Readiness = { ready: true, reason: 'ready' };

/** The controller has not yet seen the latest spec: any counts in status describe an older one. */
function unobserved(o: Meta & { status?: { observedGeneration?: number | undefined } | undefined }): Readiness | undefined {
  const gen = o.metadata?.generation ?? 0;
  const seen = o.status?.observedGeneration ?? 0;
  return seen < gen ? notReady(`waiting for the controller to observe generation ${gen} (seen ${seen})`) : undefined;
}

/**
 * A Deployment is ready when the spec is observed, every replica runs the new
 * template (updatedReplicas == spec.replicas, no old replica left in
 * status.replicas) and every updated replica is available. A Progressing
 * condition with reason ProgressDeadlineExceeded is a failure (kubectl rollout
 * status exits with it). `condition` (default Available) must also be True.
 */
export function deploymentReadiness(d: DeploymentLike, condition = 'Available'): Readiness {
  const un = unobserved(d);
  if (un) return un;
  const st = d.status ?? {};
  const conds = st.conditions ?? [];
  const progressing = conds.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { ready: false, reason: 'progress deadline exceeded', failed: `deployment ${d.metadata?.name ?? ''} exceeded its progress deadline${progressing.message ? `: ${progressing.message}` : ''}` };
  }
  const want = d.spec?.replicas ?? 1;
  const updated = st.updatedReplicas ?? 0;
  const total = st.replicas ?? 0;
  const available = st.availableReplicas ?? 0;
  if (updated < want) return notReady(`${updated} of ${want} replicas updated`);
  if (total > updated) return notReady(`${total - updated} old replicas pending termination`);
  if (available < want) return notReady(`${available} of ${want} updated replicas available`);
  if (conds.find((c) => c.type === condition)?.status !== 'True') return notReady(`condition ${condition} not True`);
  return READY;
}

/**
 * A StatefulSet is ready when the spec is observed, every replica is ready
 * (readyReplicas == spec.replicas) and the rollout reached every pod it
 * should: with the RollingUpdate strategy, updatedReplicas covers the pods at
 * or above the partition (all of them without one) and, without a partition,
 * currentRevision == updateRevision. With OnDelete the controller updates
 * nothing by itself, so only observation and ready replicas count.
 */
export function statefulSetReadiness(s: StatefulSetLike): Readiness {
  const un = unobserved(s);
  if (un) return un;
  const st = s.status ?? {};
  const want = s.spec?.replicas ?? 1;
  const ready = st.readyReplicas ?? 0;
  if (ready < want) return notReady(`${ready} of ${want} replicas ready`);
  const strategy = s.spec?.updateStrategy?.type ?? 'RollingUpdate';
  if (strategy !== 'RollingUpdate') return READY;
  const partition = s.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  const updated = st.updatedReplicas ?? 0;
  const expected = Math.max(0, want - partition);
  if (updated < expected) return notReady(`${updated} of ${expected} replicas updated`);
  if (partition === 0 && st.currentRevision !== st.updateRevision) return notReady(`revision ${st.updateRevision ?? '?'} not rolled out (current ${st.currentRevision ?? '?'})`);
  return READY;
}

/**
 * A DaemonSet is ready when the spec is observed and, on every node it should
 * run on, its pod is updated and ready (updatedNumberScheduled and numberReady
 * == desiredNumberScheduled). With OnDelete only observation and ready pods count.
 */
export function daemonSetReadiness(s: DaemonSetLike): Readiness {
  const un = unobserved(s);
  if (un) return un;
  const st = s.status ?? {};
  const want = st.desiredNumberScheduled ?? 0;
  const strategy = s.spec?.updateStrategy?.type ?? 'RollingUpdate';
  const updated = st.updatedNumberScheduled ?? 0;
  if (strategy === 'RollingUpdate' && updated < want) return notReady(`${updated} of ${want} pods updated`);
  const ready = st.numberReady ?? 0;
  if (ready < want) return notReady(`${ready} of ${want} pods ready`);
  return READY;
}
