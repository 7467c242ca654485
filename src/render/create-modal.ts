import { createFormBlocks } from '../domain/create-form.js';
import { describeSizes, type Template } from '../domain/template.js';
import { plain, type TextObject } from './blocks.js';

/** callback_id of the create form, also the global shortcut's. */
export const createModalCallbackId = 'create_cluster';
/** Every input of the form has this action id; the block id names the field. */
export const createFormActionId = 'value';

interface Option {
  text: TextObject;
  value: string;
  description?: TextObject;
}
type InputElement =
  | { type: 'static_select'; action_id: string; placeholder: TextObject; options: Option[] }
  | { type: 'plain_text_input'; action_id: string; placeholder?: TextObject; max_length?: number };
export interface InputBlock {
  type: 'input';
  block_id: string;
  label: TextObject;
  hint?: TextObject;
  optional?: boolean;
  element: InputElement;
}

export interface ModalView {
  type: 'modal';
  callback_id: string;
  title: TextObject;
  submit: TextObject;
  close: TextObject;
  /** The channel the form was opened from ('' for Home and the shortcut: the card then goes to a DM). */
  private_metadata: string;
  blocks: InputBlock[];
}

/** The create form: template (select, with each one's description), size, name, lifetime. */
export function renderCreateModal(templates: readonly Template[], opts: { channel?: string | null } = {}): ModalView {
  const sizes = templates.map((t) => `${t.name} ${describeSizes(t)}`).join(', ');
  return {
    type: 'modal',
    callback_id: createModalCallbackId,
    title: plain('Create a cluster'),
    submit: plain('Create'),
    close: plain('Cancel'),
    private_metadata: opts.channel ?? '',
    blocks: [
      {
        type: 'input',
        block_id: createFormBlocks.template,
        label: plain('Template'),
        element: {
          type: 'static_select',
          action_id: createFormActionId,
          placeholder: plain('Choose a template'),
          // Slack allows 100 options of at most 75 characters each.
          options: templates.slice(0, 100).map((t) => ({
            text: plain(t.name.slice(0, 75)),
            value: t.name,
            description: plain(t.description.slice(0, 75)),
          })),
        },
      },
      {
        type: 'input',
        block_id: createFormBlocks.size,
        label: plain('Size (nodes)'),
        optional: true,
        hint: plain(`Blank for the template's default. Sizes: ${sizes}`.slice(0, 2000)),
        element: {
          type: 'plain_text_input',
          action_id: createFormActionId,
          placeholder: plain('e.g. 3'),
          max_length: 4,
        },
      },
      {
        type: 'input',
        block_id: createFormBlocks.name,
        label: plain('Name'),
        optional: true,
        hint: plain('Blank for a name made from your handle and the template.'),
        element: { type: 'plain_text_input', action_id: createFormActionId, max_length: 40 },
      },
      {
        type: 'input',
        block_id: createFormBlocks.lifetime,
        label: plain('Lifetime'),
        optional: true,
        hint: plain('Like 8h or 2d; blank for the default.'),
        element: { type: 'plain_text_input', action_id: createFormActionId, placeholder: plain('8h'), max_length: 10 },
      },
    ],
  };
}

/** The submitted values of the form, from Slack's `view.state.values`. */
export function createFormValues(
  values: Record<string, Record<string, { value?: string | null; selected_option?: { value: string } | null }>>,
): Record<keyof typeof createFormBlocks, string | undefined> {
  const get = (block: string) => {
    const v = values[block]?.[createFormActionId];
    return v?.selected_option?.value ?? v?.value ?? undefined;
  };
  return {
    template: get(createFormBlocks.template),
    size: get(createFormBlocks.size),
    name: get(createFormBlocks.name),
    lifetime: get(createFormBlocks.lifetime),
  };
}
