import { describe, expect, it } from 'vitest';
import type { HostPool } from '../../src/docker/host-pool.js';
import { createNodeData } from '../../src/docker/node-data.js';

/**
 * A snapshot's pause on a loaded host: the kernel's freezer may give up on a busy JVM ("OCI runtime pause failed:
 * unable to freeze", seen in the hadoop snapshot test while two suites ran), and runc thaws the container again. The
 * adapter tries again a few times before the snapshot fails; other errors fail at once.
 */
function poolWith(pauses: (() => Promise<void>)[]): { pool: HostPool; calls: () => number } {
  let n = 0;
  const container = {
    pause: async () => pauses[Math.min(n++, pauses.length - 1)]!(),
    inspect: async () => ({ State: { Paused: false, Running: true } }),
  };
  const docker = { getContainer: () => container };
  return { pool: { get: () => docker, names: () => ['local'] } as unknown as HostPool, calls: () => n };
}
const engineError = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) ${message}`), { statusCode, json: { message } });
const quiet = { debug() {}, info() {}, warn() {}, error() {} } as never;
const unableToFreeze = async () => {
  throw engineError(500, 'Cannot pause container abc: OCI runtime pause failed: unable to freeze: unknown');
};

describe('pausing a node for a snapshot', () => {
  it('tries again when the freezer gave up, and succeeds when a later try freezes it', async () => {
    const { pool, calls } = poolWith([unableToFreeze, unableToFreeze, async () => undefined]);
    await createNodeData({ pool, logger: quiet, helperImage: async () => 'base' }).pause('local', 'cb-x-nn');
    expect(calls()).toBe(3);
  });

  it("gives up after four refusals with the daemon's message", async () => {
    const { pool, calls } = poolWith([unableToFreeze]);
    await expect(
      createNodeData({ pool, logger: quiet, helperImage: async () => 'base' }).pause('local', 'cb-x-nn'),
    ).rejects.toMatchObject({ userMessage: expect.stringContaining('unable to freeze') });
    expect(calls()).toBe(4);
  });

  it('does not retry other failures', async () => {
    const { pool, calls } = poolWith([
      async () => {
        throw engineError(500, 'Cannot pause container abc: container is restarting');
      },
    ]);
    await expect(
      createNodeData({ pool, logger: quiet, helperImage: async () => 'base' }).pause('local', 'cb-x-nn'),
    ).rejects.toMatchObject({ code: 'docker_error' });
    expect(calls()).toBe(1);
  });
});
