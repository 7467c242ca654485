import type { Cluster } from '../domain/cluster.js';
import { type ClusterPlan, type PlannedNode, planCluster } from '../domain/plan.js';
import { subnetAt } from '../domain/subnet.js';
import type { Template } from '../domain/template.js';
import type { TemplateCatalog } from './ports.js';

/**
 * The cluster's plan by node hostname (probes, volume paths), as its template plans it today; empty when the
 * template is gone. Planning is pure and cheap, so checks re-plan instead of storing the plan.
 */
export function plannedNodes(catalog: TemplateCatalog, subnetPool: string, cluster: Cluster): Map<string, PlannedNode> {
  const template = catalog.get(cluster.template);
  if (!template) return new Map();
  return new Map(planOf(template, subnetPool, cluster).nodes.map((n) => [n.hostname, n]));
}

/** An existing cluster's plan (its names, subnet and identity as stored), as `template` plans it today. */
export function planOf(template: Template, subnetPool: string, cluster: Cluster): ClusterPlan {
  return planCluster({
    clusterId: cluster.id,
    clusterName: cluster.planName ?? cluster.name,
    owner: cluster.owner,
    template,
    size: cluster.size,
    subnet: subnetAt(subnetPool, cluster.subnetIndex),
    identityId: cluster.identityId,
  });
}
