import { describe, expect, it } from 'vitest';
import {
  type ClusterCommand,
  helpUsage,
  maxCommandLength,
  normalizeCommandText,
  parseCommand,
  printable,
  verbSpecs,
} from '../../src/domain/command.js';

const generalUsage = helpUsage();
const createUsage = verbSpecs.create.usage;
const nameRule = 'use lowercase letters, digits and dashes, starting with a letter and not ending with a dash';

function ok(text: string): ClusterCommand {
  const r = parseCommand(text);
  if (!r.ok) throw new Error(`expected "${text}" to parse, got: ${r.error.message}`);
  return r.command;
}

function err(text: string): { message: string; usage: string } {
  const r = parseCommand(text);
  if (r.ok) throw new Error(`expected "${text}" to fail, got: ${JSON.stringify(r.command)}`);
  return r.error;
}

/** The part of a message between the first pair of double quotes: the echoed user input. */
function echoed(message: string): string {
  const m = /"([^"]*)"/.exec(message);
  if (!m) throw new Error(`no quoted echo in: ${message}`);
  return m[1]!;
}

describe('parseCommand: valid input', () => {
  const table: [string, ClusterCommand][] = [
    ['', { verb: 'help' }],
    ['   \t  ', { verb: 'help' }],
    ['help', { verb: 'help' }],
    ['help create', { verb: 'help', topic: 'create' }],
    ['HELP Delete', { verb: 'help', topic: 'delete' }],
    ['templates', { verb: 'templates' }],
    ['Templates', { verb: 'templates' }],
    ['create zookeeper', { verb: 'create', template: 'zookeeper' }],
    ['create zookeeper 3', { verb: 'create', template: 'zookeeper', size: 3 }],
    ['create zookeeper 3 --name zk-bug-1', { verb: 'create', template: 'zookeeper', size: 3, name: 'zk-bug-1' }],
    ['create zookeeper --name zk-bug-1 3', { verb: 'create', template: 'zookeeper', size: 3, name: 'zk-bug-1' }],
    ['create zookeeper --name=x', { verb: 'create', template: 'zookeeper', name: 'x' }],
    ['CREATE ZooKeeper 5', { verb: 'create', template: 'zookeeper', size: 5 }],
    ['  create   zookeeper    3   --name   zk-1  ', { verb: 'create', template: 'zookeeper', size: 3, name: 'zk-1' }],
    ['create\tzookeeper\t3', { verb: 'create', template: 'zookeeper', size: 3 }],
    // Phones turn "--" into an em dash or an en dash.
    ['create zookeeper 3 —name zk-1', { verb: 'create', template: 'zookeeper', size: 3, name: 'zk-1' }],
    ['create zookeeper 3 –name zk-1', { verb: 'create', template: 'zookeeper', size: 3, name: 'zk-1' }],
    ['create zookeeper —name=zk-1', { verb: 'create', template: 'zookeeper', name: 'zk-1' }],
    // Full-width letters and digits (NFKC).
    ['ｃｒｅａｔｅ zookeeper ３', { verb: 'create', template: 'zookeeper', size: 3 }],
    ['create zookeeper 007', { verb: 'create', template: 'zookeeper', size: 7 }],
    // Size range is policy, not syntax.
    ['create zookeeper 0', { verb: 'create', template: 'zookeeper', size: 0 }],
    ['create zookeeper 999', { verb: 'create', template: 'zookeeper', size: 999 }],
    [
      `create zookeeper 1 --name ${'a'.repeat(40)}`,
      { verb: 'create', template: 'zookeeper', size: 1, name: 'a'.repeat(40) },
    ],
    ['create zookeeper --name x --name y', { verb: 'create', template: 'zookeeper', name: 'y' }],
    ['list', { verb: 'list', all: false }],
    ['list --all', { verb: 'list', all: true }],
    ['LIST --all', { verb: 'list', all: true }],
    ['status', { verb: 'status' }],
    ['status zk-bug-1', { verb: 'status', name: 'zk-bug-1' }],
    ['delete zk-bug-1', { verb: 'delete', name: 'zk-bug-1' }],
    ['retry zk-bug-1', { verb: 'retry', name: 'zk-bug-1' }],
    ['delete a', { verb: 'delete', name: 'a' }],
    ['extend zk-bug-1', { verb: 'extend', name: 'zk-bug-1' }],
    ['extend zk-bug-1 3', { verb: 'extend', name: 'zk-bug-1', days: 3 }],
    ['EXTEND zk-bug-1 007', { verb: 'extend', name: 'zk-bug-1', days: 7 }],
    ['extend zk-bug-1 ３', { verb: 'extend', name: 'zk-bug-1', days: 3 }],
    // The per-extension limit is policy (MAX_EXTEND_DAYS), not syntax.
    ['extend zk-bug-1 999', { verb: 'extend', name: 'zk-bug-1', days: 999 }],
  ];
  it.each(table)('%j parses', (text, expected) => {
    expect(ok(text)).toEqual(expected);
  });

  it('omits size and name keys when they were not given', () => {
    const c = ok('create zookeeper');
    expect(Object.keys(c).sort()).toEqual(['template', 'verb']);
  });

  it('accepts a command of exactly the maximum length', () => {
    const text = `status ${'a'.repeat(maxCommandLength - 'status '.length)}`;
    expect(text).toHaveLength(maxCommandLength);
    // Long enough to be refused as a name, but not as a command.
    expect(err(text).message).toMatch(/^Bad cluster name/);
  });
});

