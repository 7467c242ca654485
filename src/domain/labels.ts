/**
 * The label contract (ARCHITECTURE.md): everything clusterbot makes in Docker carries these,
 * so it can be found, audited and cleaned up by label alone.
 */
export const label = {
  cluster: 'clusterbot.cluster',
  owner: 'clusterbot.owner',
  role: 'clusterbot.role',
  node: 'clusterbot.node',
  /** Marks objects as clusterbot's at all (used by orphan sweeps). */
  managed: 'clusterbot.managed',
  clusterName: 'clusterbot.cluster-name',
  template: 'clusterbot.template',
  /** The deployment (one per database) that made it: an orphan sweep only touches its own instance's objects. */
  instance: 'clusterbot.instance',
} as const;

export function clusterLabels(clusterId: string, owner: string): Record<string, string> {
  return { [label.managed]: 'true', [label.cluster]: clusterId, [label.owner]: owner };
}
