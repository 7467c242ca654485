/**
 * One error type for everything a user or operator may see.
 * `code` is stable (tests and metrics branch on it), `userMessage` is what the person reads,
 * `retryable` tells the queue whether trying again could help (Docker hiccup) or not (bad input).
 */
export type ErrorCode =
  | 'bad_command'
  | 'unknown_template'
  | 'bad_size'
  | 'bad_name'
  | 'name_taken'
  | 'not_found'
  | 'forbidden'
  | 'quota_exceeded'
  | 'illegal_transition'
  | 'conflict'
  /** Another operation is running on the cluster; the message names it. */
  | 'busy'
  /** A job cut off by a crash that must not simply run again (a snapshot). */
  | 'interrupted'
  /** This delivery of a job lost it to a later delivery (its queue lock lapsed): it stops and leaves the rest to that one. */
  | 'superseded'
  /**
   * A job failed and could not learn what its cleanup depends on (the database did not answer): it undoes nothing and
   * leaves its operation open, so the reconciler hands the job out again and that delivery decides.
   */
  | 'undecided'
  | 'no_capacity'
  /** A warm pool's fill found the pool full already (another keeper filled it). */
  | 'pool_full'
  | 'subnet_taken'
  /** A published host port a reset pins is used by something else now. */
  | 'port_taken'
  | 'image_missing'
  /** Moving an image to another Docker host (registry push/pull or save/load) failed. */
  | 'image_transfer_failed'
  | 'docker_error'
  /** A snapshot archive whose entries differ from its manifest (changed, cut or grown since it was taken). */
  | 'archive_tampered'
  /** Not enough free disk where a snapshot is staged. */
  | 'no_space'
  /** A snapshot larger than SNAPSHOT_MAX_BYTES. */
  | 'too_large'
  | 'readiness_timeout'
  | 'config_invalid'
  | 'template_invalid'
  | 'internal';

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly userMessage: string;
  readonly retryable: boolean;
  /** Extra lines shown under the message (usage line, suggestions, last log lines). */
  readonly hints: readonly string[];

  constructor(
    code: ErrorCode,
    userMessage: string,
    opts: { retryable?: boolean; hints?: readonly string[]; cause?: unknown } = {},
  ) {
    super(userMessage, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.userMessage = userMessage;
    this.retryable = opts.retryable ?? false;
    this.hints = opts.hints ?? [];
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** Turns anything thrown into an AppError without losing the original as `cause`. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  // The raw message may name hosts, SQL or paths: it goes to the log (as `cause`), not to chat.
  return new AppError(
    'internal',
    'Something went wrong inside clusterbot; the details are in its log. Please try again, or tell an admin if it keeps happening.',
    { retryable: true, cause: err },
  );
}
