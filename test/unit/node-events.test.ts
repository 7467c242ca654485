import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../src/docker/node-events.js';

describe('Docker event lines', () => {
  const line = (o: object) => JSON.stringify(o);
  it('a clusterbot container dying or OOM-killed is an event with its cluster and name', () => {
    const die = line({
      Type: 'container',
      Action: 'die',
      time: 1700000000,
      Actor: { ID: 'abc', Attributes: { 'clusterbot.cluster': 'c1', name: 'cb-zk-1', exitCode: '137' } },
    });
    expect(parseEvent('local', die)).toEqual({
      event: { host: 'local', clusterId: 'c1', container: 'cb-zk-1', action: 'die' },
      time: 1700000000,
    });
    expect(
      parseEvent(
        'b',
        line({ Type: 'container', Action: 'oom', Actor: { Attributes: { 'clusterbot.cluster': 'c2', name: 'n' } } }),
      )?.event.action,
    ).toBe('oom');
  });
  it('anything else is ignored, garbage included', () => {
    expect(
      parseEvent(
        'local',
        line({ Type: 'container', Action: 'start', Actor: { Attributes: { 'clusterbot.cluster': 'c1' } } }),
      ),
    ).toBeUndefined();
    expect(
      parseEvent('local', line({ Type: 'container', Action: 'die', Actor: { Attributes: { name: 'not-ours' } } })),
    ).toBeUndefined();
    expect(parseEvent('local', line({ Type: 'network', Action: 'die' }))).toBeUndefined();
    expect(parseEvent('local', '{not json')).toBeUndefined();
  });
});
