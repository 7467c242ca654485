import { parseArgs } from 'node:util';
import { clusterNameProblem } from './cluster-name.js';
import { parseTtl } from './expiry.js';
import { closest } from './suggest.js';

/**
 * The `/cluster` grammar, shared by Slack and the shell. Parsing is purely syntactic:
 * whether a template exists or a size is allowed is policy (domain/policy.ts).
 */
export type ClusterCommand =
  | { verb: 'help'; topic?: Verb }
  | { verb: 'templates' }
  | { verb: 'create'; template: string; size?: number; name?: string; ttlMinutes?: number; host?: string }
  | { verb: 'list'; all: boolean }
  | { verb: 'status'; name?: string }
  | { verb: 'retry'; name: string }
  | { verb: 'extend'; name: string; days?: number }
  | { verb: 'delete'; name: string }
  | { verb: 'snapshot'; name?: string; note?: string; withData: boolean; memory: boolean }
  | { verb: 'snapshot-delete'; snapshot: string }
  | { verb: 'snapshot-share' | 'snapshot-unshare'; snapshot: string; user: string }
  | { verb: 'snapshots'; name?: string }
  | { verb: 'restore'; snapshot: string; name?: string }
  | { verb: 'reset'; name: string; snapshotFirst: boolean }
  | { verb: 'transfer'; name: string; to: string }
  | { verb: 'share'; name: string; user: string }
  | { verb: 'unshare'; name: string; user: string }
  | { verb: 'history'; name?: string; page: number }
  | { verb: 'hosts' }
  | { verb: 'logs'; name: string; node?: string; lines?: number }
  | { verb: 'restart'; name: string; node?: string }
  | { verb: 'migrate'; name?: string; to?: string; allFrom?: string };

export const verbs = [
  'help',
  'templates',
  'create',
  'list',
  'status',
  'retry',
  'extend',
  'delete',
  'snapshot',
  'snapshots',
  'restore',
  'reset',
  'transfer',
  'share',
  'unshare',
  'history',
  'logs',
  'restart',
  'migrate',
  'hosts',
] as const;
export type Verb = (typeof verbs)[number];

interface VerbSpec {
  usage: string;
  summary: string;
  example: string;
  options: Record<string, { type: 'string' | 'boolean'; short?: string }>;
  positionals: { min: number; max: number };
}

