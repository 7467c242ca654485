import { z } from 'zod';
import type { Cluster } from '../cluster.js';
import type { ClusterState } from '../cluster-state.js';

/**
 * The shape of an operation kind's definition (one file per kind beside this one, listed in index.ts). It is pure
 * data: which job runs it, where it may start and where it moves the cluster, what it carries, how its job is
 * retried and what the thread hears of it. The job catalog, the kinds, their verbs and the message unions are
 * derived from the list, so a new kind is a definition, its run side (services/operations/<kind>/), its parser entry
 * and its renderer.
 */

/** Queue options of a job: how often it is tried and how long it waits between tries (queue/ hands them to BullMQ). */
export interface JobOptions {
  attempts: number;
  backoff?: { type: 'exponential' | 'fixed'; delay: number };
}

/** Where an operation may start and where it moves the cluster in the transaction that begins it. */
export interface OperationStart {
  /** The cluster must be in one of these states, or the operation is refused (illegal_transition). */
  states: readonly ClusterState[];
  /** The state the cluster moves to as the operation begins; absent: it stays (the job moves it if it must). */
  moveTo?: ClusterState;
  /** Clears the cluster's error as it moves (a rebuild). */
  clearError?: boolean;
}

/** Why an operation cannot start on a cluster in its state: what people read, with what to do instead. */
export interface Refusal {
  message: string;
  hints: string[];
}

/** What an admin's operation on someone else's cluster tells its owner by DM (messages.ts actedByAdmin). */
export type AdminAction = 'deleted' | 'extended' | 'reset' | 'migrated' | 'offered to someone else';

/** A type carried by a definition for the derived unions; nothing at run time. */
export interface MessageTypes<T> {
  readonly messages?: T;
}

/** Declares the message variants a definition adds to the thread (or DM) union. */
export function messages<T extends { kind: string }>(): MessageTypes<T> {
  return {};
}

/** Every operation's job carries these; the job id is the operation id (queue/job-catalog.ts jobIdFor). */
export const operationJobFields = { operationId: z.uuid(), clusterId: z.uuid(), actor: z.string().min(1).max(64) };

export interface OperationDefinition<
  K extends string = string,
  J extends string = string,
  P extends z.ZodObject = z.ZodObject,
  T extends { kind: string } = { kind: string },
  D extends { kind: string } = { kind: string },
  R extends string = string,
> {
  kind: K;
  /** The queue job the operation runs as. */
  job: J;
  /** How a refusal names what a busy cluster is doing: "zk-1 is being snapshotted by <@U1>". */
  verb: string;
  /**
   * Kind-specific input: kept on the operation row (`params`), checked where a request makes it and carried in the
   * job's payload beside operationJobFields. Fields added later must be optional (or defaulted): jobs and rows
   * written by an older version still parse.
   */
  params: P;
  /** Where it may start and where it moves the cluster, for these params. */
  start: OperationStart | ((params: z.output<P>) => OperationStart);
  /** Why it cannot start on a cluster in this state; absent: the store's refusal says it. */
  refusal?: (cluster: Pick<Cluster, 'name' | 'state'>, params: z.output<P>) => Refusal;
  /**
   * Active operations of these kinds are cancelled rather than making the cluster busy (a delete cuts a create
   * short); OperationStore.begin's type checks they are kinds.
   */
  preempts?: readonly R[];
  /**
   * The request tells the card as the operation begins, and, when an admin acts on someone else's cluster, its
   * owner by DM; absent: the request tells nothing (the job tells the thread).
   */
  announce?: { ownerHears: AdminAction; detail?: (params: z.output<P>) => string };
  /** How its job is retried. Each kind says why (a retry must converge on the same outcome, or not be made). */
  jobOptions: JobOptions;
  /** The thread messages its run side posts. */
  thread?: MessageTypes<T>;
  /** The direct messages it sends. */
  direct?: MessageTypes<D>;
}

/** Keeps a definition's literal kind, job, params and message types (they feed the derived unions). */
export function defineOperation<
  const K extends string,
  const J extends string,
  P extends z.ZodObject,
  T extends { kind: string } = never,
  D extends { kind: string } = never,
  const R extends string = never,
>(definition: OperationDefinition<K, J, P, T, D, R>): OperationDefinition<K, J, P, T, D, R> {
  return definition;
}

/** Where an operation of this definition starts, for these params. */
export function startOf<P>(
  definition: { start: OperationStart | ((params: P) => OperationStart) },
  params: P,
): OperationStart {
  return typeof definition.start === 'function' ? definition.start(params) : definition.start;
}

/**
 * Why an operation of this definition cannot start on the cluster in its state, in its kind's words; undefined when
 * it may, or when its definition leaves refusing to the store. `params` may be absent only where the start states do
 * not depend on them (a migration's target is chosen after this check).
 */
export function refusalOf<P>(
  definition: {
    kind: string;
    start: OperationStart | ((params: P) => OperationStart);
    refusal?: (cluster: Pick<Cluster, 'name' | 'state'>, params: P) => Refusal;
  },
  cluster: Pick<Cluster, 'name' | 'state'>,
  params?: P,
): Refusal | undefined {
  if (!definition.refusal) return undefined;
  if (typeof definition.start === 'function' && params === undefined)
    throw new Error(`the start states of ${definition.kind} depend on its params`);
  if (startOf(definition, params as P).states.includes(cluster.state)) return undefined;
  return definition.refusal(cluster, params as P);
}

/** A job that is not an operation (nothing on the operations table): its payload and its queue options. */
export interface JobDefinition<
  J extends string = string,
  S extends z.ZodObject = z.ZodObject,
  T extends { kind: string } = { kind: string },
> {
  job: J;
  payload: S;
  jobOptions: JobOptions;
  thread?: MessageTypes<T>;
}

export function defineJob<const J extends string, S extends z.ZodObject, T extends { kind: string } = never>(
  definition: JobDefinition<J, S, T>,
): JobDefinition<J, S, T> {
  return definition;
}
