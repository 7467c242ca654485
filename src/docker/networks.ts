/**
 * A cluster's bridge network on a host, on its plan's subnet (pinned addresses need a user-configured subnet).
 * Every Engine call goes through `ctx.call`.
 */
import { label } from '../domain/labels.js';
import type { ClusterPlan } from '../domain/plan.js';
import { ipv4Range } from '../domain/subnet.js';
import { AppError } from '../errors.js';
import type { NetworkRuntime } from '../services/ports.js';
import { engineMessage, statusOf, tolerate } from './engine-call.js';
import type { RuntimeContext } from './runtime-context.js';
import { serializeInProcess } from './serialize.js';

/** Docker refuses a network whose subnet overlaps another: 403 "Pool overlaps with other one on this address space". */
const isPoolOverlap = (e: unknown) => /pool overlaps/i.test(engineMessage(e));

export function createNetworkRuntime(ctx: RuntimeContext): NetworkRuntime {
  const { pool, call, opts, mine } = ctx;

  async function create(host: string, plan: ClusterPlan): Promise<void> {
    const docker = pool.get(host);
    const { name, cidr, gateway, labels } = plan.network;
    const filters = { label: [`${label.cluster}=${plan.clusterId}`] };
    const listed = () => docker.listNetworks({ filters });
    const existing = await call(host, 'list networks of', `cluster ${plan.clusterId}`, listed);
    if (existing.some((n) => n.Name === name)) return;
    await call(host, 'create network', `${name} (${cidr})`, async () => {
      try {
        await docker.createNetwork({
          Name: name,
          CheckDuplicate: true,
          Driver: 'bridge',
          IPAM: { Driver: 'default', Config: [{ Subnet: cidr, Gateway: gateway }] },
          Labels: { ...labels, ...mine },
        });
      } catch (e) {
        if (statusOf(e) === 409) return; // created by a concurrent attempt
        if (isPoolOverlap(e)) {
          const why = `The subnet ${cidr} is already used by another Docker network on ${host}.`;
          throw new AppError('subnet_taken', why, { cause: e });
        }
        throw e;
      }
    });
  }

  return {
    async ensureNetwork(host, plan) {
      await opts.firewall?.ensure(host);
      // Docker does not make network names unique under concurrency; creation is serialised per host and name.
      await serializeInProcess(`network:${host}/${plan.network.name}`, () => create(host, plan));
    },

    async releaseNetwork(host, plan) {
      const name = plan.network.name;
      const network = pool.get(host).getNetwork(name);
      for (const node of plan.nodes) {
        const container = node.containerName;
        const disconnect = () => network.disconnect({ Container: container, Force: true });
        await call(host, 'disconnect', `${container} from ${name}`, () => tolerate(disconnect, 404));
      }
      await call(host, 'remove network', name, () => tolerate(() => network.remove(), 404));
    },

    async subnetsTaken(host, exceptClusterId) {
      const networks = await call(host, 'list', 'networks', () => pool.get(host).listNetworks());
      return networks
        .filter((n) => n.Labels?.[label.cluster] !== exceptClusterId)
        .flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet))
        .filter((c): c is string => !!c && ipv4Range(c) !== undefined);
    },
  };
}
