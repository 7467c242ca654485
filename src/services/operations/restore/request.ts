import { restoredClusterName } from '../../../domain/cluster-name.js';
import { restoreOperation } from '../../../domain/operations/restore.js';
import type { ClusterView } from '../../../domain/cluster.js';
import { checkCreate } from '../../../domain/policy.js';
import { snapshotCode } from '../../../domain/snapshot.js';
import { quotaFor } from '../../../domain/quota.js';
import { footprint } from '../../../domain/template.js';
import { AppError } from '../../../errors.js';
import type { Clock, ClusterStore, JobQueue, Notifier, OperationStore, Settings, ShareStore, SnapshotStore, TemplateCatalog } from '../../ports.js';
import { findVisibleSnapshot } from '../../snapshot-access.js';

export interface RequestRestoreDeps {
  store: ClusterStore;
  operations: OperationStore;
  snapshots: SnapshotStore;
  shares: ShareStore;
  queue: JobQueue;
  notifier: Notifier;
  catalog: TemplateCatalog;
  settings: Settings;
  clock: Clock;
}

export interface RequestRestoreInput {
  actor: string;
  team: string | null;
  channel: string | null;
  /** The snapshot code or id. */
  snapshot: string;
  name?: string;
  requestKey: string | null;
}

/**
 * `/cluster restore SNAPSHOT [--name NAME]` and the Restore buttons: a new cluster owned by the caller, with the
 * source's template and size, its service identities and, when free, its subnet; the restore operation in the same
 * transaction, the card, the job. The restored cluster holds the unmasked configuration, so only those who may see
 * the snapshot may restore it (services/snapshot-access.ts): a tester hands a bug to a developer by sharing it.
 */
export async function requestRestore(deps: RequestRestoreDeps, input: RequestRestoreInput): Promise<{ view: ClusterView; created: boolean }> {
  const { store, snapshots, queue, notifier, settings, clock } = deps;
  const seen = input.requestKey ? await store.findByRequestKey(input.requestKey) : undefined;
  if (seen) return { view: { cluster: seen, nodes: [] }, created: false };
  const { snapshot } = await findVisibleSnapshot(deps, input.actor, { code: input.snapshot });
  const code = snapshotCode(snapshot.id);
  if (snapshot.state !== 'ready')
    throw new AppError('illegal_transition', `Snapshot ${code} is ${snapshot.state}; only a ready snapshot can be restored.`, { hints: ['`/cluster snapshots` shows each one\'s state.'] });
  const check = checkCreate(deps.catalog.list(), snapshot.template, snapshot.size);
  if (!check.ok) throw new AppError(check.code, `Snapshot ${code} is of a ${snapshot.template} ${snapshot.size}, which cannot be created any more: ${check.message}`);
  // The quota is checked by store.create, in the transaction that inserts the row (racing creates cannot overshoot).
  const source = await store.get(snapshot.clusterId);
  const name = input.name ?? (await freeName(store, snapshot.clusterName));
  const { cluster, created, operation } = await store.create(
    {
      name,
      owner: input.actor,
      team: input.team,
      template: snapshot.template,
      size: snapshot.size,
      channel: input.channel,
      expiresAt: new Date(clock.now().getTime() + settings.defaultTtlHours * 3600_000),
      requestKey: input.requestKey,
      reserved: footprint(check.template, check.size),
      quota: quotaFor(input.actor, settings),
      // Placed like a create (capacity, draining hosts, admins' limits), on the snapshot's host when it can be.
      place: { prefer: snapshot.host },
      restore: {
        // A restore of a restore keeps the first cluster's identities: its data was written with them.
        identityId: source?.identityId ?? snapshot.clusterId,
        restoredFrom: { snapshotId: snapshot.id, clusterName: snapshot.clusterName, takenAt: snapshot.createdAt.toISOString() },
        preferredSubnetIndex: source?.subnetIndex ?? -1,
      },
    },
    { kind: 'restore', actor: input.actor, params: restoreOperation.params.parse({ snapshotId: snapshot.id }) },
  );
  const view = { cluster, nodes: [] };
  if (!created) return { view, created };
  await notifier.clusterChanged(view);
  if (operation) await queue.enqueue(operation);
  return { view: (await store.view(cluster.id)) ?? view, created };
}

/** `<source>-r1`, `<source>-r2`, …: the first not taken by a live cluster. */
async function freeName(store: ClusterStore, source: string): Promise<string> {
  for (let n = 1; n < 1000; n++) {
    const candidate = restoredClusterName(source, n);
    if (!(await store.findLiveByName(candidate))) return candidate;
  }
  throw new AppError('name_taken', 'Could not find a free name; give one with --name.');
}
