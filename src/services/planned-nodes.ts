import type { Cluster } from '../domain/cluster.js';
import { planCluster, type PlannedNode } from '../domain/plan.js';
import { subnetAt } from '../domain/subnet.js';
import type { TemplateCatalog } from './ports.js';

/**
 * The cluster's plan by node hostname (probes, volume paths), as its template plans it today; empty when the
 * template is gone. Planning is pure and cheap, so checks re-plan instead of storing the plan.
 */
export function plannedNodes(catalog: TemplateCatalog, subnetPool: string, cluster: Cluster): Map<string, PlannedNode> {
  const template = catalog.get(cluster.template);
  if (!template) return new Map();
  const plan = planCluster({
    clusterId: cluster.id, clusterName: cluster.name, owner: cluster.owner, template, size: cluster.size,
    subnet: subnetAt(subnetPool, cluster.subnetIndex), identityId: cluster.identityId,
  });
  return new Map(plan.nodes.map((n) => [n.hostname, n]));
}
