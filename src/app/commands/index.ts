import type { ActionHandler, CommandVerb } from '../handler.js';
import { createCommand } from './create.js';
import { deleteActions, deleteCommand } from './delete.js';
import { extendActions, extendCommand } from './extend.js';
import { createFormAction, helpCommand } from './help.js';
import { historyCommand, historyPageAction } from './history.js';
import { hostsCommand } from './hosts.js';
import { listCommand } from './list.js';
import { logsAction, logsCommand } from './logs.js';
import { migrateActions, migrateCommand } from './migrate.js';
import { resetActions, resetCommand } from './reset.js';
import { restartCommand, restartNodeAction } from './restart.js';
import { restoreAction, restoreCommand } from './restore.js';
import { retryAction, retryCommand } from './retry.js';
import { shareCommand, unshareCommand } from './share.js';
import { snapshotActions, snapshotCommand } from './snapshot.js';
import { snapshotDeleteActions, snapshotDeleteCommand } from './snapshot-delete.js';
import { snapshotDownloadActions } from './snapshot-download.js';
import { snapshotShareAction, snapshotShareCommand, snapshotUnshareCommand } from './snapshot-share.js';
import { snapshotsCommand } from './snapshots.js';
import { statusAction, statusCommand } from './status.js';
import { templatesCommand } from './templates.js';
import { transferActions, transferCommand } from './transfer.js';

/**
 * Every `/cluster` verb and every button, one handler each (in app/commands/<feature>.ts beside the others of its
 * feature), registered here: Slack's listeners and the shell dispatch through these lists (app/handle-command.ts).
 */
export const commandHandlers = [
  helpCommand, templatesCommand, hostsCommand, listCommand, statusCommand, createCommand, retryCommand, extendCommand,
  deleteCommand, snapshotCommand, snapshotsCommand, snapshotDeleteCommand, snapshotShareCommand, snapshotUnshareCommand,
  transferCommand, shareCommand, unshareCommand, historyCommand, restoreCommand, logsCommand, restartCommand,
  migrateCommand, resetCommand,
] as const;

export const actionHandlers = [
  ...deleteActions, statusAction, retryAction, ...extendActions, ...snapshotActions, restoreAction,
  ...snapshotDeleteActions, ...snapshotDownloadActions, ...resetActions, historyPageAction, createFormAction,
  restartNodeAction, logsAction, ...migrateActions, ...transferActions, snapshotShareAction,
] as const satisfies readonly ActionHandler[];

/** Every verb has its handler: a verb the grammar parses with none here fails to compile, naming it. */
type Unhandled = Exclude<CommandVerb, (typeof commandHandlers)[number]['verb']>;
export const everyVerbHandled: [Unhandled] extends [never] ? true : Unhandled = true;
