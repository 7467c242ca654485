import { mayShareSnapshot, mayViewSnapshot } from '../domain/policy.js';
import { type Snapshot, snapshotCode } from '../domain/snapshot.js';
import { AppError } from '../errors.js';
import { findSnapshot } from './find-snapshot.js';
import type { ArtifactStore, Clock, ClusterStore, Notifier, Settings, ShareStore, SnapshotStore } from './ports.js';
import { tellingAbout } from './tell.js';

/**
 * Who may see a snapshot (list it, get a download link, restore it) and who may hand it on. A restore is the whole
 * scene, the unmasked configuration included (that is what makes the bug reproduce), so a snapshot is for whoever
 * took it, the owner of its cluster and the people that cluster is shared with, the admins, and the people it was
 * shared with itself (domain/policy.ts). Sharing is the trust decision, and only the taker, the cluster's owner and
 * admins make it.
 */
export interface SnapshotAccessDeps {
  store: Pick<ClusterStore, 'get' | 'findLiveByName' | 'listLive'>;
  snapshots: SnapshotStore;
  shares: ShareStore;
  settings: Settings;
}

/** One snapshot with everything its rules look at, read once. */
export interface SnapshotAccess {
  snapshot: Snapshot;
  /** Its cluster's owner now (a transfer moves it); undefined if the row is gone. */
  clusterOwner: string | undefined;
  clusterSharedWith: string[];
  sharedWith: string[];
}

/** What a snapshot's cluster gives: its owner now and who it is shared with (read once per cluster in a listing). */
type ClusterAccess = Pick<SnapshotAccess, 'clusterOwner' | 'clusterSharedWith'>;

async function clusterAccessOf(deps: SnapshotAccessDeps, clusterId: string): Promise<ClusterAccess> {
  const [cluster, shares] = await Promise.all([deps.store.get(clusterId), deps.shares.clusterShares(clusterId)]);
  return { clusterOwner: cluster?.owner, clusterSharedWith: shares.map((s) => s.user) };
}

export async function accessOf(
  deps: SnapshotAccessDeps,
  snapshot: Snapshot,
  ofCluster?: Promise<ClusterAccess>,
): Promise<SnapshotAccess> {
  // A failed lookup fails the request: it never counts as "shared with nobody" nor as "shared with you".
  const [cluster, direct] = await Promise.all([
    ofCluster ?? clusterAccessOf(deps, snapshot.clusterId),
    deps.shares.snapshotShares(snapshot.id),
  ]);
  return { snapshot, ...cluster, sharedWith: direct.map((s) => s.user) };
}

export function mayView(actor: string, a: SnapshotAccess, admins: readonly string[]): boolean {
  return mayViewSnapshot(
    actor,
    a.snapshot,
    a.clusterOwner === undefined ? undefined : { owner: a.clusterOwner, sharedWith: a.clusterSharedWith },
    a.sharedWith,
    admins,
  );
}

/** "<@A> (who took it) or <@B> (who owns zk-a)": the people who can share it, for a refusal. */
export function sharersOf(a: SnapshotAccess): string {
  const taker = `<@${a.snapshot.owner}> (who took it${a.clusterOwner === a.snapshot.owner ? ` and owns ${a.snapshot.clusterName}` : ''})`;
  return a.clusterOwner && a.clusterOwner !== a.snapshot.owner
    ? `${taker} or <@${a.clusterOwner}> (who owns ${a.snapshot.clusterName})`
    : taker;
}

/**
 * A snapshot the actor may see, by the code people type or its id, or a refusal: "not found", or "not shared with
 * you" naming who can share it and how.
 */
export async function findVisibleSnapshot(
  deps: SnapshotAccessDeps,
  actor: string,
  ref: { code?: string; id?: string },
): Promise<SnapshotAccess> {
  const snapshot = ref.id ? await deps.snapshots.get(ref.id) : await findSnapshot(deps, ref.code ?? '');
  if (!snapshot || snapshot.state === 'deleted')
    throw new AppError('not_found', 'That snapshot no longer exists.', {
      hints: ['`/cluster snapshots` lists yours.'],
    });
  const access = await accessOf(deps, snapshot);
  if (!mayView(actor, access, deps.settings.adminUsers)) {
    const code = snapshotCode(snapshot.id);
    throw new AppError(
      'forbidden',
      `Snapshot ${code} of ${snapshot.clusterName} is not shared with you. ${sharersOf(access)} can share it with you, or an admin.`,
      {
        hints: [
          `They run \`/cluster snapshot share ${code} <@${actor}>\`, or pick you under "Share with…" on the snapshot's message. A restore holds the cluster's unmasked configuration, so it is theirs to decide.`,
        ],
      },
    );
  }
  return access;
}

