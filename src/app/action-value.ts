import type { ActionValue } from './handler.js';

export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The answer to a button whose id is not one (forged, or from another deployment): what it named is gone. */
export const goneReply: Record<Exclude<ActionValue, 'text'>, string> = {
  cluster: 'That cluster no longer exists.',
  snapshot: 'That snapshot no longer exists.',
  offer: 'That transfer offer no longer exists.',
};
