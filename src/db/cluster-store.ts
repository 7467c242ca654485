import type { ClusterStore } from '../services/ports.js';
import {
  cutOverCluster,
  expireCluster,
  extendClusterExpiry,
  transferClusterOwner,
  transitionCluster,
} from './queries/cluster-changes.js';
import { createCluster, moveClusterSubnet } from './queries/cluster-placement.js';
import {
  clusterUsage,
  countLiveClusters,
  findClusterByRequestKey,
  findLiveCluster,
  getCluster,
  listExpiringClusters,
  listLiveClusters,
  setClusterCard,
  setClusterHost,
  setClusterProgressTs,
  setClusterRestoredProcesses,
} from './queries/clusters.js';
import { clusterEvents, recordEvent } from './queries/events.js';
import { clusterNodes, saveNode } from './queries/nodes.js';
import { claimReminder } from './queries/reminders.js';
import type { Db } from './tx.js';

/**
 * ClusterStore (services/ports.ts) over PostgreSQL: the clusters table and the rows that change with it (nodes,
 * events, reminders, retired sources, transfer offers, operations), each method one function of db/queries/.
 */
export function createClusterStore(db: Db): ClusterStore {
  return {
    create: (c, op) => createCluster(db, c, op),
    usage: (owner) => clusterUsage(db, owner),
    get: (id) => getCluster(db, id),
    findByRequestKey: (key) => findClusterByRequestKey(db, key),
    findLiveByName: (name) => findLiveCluster(db, name),
    listLive: (filter) => listLiveClusters(db, filter),
    countLive: (owner) => countLiveClusters(db, owner),
    transition: (id, to, patch, actor, tell) => transitionCluster(db, id, to, patch, actor, tell),
    moveSubnet: (id, exclude) => moveClusterSubnet(db, id, exclude),
    listExpiring: (until) => listExpiringClusters(db, until),
    claimReminder: (id, expiresAt, offsetMinutes, tell) => claimReminder(db, id, expiresAt, offsetMinutes, tell),
    transferOwner: (id, change, actor, quota, tell) => transferClusterOwner(db, id, change, actor, quota, tell),
    extendExpiry: (id, change, actor, tell) => extendClusterExpiry(db, id, change, actor, tell),
    expire: (id, now, tell) => expireCluster(db, id, now, tell),
    setHost: (id, host) => setClusterHost(db, id, host),
    setRestoredProcesses: (id, processes) => setClusterRestoredProcesses(db, id, processes),
    cutOver: (id, move, actor, tell) => cutOverCluster(db, id, move, actor, tell),
    setCard: (id, ref) => setClusterCard(db, id, ref),
    setProgressTs: (id, ts) => setClusterProgressTs(db, id, ts),
    saveNode: (node) => saveNode(db, node),
    nodes: (clusterId) => clusterNodes(db, clusterId),
    async view(id) {
      const cluster = await getCluster(db, id);
      if (!cluster) return undefined;
      return { cluster, nodes: await clusterNodes(db, id) };
    },
    recordEvent: (clusterId, actor, kind, detail) => recordEvent(db, { clusterId, actor, kind, detail }),
    events: (clusterId) => clusterEvents(db, clusterId),
  };
}