export const verbSpecs: Record<Verb, VerbSpec> = {
  help: {
    usage: '/cluster help [COMMAND]',
    summary: 'Show every command, or one in detail',
    example: '/cluster help create',
    options: {},
    positionals: { min: 0, max: 1 },
  },
  templates: {
    usage: '/cluster templates',
    summary: 'List cluster types with their sizes and resources',
    example: '/cluster templates',
    options: {},
    positionals: { min: 0, max: 0 },
  },
  create: {
    usage: '/cluster create TEMPLATE [SIZE] [--name NAME] [--ttl 8h|2d] [--host HOST]',
    summary:
      'Create a cluster of your own (--ttl: how long it lives before it expires; --host: admins pick the Docker host)',
    example: '/cluster create zookeeper 3 --name zk-bug-1234 --ttl 2d',
    options: { name: { type: 'string' }, ttl: { type: 'string' }, host: { type: 'string' } },
    positionals: { min: 1, max: 2 },
  },
  list: {
    usage: '/cluster list [--all]',
    summary: "Your live clusters (--all: everyone's)",
    example: '/cluster list --all',
    options: { all: { type: 'boolean' } },
    positionals: { min: 0, max: 0 },
  },
  status: {
    usage: '/cluster status [NAME]',
    summary: "One cluster's nodes, endpoints and expiry (yours if you have one)",
    example: '/cluster status zk-bug-1234',
    options: {},
    positionals: { min: 0, max: 1 },
  },
  retry: {
    usage: '/cluster retry NAME',
    summary: 'Create a failed cluster again, reusing the nodes that started',
    example: '/cluster retry zk-bug-1234',
    options: {},
    positionals: { min: 1, max: 1 },
  },
  extend: {
    usage: '/cluster extend NAME [DAYS]',
    summary: 'Keep a cluster DAYS days longer (default 1) before it expires',
    example: '/cluster extend zk-bug-1234 3',
    options: {},
    positionals: { min: 1, max: 2 },
  },
  delete: {
    usage: '/cluster delete NAME',
    summary: 'Delete a cluster and its data (asks to confirm)',
    example: '/cluster delete zk-bug-1234',
    options: {},
    positionals: { min: 1, max: 1 },
  },
  snapshot: {
    usage:
      '/cluster snapshot [NAME] [-m "NOTE"] [--with-data] [--memory] | snapshot delete ID | snapshot share|unshare ID @USER',
    summary:
      'Save the whole bug scene (configs, logs, process state, thread dumps, data) of a cluster as an archive; share lets someone restore it',
    example: '/cluster snapshot zk-bug-1234 -m "leader lost after restart"',
    options: { message: { type: 'string', short: 'm' }, 'with-data': { type: 'boolean' }, memory: { type: 'boolean' } },
    positionals: { min: 0, max: 3 },
  },
  snapshots: {
    usage: '/cluster snapshots [NAME]',
    summary: 'Snapshots you may see (of one cluster, or yours and those shared with you)',
    example: '/cluster snapshots zk-bug-1234',
    options: {},
    positionals: { min: 0, max: 1 },
  },
  restore: {
    usage: '/cluster restore SNAPSHOT [--name NAME]',
    summary: 'Start a new cluster of your own from a snapshot (yours or shared with you), data included',
    example: '/cluster restore 3f9a2c1b --name zk-bug-1234-dev',
    options: { name: { type: 'string' } },
    positionals: { min: 1, max: 1 },
  },
  reset: {
    usage: '/cluster reset NAME [--snapshot]',
    summary:
      'Back to clean in seconds: recreate every node from clean images, keeping names, addresses and ports (asks to confirm; --snapshot saves the data first)',
    example: '/cluster reset zk-bug-1234 --snapshot',
    options: { snapshot: { type: 'boolean' } },
    positionals: { min: 1, max: 1 },
  },
  transfer: {
    usage: '/cluster transfer NAME @USER',
    summary: 'Offer a cluster to someone else: once they accept, they manage it and you no longer can',
    example: '/cluster transfer zk-bug-1234 @bob',
    options: {},
    positionals: { min: 2, max: 2 },
  },
  share: {
    usage: '/cluster share NAME @USER',
    summary:
      "Let someone else open a cluster's web UIs (they run code in it: YARN, WebHDFS) and see its snapshots; the card lists them",
    example: '/cluster share zk-bug-1234 @bob',
    options: {},
    positionals: { min: 2, max: 2 },
  },
  unshare: {
    usage: '/cluster unshare NAME @USER',
    summary: 'Take a share back: their open web UI pages stop working at once',
    example: '/cluster unshare zk-bug-1234 @bob',
    options: {},
    positionals: { min: 2, max: 2 },
  },
  history: {
    usage: '/cluster history [NAME] [--page N]',
    summary: "Every operation and decision on your clusters (admins: everyone's), newest first",
    example: '/cluster history zk-bug-1234',
    options: { page: { type: 'string' } },
    positionals: { min: 0, max: 1 },
  },
  hosts: {
    usage: '/cluster hosts',
    summary: 'The Docker hosts: state, CPU and memory reserved against total, clusters (and their owners, for admins)',
    example: '/cluster hosts',
    options: {},
    positionals: { min: 0, max: 0 },
  },
  logs: {
    usage: '/cluster logs NAME [NODE] [--lines N]',
    summary: "The last lines (default 50, at most 1000) of a node's log (the first node if not named)",
    example: '/cluster logs zk-bug-1234 zk-2 --lines 200',
    options: { lines: { type: 'string' } },
    positionals: { min: 1, max: 2 },
  },
  restart: {
    usage: '/cluster restart NAME [NODE]',
    summary: 'Restart one node, or every node in dependency order, keeping data, addresses and config',
    example: '/cluster restart zk-bug-1234 zk-2',
    options: {},
    positionals: { min: 1, max: 2 },
  },
  migrate: {
    usage: '/cluster migrate NAME [--to HOST] | /cluster migrate --all-from HOST [--to HOST]',
    summary:
      'Move a cluster with its data to another Docker host, same names and addresses (asks to confirm; --all-from HOST: admins drain a host and move each of its clusters)',
    example: '/cluster migrate zk-bug-1234 --to docker-b',
    options: { to: { type: 'string' }, 'all-from': { type: 'string' } },
    positionals: { min: 0, max: 1 },
  },
};

