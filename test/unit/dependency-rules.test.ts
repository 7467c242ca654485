import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `npm run lint` passing on src/ proves nothing if the rules match nothing (a path typo, a library resolved
 * elsewhere): .dependency-cruiser.cjs is run here on a small tree that breaks each rule once, and on one that keeps
 * them, and the violations are compared by rule and file.
 */

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A scratch project with these files under src/, the repository's tsconfig and node_modules. */
function project(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'dependency-rules-'));
  dirs.push(root);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, 'src', name)), { recursive: true });
    writeFileSync(path.join(root, 'src', name), text);
  }
  writeFileSync(
    path.join(root, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true },
      include: ['src'],
    }),
  );
  symlinkSync(path.join(repo, 'node_modules'), path.join(root, 'node_modules'));
  return root;
}

/** "rule file → dependency" for each violation depcruise reports. */
function violations(root: string): string[] {
  const bin = path.join(repo, 'node_modules', '.bin', 'depcruise');
  const run = spawnSync(bin, ['src', '--config', path.join(repo, '.dependency-cruiser.cjs'), '--output-type', 'json'], {
    cwd: root,
    encoding: 'utf8',
  });
  expect(run.stdout, run.stderr).not.toBe('');
  const result = JSON.parse(run.stdout) as {
    summary: { violations: { rule: { name: string }; from: string; to: string }[] };
  };
  return result.summary.violations
    .map((v) => `${v.rule.name} ${v.from} → ${v.to.replace(/^node_modules\/([^/]+).*$/, '$1')}`)
    .sort();
}

describe('the import rules (.dependency-cruiser.cjs)', () => {
  it('name each kind of violation, with the importing file and what it imports', () => {
    const root = project({
      'errors.ts': 'export class AppError extends Error {}\n',
      'domain/pure.ts': "import { AppError } from '../errors.js';\nexport const e = AppError;\n",
      'domain/reads-disk.ts': "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n",
      'domain/knows-slack.ts': "import { sent } from '../slack/sender.js';\nexport const s = sent;\n",
      'render/card.ts': "import { load } from '../services/load.js';\nexport const l = load;\n",
      'services/load.ts': "import { query } from '../db/query.js';\nexport const load = query;\n",
      'db/query.ts': 'export const query = 1;\n',
      'slack/sender.ts': "import { route } from '../http/route.js';\nexport const sent = route;\n",
      'http/route.ts':
        "import type { Redis } from 'ioredis';\nimport { sent } from '../slack/sender.js';\nexport const route = sent;\nexport type R = Redis;\n",
    });
    expect(violations(root)).toEqual([
      'adapters-stay-apart src/http/route.ts → src/slack/sender.ts',
      'adapters-stay-apart src/slack/sender.ts → src/http/route.ts',
      'domain-and-render-no-io src/domain/reads-disk.ts → fs',
      'domain-stays-inside src/domain/knows-slack.ts → src/slack/sender.ts',
      'no-circular src/http/route.ts → src/slack/sender.ts',
      'queue-owns-bullmq-and-ioredis src/http/route.ts → ioredis',
      'render-imports-domain-only src/render/card.ts → src/services/load.ts',
      'services-use-ports src/services/load.ts → src/db/query.ts',
    ]);
  });

  it('let the layering the architecture describes pass', () => {
    const root = project({
      'errors.ts': 'export class AppError extends Error {}\n',
      'domain/cluster.ts': "import { AppError } from '../errors.js';\nexport const e = AppError;\n",
      'render/card.ts': "import { e } from '../domain/cluster.js';\nexport const c = e;\n",
      'services/ports.ts': 'export interface Queue { add(): void }\n',
      'services/create.ts':
        "import type { Queue } from './ports.js';\nimport { e } from '../domain/cluster.js';\nexport const create = (q: Queue) => (q.add(), e);\n",
      'queue/producer.ts':
        "import type { Redis } from 'ioredis';\nimport type { Queue } from '../services/ports.js';\nexport type P = Queue & { r?: Redis };\n",
      'entrypoints/main.ts':
        "import { Redis } from 'ioredis';\nimport { create } from '../services/create.js';\nexport const m = [create, Redis];\n",
    });
    expect(violations(root)).toEqual([]);
  });
});
