import { defineConfig } from 'vitest/config';

// Three projects: unit (pure, fakes allowed), integration (real processes, real HTTP,
// real SQLite, real helm), e2e (the local control plane started by its global setup).
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        // Generous: CI machines have 2 cores shared with a control plane. Speed is measured by benchmarks, not here.
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // One cluster, shared: files run one at a time, each in its own namespace.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
