import { hostNamePattern } from '../../domain/command.js';
import { actionIds } from '../../render/blocks.js';
import { renderError, renderInfo, renderMigrateAllConfirm, renderMigrateConfirm } from '../../render/messages.js';
import {
  clustersOn, previewMigrate, refuseDrainUnlessAdmin, requestMigrate, requestMigrateAll,
} from '../../services/operations/migrate/request.js';
import { uuidPattern } from '../action-value.js';
import { onAction, onCommand } from '../handler.js';

/** `/cluster migrate NAME [--to HOST]` and `--all-from HOST`: asks first, like a delete; who may and where to are checked now. */
export const migrateCommand = onCommand('migrate', async (deps, caller, command) => {
  const { settings } = deps;
  if (command.allFrom) {
    refuseDrainUnlessAdmin(settings, caller.user);
    return renderMigrateAllConfirm(command.allFrom, command.to, await clustersOn(deps, command.allFrom));
  }
  const { view, to, data } = await previewMigrate(deps, caller.user, { name: command.name! }, command.to);
  return renderMigrateConfirm(view, to, settings.migrateRollbackHours ?? 24, data);
});

/** Migrate buttons name the target: `<cluster id>:<host>`, or `<from host>:<to host or empty>` for --all-from. */
export const migrateActions = [
  onAction('migrateConfirm', actionIds.migrateConfirm, 'text', async (deps, caller, value) => {
    const [first = '', second = ''] = value.split(':');
    if (!uuidPattern.test(first) || !hostNamePattern.test(second)) return renderError('That cluster no longer exists.');
    const { view, to } = await requestMigrate(deps, caller.user, { id: first }, second);
    return renderInfo(`🚚 Migrating ${view.cluster.name} to ${to}… the card and its thread show the progress.`);
  }),
  onAction('migrateAllConfirm', actionIds.migrateAllConfirm, 'text', async (deps, caller, value) => {
    const [from = '', to = ''] = value.split(':');
    if (!hostNamePattern.test(from) || (to && !hostNamePattern.test(to))) return renderError('That host no longer exists.');
    const { started, refused } = await requestMigrateAll(deps, caller.user, from, to || undefined);
    const lines = [
      ...started.map((s) => `🚚 ${s.name} → ${s.to}`),
      ...refused.map((r) => `⛔ ${r.name}: ${r.reason}`),
    ];
    return renderInfo(`${started.length} migration${started.length === 1 ? '' : 's'} started from ${from}${refused.length ? `, ${refused.length} refused` : ''}.${lines.length ? `\n${lines.join('\n')}` : ''}`);
  }),
  onAction('migrateCancel', actionIds.migrateCancel, 'text', async () => renderInfo('Nothing was migrated.')),
];
