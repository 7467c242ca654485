/**
 * Masking for the bug scene: a snapshot archive is shared in a Slack thread, so container environments,
 * config files and command lines go through here first. Secrets are recognised by the NAME they are
 * stored under (sosreport's approach); the value itself is replaced, its key kept, so a reader still sees
 * that a password was set. Files that are secrets as a whole (key stores, keytabs, private keys) are listed
 * in the manifest but never copied.
 */

export const MASK = '********';

/**
 * A name looks secret when its LAST word (split on `.`, `_`, `-` and camelCase) is a secret word, ends in
 * one (`PGPASSWORD`), or is `key` after a word that does not make it harmless; or when any word is `jaas`
 * (`sasl.jaas.config` holds the password inline). Looking at the last word keeps settings ABOUT secrets
 * readable: `dfs.block.access.token.enable`, `hadoop.security.credential.provider.path`,
 * `POSTGRES_PASSWORD_FILE`, `KEY_SERIALIZER`, `key.converter`, `hbase.security.authentication`, `monkey`.
 */
const secretLastWord =
  /^(pass|passwd|password|passwords|passphrase|pwd|secret|secrets|token|tokens|credential|credentials|creds|auth|apikey|secretkey|privatekey|accesskey|signingkey|encryptionkey)$/;
/** One-word names that end in a secret word: `PGPASSWORD`, `KEYSTOREPASS` is too ambiguous (bypass, compass). */
const secretSuffix = /(password|passwd|passphrase|secret|token|apikey|secretkey|privatekey)$/;
const secretAnywhere = new Set(['jaas']);
/** Words that make a trailing "key" harmless: `partition.key`, `primary_key`, `row.key`, `public.key`. */
const harmlessBeforeKey = new Set([
  'partition',
  'primary',
  'row',
  'sort',
  'foreign',
  'hash',
  'routing',
  'cache',
  'shard',
  'column',
  'record',
  'message',
  'group',
  'map',
  'lookup',
  'unique',
  'idempotency',
  'dedup',
  'join',
  'bucket',
  'public',
  'rowkey',
]);

/** Splits `ssl.keystore.password`, `AWS_SECRET_ACCESS_KEY`, `apiKey`, `db-pass` into lowercase words. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

export function isSecretName(name: string): boolean {
  const ws = words(name);
  const last = ws[ws.length - 1];
  if (last === undefined) return false;
  if (ws.some((w) => secretAnywhere.has(w))) return true;
  if (secretLastWord.test(last) || secretSuffix.test(last)) return true;
  if (last === 'key' || last === 'keys') {
    const before = ws[ws.length - 2];
    return before === undefined || !harmlessBeforeKey.has(before);
  }
  return false;
}

/**
 * Every rule below runs in time linear in its input: a collected log or config file may be tens of MiB, and a
 * pattern that rescans the rest of the text from each of its positions (`[\s\S]*?` to a closing tag, `\s*`
 * across newlines, an unbounded scheme after every `\b`) turns that into hours. Keys are bounded in length,
 * whitespace never crosses a line, and what needs "the next closing tag" is a scan (test/unit/mask-time.test.ts).
 */
const key = '[A-Za-z_][\\w.\\-]{0,199}';

/**
 * `["K=V", ...]` as `docker inspect` gives Config.Env: values of secret-looking names become `********`, and the
 * values of other names are masked as command lines (`KAFKA_OPTS=-Djavax.net.ssl.keyStorePassword=x`, a JDBC URL).
 */
export function maskEnv(env: readonly string[]): string[] {
  return env.map((entry) => {
    const eq = entry.indexOf('=');
    if (eq <= 0) return entry;
    const name = entry.slice(0, eq);
    const value = entry.slice(eq + 1);
    return isSecretName(name) && value !== '' ? `${name}=${MASK}` : `${name}=${maskCommandLine(value)}`;
  });
}

/**
 * `scheme://user:password@host` → `scheme://user:********@host` anywhere in a text. A scheme starts where a run
 * of scheme characters starts (not after every `.` inside one) and is at most 32 long.
 */