/**
 * A Slack user as typed after a command: `<@U123|name>` or `<@U123>` (Slack escapes mentions so when the
 * slash command has "escape users" on), or a bare user id `U123` (the shell). Undefined otherwise.
 */
export function parseUserRef(text: string): string | undefined {
  const m = /^<@([UW][A-Z0-9]{2,20})(?:\|[^>]*)?>$/.exec(text) ?? /^([UW][A-Z0-9]{2,20})$/.exec(text);
  return m?.[1];
}

/** How a Docker host is named (`clusterbot hosts add NAME`): lowercase letters, digits and dashes, at most 40. */
export const hostNamePattern = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** The longest note a snapshot keeps. */
export const maxNoteLength = 200;

export interface CommandError {
  message: string;
  usage: string;
}

export type ParseResult = { ok: true; command: ClusterCommand } | { ok: false; error: CommandError };

export const maxCommandLength = 300;
const generalUsage =
  '/cluster help | templates | create TEMPLATE [SIZE] [--name NAME] [--ttl 8h] | list [--all] | status [NAME] | retry NAME | extend NAME [DAYS] | delete NAME | snapshot [NAME] [-m NOTE] | snapshot share|unshare ID @USER | snapshots [NAME] | restore SNAPSHOT [--name NAME] | reset NAME [--snapshot] | transfer NAME @USER | share NAME @USER | unshare NAME @USER | history [NAME] [--page N] | logs NAME [NODE] [--lines N] | restart NAME [NODE] | migrate NAME [--to HOST] | migrate --all-from HOST [--to HOST] (admins) | hosts';

/** Undo what Slack and phones do to typed text: HTML entities, smart dashes, full-width letters. */
export function normalizeCommandText(text: string): string {
  return (
    text
      .normalize('NFKC')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&')
      // macOS and iOS turn "--name" into an em dash or en dash.
      .replace(/(^|\s)[\u2014\u2013\u2012\u2212]+(?=\S)/g, '$1--')
      .trim()
  );
}

