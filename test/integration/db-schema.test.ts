/**
 * src/db/schema.ts, drizzle-kit's snapshots (migrations/meta) and the SQL migrations say the same thing:
 * `npm run db:generate` on a clean tree writes no migration, and a database made from schema.ts alone has the
 * columns, indexes and constraints of one made by running migrations/. drizzle-kit runs in a temporary copy, so
 * nothing here writes into the repository.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/config.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

const migrations = path.join(packageRoot, 'migrations');
const schema = path.join(packageRoot, 'src/db/schema.ts');

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'clusterbot-db-schema-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** `drizzle-kit generate` of schema.ts into `out` (relative to `cwd`: drizzle-kit prefixes `out` with `./`). */
async function drizzleGenerate(cwd: string, out: string): Promise<string> {
  const bin = path.join(packageRoot, 'node_modules/drizzle-kit/bin.cjs');
  const args = [bin, 'generate', '--dialect', 'postgresql', '--schema', schema, '--out', out];
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd, timeout: 60_000 });
  return stdout;
}

/** Every file under `dir` with its content, by path relative to it. */
async function tree(dir: string): Promise<Map<string, string>> {
  const files: [string, string][] = [];
  for (const name of await readdir(dir, { recursive: true })) {
    const full = path.join(dir, name);
    if ((await stat(full)).isFile()) files.push([name, await readFile(full, 'utf8')]);
  }
  return new Map(files);
}

interface Journal {
  entries: { idx: number; tag: string }[];
}

describe('drizzle-kit', () => {
  it('generates no migration from schema.ts: the last snapshot is the schema', async () => {
    const copy = path.join(scratch, 'generate');
    await cp(migrations, path.join(copy, 'migrations'), { recursive: true });
    const stdout = await drizzleGenerate(copy, 'migrations');
    const written = await tree(path.join(copy, 'migrations'));
    const committed = await tree(migrations);
    expect(
      [...written.keys()].filter((f) => !committed.has(f)),
      stdout,
    ).toEqual([]);
    for (const [file, text] of committed) expect(written.get(file), file).toBe(text);
    expect(stdout).toContain('No schema changes');
  });

  it('has a snapshot for every migration in the journal, each one following the one before', async () => {
    const journal = JSON.parse(await readFile(path.join(migrations, 'meta/_journal.json'), 'utf8')) as Journal;
    const sql = (await readdir(migrations)).filter((f) => f.endsWith('.sql')).sort();
    expect(journal.entries.map((e) => `${e.tag}.sql`)).toEqual(sql);
    let prevId = '00000000-0000-0000-0000-000000000000';
    for (const e of journal.entries) {
      const file = path.join(migrations, 'meta', `${e.tag.slice(0, 4)}_snapshot.json`);
      const snapshot = JSON.parse(await readFile(file, 'utf8')) as { id: string; prevId: string };
      expect(snapshot.prevId, e.tag).toBe(prevId);
      prevId = snapshot.id;
    }
  });
});

describe('schema.ts', () => {
  let migrated: TestDatabase;
  let fromSchema: TestDatabase;

  beforeAll(async () => {
    [migrated, fromSchema] = await Promise.all([createTestDatabase({ max: 2 }), createTestDatabase({ max: 2 })]);
  });

  afterAll(async () => {
    await Promise.all([migrated?.drop(), fromSchema?.drop()]);
  });

  /** What PostgreSQL itself says of the public schema: columns, index definitions, constraint definitions. */
  async function catalog(db: TestDatabase): Promise<string[]> {
    const { rows } = await db.database.pool.query<{ line: string }>(`
      SELECT format('column %s.%s %s %s default %s', table_name, column_name, data_type,
                    CASE is_nullable WHEN 'YES' THEN 'null' ELSE 'not null' END, column_default) AS line
        FROM information_schema.columns WHERE table_schema = 'public'
      UNION ALL
      SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
      UNION ALL
      SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace
      ORDER BY 1`);
    return rows.map((r) => r.line);
  }

  it('describes the database that migrations/ make: the same columns, indexes and constraints', async () => {
    // Everything schema.ts declares, as drizzle-kit would create it on an empty database.
    const out = path.join(scratch, 'from-schema');
    await drizzleGenerate(scratch, 'from-schema');
    const [ddl] = [...(await tree(out))].filter(([f]) => f.endsWith('.sql')).map(([, text]) => text);
    expect(ddl).toContain('CREATE TABLE "outbox"');
    await fromSchema.database.pool.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
    for (const statement of ddl!.split('--> statement-breakpoint')) {
      if (statement.trim()) await fromSchema.database.pool.query(statement);
    }

    const expected = await catalog(migrated);
    expect(expected.length).toBeGreaterThan(200);
    expect(await catalog(fromSchema)).toEqual(expected);
  });
});
