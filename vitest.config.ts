import { defineConfig } from 'vitest/config';

// Tests read workspace packages from source through the `source` export condition, so they run
// without a build; plain `node` ignores that condition and runs dist/.
const resolve = { conditions: ['source', 'import', 'module', 'default'] };

export default defineConfig({
  resolve,
  ssr: { resolve: { conditions: resolve.conditions, externalConditions: ['source'] } },
  test: {
    projects: [
      {
        resolve,
        ssr: { resolve: { conditions: resolve.conditions } },
        test: { name: 'unit', include: ['{shared,agent,collector}/src/**/*.test.ts'], environment: 'node' },
      },
      {
        resolve,
        ssr: { resolve: { conditions: resolve.conditions } },
        test: {
          name: 'integration',
          include: ['{shared,agent,collector}/test/**/*.test.ts', 'test/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        resolve,
        ssr: { resolve: { conditions: resolve.conditions } },
        // Slow end-to-end runs kept out of `pnpm test`, in only with HATANG_FLEET=1: `pnpm test:fleet`.
        test: {
          name: 'fleet',
          include: process.env.HATANG_FLEET ? ['test/fleet/**/*.fleet.ts'] : [],
          environment: 'node',
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
