import readline from 'node:readline';
import {
  actionKinds,
  type CommandDeps,
  handleAction,
  handleCommand,
  precheckCommand,
  userSelectValue,
} from '../app/handle-command.js';
import { parseUserRef } from '../domain/command.js';
import type { Message } from '../render/blocks.js';
import { mrkdwnToText, type Pressable, renderText } from './text-render.js';

export interface ShellIo {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

/**
 * A terminal stand-in for Slack, like Hubot's shell adapter: the same commands, the same messages
 * rendered as text, buttons pressed by typing their number. One user (SHELL_USER), one channel.
 */
export function createShell(io: ShellIo, user: string) {
  const buttons = new Map<number, Pressable>();
  let next = 1;
  const write = (s: string) => io.output.write(`${s}\n`);
  const print = (msg: Message, prefix = '') => {
    const r = renderText(msg, next);
    r.buttons.forEach((b) => buttons.set(next++, b));
    write(
      prefix
        ? r.text
            .split('\n')
            .map((l, i) => (i === 0 ? prefix + l : ' '.repeat(prefix.length) + l))
            .join('\n')
        : `\n${r.text}\n`,
    );
    // A terminal has no message size limit: the file a Slack user would get by DM is printed whole.
    if (msg.file) write(`\n── ${msg.file.filename} ──\n${msg.file.content}`);
  };

  let rl: readline.Interface | undefined;

  async function run(deps: CommandDeps): Promise<void> {
    rl = readline.createInterface({ input: io.input, output: io.output, terminal: false });
    const lines = rl;
    // A question open when the shell closes (a signal) is answered with nothing: that cancels it.
    const ask = (q: string) =>
      new Promise<string>((resolve) => {
        const cancel = () => resolve('');
        lines.once('close', cancel);
        lines.question(q, (answer) => {
          lines.off('close', cancel);
          resolve(answer);
        });
      });
    write(
      `clusterbot shell: type /cluster help (or just "help"); numbers press buttons; "exit" quits. You are ${user}.`,
    );
    let seq = 0;
    const prompt = () => io.output.write('clusterbot> ');
    prompt();
    for await (const raw of lines) {
      const line = raw.trim();
      if (line === 'exit' || line === 'quit') break;
      if (line) {
        if (/^\d+$/.test(line)) {
          const button = buttons.get(Number(line));
          // A people menu ("Share with…") asks whom first, then its confirmation like a button's.
          const chosen =
            button?.type === 'users_select'
              ? parseUserRef((await ask('Who? (a Slack user id, e.g. U012ABC) ')).trim())
              : undefined;
          if (!button) write(`There is no button [${line}].`);
          else if (button.type === 'users_select' && !chosen) write('That is not a Slack user id; nothing was done.');
          else if (
            button.confirm &&
            !/^y(es)?$/i.test((await ask(`${mrkdwnToText(button.confirm.text.text)} [y/N] `)).trim())
          )
            write('Cancelled.');
          else {
            const kind = actionKinds[button.action_id];
            const value =
              button.type === 'users_select' ? userSelectValue(button.blockId, chosen) : (button.value ?? '');
            const reply =
              kind && (await handleAction(deps, { user, team: null, channel: null, requestKey: null }, kind, value));
            if (reply) print(reply);
          }
        } else {
          const text = line.replace(/^\/cluster\b\s*/, '');
          const pre = precheckCommand(text, deps.catalog);
          if (!pre.ok) print(pre.reply);
          else {
            if (pre.ack) print(pre.ack);
            const reply = await handleCommand(
              deps,
              { user, team: null, channel: null, requestKey: `shell:${process.pid}:${++seq}:${Date.now()}` },
              pre.command,
            );
            if (reply) print(reply);
          }
        }
      }
      prompt();
    }
    lines.close();
  }

  /** Stops reading input (shutdown): `run` returns after the command in progress. */
  const close = () => rl?.close();

  return { print, run, close };
}
