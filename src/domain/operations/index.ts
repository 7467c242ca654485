import { z } from 'zod';
import { createOperation } from './create.js';
import { operationJobFields, type JobOptions, type MessageTypes } from './define.js';
import { deleteOperation } from './delete.js';
import { migrateOperation } from './migrate.js';
import { resetOperation } from './reset.js';
import { restartOperation } from './restart.js';
import { restoreOperation } from './restore.js';
import { snapshotOperation } from './snapshot.js';
import { snapshotDeleteJob } from './snapshot-delete.js';

/**
 * Every operation kind, one definition each (domain/operations/<kind>.ts), and the jobs that are not operations.
 * Everything per kind that is not its run side is derived from these lists: the kinds and their verbs, the job
 * catalog (name → payload schema → options), and the thread and direct message unions (domain/messages.ts).
 */
export const operationDefinitions = [
  createOperation,
  restoreOperation,
  deleteOperation,
  snapshotOperation,
  resetOperation,
  restartOperation,
  migrateOperation,
] as const;

export const jobDefinitions = [snapshotDeleteJob] as const;

type OperationDefinitions = (typeof operationDefinitions)[number];
type JobDefinitions = (typeof jobDefinitions)[number];

export type OperationKind = OperationDefinitions['kind'];

/** The definition of one kind, by its name. */
export type DefinitionOf<K extends OperationKind> = Extract<OperationDefinitions, { kind: K }>;

export const operationKinds = operationDefinitions.map((d) => d.kind) as readonly OperationKind[];

const byKind = new Map<string, OperationDefinitions>(operationDefinitions.map((d) => [d.kind, d]));

export function definitionOf<K extends OperationKind>(kind: K): DefinitionOf<K> {
  return byKind.get(kind) as DefinitionOf<K>;
}

/** How a refusal names what a busy cluster is doing: "zk-1 is being snapshotted by <@U1>". */
export const operationVerbs = Object.fromEntries(operationDefinitions.map((d) => [d.kind, d.verb])) as
  Record<OperationKind, string>;

/** The kind-specific input of an operation as a request makes it (defaults still to apply) and as its job reads it. */
export type ParamsIn<K extends OperationKind> = z.input<DefinitionOf<K>['params']>;
export type Params<K extends OperationKind> = z.output<DefinitionOf<K>['params']>;

// ---------------------------------------------------------------------------------------------- job catalog

/** Every job a cluster operation (or a snapshot's removal) runs as; an operation's job id is its id. */
export type JobName = OperationDefinitions['job'] | JobDefinitions['job'];

/** An operation's job schema: its params beside the fields every operation's job carries. */
type OperationJobSchema<D extends OperationDefinitions> =
  D['params'] extends z.ZodObject<infer S> ? z.ZodObject<typeof operationJobFields & S, z.core.$strict> : never;

/** Each job's payload as the worker hands it to its handler. */
export type JobPayloads =
  & { [D in OperationDefinitions as D['job']]: z.output<OperationJobSchema<D>> }
  & { [D in JobDefinitions as D['job']]: z.output<D['payload']> };
export type JobPayload = JobPayloads[JobName];

/**
 * Every job clusterbot runs on request: its payload schema and queue options. The worker validates payloads against
 * the same schema the producer used, so a malformed job fails once, loudly, without retries. An operation's payload
 * is its row's params beside operationJobFields (job-catalog.ts jobFor makes it from the row).
 */
export const jobCatalog = Object.fromEntries([
  ...operationDefinitions.map((d) => {
    const schema = z.strictObject({ ...operationJobFields, ...d.params.shape });
    return [d.job, { schema, options: d.jobOptions }];
  }),
  ...jobDefinitions.map((d) => [d.job, { schema: d.payload, options: d.jobOptions }]),
]) as { [K in JobName]: { schema: z.ZodType<JobPayloads[K]>; options: JobOptions } };

/** The job each operation kind runs as. */
export const jobForKind = Object.fromEntries(operationDefinitions.map((d) => [d.kind, d.job])) as
  { [K in OperationKind]: DefinitionOf<K>['job'] };

// ---------------------------------------------------------------------------------------------- messages

type MessagesOf<M> = M extends MessageTypes<infer T> ? T : never;

/** The thread messages the operations and jobs post (domain/messages.ts adds the others). */
export type OperationThreadMessage = MessagesOf<OperationDefinitions['thread'] | JobDefinitions['thread']>;

/** The direct messages the operations send (domain/messages.ts adds the others). */
export type OperationDirectMessage = MessagesOf<OperationDefinitions['direct']>;
