import { execFileSync } from 'node:child_process';

/**
 * End-to-end tests run the built `clusterbot` executable as users do, so build it once per run
 * (a stale dist/ would test yesterday's code).
 */
export default function setup(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
