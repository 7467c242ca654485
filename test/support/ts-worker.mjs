// Bootstraps a worker thread that runs a TypeScript module (tsx's loader), for tests that must be able to stop
// code that runs away: `worker.terminate()` interrupts even a regular expression stuck in backtracking.
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.module, import.meta.url);
