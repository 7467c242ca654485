import type { z } from 'zod';
import type { ClusterView } from '../../domain/cluster.js';
import type { Operation } from '../../domain/operation.js';
import { type OperationDefinition, type OperationStart, refusalOf, startOf } from '../../domain/operations/define.js';
import type { OperationKind } from '../../domain/operations/index.js';
import { AppError } from '../../errors.js';
import { type ClusterRef, findManageable } from '../find-manageable.js';
import type { BeginOptions, ClusterStore, JobQueue, Notifier, OperationStore, Settings, Tell } from '../ports.js';
import { telling } from '../tell.js';

export interface RequestOperationDeps {
  store: ClusterStore;
  operations: OperationStore;
  queue: JobQueue;
  notifier: Notifier;
  settings: Settings;
}

/** A definition of one of the operation kinds, as the request step reads it. */
export type Definition<P extends z.ZodObject = z.ZodObject> = OperationDefinition<
  OperationKind,
  string,
  P,
  { kind: string },
  { kind: string },
  OperationKind
>;

export interface BeginRequest {
  /** Where it may start instead of where its definition says (a retry rebuilds only a failed cluster). */
  start?: OperationStart;
  /** What is told as it begins instead of its definition's announcement. */
  tell?: Tell;
  /** Said in the announcement's transaction after the card, before the owner's DM (why it happens). */
  also?: (notifier: Notifier, view: ClusterView) => Promise<void>;
  /** A migration's target, placed again under the lock creates take (OperationStore.begin). */
  migrateTo?: BeginOptions['migrateTo'];
}

/**
 * The request side of every operation on an existing cluster: a cluster the actor may manage (by name or id, or the
 * view already found), refused with its kind's own words when it is in no state to start (unless something else runs
 * on it: then the store's `busy` names who and what), begun with what it tells in the same transaction, and queued.
 */
export async function requestOperation<P extends z.ZodObject>(
  deps: RequestOperationDeps,
  definition: Definition<P>,
  actor: string,
  target: ClusterRef | ClusterView,
  params: z.input<P>,
  opts: BeginRequest = {},
): Promise<{ view: ClusterView; operation: Operation }> {
  const view = 'cluster' in target ? target : await findManageable(deps, actor, target);
  await refuseUnlessStartable(deps, definition, view, params);
  return beginOperation(deps, definition, actor, view, params, opts);
}

/**
 * The kind's refusal when the cluster is in none of its start states (domain refusalOf). A cluster with an operation
 * running is let through: the store refuses it as busy, naming that operation, which says more than its state does.
 */
export async function refuseUnlessStartable<P extends z.ZodObject>(
  deps: Pick<RequestOperationDeps, 'operations'>,
  definition: Definition<P>,
  view: ClusterView,
  params?: z.input<P>,
): Promise<void> {
  const parsed = params === undefined ? undefined : definition.params.parse(params);
  const refusal = refusalOf(definition, view.cluster, parsed);
  if (!refusal || (await deps.operations.active(view.cluster.id))) return;
  throw new AppError('illegal_transition', refusal.message, { hints: refusal.hints });
}

/**
 * Begins the operation (OperationStore.begin: one active operation per cluster, its start states, the move, and what
 * it tells, all in one transaction) and queues its job. Its definition's announcement, unless told otherwise: the
 * card, and the owner's DM when an admin acted on someone else's cluster.
 */
export async function beginOperation<P extends z.ZodObject>(
  deps: RequestOperationDeps,
  definition: Definition<P>,
  actor: string,
  view: ClusterView,
  params: z.input<P>,
  opts: BeginRequest = {},
): Promise<{ view: ClusterView; operation: Operation }> {
  const parsed = definition.params.parse(params);
  const start = opts.start ?? startOf(definition, parsed);
  const { operation, cluster, yielded } = await deps.operations.begin(
    view.cluster.id,
    { kind: definition.kind, actor, params: parsed },
    {
      whenStates: start.states,
      ...(start.moveTo && { moveTo: start.moveTo }),
      ...(start.clearError && { clearError: true }),
      ...(definition.preempts && { preempt: definition.preempts }),
      ...(opts.migrateTo && { migrateTo: opts.migrateTo }),
      ...tellOf(deps, definition, actor, parsed, opts),
    },
  );
  // Pooled clusters that gave way to a migration go first, as for a create (their rows are deleting already).
  for (const op of yielded ?? []) await deps.queue.enqueue(op);
  await deps.queue.enqueue(operation);
  return { view: { ...view, cluster }, operation };
}

function tellOf<P extends z.ZodObject>(
  deps: { notifier: Notifier },
  definition: Definition<P>,
  actor: string,
  params: z.output<P>,
  opts: BeginRequest,
): { tell?: Tell } {
  if (opts.tell) return { tell: opts.tell };
  const announce = definition.announce;
  if (!announce) return {};
  return {
    tell: telling(deps, async (n, v) => {
      await n.clusterChanged(v);
      await opts.also?.(n, v);
      // findManageable let a non-owner through only because they are an admin: the owner hears who did it.
      if (actor !== v.cluster.owner) {
        const detail = announce.detail?.(params);
        const action = announce.ownerHears;
        await n.direct(v.cluster.owner, {
          kind: 'actedByAdmin',
          cluster: v.cluster,
          by: actor,
          action,
          ...(detail && { detail }),
        });
      }
    }),
  };
}