export function parseCommand(rawText: string): ParseResult {
  if (rawText.length > maxCommandLength)
    return fail(
      `That command is ${rawText.length} characters long; commands are at most ${maxCommandLength}.`,
      generalUsage,
    );
  const text = normalizeCommandText(rawText);
  const tokens = tokenize(text);
  if (!tokens) return fail('A quote is not closed: put the note in "double quotes".', generalUsage);
  const [first, ...rest] = tokens;
  if (first === undefined) return { ok: true, command: { verb: 'help' } };
  const verbWord = first.toLowerCase();
  if (!(verbs as readonly string[]).includes(verbWord)) {
    const guess = closest(verbWord, verbs);
    const shown = printable(first);
    return fail(
      guess
        ? `Unknown command "${shown}": did you mean \`${guess}\`?`
        : `Unknown command "${shown}". \`/cluster help\` lists every command.`,
      generalUsage,
    );
  }
  const verb = verbWord as Verb;
  const spec = verbSpecs[verb];
  // "-1" would otherwise be read as an unknown option; it is a (bad) size or name.
  const negative = rest.find((t) => /^-\d/.test(t));
  if (negative) {
    const numbers = verb === 'extend' ? 'days are whole numbers from 1' : 'sizes are whole numbers of nodes';
    return fail(`"${printable(negative)}" is not allowed here: ${numbers} and names start with a letter.`, spec.usage);
  }
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: rest, options: spec.options, allowPositionals: true, strict: true }));
  } catch (e) {
    return fail(optionError(e as Error, spec), spec.usage);
  }
  if (positionals.length < spec.positionals.min) return fail(`\`${verb}\` needs ${missingWhat(verb)}.`, spec.usage);
  if (positionals.length > spec.positionals.max)
    return fail(
      `Too many words for \`${verb}\`: "${printable(positionals.slice(spec.positionals.max).join(' '))}".`,
      spec.usage,
    );

  switch (verb) {
    case 'help': {
      const topic = positionals[0]?.toLowerCase();
      if (topic === undefined) return { ok: true, command: { verb } };
      if (!(verbs as readonly string[]).includes(topic)) {
        const guess = closest(topic, verbs);
        return fail(
          `There is no command "${printable(topic)}"${guess ? `: did you mean \`${guess}\`?` : '.'}`,
          spec.usage,
        );
      }
      return { ok: true, command: { verb, topic: topic as Verb } };
    }
    case 'templates':
      return { ok: true, command: { verb } };
    case 'create': {
      const template = positionals[0]!.toLowerCase();
      if (!/^[a-z][a-z0-9-]{0,30}$/.test(template))
        return fail(
          `"${printable(positionals[0]!)}" is not a template name. \`/cluster templates\` lists them.`,
          spec.usage,
        );
      let size: number | undefined;
      if (positionals[1] !== undefined) {
        if (!/^\d{1,3}$/.test(positionals[1]))
          return fail(`The size must be a whole number of nodes, not "${printable(positionals[1])}".`, spec.usage);
        size = Number(positionals[1]);
      }
      const name = values.name as string | undefined;
      const bad = name === undefined ? undefined : badName(name, spec.usage);
      if (bad) return bad;
      const ttlText = values.ttl as string | undefined;
      let ttlMinutes: number | undefined;
      if (ttlText !== undefined) {
        // How long is allowed is policy (MAX_LIFETIME_DAYS, domain/expiry.ts checkTtl); here only the form.
        ttlMinutes = parseTtl(ttlText);
        if (ttlMinutes === undefined)
          return fail(
            `"${printable(ttlText)}" is not a lifetime: use minutes, hours or days, e.g. \`--ttl 90m\`, \`--ttl 8h\`, \`--ttl 2d\`.`,
            spec.usage,
          );
      }
      const host = values.host as string | undefined;
      // Who may pick a host is policy (admins); here only the form of a host name.
      if (host !== undefined && !hostNamePattern.test(host))
        return fail(
          `"${printable(host)}" is not a Docker host name; an admin's \`clusterbot hosts list\` shows them.`,
          spec.usage,
        );
      return {
        ok: true,
        command: {
          verb,
          template,
          ...(size !== undefined && { size }),
          ...(name !== undefined && { name }),
          ...(ttlMinutes !== undefined && { ttlMinutes }),
          ...(host !== undefined && { host }),
        },
      };
    }
    case 'list':
      return { ok: true, command: { verb, all: Boolean(values.all) } };
    case 'extend': {
      const name = positionals[0]!;
      const bad = badName(name, spec.usage);
      if (bad) return bad;
      const daysText = positionals[1];
      if (daysText === undefined) return { ok: true, command: { verb, name } };
      // How many days are allowed is policy (MAX_EXTEND_DAYS); here only "a whole number of days, at least 1".
      if (!/^\d{1,3}$/.test(daysText) || Number(daysText) < 1)
        return fail(`The number of days must be a whole number from 1, not "${printable(daysText)}".`, spec.usage);
      return { ok: true, command: { verb, name, days: Number(daysText) } };
    }
    case 'snapshot': {
      if (positionals[0] === 'delete' && positionals.length === 1)
        return fail('`snapshot delete` needs a snapshot id; `/cluster snapshots` lists them.', spec.usage);
      if (positionals[0] === 'delete' && positionals.length === 2) {
        const ref = positionals[1]!;
        if (!/^[0-9a-fA-F-]{6,36}$/.test(ref))
          return fail(`"${printable(ref)}" is not a snapshot id; \`/cluster snapshots\` lists them.`, spec.usage);
        return { ok: true, command: { verb: 'snapshot-delete', snapshot: ref.toLowerCase() } };
      }
      if (positionals[0] === 'share' || positionals[0] === 'unshare') {
        const what = positionals[0];
        if (positionals.length !== 3)
          return fail(
            `\`snapshot ${what}\` needs a snapshot id and a person, e.g. \`/cluster snapshot ${what} 3f9a2c1b @bob\`.`,
            spec.usage,
          );
        const ref = positionals[1]!;
        if (!/^[0-9a-fA-F-]{6,36}$/.test(ref))
          return fail(`"${printable(ref)}" is not a snapshot id; \`/cluster snapshots\` lists them.`, spec.usage);
        const user = parseUserRef(positionals[2]!);
        if (!user)
          return fail(
            `"${printable(positionals[2]!)}" is not a Slack user: mention them, e.g. \`/cluster snapshot ${what} ${ref} @bob\`, picking the name from Slack's list.`,
            spec.usage,
          );
        return {
          ok: true,
          command: {
            verb: what === 'share' ? 'snapshot-share' : 'snapshot-unshare',
            snapshot: ref.toLowerCase(),
            user,
          },
        };
      }
      if (positionals.length > 1)
        return fail(
          `Too many words for \`snapshot\`: "${printable(positionals.slice(1).join(' '))}". Put a note in quotes after -m.`,
          spec.usage,
        );
      const name = positionals[0];
      const bad = name === undefined ? undefined : badName(name, spec.usage);
      if (bad) return bad;
      const note = (values.message as string | undefined)?.trim();
      if (note !== undefined && note.length > maxNoteLength)
        return fail(`The note is ${note.length} characters long; notes are at most ${maxNoteLength}.`, spec.usage);
      return {
        ok: true,
        command: {
          verb,
          withData: Boolean(values['with-data']),
          memory: Boolean(values.memory),
          ...(name !== undefined && { name }),
          ...(note && { note }),
        },
      };
    }
    case 'restore': {
      const ref = positionals[0]!;
      if (!/^[0-9a-fA-F-]{6,36}$/.test(ref))
        return fail(`"${printable(ref)}" is not a snapshot id; \`/cluster snapshots\` lists them.`, spec.usage);
      const name = values.name as string | undefined;
      const bad = name === undefined ? undefined : badName(name, spec.usage);
      if (bad) return bad;
      return { ok: true, command: { verb, snapshot: ref.toLowerCase(), ...(name !== undefined && { name }) } };
    }
    case 'reset': {
      const name = positionals[0]!;
      const bad = badName(name, spec.usage);
      if (bad) return bad;
      return { ok: true, command: { verb, name, snapshotFirst: Boolean(values.snapshot) } };
    }
    case 'transfer':
    case 'share':
    case 'unshare': {
      const name = positionals[0]!;
      const bad = badName(name, spec.usage);
      if (bad) return bad;
      const user = parseUserRef(positionals[1]!);
      if (!user)
        return fail(
          `"${printable(positionals[1]!)}" is not a Slack user: mention them, e.g. \`/cluster ${verb} ${name} @bob\`, picking the name from Slack's list.`,
          spec.usage,
        );
      return { ok: true, command: verb === 'transfer' ? { verb, name, to: user } : { verb, name, user } };
    }
    case 'history': {
      const name = positionals[0];
      const bad = name === undefined ? undefined : badName(name, spec.usage);
      if (bad) return bad;
      const pageText = values.page as string | undefined;
      if (pageText !== undefined && (!/^\d{1,4}$/.test(pageText) || Number(pageText) < 1))
        return fail(`The page must be a whole number from 1, not "${printable(pageText)}".`, spec.usage);
      return {
        ok: true,
        command: { verb, page: pageText === undefined ? 1 : Number(pageText), ...(name !== undefined && { name }) },
      };
    }
    case 'hosts':
      return { ok: true, command: { verb } };
    case 'migrate': {
      const name = positionals[0];
      const to = values.to as string | undefined;
      const allFrom = values['all-from'] as string | undefined;
      if ((name === undefined) === (allFrom === undefined))
        return fail(
          name === undefined
            ? '`migrate` needs a cluster name, or --all-from HOST (admins).'
            : 'Give either a cluster name or --all-from HOST, not both.',
          spec.usage,
        );
      const bad = name === undefined ? undefined : badName(name, spec.usage);
      if (bad) return bad;
      for (const host of [to, allFrom])
        if (host !== undefined && !hostNamePattern.test(host))
          return fail(`"${printable(host)}" is not a Docker host name; \`/cluster hosts\` lists them.`, spec.usage);
      if (to !== undefined && to === allFrom)
        return fail(`--to and --all-from both name ${to}: a cluster cannot move to the host it is on.`, spec.usage);
      return {
        ok: true,
        command: {
          verb,
          ...(name !== undefined && { name }),
          ...(to !== undefined && { to }),
          ...(allFrom !== undefined && { allFrom }),
        },
      };
    }
    case 'logs':
    case 'restart': {
      const name = positionals[0]!;
      const bad = badName(name, spec.usage);
      if (bad) return bad;
      const node = positionals[1]?.toLowerCase();
      if (node !== undefined && !/^[a-z0-9][a-z0-9.-]{0,62}$/.test(node))
        return fail(
          `"${printable(positionals[1]!)}" is not a node name; the cluster card lists its nodes (e.g. zk-1).`,
          spec.usage,
        );
      if (verb === 'restart') return { ok: true, command: { verb, name, ...(node !== undefined && { node }) } };
      const linesText = values.lines as string | undefined;
      if (linesText !== undefined && (!/^\d{1,5}$/.test(linesText) || Number(linesText) < 1))
        return fail(`The number of lines must be a whole number from 1, not "${printable(linesText)}".`, spec.usage);
      return {
        ok: true,
        command: {
          verb,
          name,
          ...(node !== undefined && { node }),
          ...(linesText !== undefined && { lines: Number(linesText) }),
        },
      };
    }
    case 'snapshots':
    case 'status':
    case 'retry':
    case 'delete': {
      const name = positionals[0];
      const bad = name === undefined ? undefined : badName(name, spec.usage);
      if (bad) return bad;
      if (verb !== 'status' && verb !== 'snapshots') return { ok: true, command: { verb, name: name! } };
      return { ok: true, command: { verb, ...(name !== undefined && { name }) } };
    }
  }
}

