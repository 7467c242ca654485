/**
 * Redaction for logs: a log line may hold a config object, a Slack payload, a driver's error message
 * with a connection string in it, or a Docker error quoting an environment. Values are replaced, keys
 * kept, so a reader still sees that something was set.
 */

export const REDACTED = '[redacted]';

/**
 * Keys whose value is a secret wherever they appear: `token`, `botToken`, `signingSecret`, `password`,
 * `authorization`, `apiKey`, `privateKey`, `accessKeyId`'s partner `secretAccessKey`, `cookie`, ...
 * Matched on the whole key, case-insensitively; `tokens`/`passwords` plurals too. Keys ABOUT secrets that
 * are not secrets (`tokenType`, `passwordFile`) would be caught by a suffix match, so only these shapes are.
 */
const secretKey =
  /^(?:.*[-_.]?)?(?:password|passwd|passphrase|pwd|secret|token|authorization|auth|cookie|set-cookie|credential|credentials|api[-_]?key|private[-_]?key|secret[-_]?key|access[-_]?key|signing[-_]?key|session[-_]?key|x-slack-signature)s?$/i;

export function isSecretKey(key: string): boolean {
  // `keys` (a key ring, JWKS) is secret; a bare `key` is usually an artifact or cache key worth seeing.
  return secretKey.test(key) || /^keys$/i.test(key);
}

/**
 * The head of a URL's userinfo up to the password: `scheme://user:`. A scheme starts where a run of scheme
 * characters starts and is at most 32 long, so a long `a.b.c…` run is looked at once, not from every dot.
 */
const userinfoHead = /(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/?#@]*:/i;

/**
 * `scheme://user:pa/ss@host` in one word (a run without whitespace): the password is everything between the
 * first `scheme://user:` and the LAST `@` of the word (passwords may hold `/`, `@`, `:`). One pass per word.
 */
function redactUserinfo(word: string): string {
  const at = word.lastIndexOf('@');
  if (at < 0) return word;
  const head = userinfoHead.exec(word.slice(0, at));
  if (!head) return word;
  const end = head.index + head[0].length;
  return `${word.slice(0, end)}${REDACTED}${word.slice(at)}`;
}

/**
 * Secrets inside free text, in every shape a connection string or header takes:
 * `scheme://user:pa/ss@host`, `scheme://:secret@host`, `?password=x&`, `password: x`, `Bearer xyz`,
 * Slack tokens (`xoxb-…`, `xapp-…`), and the signatures of clusterbot's own links (`sig=` of a download
 * link, `cb_sig=` of a web UI link): whoever reads the log could otherwise open them until they expire. Linear in the
 * text: a log line may quote a whole file.
 */
export function redactText(s: string): string {
  return (
    s
      .replace(/\S+/g, (word) => (word.includes('://') ? redactUserinfo(word) : word))
      // query or form parameters and `key=value` / `key: value` pairs named like a secret (no whitespace crosses a line)
      .replace(
        /([?&;\s,{"']|^)((?:[\w.-]*?)(?:password|passwd|pwd|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|signature|sig|auth))(["']?[ \t]*[=:][ \t]*["']?)([^\s&;,"'}]+)/gi,
        (_m, pre: string, key: string, sep: string) => `${pre}${key}${sep}${REDACTED}`,
      )
      .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, `$1 ${REDACTED}`)
      .replace(/\bxox[abposr]-[A-Za-z0-9-]+/g, REDACTED)
      .replace(/\bxapp-[A-Za-z0-9-]+/g, REDACTED)
  );
}

/**
 * A copy of `value` with secret-looking keys replaced at any depth and every string passed through
 * `redactText`. Errors become plain objects (type, message, stack, code) with their texts redacted, so an
 * error quoting a connection string is safe too. Cycles and depth are bounded.
 */
export function redactValue(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 12) return '[too deep]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown; cause?: unknown };
    return {
      type: e.name,
      message: redactText(e.message),
      ...(e.stack && { stack: redactText(e.stack) }),
      ...(e.code !== undefined && { code: e.code }),
      ...(e.cause !== undefined && { cause: redactValue(e.cause, depth + 1, seen) }),
    };
  }
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1, seen));
  if (value instanceof Date || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      isSecretKey(k) && v !== null && v !== undefined && v !== '' && typeof v !== 'boolean'
        ? REDACTED
        : redactValue(v, depth + 1, seen);
  }
  return out;
}
