import { describe, expect, it } from 'vitest';
import { madeByTest, sinceRecord, type Leftover } from '../support/leftovers.js';

const obj = (id: string, labels: Record<string, string>): Leftover => ({ engine: 'local', kind: 'container', id, name: id, labels });

describe('the leftovers check', () => {
  it('counts what carries a clusterbot label, but not an image label alone or a live deployment\'s', () => {
    const keep = new Set(['dev-deployment']);
    expect(madeByTest({ 'clusterbot.cluster': 'c1', 'clusterbot.instance': 'test-db' }, keep)).toBe(true);
    expect(madeByTest({ 'clusterbot.test': '1' }, keep)).toBe(true);
    expect(madeByTest({ 'clusterbot.cluster': 'c1', 'clusterbot.instance': 'dev-deployment' }, keep)).toBe(false);
    expect(madeByTest({ 'clusterbot.recipe': 'zookeeper' }, keep)).toBe(false);
    expect(madeByTest(null, keep)).toBe(false);
  });

  it('leaves out what was there before the run began and counts everything new', () => {
    const old = obj('a', { 'clusterbot.cluster': 'x' });
    const fresh = obj('b', { 'clusterbot.cluster': 'y' });
    const sameIdOtherEngine = { ...obj('a', { 'clusterbot.cluster': 'x' }), engine: 'b' };
    const { left, earlier } = sinceRecord([old, fresh, sameIdOtherEngine], new Set(['local/container/a']));
    expect(earlier).toEqual([old]);
    expect(left).toEqual([fresh, sameIdOtherEngine]);
  });
});
