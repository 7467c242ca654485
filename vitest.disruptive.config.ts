import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * Tests that disturb the whole machine (they restart the Docker daemon): never in the two lanes of `npm test`, but
 * run alone after them by scripts/test.sh, with nothing else using Docker (also `npm run test:docker-restart`).
 */
export default defineConfig({ test: { ...base.test, include: ['test/e2e/docker-restart.test.ts'], exclude: ['**/node_modules/**'] } });
