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
const secretLastWord = /^(pass|passwd|password|passwords|passphrase|pwd|secret|secrets|token|tokens|credential|credentials|creds|auth|apikey|secretkey|privatekey|accesskey|signingkey|encryptionkey)$/;
/** One-word names that end in a secret word: `PGPASSWORD`, `KEYSTOREPASS` is too ambiguous (bypass, compass). */
const secretSuffix = /(password|passwd|passphrase|secret|token|apikey|secretkey|privatekey)$/;
const secretAnywhere = new Set(['jaas']);
/** Words that make a trailing "key" harmless: `partition.key`, `primary_key`, `row.key`, `public.key`. */
const harmlessBeforeKey = new Set(['partition', 'primary', 'row', 'sort', 'foreign', 'hash', 'routing', 'cache', 'shard', 'column', 'record', 'message', 'group', 'map', 'lookup', 'unique', 'idempotency', 'dedup', 'join', 'bucket', 'public', 'rowkey']);

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

/** `["K=V", ...]` as `docker inspect` gives Config.Env: values of secret-looking names become `********`. */
export function maskEnv(env: readonly string[]): string[] {
  return env.map((entry) => {
    const eq = entry.indexOf('=');
    if (eq <= 0) return entry;
    const name = entry.slice(0, eq);
    const value = entry.slice(eq + 1);
    return isSecretName(name) && value !== '' ? `${name}=${MASK}` : maskUrlPasswords(entry);
  });
}

/** `scheme://user:password@host` → `scheme://user:********@host` anywhere in a text. */
export function maskUrlPasswords(text: string): string {
  return text.replace(/\b([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s:/@'"<>]+):([^\s@/'"<>]+)@/g, (_m, head: string, pw: string) =>
    pw === MASK ? `${head}:${pw}@` : `${head}:${MASK}@`,
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
  let out = maskHadoopXml(text);
  out = out.replace(
    // key=value / key: value / key = value / export KEY="value" / "key": "value", one per line.
    /^(\s*(?:-\s+)?(?:export\s+|set\s+)?["']?)([A-Za-z_][\w.\-]*)(["']?\s*)([=:])([ \t]*)(.*)$/gm,
    (line, lead: string, key: string, quoteEnd: string, sep: string, space: string, value: string) => {
      if (!isSecretName(key) || value.trim() === '' || value === MASK || isStructureStart(value)) return line;
      return `${lead}${key}${quoteEnd}${sep}${space}${maskedValue(value)}`;
    },
  );
  // Inline JSON ({"user": "a", "password": "b"}) and XML elements (<password>b</password>).
  out = out.replace(/("([A-Za-z_][\w.\-]*)"\s*:\s*)"((?:[^"\\]|\\.)*)"/g, (m, head: string, key: string, value: string) =>
    isSecretName(key) && value !== '' && value !== MASK ? `${head}"${MASK}"` : m,
  );
  out = out.replace(/<([A-Za-z_][\w.\-]*)>([^<]+)<\/\1>/g, (m, tag: string, value: string) =>
    isSecretName(tag) && value.trim() !== '' && value !== MASK ? `<${tag}>${MASK}</${tag}>` : m,
  );
  out = maskCommandLine(out);
  return maskUrlPasswords(out);
}

/** `-Dssl.keystore.password=x`, `--password x`, `--password=x`, `-p x` is NOT guessed (too ambiguous). */
export function maskCommandLine(text: string): string {
  let out = text.replace(/(^|[\s"'=])(-D|--?)([A-Za-z_][\w.\-]*)=("[^"]*"|'[^']*'|[^\s"']+)/g, (m, sp: string, dash: string, key: string, value: string) =>
    isSecretName(key) && value !== MASK ? `${sp}${dash}${key}=${MASK}` : m,
  );
  out = out.replace(/(^|\s)(--)([A-Za-z][\w\-]*)([ \t]+)(?!-)("[^"]*"|'[^']*'|\S+)/g, (m, sp: string, dash: string, key: string, space: string, value: string) =>
    isSecretName(key) && value !== MASK ? `${sp}${dash}${key}${space}${MASK}` : m,
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

/** `<property><name>k</name><value>v</value>…` in Hadoop, HBase, Hive site files; whitespace and newlines allowed. */
function maskHadoopXml(text: string): string {
  return text.replace(
    /(<name>\s*)([^<]*?)(\s*<\/name>\s*(?:<description>[\s\S]*?<\/description>\s*)?<value>)([\s\S]*?)(<\/value>)/g,
    (m, a: string, name: string, b: string, value: string, c: string) => (isSecretName(name) && value.trim() !== '' ? `${a}${name}${b}${MASK}${c}` : m),
  );
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
