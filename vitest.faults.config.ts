import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The fault tests of issue 10 (a worker SIGKILLed at every step of create and delete; Redis flushed and
 * PostgreSQL restarted mid-create, on servers of their own). Not part of `npm test` until they pass reliably:
 * `npm run test:faults`.
 */
export default defineConfig({ test: { ...base.test, include: ['test/e2e/fault-*.test.ts'], exclude: ['**/node_modules/**'] } });