/**
 * Splits on whitespace, keeping "double", 'single' and “curly” quoted parts (a snapshot note) as one
 * word without their quotes. Undefined when a quote is left open.
 */
export function tokenize(text: string): string[] | undefined {
  const tokens: string[] = [];
  const closing: Record<string, string> = {
    '"': '"',
    "'": "'",
    '\u201c': '\u201d',
    '\u2018': '\u2019',
    '\u201d': '\u201d',
  };
  let current = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      if (inWord) tokens.push(current);
      current = '';
      inWord = false;
    } else if (closing[ch] && !inWord) {
      const end = text.indexOf(closing[ch]!, i + 1);
      if (end < 0) return undefined;
      tokens.push(text.slice(i + 1, end));
      i = end;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) tokens.push(current);
  return tokens;
}

/** The refusal of a name that cannot be a cluster's (DNS-label rules), or undefined when it can. */
function badName(name: string, usage: string): ParseResult | undefined {
  const problem = clusterNameProblem(name);
  return problem ? fail(`Bad cluster name "${printable(name)}": ${problem}.`, usage) : undefined;
}

function fail(message: string, usage: string): ParseResult {
  return { ok: false, error: { message, usage } };
}

function missingWhat(verb: Verb): string {
  if (verb === 'transfer') return 'a cluster name and the new owner, e.g. `/cluster transfer zk-bug-1234 @bob`';
  if (verb === 'share' || verb === 'unshare')
    return `a cluster name and a person, e.g. \`/cluster ${verb} zk-bug-1234 @bob\``;
  if (verb === 'restore') return 'a snapshot id, e.g. `/cluster restore 3f9a2c1b` (`/cluster snapshots` lists them)';
  return verb === 'create' ? 'a template, e.g. `/cluster create zookeeper 3`' : 'a cluster name';
}

