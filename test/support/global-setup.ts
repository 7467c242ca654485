import { prepare } from './prepare.js';

/** Builds dist/ and the images before any test file runs, unless scripts/test.sh already did for this run. */
export default function setup(): void {
  if (process.env.CLUSTERBOT_TEST_PREPARED !== '1') prepare();
}
