import { createFormButton, openCreateActionId } from '../../render/home.js';
import { renderHelp } from '../../render/messages.js';
import { onAction, onCommand } from '../handler.js';

/** `/cluster help [COMMAND]`; bare `/cluster` (and `help`) also offers the create form. */
export const helpCommand = onCommand('help', async (_deps, _caller, command) => {
  const help = renderHelp(command.topic);
  return command.topic ? help : { ...help, blocks: [...help.blocks, { type: 'actions', block_id: 'help:create', elements: [createFormButton()] }] };
});

/** Slack opens the create form instead (slack/listeners/home-and-form.ts); the shell has no forms, so it shows the usage. */
export const createFormAction = onAction('createForm', openCreateActionId, 'text', async () => renderHelp('create'));