/** Maps node:util parseArgs errors (unknown option, missing value) to a message with a suggestion. */
function optionError(err: Error, spec: VerbSpec): string {
  const unknown = /Unknown option '([^']+)'/.exec(err.message);
  if (unknown) {
    const flag = unknown[1]!.replace(/^-+/, '');
    const known = Object.keys(spec.options);
    const guess = closest(flag, known);
    if (guess) return `Unknown option "${printable(unknown[1]!)}": did you mean \`--${guess}\`?`;
    return known.length
      ? `Unknown option "${printable(unknown[1]!)}". Options: ${known.map((k) => `--${k}`).join(', ')}.`
      : `This command takes no options (got "${printable(unknown[1]!)}").`;
  }
  const missing = /Option '([^']+?)(?: <value>)?' argument missing/.exec(err.message);
  if (missing) return `Option ${missing[1]!.split(',').pop()!.trim()} needs a value.`;
  const ambiguous = /Option '([^']+?)' argument is ambiguous/.exec(err.message);
  if (ambiguous) return `Option ${ambiguous[1]} needs a value, and values cannot start with a dash.`;
  const unexpected = /Option '([^']+?)' does not take an argument/.exec(err.message);
  if (unexpected) return `Option ${unexpected[1]!.split(',').pop()!.trim()} takes no value.`;
  return `Could not read the options: ${err.message}`;
}

/** Echo user input safely: no mentions/links (Slack control chars), bounded length. */
export function printable(s: string): string {
  // Invisible characters (controls, zero-width spaces, bidi overrides like U+202E) become a visible �.
  const cleaned = s.replace(/[<>&`*_~]/g, '').replace(/[\p{Cc}\p{Cf}]/gu, '\uFFFD');
  return cleaned.length > 40 ? `${cleaned.slice(0, 40)}…` : cleaned;
}

export function helpUsage(): string {
  return generalUsage;
}
