import { describe, expect, it } from 'vitest';
import { daemonSetReadiness, deploymentReadiness, statefulSetReadiness, type DaemonSetLike, type DeploymentLike, type StatefulSetLike } from '../../src/kube/ready.js';

// Fixtures are the API objects' shapes at the stages of a rollout of 3 replicas
// from generation 1 (revision "a") to generation 2 (revision "b").

const available = [{ type: 'Available', status: 'True' }];

function deployment(status: NonNullable<DeploymentLike['status']>, generation = 2): DeploymentLike {
  return { metadata: { name: 'web', generation }, spec: { replicas: 3 }, status };
}

describe('deploymentReadiness', () => {
  it('is ready when generation observed, all replicas updated and available, Available True', () => {
    expect(deploymentReadiness(deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3, conditions: available }))).toEqual({ ready: true, reason: 'ready' });
  });

  it('is not ready while the controller has not observed the new generation, even with every old replica available', () => {
    const r = deploymentReadiness(deployment({ observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3, conditions: available }));
    expect(r.ready).toBe(false);
    expect(r.reason).toMatch(/observe generation 2/);
  });

  it('is not ready mid-rollout: old replicas still available, new ones not all updated', () => {
    const r = deploymentReadiness(deployment({ observedGeneration: 2, replicas: 4, updatedReplicas: 1, availableReplicas: 3, conditions: available }));
    expect(r).toMatchObject({ ready: false, reason: '1 of 3 replicas updated' });
  });

  it('is not ready while old replicas are pending termination', () => {
    const r = deploymentReadiness(deployment({ observedGeneration: 2, replicas: 4, updatedReplicas: 3, availableReplicas: 3, conditions: available }));
    expect(r).toMatchObject({ ready: false, reason: '1 old replicas pending termination' });
  });

  it('is not ready while updated replicas are not yet available', () => {
    const r = deploymentReadiness(deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 2, conditions: available }));
    expect(r).toMatchObject({ ready: false, reason: '2 of 3 updated replicas available' });
  });

  it('waits for the named condition', () => {
    const st = { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3, conditions: [{ type: 'Available', status: 'False' }] };
    expect(deploymentReadiness(deployment(st)).ready).toBe(false);
    expect(deploymentReadiness(deployment({ ...st, conditions: [...st.conditions, { type: 'Custom', status: 'True' }] }), 'Custom').ready).toBe(true);
  });

  it('fails when the Progressing condition says the progress deadline was exceeded', () => {
    const r = deploymentReadiness(
      deployment({ observedGeneration: 2, replicas: 4, updatedReplicas: 1, availableReplicas: 3, conditions: [...available, { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "web-b" has timed out progressing.' }] }),
    );
    expect(r.ready).toBe(false);
    expect(r.failed).toMatch(/web exceeded its progress deadline: ReplicaSet "web-b" has timed out/);
  });

  it('counts a missing spec.replicas as 1 and a missing status as nothing ready', () => {
    expect(deploymentReadiness({ metadata: { generation: 1 } }).ready).toBe(false);
    expect(deploymentReadiness({ metadata: { generation: 1 }, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1, conditions: available } }).ready).toBe(true);
  });
});

function sts(status: NonNullable<StatefulSetLike['status']>, strategy?: NonNullable<StatefulSetLike['spec']>['updateStrategy'], generation = 2): StatefulSetLike {
  return { metadata: { name: 'db', generation }, spec: { replicas: 3, updateStrategy: strategy }, status };
}

describe('statefulSetReadiness', () => {
  const done = { observedGeneration: 2, readyReplicas: 3, updatedReplicas: 3, currentRevision: 'db-b', updateRevision: 'db-b' };

  it('is ready when observed, all replicas ready and updated, revision rolled out', () => {
    expect(statefulSetReadiness(sts(done)).ready).toBe(true);
  });

  it('is not ready mid-rollout although every (old) replica is ready', () => {
    const r = statefulSetReadiness(sts({ observedGeneration: 2, readyReplicas: 3, updatedReplicas: 1, currentRevision: 'db-a', updateRevision: 'db-b' }));
    expect(r).toMatchObject({ ready: false, reason: '1 of 3 replicas updated' });
  });

  it('is not ready until currentRevision catches up with updateRevision', () => {
    const r = statefulSetReadiness(sts({ ...done, currentRevision: 'db-a' }));
    expect(r).toMatchObject({ ready: false });
    expect(r.reason).toMatch(/revision db-b not rolled out/);
  });

  it('is not ready before the controller observed the new generation', () => {
    expect(statefulSetReadiness(sts({ ...done, observedGeneration: 1, currentRevision: 'db-a', updateRevision: 'db-a' })).reason).toMatch(/observe generation 2/);
  });

  it('is not ready while a replica is not ready', () => {
    expect(statefulSetReadiness(sts({ ...done, readyReplicas: 2 }))).toMatchObject({ ready: false, reason: '2 of 3 replicas ready' });
  });

  it('with a partition, needs only the pods at or above it updated (revisions legitimately differ)', () => {
    const part = { type: 'RollingUpdate', rollingUpdate: { partition: 2 } };
    expect(statefulSetReadiness(sts({ observedGeneration: 2, readyReplicas: 3, updatedReplicas: 1, currentRevision: 'db-a', updateRevision: 'db-b' }, part)).ready).toBe(true);
    expect(statefulSetReadiness(sts({ observedGeneration: 2, readyReplicas: 3, updatedReplicas: 0, currentRevision: 'db-a', updateRevision: 'db-b' }, part)).ready).toBe(false);
  });

  it('with OnDelete, counts observation and ready replicas only', () => {
    const od = { type: 'OnDelete' };
    expect(statefulSetReadiness(sts({ observedGeneration: 2, readyReplicas: 3, updatedReplicas: 0, currentRevision: 'db-a', updateRevision: 'db-b' }, od)).ready).toBe(true);
    expect(statefulSetReadiness(sts({ observedGeneration: 1, readyReplicas: 3 }, od)).ready).toBe(false);
  });
});

function ds(status: NonNullable<DaemonSetLike['status']>, type?: string, generation = 2): DaemonSetLike {
  return { metadata: { name: 'agent', generation }, spec: { updateStrategy: type ? { type } : undefined }, status };
}

describe('daemonSetReadiness', () => {
  it('is ready when observed and every scheduled pod is updated and ready', () => {
    expect(daemonSetReadiness(ds({ observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberReady: 3 })).ready).toBe(true);
  });

  it('is not ready mid-rollout although every (old) pod is ready', () => {
    expect(daemonSetReadiness(ds({ observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 1, numberReady: 3 }))).toMatchObject({ ready: false, reason: '1 of 3 pods updated' });
  });

  it('is not ready while an updated pod is not ready', () => {
    expect(daemonSetReadiness(ds({ observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberReady: 2 }))).toMatchObject({ ready: false, reason: '2 of 3 pods ready' });
  });

  it('is not ready before the controller observed the new generation', () => {
    expect(daemonSetReadiness(ds({ observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberReady: 3 })).ready).toBe(false);
  });

  it('with OnDelete, does not wait for updated pods', () => {
    expect(daemonSetReadiness(ds({ observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 0, numberReady: 3 }, 'OnDelete')).ready).toBe(true);
  });

  it('a DaemonSet scheduled on no node is ready once observed', () => {
    expect(daemonSetReadiness(ds({ observedGeneration: 2, desiredNumberScheduled: 0 })).ready).toBe(true);
  });
});
