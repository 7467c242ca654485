import { defineConfig } from 'vitest/config';

/**
 * The whole suite runs in two lanes at once (scripts/test.sh starts one vitest per lane), files one at a time
 * within each lane: most of a Docker-heavy file's time is spent waiting on JVMs and readiness probes, so two files
 * at a time use the machine's two cores without starving each other, where four did.
 *
 * Lane "hosts" holds every file that uses engine B or C (they remove images there, kill C's daemon, migrate onto
 * B: they must not overlap one another), then the heaviest Docker files to balance the lanes by their running
 * time. Lane "rest" is everything else, so a new file lands there unless listed here.
 */
const hostsLane = [
  // engine B / C users: never two at once
  'test/integration/migrate.test.ts',
  'test/integration/image-distribution.test.ts',
  'test/integration/docker-tls.test.ts',
  'test/integration/volume-transfer.test.ts',
  'test/integration/restore-placement.test.ts',
  'test/e2e/host-lost.test.ts',
  'test/e2e/hosts-cli.test.ts',
  'test/e2e/fault-migrate.test.ts',
  'test/e2e/slack-migrate.test.ts',
  // balance
  'test/integration/snapshot-restore.test.ts',
  'test/integration/reset.test.ts',
  'test/e2e/slack-snapshot.test.ts',
  'test/e2e/snapshot-crash.test.ts',
  'test/e2e/slack-expiry.test.ts',
  'test/e2e/fault-create-delete.test.ts',
  'test/e2e/fault-snapshot-reset.test.ts',
  'test/e2e/fault-services.test.ts',
  'test/integration/templates/hbase.test.ts',
  'test/integration/templates/kafka.test.ts',
  'test/e2e/slack-memory-snapshot.test.ts',
  'test/e2e/database-outage.test.ts',
];
// Restarts the machine's Docker daemon: run alone after both lanes (vitest.disruptive.config.ts).
const disruptive = ['test/e2e/docker-restart.test.ts'];
const lane = process.env.CLUSTERBOT_TEST_LANE;

export default defineConfig({
  test: {
    include: lane === 'hosts' ? hostsLane : ['test/**/*.test.ts'],
    // The fault tests (test/e2e/fault-*.test.ts: a worker killed at every step, Redis flushed, PostgreSQL restarted)
    // run with the rest: they use servers of their own where they restart or flush one.
    exclude: ['**/node_modules/**', ...disruptive, ...(lane === 'rest' ? hostsLane : [])],
    globalSetup: ['test/support/global-setup.ts'],
    // Files one at a time within a lane (see above).
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 900_000,
    reporters: ['default'],
  },
});