describe('parseCommand: unknown verbs', () => {
  it.each([
    ['creat zookeeper', 'creat', 'create'],
    ['lsit', 'lsit', 'list'],
    ['delte zk-1', 'delte', 'delete'],
    ['templtes', 'templtes', 'templates'],
    ['Staus', 'Staus', 'status'],
    ['hlep', 'hlep', 'help'],
  ])('%j suggests the closest verb', (text, shown, guess) => {
    expect(err(text)).toEqual({
      message: `Unknown command "${shown}": did you mean \`${guess}\`?`,
      usage: generalUsage,
    });
  });

  it.each(['frobnicate', 'x', 'kubectl', 'rm'])('%j gets no suggestion, only a pointer to help', (word) => {
    expect(err(word)).toEqual({
      message: `Unknown command "${word}". \`/cluster help\` lists every command.`,
      usage: generalUsage,
    });
  });

  it('the general usage names every verb', () => {
    for (const v of Object.keys(verbSpecs)) expect(generalUsage).toContain(v);
  });

  it('"help" with an unknown topic suggests or refuses', () => {
    expect(err('help creat')).toEqual({
      message: 'There is no command "creat": did you mean `create`?',
      usage: verbSpecs.help.usage,
    });
    expect(err('help frobnicate')).toEqual({
      message: 'There is no command "frobnicate".',
      usage: verbSpecs.help.usage,
    });
  });
});

describe('parseCommand: options', () => {
  it('suggests a known option for a typo', () => {
    expect(err('create zookeeper 3 --nmae zk')).toEqual({
      message: 'Unknown option "--nmae": did you mean `--name`?',
      usage: createUsage,
    });
    expect(err('list --al')).toEqual({
      message: 'Unknown option "--al": did you mean `--all`?',
      usage: verbSpecs.list.usage,
    });
  });

  it('lists the options when nothing is close', () => {
    expect(err('create zookeeper 3 --force')).toEqual({
      message: 'Unknown option "--force". Options: --name, --ttl, --host.',
      usage: createUsage,
    });
    expect(err('list --everything')).toEqual({
      message: 'Unknown option "--everything". Options: --all.',
      usage: verbSpecs.list.usage,
    });
    expect(err('create zookeeper -n zk')).toEqual({
      message: 'Unknown option "-n". Options: --name, --ttl, --host.',
      usage: createUsage,
    });
  });

  it('says when a command takes no options at all', () => {
    expect(err('templates --verbose')).toEqual({
      message: 'This command takes no options (got "--verbose").',
      usage: verbSpecs.templates.usage,
    });
    expect(err('delete zk-1 --force')).toEqual({
      message: 'This command takes no options (got "--force").',
      usage: verbSpecs.delete.usage,
    });
    expect(err('list --all=yes')).toEqual({ message: 'Option --all takes no value.', usage: verbSpecs.list.usage });
  });

  it('says which option is missing its value', () => {
    expect(err('create zookeeper 3 --name')).toEqual({ message: 'Option --name needs a value.', usage: createUsage });
    expect(err('create zookeeper —name')).toEqual({ message: 'Option --name needs a value.', usage: createUsage });
  });
});

