import type { PoolStore } from '../services/ports.js';
import {
  claimPooledCluster,
  clearPools,
  listPooled,
  listPools,
  poolStatus,
  recordPoolMiss,
  retirePooledCluster,
  seedPools,
  setPool,
  whileKeeping,
} from './queries/pools.js';
import type { Db } from './tx.js';

/** PoolStore (services/ports/pools.ts) over PostgreSQL: each method one function of db/queries/pools.ts. */
export function createPoolStore(db: Db): PoolStore {
  return {
    set: (spec) => setPool(db, spec),
    seed: (specs) => seedPools(db, specs),
    clear: (shape) => clearPools(db, shape),
    list: () => listPools(db),
    status: (since) => poolStatus(db, since),
    pooled: () => listPooled(db),
    claim: (c, tell) => claimPooledCluster(db, c, tell),
    retire: (id, reason) => retirePooledCluster(db, id, reason),
    recordMiss: (shape, clusterId) => recordPoolMiss(db, shape, clusterId),
    exclusive: (work) => whileKeeping(db, work),
  };
}
