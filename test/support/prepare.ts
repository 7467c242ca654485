import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/**
 * End-to-end tests run the built `clusterbot` executable as users do, so build it once per run
 * (a stale dist/ would test yesterday's code), and make sure every image a template uses is built
 * for the current recipes (cached by content: a no-op when nothing changed).
 *
 * `scripts/test.sh` runs this once before the suite's two lanes start (two vitest processes building
 * dist/ and the images at the same time would race), and tells their global setup so.
 */
export function prepare(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  const images = new Set<string>();
  for (const file of readdirSync('manifests/templates').filter((f) => f.endsWith('.yaml')))
    for (const m of readFileSync(`manifests/templates/${file}`, 'utf8').matchAll(/^\s*image:\s*([a-z0-9-]+)/gm))
      images.add(m[1]!);
  execFileSync(process.execPath, ['dist/entrypoints/cli.js', 'images', 'build', '--jobs', '2', ...images], {
    stdio: 'inherit',
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) prepare();
