import { describe, expect, it } from 'vitest';
import { FusemlError } from '../../src/core/errors.js';
import { KubeApiError, httpStatus, kubeError } from '../../src/kube/errors.js';

/** A client-node ApiException's shape: numeric `code`, the Status object as a JSON string `body`. */
function apiException(code: number, reason: string, message: string): Error {
  return Object.assign(new Error(`HTTP-Code: ${code}\nMessage: Unknown API Status Code!`), { code, body: JSON.stringify({ kind: 'Status', reason, message, code }) });
}

describe('kubeError: the one Kubernetes error mapping', () => {
  it('401 is CLUSTER (credentials not accepted) with a credentials hint, never FORBIDDEN', () => {
    const e = kubeError(apiException(401, 'Unauthorized', 'Unauthorized'), 'list namespaces');
    expect(e).toBeInstanceOf(KubeApiError);
    expect(e.code).toBe('CLUSTER');
    expect(e.exitCode).toBe(8);
    expect(e.message).toBe('list namespaces: HTTP 401: the API server did not accept the credentials (Unauthorized)');
    expect(e.hint).toMatch(/credentials .* were not accepted/);
    expect((e as KubeApiError).status).toBe(401);
  });

  it('403 is FORBIDDEN with the caller\'s hint and the API server\'s message', () => {
    const e = kubeError(apiException(403, 'Forbidden', 'secrets is forbidden: User "bob" cannot list resource "secrets"'), 'list secrets', { forbiddenHint: 'needs rights on secrets' });
    expect(e.code).toBe('FORBIDDEN');
    expect(e.exitCode).toBe(12);
    expect(e.message).toBe('list secrets: HTTP 403: secrets is forbidden: User "bob" cannot list resource "secrets"');
    expect(e.hint).toBe('needs rights on secrets');
    expect((e as KubeApiError).reason).toBe('Forbidden');
  });

  it('404 → NOT_FOUND, 409 → CONFLICT, 500 → CLUSTER; status and reason kept', () => {
    expect(kubeError(apiException(404, 'NotFound', 'secrets "x" not found'), 'read secret x')).toMatchObject({ code: 'NOT_FOUND', status: 404, reason: 'NotFound' });
    expect(kubeError(apiException(409, 'AlreadyExists', 'already exists'), 'create x')).toMatchObject({ code: 'CONFLICT', status: 409, reason: 'AlreadyExists', message: 'create x: HTTP 409: already exists' });
    expect(kubeError(apiException(500, 'InternalError', 'etcd down'), 'x')).toMatchObject({ code: 'CLUSTER', status: 500 });
  });

  it('no status: the API server was not reached → CLUSTER with a hint to check the target', () => {
    const e = kubeError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1\nmore'), { code: 'ECONNREFUSED' }), 'list namespaces');
    expect(e).toMatchObject({ code: 'CLUSTER', message: 'list namespaces: cannot reach the Kubernetes API server (connect ECONNREFUSED 127.0.0.1:1)' });
    expect(e.hint).toMatch(/^check --kubeconfig/);
    expect(httpStatus(e)).toBeUndefined();
  });

  it('a non-JSON body is shown cut, a parsed body is read, a FusemlError passes through', () => {
    expect(kubeError(Object.assign(new Error('x'), { code: 502, body: 'Bad Gateway' }), 'get').message).toBe('get: HTTP 502: Bad Gateway');
    expect(kubeError(Object.assign(new Error('x'), { code: 403, body: { reason: 'Forbidden', message: 'no' } }), 'get')).toMatchObject({ code: 'FORBIDDEN', reason: 'Forbidden', message: 'get: HTTP 403: no' });
    const f = new FusemlError('TIMEOUT', 'late');
    expect(kubeError(f, 'get')).toBe(f);
  });

  it('httpStatus reads a client-node error and a mapped error alike', () => {
    const raw = apiException(409, 'Conflict', 'c');
    expect(httpStatus(raw)).toBe(409);
    expect(httpStatus(kubeError(raw, 'x'))).toBe(409);
  });
});
