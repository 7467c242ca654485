import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Restarts the machine's Docker daemon: run alone with `npm run test:docker-restart` (vitest.disruptive.config.ts).
    // The fault tests (test/e2e/fault-*.test.ts: a worker killed at every step, Redis flushed, PostgreSQL restarted)
    // run with the rest: they use servers of their own where they restart or flush one.
    exclude: ['**/node_modules/**', 'test/e2e/docker-restart.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Integration and e2e tests share one Docker Engine and two CPU cores; running files one at a
    // time keeps them from starving each other's readiness probes.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 900_000,
    reporters: ['default'],
  },
});
