/**
 * `/cluster history`: every operation (who, what, when, outcome, duration) and every decision recorded in
 * the audit log (extensions, transfers, state changes, expiry), newest first, a page at a time.
 */
export interface HistoryEntry {
  at: Date;
  clusterId: string;
  clusterName: string;
  actor: string;
  /** An operation kind (create, delete, snapshot...) or an event kind (extended, transferred, state.ready...). */
  what: string;
  source: 'operation' | 'event';
  /** An operation's state (succeeded, failed, running...); null for events, which are outcomes themselves. */
  outcome: string | null;
  /** From start (or queueing) to finish; null while running and for events. */
  durationMs: number | null;
  error: string | null;
  detail: Record<string, unknown>;
}

export interface HistoryFilter {
  /** Only clusters this user owns now (what a non-admin sees). */
  owner?: string;
  /** Only clusters of this name (deleted ones included: names are reused). */
  clusterName?: string;
}

export const historyPageSize = 20;

/**
 * Audit events that repeat what the operations rows already say (`operation.delete` beside the delete
 * operation, `requested` beside the create) are left out, so each step appears once.
 */
export function isHistoryEvent(kind: string): boolean {
  return !kind.startsWith('operation.') && kind !== 'requested';
}

export function pageCount(total: number, size = historyPageSize): number {
  return Math.max(1, Math.ceil(total / size));
}