describe('parseCommand: sizes', () => {
  it.each(['three', '1e3', '3.5', '9999', '0x3', '3,', '+3'])('size %j is refused', (size) => {
    expect(err(`create zookeeper ${size}`)).toEqual({
      message: `The size must be a whole number of nodes, not "${size}".`,
      usage: createUsage,
    });
  });

  it('a negative size is refused as a size, not as an unknown option', () => {
    expect(err('create zookeeper -1')).toEqual({
      message: '"-1" is not allowed here: sizes are whole numbers of nodes and names start with a letter.',
      usage: createUsage,
    });
  });
});

describe('parseCommand: extend days', () => {
  const extendUsage = verbSpecs.extend.usage;
  it.each(['0', '000', 'three', '1.5', '1e1', '1000', '+2', '2d'])('days %j are refused', (days) => {
    expect(err(`extend zk-1 ${days}`)).toEqual({
      message: `The number of days must be a whole number from 1, not "${days}".`,
      usage: extendUsage,
    });
  });

  it('negative days are refused as days, not as an unknown option', () => {
    expect(err('extend zk-1 -2')).toEqual({
      message: '"-2" is not allowed here: days are whole numbers from 1 and names start with a letter.',
      usage: extendUsage,
    });
  });

  it("omits the days key when none was given (the default is the service's)", () => {
    expect(Object.keys(ok('extend zk-1')).sort()).toEqual(['name', 'verb']);
  });

  it('checks the name and echoes hostile input safely', () => {
    expect(err('extend <@U123> 2')).toEqual({ message: `Bad cluster name "@U123": ${nameRule}.`, usage: extendUsage });
    expect(err('extend 3')).toEqual({ message: `Bad cluster name "3": ${nameRule}.`, usage: extendUsage });
    expect(err('extend zk-1 <!here>').message).toBe('The number of days must be a whole number from 1, not "!here".');
  });

  it('is suggested for a typo and listed in help usage', () => {
    expect(err('extnd zk-1')).toEqual({
      message: 'Unknown command "extnd": did you mean `extend`?',
      usage: generalUsage,
    });
    expect(generalUsage).toContain('extend NAME [DAYS]');
  });
});

