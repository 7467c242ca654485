const queueTails = new Map<string, Promise<unknown>>();

/**
 * Runs tasks with the same key one after another in this process (a failed task does not block the next one).
 * Module-level, so two adapters of one process (two builders sharing a cacheDir, two runtimes on one host) wait
 * for each other too.
 */
export function serializeInProcess<T>(key: string, task: () => Promise<T>): Promise<T> {
  const run = (queueTails.get(key) ?? Promise.resolve()).then(task, task);
  const tail = run.catch(() => undefined);
  queueTails.set(key, tail);
  void tail.then(() => {
    if (queueTails.get(key) === tail) queueTails.delete(key);
  });
  return run;
}
