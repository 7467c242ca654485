/**
 * The Slack request ledger over PostgreSQL (db/request-ledger-store.ts): of any number of deliveries of one request,
 * racing in one process or several (pools, as replicas have), exactly one is first; old keys are pruned.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '../../src/db/client.js';
import { createRequestLedgerStore } from '../../src/db/request-ledger-store.js';
import { requestKeys } from '../../src/slack/request-ledger.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase({ max: 12 });
});
afterAll(async () => t?.drop());

describe('request ledger over PostgreSQL', () => {
  it('one delivery of a request is first, however many race across replicas; another request is first on its own', async () => {
    const replica = connectDatabase(t.url);
    try {
      const ledgers = [createRequestLedgerStore(t.database.db), createRequestLedgerStore(replica.db)];
      const key = requestKeys.command({ team: 'T0', triggerId: '1700000000.1.abc' });
      const firsts = await Promise.all(Array.from({ length: 10 }, (_, i) => ledgers[i % 2]!.first(key)));
      expect(firsts.filter(Boolean)).toHaveLength(1);
      expect(await ledgers[1]!.first(requestKeys.command({ team: 'T0', triggerId: '1700000000.2.abc' }))).toBe(true);
    } finally {
      await replica.close();
    }
  });

  it('forgets keys older than it keeps them (pruned as it goes), and keeps the recent ones', async () => {
    await t.database.pool.query(
      `INSERT INTO slack_requests (key, seen_at) VALUES ('old', now() - interval '2 hours'), ('recent', now() - interval '10 minutes')`,
    );
    const ledger = createRequestLedgerStore(t.database.db);
    expect(await ledger.first('another')).toBe(true);
    const keys = (await t.database.pool.query<{ key: string }>('SELECT key FROM slack_requests ORDER BY key')).rows.map(
      (r) => r.key,
    );
    expect(keys).not.toContain('old');
    expect(keys).toEqual(expect.arrayContaining(['recent', 'another']));
    expect(await ledger.first('recent')).toBe(false);
  });
});
