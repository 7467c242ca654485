import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * Tests that disturb the whole machine (they restart the Docker daemon): never part of `npm test`, run alone,
 * with nothing else using Docker, by `npm run test:docker-restart`.
 */
export default defineConfig({ test: { ...base.test, include: ['test/e2e/docker-restart.test.ts'], exclude: ['**/node_modules/**'] } });
