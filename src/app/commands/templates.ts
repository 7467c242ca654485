import { renderTemplates } from '../../render/messages.js';
import { onCommand } from '../handler.js';

/** `/cluster templates`: the cluster types with their sizes and resources. */
export const templatesCommand = onCommand('templates', async (deps) => renderTemplates(deps.catalog.list()));