const urlPassword = /(?<![A-Za-z0-9+.-])([a-zA-Z][a-zA-Z0-9+.-]{0,31}:\/\/[^\s:/@'"<>]+):([^\s@/'"<>]+)@/g;
export function maskUrlPasswords(text: string): string {
  return text.replace(urlPassword, (_m, head: string, pw: string) =>
    pw === MASK ? `${head}:${pw}@` : `${head}:${MASK}@`,
  );
}

/** key=value / key: value / key = value / export KEY="value" / "key": "value", one per line (never across one). */
const keyValueLine = new RegExp(
  `^([ \\t]*(?:-[ \\t]+)?(?:export[ \\t]+|set[ \\t]+)?["']?)(${key})(["']?[ \\t]*)([=:])([ \\t]*)(.*)$`,
  'gm',
);
/** Inline JSON: `"key": "value"` (the value on the same line). */
const jsonPair = new RegExp(`("(${key})"[ \\t]*:[ \\t]*)"((?:[^"\\\\\\n]|\\\\.)*)"`, 'g');
/** An XML element holding only text: `<password>b</password>`. */
const xmlElement = new RegExp(`<(${key})>([^<]+)<\\/\\1>`, 'g');
/**
 * `key=value` and `key: value` anywhere in a line of a log or a command's output (`connecting as bob password=x`,
 * `{token: abc}`), after the start of a line or a separator; the value ends at whitespace or punctuation unless quoted.
 */
const inlinePair = new RegExp(
  `(^|[\\s,;{(\\[&?|])(${key})([ \\t]*[=:][ \\t]*)("[^"\\n]*"|'[^'\\n]*'|[^\\s,;&"'}\\])|]+)`,
  'g',
);

function maskLines(text: string): string {
  return text.replace(
    keyValueLine,
    (line, lead: string, k: string, quoteEnd: string, sep: string, space: string, value: string) => {
      if (!isSecretName(k) || value.trim() === '' || value === MASK || isStructureStart(value)) return line;
      return `${lead}${k}${quoteEnd}${sep}${space}${maskedValue(value)}`;
    },
  );
}

function maskInlineStructures(text: string): string {
  return text
    .replace(jsonPair, (m, head: string, k: string, value: string) =>
      isSecretName(k) && value !== '' && value !== MASK ? `${head}"${MASK}"` : m,
    )
    .replace(xmlElement, (m, tag: string, value: string) =>
      isSecretName(tag) && value.trim() !== '' && value !== MASK ? `<${tag}>${MASK}</${tag}>` : m,
    );
}

/**
 * Masks the values of secret-looking keys in a config file's text, whatever its format: Hadoop-style XML
 * (`<name>…password…</name><value>X</value>`), Java properties and `key = value`, YAML and JSON
 * (`key: value`, `"key": "value"`), shell (`export K=V`), `-Dkey=value` and `--password value` on command
 * lines, and URL userinfo passwords. `path` is accepted so a format can be chosen by extension later;
 * today every rule runs on every file (a `.conf` may hold any of them), and each rule only touches
 * values whose key looks secret.
 */
export function maskConfigText(path: string, text: string): string {
  void path;
  return maskCommandLine(maskInlineStructures(maskLines(maskHadoopXml(text))));
}

/**
 * What a log file, a container log or a command's output (ps, jcmd VM.command_line, a template's collector) may
 * leak: everything `maskConfigText` masks, plus `key=value` and `key: value` pairs in the middle of a line.
 */
export function maskLogText(text: string): string {
  // Only lines that mention a secret word can hold such a pair: the others are passed over in one cheap test.
  return maskConfigText('', text).replace(/^.*$/gm, (line) => (secretHint.test(line) ? maskPairs(line) : line));
}

/** A substring every secret-looking name (isSecretName) contains. */
const secretHint = /pass|pwd|secret|token|cred|auth|key|jaas/i;

/**
 * The inline pairs of one line. A pair whose key is harmless is stepped over only as far as its key, so its value
 * may still be the key of the next pair (`auth failed: token: x`).
 */
function maskPairs(line: string): string {
  let out = '';
  let copied = 0;
  inlinePair.lastIndex = 0;
  for (let m = inlinePair.exec(line); m; m = inlinePair.exec(line)) {
    const [, lead, k, sep, value] = m as unknown as [string, string, string, string, string];
    const keyEnd = m.index + lead.length + k.length;
    if (!isSecretName(k) || value === MASK || /^(["'])\*{8}\1$/.test(value)) {
      inlinePair.lastIndex = keyEnd;
      continue;
    }
    out += line.slice(copied, keyEnd) + sep + maskedValue(value);
    copied = m.index + m[0].length;
  }
  return out + line.slice(copied);
}

const dashedPair = new RegExp(`(^|[\\s"'=])(-D|--?)(${key})=("[^"]*"|'[^']*'|[^\\s"']+)`, 'g');
const optionValue = /(^|\s)(--)([A-Za-z][\w-]{0,199})([ \t]+)(?!-)("[^"]*"|'[^']*'|\S+)/g;

/** `-Dssl.keystore.password=x`, `--password x`, `--password=x`, `-p x` is NOT guessed (too ambiguous). */
export function maskCommandLine(text: string): string {
  let out = text.replace(dashedPair, (m, sp: string, dash: string, k: string, value: string) =>
    isSecretName(k) && value !== MASK ? `${sp}${dash}${k}=${MASK}` : m,
  );
  out = out.replace(optionValue, (m, sp: string, dash: string, k: string, space: string, value: string) =>
    isSecretName(k) && value !== MASK ? `${sp}${dash}${k}${space}${MASK}` : m,
  );
  return maskUrlPasswords(out);
}

/** Keeps the quotes and what follows them out of the mask: `"x",` → `"********",`. */
function maskedValue(value: string): string {
  const q = value[0];
  if (q === '"' || q === "'") {
    const close = value.indexOf(q, 1);
    if (close > 0) return `${q}${MASK}${q}${value.slice(close + 1)}`;
  }
  return MASK;
}

/** A YAML block (`password:` followed by nothing) or a JSON object/array start is structure, not a value. */
function isStructureStart(value: string): boolean {
  const v = value.trim();
  return v === '{' || v === '[' || v === '|' || v === '>' || v === '|-' || v === '>-';
}

/**
 * `indexOf` for scans that only move forward: the last answer for each needle is kept, so a needle that is far
 * away (or absent) is searched for once, not once per position that asks (which would be quadratic).
 */
function forwardFinder(text: string): (needle: string, from: number) => number {
  const last = new Map<string, { from: number; at: number }>();
  return (needle, from) => {
    const seen = last.get(needle);
    if (seen && from >= seen.from && (seen.at < 0 || from <= seen.at)) return seen.at;
    const at = text.indexOf(needle, from);
    last.set(needle, { from, at });
    return at;
  };
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && /\s/.test(text[i]!)) i++;
  return i;
}

/**
 * `<property><name>k</name><value>v</value>…` in Hadoop, HBase, Hive site files; whitespace and newlines allowed,
 * and one `<description>` between name and value. A forward scan: each tag is looked for once from where the
 * scan is, never again from every `<name>`.
 */
function maskHadoopXml(text: string): string {
  if (!text.includes('<name>')) return text;
  const find = forwardFinder(text);
  let out = '';
  let copied = 0;
  let at = 0;
  for (;;) {
    const open = find('<name>', at);
    if (open < 0) break;
    const nameStart = open + '<name>'.length;
    const close = find('</name>', nameStart);
    if (close < 0) break;
    const lt = find('<', nameStart);
    // A name holds no tag: look again from that `<` (it may open the real <name>).
    if (lt < close) {
      at = lt;
      continue;
    }
    at = close + '</name>'.length;
    let p = skipSpace(text, at);
    if (text.startsWith('<description>', p)) {
      const end = find('</description>', p + '<description>'.length);
      if (end < 0) continue;
      p = skipSpace(text, end + '</description>'.length);
    }
    if (!text.startsWith('<value>', p)) continue;
    const valueStart = p + '<value>'.length;
    const valueEnd = find('</value>', valueStart);
    if (valueEnd < 0) break;
    if (isSecretName(text.slice(nameStart, close).trim()) && text.slice(valueStart, valueEnd).trim() !== '') {
      out += text.slice(copied, valueStart) + MASK;
      copied = valueEnd;
    }
    at = valueEnd + '</value>'.length;
  }
  return out + text.slice(copied);
}

/** Key stores, keytabs and private keys: secrets as a whole, listed in the manifest but never copied. */
export function isSecretFile(path: string): boolean {
  const base = path.split('/').pop()!.toLowerCase();
  return (
    /\.(jks|jceks|keystore|truststore|bcfks|keytab|p12|pfx|key|pem|gpg|kdb|sso)$/.test(base) ||
    /^(id_(rsa|dsa|ecdsa|ed25519)|\.?htpasswd|\.pgpass|\.netrc|credentials|shadow|gshadow)$/.test(base) ||
    /(^|[._-])(secrets?|credentials?|passwords?)([._-]|$)/.test(base)
  );
}

/**
 * A PEM file holds a private key when its text says so (`.pem` certificates alone are public): for callers
 * that can look inside before deciding. `isSecretFile` errs on the safe side and lists every `.pem`.
 */
export function containsPrivateKey(text: string): boolean {
  return /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/.test(text) || /-----BEGIN OPENSSH PRIVATE KEY-----/.test(text);
}