describe('parseCommand: hostile names', () => {
  const badName = (shown: string) => ({ message: `Bad cluster name "${shown}": ${nameRule}.`, usage: createUsage });
  it.each([
    ['$(reboot)', '$(reboot)'],
    ['a;b', 'a;b'],
    ['a|b', 'a|b'],
    ['../x', '../x'],
    ['/etc/passwd', '/etc/passwd'],
    ['<@U123>', '@U123'],
    ['&lt;!channel&gt;', '!channel'],
    ['<!here>', '!here'],
    ['`ls`', 'ls'],
    ['zk-', 'zk-'],
    ['1zk', '1zk'],
    ['ZK', 'ZK'],
    ['zk_1', 'zk1'],
    ['zk.1', 'zk.1'],
    // Cyrillic "к" and "о" look Latin but are not.
    ['zк', 'zк'],
    ['zооkeeper', 'zооkeeper'],
    ['zk🔥', 'zk🔥'],
    // Invisible characters are made visible in the echo.
    ['zk\u200b1', 'zk\uFFFD1'],
    ['\u202Ezk', '\uFFFDzk'],
    ['zk\u2066x', 'zk\uFFFDx'],
  ])('--name %j is refused, echoed as %j', (name, shown) => {
    expect(err(`create zookeeper 3 --name ${name}`)).toEqual(badName(shown));
  });

  it('a name starting with a dash is refused (written as --name=-zk)', () => {
    expect(err('create zookeeper 3 --name=-zk')).toEqual(badName('-zk'));
    // Written with a space, node:util calls the value ambiguous; the message says what is wrong in plain words.
    expect(err('create zookeeper 3 --name -zk')).toEqual({
      message: 'Option --name needs a value, and values cannot start with a dash.',
      usage: createUsage,
    });
  });

  it('an empty name is refused as empty', () => {
    expect(err('create zookeeper --name=')).toEqual({
      message: 'Bad cluster name "": the name is empty.',
      usage: createUsage,
    });
  });

  it('a whitespace-split shell substitution fails on its first stray flag', () => {
    expect(err('create zookeeper 3 --name $(rm -rf /)')).toEqual({
      message: 'Unknown option "-r". Options: --name, --ttl, --host.',
      usage: createUsage,
    });
  });

  it('a 41-character name is refused with its length, echo truncated', () => {
    const name = 'a'.repeat(41);
    expect(err(`create zookeeper --name ${name}`)).toEqual({
      message: `Bad cluster name "${'a'.repeat(40)}…": the name is 41 characters long; the limit is 40.`,
      usage: createUsage,
    });
  });

  it('status and delete check names with their own usage line', () => {
    expect(err('delete <@U123>')).toEqual({
      message: `Bad cluster name "@U123": ${nameRule}.`,
      usage: verbSpecs.delete.usage,
    });
    expect(err('status `ls`')).toEqual({
      message: `Bad cluster name "ls": ${nameRule}.`,
      usage: verbSpecs.status.usage,
    });
  });

  it('template names are held to a pattern too', () => {
    expect(err('create <!channel>')).toEqual({
      message: '"!channel" is not a template name. `/cluster templates` lists them.',
      usage: createUsage,
    });
    expect(err('create zооkeeper')).toEqual({
      message: '"zооkeeper" is not a template name. `/cluster templates` lists them.',
      usage: createUsage,
    });
    expect(err('create 3')).toEqual({
      message: '"3" is not a template name. `/cluster templates` lists them.',
      usage: createUsage,
    });
    expect(err(`create ${'a'.repeat(32)}`).message).toMatch(/is not a template name/);
    expect(ok(`create ${'a'.repeat(31)}`)).toEqual({ verb: 'create', template: 'a'.repeat(31) });
  });
});

describe('parseCommand: arity and length', () => {
  it.each([
    ['create', { message: '`create` needs a template, e.g. `/cluster create zookeeper 3`.', usage: createUsage }],
    ['delete', { message: '`delete` needs a cluster name.', usage: verbSpecs.delete.usage }],
    ['retry', { message: '`retry` needs a cluster name.', usage: verbSpecs.retry.usage }],
    ['retry a b', { message: 'Too many words for `retry`: "b".', usage: verbSpecs.retry.usage }],
    ['extend', { message: '`extend` needs a cluster name.', usage: verbSpecs.extend.usage }],
    ['extend a 1 2', { message: 'Too many words for `extend`: "2".', usage: verbSpecs.extend.usage }],
    ['extend a --days 2', { message: 'This command takes no options (got "--days").', usage: verbSpecs.extend.usage }],
    ['create zookeeper 3 4', { message: 'Too many words for `create`: "4".', usage: createUsage }],
    ['delete a b c', { message: 'Too many words for `delete`: "b c".', usage: verbSpecs.delete.usage }],
    ['status a b', { message: 'Too many words for `status`: "b".', usage: verbSpecs.status.usage }],
    [
      'templates zookeeper',
      { message: 'Too many words for `templates`: "zookeeper".', usage: verbSpecs.templates.usage },
    ],
    ['list mine', { message: 'Too many words for `list`: "mine".', usage: verbSpecs.list.usage }],
    ['help create list', { message: 'Too many words for `help`: "list".', usage: verbSpecs.help.usage }],
    ['create zookeeper 3 &lt;b&gt;', { message: 'Too many words for `create`: "b".', usage: createUsage }],
  ])('%j', (text, expected) => {
    expect(err(text)).toEqual(expected);
  });

  it('refuses text over the limit before reading it', () => {
    const text = `create zookeeper 3 --name ${'a'.repeat(400)}`;
    expect(err(text)).toEqual({
      message: `That command is ${text.length} characters long; commands are at most 300.`,
      usage: generalUsage,
    });
    expect(err('x'.repeat(301)).message).toBe('That command is 301 characters long; commands are at most 300.');
  });
});

