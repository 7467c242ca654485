/**
 * What a step of an operation found, carried in its messages: a leaf module, so the operation definitions
 * (operations/*.ts) can name these without importing messages.ts, which is derived from them.
 */

/** One smoke check of a template as a cluster passed or failed it (plan.ts `smoke`). */
export interface SmokeResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** What a delete removed (ContainerRuntime.removeCluster); `unreachable` hosts did not answer (what is left there goes when they do). */
export interface RemovedObjects {
  containers: number;
  volumes: number;
  networks: number;
  unreachable?: string[];
}
