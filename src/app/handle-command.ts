import { parseCommand, type ClusterCommand } from '../domain/command.js';
import { checkCreate } from '../domain/policy.js';
import { isAppError, toAppError } from '../errors.js';
import type { Message } from '../render/blocks.js';
import { renderCommandError, renderError, renderInfo } from '../render/messages.js';
import type { Log, TemplateCatalog } from '../services/ports.js';
import { goneReply, uuidPattern } from './action-value.js';
import type { Caller, CommandDeps } from './command-deps.js';
import { actionHandlers, commandHandlers } from './commands/index.js';
import type { ActionHandler, CommandHandler } from './handler.js';

export type { Caller, CommandDeps } from './command-deps.js';

/*
 * The part of handling `/cluster ...` and its buttons that Slack and the shell share: each verb and each button has
 * one handler (app/commands/), which calls one service and renders; this dispatches to them and turns a failure into
 * its message. The adapters only add transport (ack/respond, or printing).
 */

/** What can be answered without I/O, inside Slack's 3-second window: parse and template/size errors. */
export type Precheck = { ok: true; command: ClusterCommand; ack?: Message } | { ok: false; reply: Message };

export function precheckCommand(text: string, catalog: TemplateCatalog): Precheck {
  const parsed = parseCommand(text);
  if (!parsed.ok) return { ok: false, reply: renderCommandError(parsed.error) };
  const command = parsed.command;
  if (command.verb === 'create') {
    const check = checkCreate(catalog.list(), command.template, command.size);
    if (!check.ok) return { ok: false, reply: renderError(check.message, [check.hint, 'Usage: `/cluster create TEMPLATE [SIZE] [--name NAME]`']) };
    return { ok: true, command, ack: renderInfo(`⏳ Creating ${check.template.name} × ${check.size}… the cluster card will appear in this channel.`) };
  }
  return { ok: true, command };
}

// Each handler takes its own verb's command: the map hands it only that one.
const commandByVerb = new Map(commandHandlers.map((h) => [h.verb, h as unknown as CommandHandler]));

export async function handleCommand(
  deps: CommandDeps,
  caller: Caller,
  command: ClusterCommand,
): Promise<Message | null> {
  const handler = commandByVerb.get(command.verb)!;
  try {
    return await handler.handle(deps, caller, command);
  } catch (err) {
    return errorReply(deps.logger, err);
  }
}

/** A button's name for the shell and tests (`deleteConfirm`), as its handler is registered. */
export type ActionKind = (typeof actionHandlers)[number]['kind'];

/** Which button does what, by Slack action id; Slack's listener and the shell both dispatch through this table. */
export const actionKinds: Record<string, ActionKind> =
  Object.fromEntries(actionHandlers.map((h) => [h.actionId, h.kind]));

const actionByKind = new Map<string, ActionHandler>(actionHandlers.map((h) => [h.kind, h]));

/**
 * The value a people menu's choice is handled with: the id its block is about (after the last `:` of its
 * `block_id`) and the chosen user, as `<id>:<user>`. Slack's listener and the shell both build it.
 */
export function userSelectValue(blockId: string | undefined, user: string | undefined): string {
  return `${(blockId ?? '').split(':').pop() ?? ''}:${user ?? ''}`;
}

/** Button presses (Slack block_actions or a numbered shell button). The value is an id, or what the button names. */
export async function handleAction(
  deps: CommandDeps,
  caller: Caller,
  action: ActionKind,
  value: string,
): Promise<Message | null> {
  const handler = actionByKind.get(action)!;
  if (handler.value !== 'text' && !uuidPattern.test(value)) return renderError(goneReply[handler.value]);
  try {
    return await handler.handle(deps, caller, value);
  } catch (err) {
    return errorReply(deps.logger, err);
  }
}

function errorReply(logger: Log, err: unknown): Message {
  const e = toAppError(err);
  if (!isAppError(err) || e.code === 'internal') logger.error({ err: (err as Error)?.stack ?? String(err) }, 'command failed');
  return renderError(e.userMessage, e.hints);
}