describe('error messages never carry Slack control syntax from the input', () => {
  const hostile = [
    'create zookeeper 3 --name <@U123>',
    'create zookeeper 3 --name &lt;!channel&gt;',
    'create zookeeper 3 --name <!here|here>',
    'create zookeeper 3 --name `whoami`',
    'create zookeeper 3 --name *bold*_x_~y~',
    'create <https://evil.example|click>',
    'create zookeeper <@U1> ',
    '<!channel> hello',
    '`rm` -rf',
    'help <@U999>',
    'delete a <!everyone>',
    'create zookeeper 3 --<@U1>',
    'list --&lt;!channel&gt;',
  ];
  it.each(hostile)('%j', (text) => {
    const e = err(text);
    const shown = echoed(e.message);
    expect(shown).not.toMatch(/[<>`*_~&]/);
    // Outside the echo, the message is our own text: its backticks come in pairs around commands.
    expect(e.message).not.toMatch(/<[@!#]/);
    expect(e.message.replace(`"${shown}"`, '').split('`').length % 2).toBe(1);
  });
});

describe('normalizeCommandText', () => {
  it.each([
    ['&lt;@U1&gt;', '<@U1>'],
    ['a &amp; b', 'a & b'],
    // Entities are decoded once, not recursively.
    ['&amp;lt;', '&lt;'],
    ['create zk —name x', 'create zk --name x'],
    ['create zk ——name x', 'create zk --name x'],
    ['create zk –name x', 'create zk --name x'],
    ['—all', '--all'],
    // A dash inside a word is left alone; only a leading dash is an option marker.
    ['zk—1', 'zk—1'],
    ['a — b', 'a — b'],
    ['ｚｋ１', 'zk1'],
    ['  padded  ', 'padded'],
  ])('%j → %j', (input, expected) => {
    expect(normalizeCommandText(input)).toBe(expected);
  });
});

describe('printable', () => {
  it.each([
    ['<@U1>', '@U1'],
    ['<!channel>', '!channel'],
    ['`code`', 'code'],
    ['*b* _i_ ~s~', 'b i s'],
    ['a&amp;b', 'aamp;b'],
    ['bell\u0007', 'bell\uFFFD'],
    ['nl\nx', 'nl\uFFFDx'],
    ['rtl\u202Eevil', 'rtl\uFFFDevil'],
    ['zero\u200bwidth', 'zero\uFFFDwidth'],
    ['plain-name', 'plain-name'],
  ])('%j → %j', (input, expected) => {
    expect(printable(input)).toBe(expected);
  });

  it('bounds the echo to 40 characters plus an ellipsis', () => {
    expect(printable('b'.repeat(40))).toBe('b'.repeat(40));
    expect(printable('b'.repeat(41))).toBe(`${'b'.repeat(40)}…`);
    // Length counts after cleaning: stripped characters do not use up the budget.
    expect(printable(`<${'c'.repeat(40)}>`)).toBe('c'.repeat(40));
  });
});

describe('migrate', () => {
  it('takes a cluster name and an optional target host', () => {
    expect(ok('migrate zk-bug-1 --to docker-b')).toEqual({ verb: 'migrate', name: 'zk-bug-1', to: 'docker-b' });
    expect(ok('migrate zk-bug-1')).toEqual({ verb: 'migrate', name: 'zk-bug-1' });
  });

  it('takes --all-from HOST instead of a name (who may is policy)', () => {
    expect(ok('migrate --all-from docker-a')).toEqual({ verb: 'migrate', allFrom: 'docker-a' });
    expect(ok('migrate --all-from docker-a --to docker-b')).toEqual({
      verb: 'migrate',
      allFrom: 'docker-a',
      to: 'docker-b',
    });
  });

  it.each([
    ['migrate', /needs a cluster name, or --all-from HOST/],
    ['migrate zk-1 --all-from docker-a', /either a cluster name or --all-from HOST, not both/],
    ['migrate zk-1 --to Docker_B', /is not a Docker host name/],
    ['migrate --all-from docker-a --to docker-a', /cannot move to the host it is on/],
    ['migrate zk-1 --too docker-b', /did you mean `--to`/],
  ])('refuses %j', (text, message) => {
    expect(err(text).message).toMatch(message);
    expect(err(text).usage).toBe(verbSpecs.migrate.usage);
  });
});
