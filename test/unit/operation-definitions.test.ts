import { describe, expect, it } from 'vitest';
import { busyMessage } from '../../src/domain/operation.js';
import { startOf } from '../../src/domain/operations/define.js';
import {
  definitionOf, jobCatalog, jobForKind, operationDefinitions, operationKinds, operationVerbs,
} from '../../src/domain/operations/index.js';

const ids = {
  operationId: '7c0e8a8e-1b7e-4a47-9d0a-6f1f1f1f1f1f',
  clusterId: '0b6d9a3e-2c4f-4e51-8a6b-2d2d2d2d2d2d',
  actor: 'UALICE',
};

describe('operation definitions', () => {
  it('list every kind once, each with its own job and verb', () => {
    expect(operationKinds).toEqual(['create', 'restore', 'delete', 'snapshot', 'reset', 'restart', 'migrate']);
    expect(new Set(operationDefinitions.map((d) => d.job)).size).toBe(operationDefinitions.length);
    for (const kind of operationKinds) {
      expect(definitionOf(kind).kind).toBe(kind);
      expect(jobForKind[kind]).toBe(definitionOf(kind).job);
      expect(operationVerbs[kind]).toMatch(/^being /);
    }
    expect(busyMessage('zk-1', { kind: 'snapshot', actor: 'U1', createdAt: new Date() }, new Date()))
      .toBe('zk-1 is busy: it is being snapshotted by <@U1> (started just now).');
  });

  it('make the job catalog: every job with its queue options', () => {
    const backoff = { type: 'exponential', delay: 2000 };
    expect(Object.fromEntries(Object.entries(jobCatalog).map(([name, spec]) => [name, spec.options]))).toEqual({
      'cluster.create': { attempts: 3, backoff },
      'cluster.restore': { attempts: 3, backoff },
      'cluster.delete': { attempts: 5, backoff },
      'cluster.snapshot': { attempts: 1 },
      'cluster.reset': { attempts: 3, backoff },
      'cluster.restart': { attempts: 2, backoff },
      'cluster.migrate': { attempts: 1 },
      'snapshot.delete': { attempts: 5, backoff },
    });
  });

  it('make each payload schema from the operation fields and the kind\'s params, refusing anything else', () => {
    expect(jobCatalog['cluster.create'].schema.parse(ids)).toEqual(ids);
    expect(jobCatalog['cluster.snapshot'].schema.parse(ids)).toEqual({ ...ids, withData: false });
    expect(jobCatalog['cluster.reset'].schema.parse(ids)).toEqual({ ...ids, snapshotFirst: false });
    expect(jobCatalog['cluster.restore'].schema.safeParse(ids).success).toBe(false);
    expect(jobCatalog['cluster.migrate'].schema.safeParse({ ...ids, to: 'Not A Host!' }).success).toBe(false);
    expect(jobCatalog['cluster.restart'].schema.safeParse({ ...ids, node: 'zk-1', extra: 1 }).success).toBe(false);
    expect(jobCatalog['cluster.delete'].schema.safeParse({ ...ids, clusterId: 'not-a-uuid' }).success).toBe(false);
    const removal = { snapshotId: ids.operationId, actor: 'UALICE' };
    expect(jobCatalog['snapshot.delete'].schema.parse(removal)).toEqual(removal);
  });

  it('say where each kind may start and where it moves the cluster', () => {
    expect(startOf(definitionOf('delete'), {})).toMatchObject({ moveTo: 'deleting' });
    expect(startOf(definitionOf('delete'), {}).states).not.toContain('deleted');
    expect(startOf(definitionOf('reset'), { snapshotFirst: false }))
      .toEqual({ states: ['ready', 'degraded', 'failed'], moveTo: 'provisioning', clearError: true });
    expect(startOf(definitionOf('reset'), { snapshotFirst: true })).toEqual({ states: ['ready', 'degraded'] });
    expect(startOf(definitionOf('migrate'), { to: 'docker-b' }))
      .toEqual({ states: ['ready', 'degraded'], moveTo: 'migrating' });
    expect(definitionOf('delete').preempts).toEqual(['create', 'restore', 'reset']);
    expect(definitionOf('snapshot').refusal!({ name: 'zk-1', state: 'failed' }, { withData: false }).hints)
      .toEqual(['`/cluster retry zk-1` creates it again first.']);
  });
});
