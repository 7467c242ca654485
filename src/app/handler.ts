import type { ClusterCommand } from '../domain/command.js';
import type { Message } from '../render/blocks.js';
import type { Caller, CommandDeps } from './command-deps.js';

/** Every verb the grammar parses (domain/command.ts), the snapshot subcommands included. */
export type CommandVerb = ClusterCommand['verb'];

/** The parsed command of one verb. */
export type CommandOf<V extends CommandVerb> = ClusterCommand & { verb: V };

/** One `/cluster` verb: one service call, rendered (app/commands/<feature>.ts; registered in commands/index.ts). */
export interface CommandHandler<V extends CommandVerb = CommandVerb> {
  verb: V;
  handle(deps: CommandDeps, caller: Caller, command: CommandOf<V>): Promise<Message | null>;
}

export function onCommand<const V extends CommandVerb>(
  verb: V,
  handle: CommandHandler<V>['handle'],
): CommandHandler<V> {
  return { verb, handle };
}

/**
 * What a button's value is. Ids are checked before the handler runs: values come back from Slack as sent, but a
 * forged or stale payload must get a plain answer ("That cluster no longer exists."), not an SQL error. `text`
 * values (a node, a host pair, a query) are read by their handler.
 */
export type ActionValue = 'cluster' | 'snapshot' | 'offer' | 'text';

/** One button or menu (`kind`, the name the shell and tests use), by its Slack action id. */
export interface ActionHandler<K extends string = string> {
  kind: K;
  actionId: string;
  value: ActionValue;
  handle(deps: CommandDeps, caller: Caller, value: string): Promise<Message | null>;
}

export function onAction<const K extends string>(
  kind: K,
  actionId: string,
  value: ActionValue,
  handle: ActionHandler['handle'],
): ActionHandler<K> {
  return { kind, actionId, value, handle };
}
