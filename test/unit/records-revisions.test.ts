/** The wire rule for revisions (src/core/records.ts, withoutNestedRevisions): a record's own, none nested. */
import { describe, expect, test } from 'vitest';
import { withoutNestedRevisions, type ExtensionRecord } from '../../src/core/records.js';

const record = (): ExtensionRecord => ({
  id: 'e',
  revision: 4,
  services: [
    {
      id: 's',
      revision: 3,
      endpoints: [{ url: 'http://a', type: 'internal', revision: 2 }],
      credentials: [{ id: 'c', scope: 'global', configuration: { K: '<hidden>' }, revision: 2 }],
    },
    { id: 'bare', revision: 1 },
  ],
});

describe('withoutNestedRevisions', () => {
  test('an extension keeps its revision; its services, endpoints and credentials lose theirs; fields and order kept', () => {
    const given = record();
    const before = JSON.stringify(given);
    const out = withoutNestedRevisions(given);
    expect(JSON.stringify(out)).toBe(
      '{"id":"e","revision":4,"services":[{"id":"s","endpoints":[{"url":"http://a","type":"internal"}],"credentials":[{"id":"c","scope":"global","configuration":{"K":"<hidden>"}}]},{"id":"bare"}]}',
    );
    expect(Object.keys(out.services?.[0] ?? {})).toEqual(['id', 'endpoints', 'credentials']);
    // The given record is left as it is (stored documents and caches keep every revision).
    expect(JSON.stringify(given)).toBe(before);
  });

  test('a service keeps its revision, its endpoints and credentials lose theirs; an endpoint or credential set is returned as it is', () => {
    const svc = record().services?.[0];
    if (!svc) throw new Error('no service');
    const out = withoutNestedRevisions(svc);
    expect(out.revision).toBe(3);
    expect(out.endpoints?.map((e) => 'revision' in e)).toEqual([false]);
    expect(out.credentials?.map((c) => 'revision' in c)).toEqual([false]);
    expect(svc.endpoints?.[0]?.revision).toBe(2);
    const ep = svc.endpoints?.[0];
    if (!ep) throw new Error('no endpoint');
    expect(withoutNestedRevisions(ep)).toBe(ep);
    expect(withoutNestedRevisions({ id: 'x', revision: 1 } as ExtensionRecord)).toEqual({ id: 'x', revision: 1 });
  });
});
