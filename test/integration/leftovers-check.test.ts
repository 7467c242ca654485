/**
 * The suite's last check (test/support/leftovers.ts) against real PostgreSQL and Docker: it counts what a test left
 * (anything with a clusterbot label, whatever its instance) and leaves out what a developer's clusterbot on the same
 * machine made (labelled with the deployment id of a database that is not a test's). Bare volumes only.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { deploymentId } from '../../src/db/deployment-id.js';
import { label } from '../../src/domain/labels.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { docker, localEngine } from '../support/docker.js';
import { deploymentsNotOfTests, leftoversOn } from '../support/leftovers.js';

const run = randomBytes(4).toString('hex');
const name = (what: string) => `cb-leftovers-${run}-${what}`;
let developers: TestDatabase;
let tests: TestDatabase;

beforeAll(async () => {
  [developers, tests] = await Promise.all([createTestDatabase({ prefix: 'cbdev' }), createTestDatabase()]);
});
afterAll(async () => {
  for (const what of ['test-cluster', 'test-own', 'developer', 'unlabelled', 'image-only'])
    await docker
      .getVolume(name(what))
      .remove({ force: true })
      .catch(() => undefined);
  await Promise.all([developers?.drop(), tests?.drop()]);
});

describe('the leftovers check', () => {
  it("counts a test's objects and leaves out a developer's clusterbot's, unlabelled ones and those with only an image's labels", async () => {
    const [dev, test] = await Promise.all([deploymentId(developers.database.db), deploymentId(tests.database.db)]);
    const keep = await deploymentsNotOfTests(loadConfig().databaseUrl);
    expect(keep.has(dev)).toBe(true);
    expect(keep.has(test)).toBe(false);
    const volumes: [string, Record<string, string>][] = [
      [name('test-cluster'), { [label.managed]: 'true', [label.cluster]: `c-${run}`, [label.instance]: test }],
      [name('test-own'), { 'clusterbot.test': `leftovers-${run}` }],
      [name('developer'), { [label.managed]: 'true', [label.cluster]: `d-${run}`, [label.instance]: dev }],
      [name('unlabelled'), { 'com.example.other': 'x' }],
      // What a container of one of our images carries from the image alone: anyone may run one.
      [name('image-only'), { 'clusterbot.recipe': 'base', 'clusterbot.recipe.hash': 'f'.repeat(64) }],
    ];
    for (const [Name, Labels] of volumes) await docker.createVolume({ Name, Labels });
    const found = (await leftoversOn(localEngine, keep)).filter((l) => l.name.startsWith(`cb-leftovers-${run}-`));
    expect(found.map((l) => `${l.engine} ${l.kind} ${l.name}`).sort()).toEqual([
      `local volume ${name('test-cluster')}`,
      `local volume ${name('test-own')}`,
    ]);
  });
});
