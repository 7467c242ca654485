/**
 * The cluster runtime's Engine calls go through engine-call.ts (issue 24): each is logged with its host, operation,
 * target and duration, and a failure comes out as AppError('docker_error') saying what could not be done where,
 * retryable for 5xx and connection errors only. Only a 404 counts as "not there": any other failure of a lookup
 * throws (failure is not absence). An engine faked at dockerode's surface; the real engine is
 * test/integration/cluster-runtime.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createClusterRuntime } from '../../src/docker/cluster-runtime.js';
import type { HostPool } from '../../src/docker/host-pool.js';
import { AppError } from '../../src/errors.js';
import { rejection } from '../support/rejection.js';

const engineError = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) ${message}`), { statusCode, json: { message } });

/** One host, `local`, whose engine answers with `engine`'s methods (anything else is not called). */
function runtimeOver(engine: Record<string, unknown>) {
  const lines: { obj: Record<string, unknown>; msg?: string }[] = [];
  const log = (obj: object, msg?: string) => lines.push({ obj: obj as Record<string, unknown>, ...(msg && { msg }) });
  const logger = { debug: log, info: log, warn: log, error: log };
  const docker = { ping: async () => 'OK', ...engine };
  const pool = { names: () => ['local'], get: () => docker } as unknown as HostPool;
  const runtime = createClusterRuntime({ pool, logger, publishIp: '127.0.0.1', advertiseHost: 'localhost', resolveImage: async (r) => r });
  return { runtime, lines };
}

describe('the cluster runtime\'s Engine calls', () => {
  it('are logged with host, operation, target and milliseconds', async () => {
    const { runtime, lines } = runtimeOver({ listNetworks: async () => [{ Labels: {}, IPAM: { Config: [{ Subnet: '10.9.0.0/24' }] } }] });
    expect(await runtime.subnetsTaken('local', 'c1')).toEqual(['10.9.0.0/24']);
    const call = lines.find((l) => l.msg === 'docker call');
    expect(call?.obj).toMatchObject({ host: 'local', op: 'list', target: 'networks' });
    expect(typeof call?.obj.ms).toBe('number');
  });

  it('fail as docker_error naming what and where, retryable for a 5xx, and the failure is logged with its status', async () => {
    const { runtime, lines } = runtimeOver({ listContainers: async () => { throw engineError(500, 'the daemon is restarting'); } });
    const e = await rejection(runtime.leftovers('c1'));
    expect(e).toBeInstanceOf(AppError);
    expect(e).toMatchObject({ code: 'docker_error', retryable: true, userMessage: 'Docker could not list containers of cluster c1 on local: the daemon is restarting' });
    expect(lines.find((l) => l.msg === 'docker call failed')?.obj).toMatchObject({ host: 'local', op: 'list containers of', status: 500 });
  });

  it('a 4xx is not retryable: trying the same request again cannot help', async () => {
    const { runtime } = runtimeOver({ listVolumes: async () => { throw engineError(400, 'invalid filter'); }, listContainers: async () => [] });
    expect(await rejection(runtime.removeNodes('local', 'c1'))).toMatchObject({ code: 'docker_error', retryable: false });
  });

  it('a lookup that finds nothing (404) is "not there"; one that fails otherwise throws instead of saying "not there"', async () => {
    const missing = runtimeOver({ getContainer: () => ({ inspect: async () => { throw engineError(404, 'No such container: zk-1'); } }) });
    expect(await missing.runtime.inspectNode('local', 'zk-1')).toEqual({ exists: false, running: false, ports: [] });
    const failing = runtimeOver({ getContainer: () => ({ inspect: async () => { throw engineError(500, 'context deadline exceeded'); } }) });
    expect(await rejection(failing.runtime.inspectNode('local', 'zk-1'))).toMatchObject({ code: 'docker_error', retryable: true });
  });

  it('a host that does not answer its ping is skipped by a removal and reported unreachable', async () => {
    const { runtime } = runtimeOver({ ping: async () => { throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }); } });
    expect(await runtime.removeCluster('c1')).toEqual({ containers: 0, volumes: 0, networks: 0, unreachable: ['local'] });
  });
});
