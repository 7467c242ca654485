/**
 * `clusterbot pool set|list|clear` as an admin runs it (the built dist/) against its own database: pools as rows,
 * checked like a create, with a clear message for bad input that changes nothing. No Docker: the keeper is not running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let t: TestDatabase;
const cli = (...args: string[]) => runCli(t.url, 'pool', ...args);
const pools = async () =>
  (await t.database.pool.query('SELECT template, size, target, version FROM pools ORDER BY template, size')).rows;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.drop());

describe('clusterbot pool', () => {
  it('sets, changes, lists and clears pools', async () => {
    expect(await cli('list')).toEqual({ code: 0, out: expect.stringContaining('no pools') });
    expect((await cli('set', 'zookeeper', '3', '--size', '2')).out).toContain('pool zookeeper 3: 2 kept ready');
    expect((await cli('set', 'hadoop', '2', '--size', '1')).code).toBe(0);
    expect((await cli('set', 'zookeeper', '3', '--size', '3')).code).toBe(0);
    expect(await pools()).toEqual([
      { template: 'hadoop', size: 2, target: 1, version: null },
      { template: 'zookeeper', size: 3, target: 3, version: null },
    ]);
    await t.database.pool.query(
      "INSERT INTO pool_requests (template, size, hit) VALUES ('zookeeper', 3, true), ('zookeeper', 3, true), ('zookeeper', 3, false)",
    );
    const lines = (await cli('list')).out.trim().split('\n');
    expect(lines[0]).toBe('TEMPLATE\tSIZE\tVERSION\tTARGET\tREADY\tWARMING\tHITS (24H)\tMISSES (24H)');
    expect(lines).toContain('zookeeper\t3\t-\t3\t0\t0\t2\t1');
    expect((await cli('clear', 'hadoop', '2')).out).toContain('removed 1 pool;');
    expect((await cli('clear')).out).toContain('removed 1 pool;');
    expect(await pools()).toEqual([]);
  });

  it('refuses bad input with a specific message and changes nothing', async () => {
    await cli('set', 'zookeeper', '3', '--size', '1');
    const cases: [string[], string][] = [
      [['set', 'zookeper', '3', '--size', '2'], 'zookeeper'],
      [['set', 'zookeeper', '4', '--size', '2'], 'sizes 1, 3, 5, 7'],
      [['set', 'zookeeper', '3', '--size', 'two'], '--size: "two" is not a whole number'],
      [['set', 'zookeeper', '3', '--size', '50'], 'from 0 to 20'],
      [['set', 'zookeeper', '3', '--size', '2', '--version', '0.0.0-nope'], 'not 0.0.0-nope'],
      [['clear', 'zookeeper'], 'Give both TEMPLATE and SIZE'],
      [['clear', 'zookeeper', '5'], 'There is no zookeeper 5 pool'],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.out, args.join(' ')).toContain(message);
    }
    expect(await pools()).toEqual([{ template: 'zookeeper', size: 3, target: 1, version: null }]);
  });
});