/** The actor's snapshots, newest first: taken by them, of their live clusters, and shared with them (directly or with a cluster). */
export async function visibleSnapshots(
  deps: SnapshotAccessDeps,
  actor: string,
  opts: { clusterName?: string; limit?: number } = {},
): Promise<Snapshot[]> {
  const limit = opts.limit ?? 50;
  const live = opts.clusterName ? await deps.store.findLiveByName(opts.clusterName) : undefined;
  let candidates: Snapshot[];
  if (live) candidates = await deps.snapshots.list({ clusterId: live.id, limit: 200 });
  else {
    const [taken, owned, shared] = await Promise.all([
      deps.snapshots.list({ owner: actor, limit: 200 }),
      deps.store
        .listLive({ owner: actor })
        .then((cs) => Promise.all(cs.map((c) => deps.snapshots.list({ clusterId: c.id, limit: 200 })))),
      deps.shares.sharedSnapshotIds(actor).then((ids) => Promise.all(ids.map((id) => deps.snapshots.get(id)))),
    ]);
    const byId = new Map<string, Snapshot>();
    for (const s of [...taken, ...owned.flat(), ...shared]) if (s && s.state !== 'deleted') byId.set(s.id, s);
    candidates = [...byId.values()].filter((s) => !opts.clusterName || s.clusterName === opts.clusterName);
  }
  const visible: Snapshot[] = [];
  const clusters = new Map<string, Promise<ClusterAccess>>();
  for (const s of candidates) {
    if (!clusters.has(s.clusterId)) clusters.set(s.clusterId, clusterAccessOf(deps, s.clusterId));
    if (mayView(actor, await accessOf(deps, s, clusters.get(s.clusterId)), deps.settings.adminUsers)) visible.push(s);
  }
  return visible.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()).slice(0, limit);
}

export interface ShareDeps extends SnapshotAccessDeps {
  notifier: Notifier;
  clock: Clock;
}

export type ShareOutcome =
  | { result: 'shared' | 'already'; snapshot: Snapshot; user: string }
  /** They could see it already without a grant of their own: they took it, own its cluster, are an admin, or the cluster is shared with them. */
  | { result: 'sees-it'; snapshot: Snapshot; user: string; why: string };

/** Who may share `a` or why not. */
function mayShareOrRefuse(deps: SnapshotAccessDeps, actor: string, a: SnapshotAccess): void {
  if (!mayShareSnapshot(actor, a.snapshot, a.clusterOwner, deps.settings.adminUsers))
    throw new AppError(
      'forbidden',
      `Only ${sharersOf(a)} or an admin can share snapshot ${snapshotCode(a.snapshot.id)}; it was shared with you to restore, not to pass on.`,
    );
}

/**
 * `/cluster snapshot share ID @user` and the "Share with…" menu on the snapshot's message: the grant (recorded in its
 * cluster's history) and a DM to the person it is shared with, written in the grant's transaction.
 */
export async function shareSnapshot(
  deps: ShareDeps,
  actor: string,
  ref: { code?: string; id?: string },
  user: string,
): Promise<ShareOutcome> {
  const a = await findVisibleSnapshot(deps, actor, ref);
  mayShareOrRefuse(deps, actor, a);
  const { snapshot } = a;
  const code = snapshotCode(snapshot.id);
  if (snapshot.state !== 'ready')
    throw new AppError(
      'illegal_transition',
      `Snapshot ${code} is ${snapshot.state}; only a ready snapshot can be shared.`,
    );
  const why =
    user === snapshot.owner
      ? 'they took it'
      : user === a.clusterOwner
        ? `they own ${snapshot.clusterName}`
        : deps.settings.adminUsers.includes(user)
          ? 'they are an admin'
          : a.clusterSharedWith.includes(user)
            ? `${snapshot.clusterName} is shared with them`
            : undefined;
  if (why) return { result: 'sees-it', snapshot, user, why };
  const cluster = await deps.store.get(snapshot.clusterId);
  const change = await deps.shares.shareSnapshot(
    snapshot.id,
    user,
    actor,
    cluster &&
      tellingAbout(deps, (n, grant) =>
        n.direct(user, { kind: 'snapshotShared', cluster, snapshot, by: actor, sharedAt: grant.grantedAt }),
      ),
  );
  if (change === 'gone') throw new AppError('not_found', 'That snapshot no longer exists.');
  return { result: change === 'done' ? 'shared' : 'already', snapshot, user };
}

/** `/cluster snapshot unshare ID @user`: takes a grant back; clusters restored from it stay with whoever restored them. */
export async function unshareSnapshot(
  deps: SnapshotAccessDeps,
  actor: string,
  ref: { code?: string; id?: string },
  user: string,
): Promise<{ result: 'unshared' | 'not-shared'; snapshot: Snapshot; user: string; stillVia?: string }> {
  const a = await findVisibleSnapshot(deps, actor, ref);
  mayShareOrRefuse(deps, actor, a);
  const change = await deps.shares.unshareSnapshot(a.snapshot.id, user, actor);
  if (change === 'gone') throw new AppError('not_found', 'That snapshot no longer exists.');
  return {
    result: change === 'done' ? 'unshared' : 'not-shared',
    snapshot: a.snapshot,
    user,
    ...(a.clusterSharedWith.includes(user) && { stillVia: a.snapshot.clusterName }),
  };
}

/** A new signed download link of the (masked) archive, for whoever may see the snapshot. */
export async function freshDownloadLink(
  deps: SnapshotAccessDeps & { artifacts: ArtifactStore; clock: Clock },
  actor: string,
  snapshotId: string,
): Promise<{ snapshot: Snapshot; url: string; expiresAt: Date }> {
  const { snapshot } = await findVisibleSnapshot(deps, actor, { id: snapshotId });
  if (snapshot.state !== 'ready' || !snapshot.artifactKey)
    throw new AppError(
      'illegal_transition',
      `Snapshot ${snapshotCode(snapshot.id)} is ${snapshot.state}; only a ready snapshot has an archive to download.`,
    );
  const expiresAt = new Date(deps.clock.now().getTime() + deps.settings.snapshots.linkHours * 3600_000);
  const url = await deps.artifacts.link(snapshot.artifactKey, expiresAt, {
    filename: snapshot.artifactKey.split('/').pop()!,
  });
  return { snapshot, url, expiresAt };
}
