/** The generic resource client's naming rules (no API server: the requests themselves are in test/e2e/kube-resources.test.ts). */
import { describe, expect, test } from 'vitest';
import { groupResource, pluralOf, resourceType } from '../../src/kube/resources.js';

describe('resource types', () => {
  test('plural names as the API server forms them', () => {
    expect(['Secret', 'Deployment', 'Ingress', 'Lease', 'NetworkPolicy', 'StorageClass', 'Endpoints', 'FusemlExtension', 'Gateway'].map(pluralOf)).toEqual([
      'secrets',
      'deployments',
      'ingresses',
      'leases',
      'networkpolicies',
      'storageclasses',
      'endpoints',
      'fusemlextensions',
      'gateways',
    ]);
  });

  test('scope: built-in cluster-scoped kinds are known, anything else is namespaced unless told', () => {
    expect(resourceType('v1', 'Namespace')).toEqual({ apiVersion: 'v1', plural: 'namespaces', namespaced: false });
    expect(resourceType('storage.k8s.io/v1', 'StorageClass').namespaced).toBe(false);
    expect(resourceType('apps/v1', 'Deployment')).toEqual({ apiVersion: 'apps/v1', plural: 'deployments', namespaced: true });
    expect(resourceType('example.io/v1', 'Widget', false).namespaced).toBe(false);
    expect(groupResource('', 'v1', 'secrets')).toEqual({ apiVersion: 'v1', plural: 'secrets', namespaced: true });
    expect(groupResource('registry.fuseml.io', 'v1alpha1', 'fusemlextensions')).toEqual({ apiVersion: 'registry.fuseml.io/v1alpha1', plural: 'fusemlextensions', namespaced: true });
  });
});
