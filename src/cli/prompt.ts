import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { wrapText } from '../report/table.ts';

/** `interrupt`: Ctrl-C at the prompt; `quit`: q, or the end of input. */
export type Answer = 'yes' | 'no' | 'all' | 'quit' | 'interrupt';

export interface Prompter {
  /** Asks `question`, offering `choices` (their first letters are the answers); anything else means no. */
  ask(question: string, choices: readonly ('yes' | 'no' | 'all' | 'quit')[]): Promise<Answer>;
  close(): void;
}

export interface PromptIo {
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: { write(text: string): unknown; isTTY?: boolean; columns?: number };
}

/**
 * Asks on the terminal, as kubectl's interactive delete does: when stdin is a terminal the questions go to it even
 * if stdout is piped (`--fix | tee fix.log`), through /dev/tty. The terminal echoes what is typed; each answer is
 * also written to `log` (the stream the plans go to), so a tee'd log shows what was answered. Lines typed ahead of
 * a question are queued, not lost; Ctrl-C answers `interrupt`.
 */
export function terminalPrompter(io: PromptIo, log: (text: string) => void, onInterrupt?: () => void): Prompter | undefined {
  if (!io.stdin?.isTTY) return undefined;
  let output: NodeJS.WritableStream & { columns?: number };
  let ttyStream: WriteStream | undefined;
  if (io.stdout.isTTY) {
    output = io.stdout as unknown as NodeJS.WritableStream & { columns?: number };
  } else {
    try {
      const fd = openSync('/dev/tty', 'w');
      ttyStream = createWriteStream('', { fd });
      output = ttyStream;
    } catch {
      return undefined;
    }
  }
  const lines: string[] = [];
  const waiting: ((line: string | null) => void)[] = [];
  let rl: Interface | undefined;
  const deliver = (line: string | null) => {
    const w = waiting.shift();
    if (w) w(line);
    else if (line !== null) lines.push(line);
  };
  // The terminal is put in raw mode before a question is shown, so a Ctrl-C typed at once reaches us as a key,
  // not as a signal. Between questions (while writes run) a Ctrl-C is the same interrupt as SIGINT.
  const open = () => {
    if (rl) return;
    rl = createInterface({ input: io.stdin!, output, terminal: true });
    rl.on('line', (line) => deliver(line));
    rl.on('SIGINT', () => {
      if (waiting.length > 0) deliver('\u0003');
      else onInterrupt?.();
    });
    rl.on('close', () => {
      for (const w of waiting.splice(0)) w(null);
      lines.push('q');
    });
  };
  const nextLine = () =>
    new Promise<string | null>((resolve) => {
      const queued = lines.shift();
      if (queued !== undefined) resolve(queued);
      else waiting.push(resolve);
    });
  const width = () => Math.max(40, (output.columns ?? (io.stdout.columns || 80)) - 1);
  return {
    async ask(question, choices) {
      open();
      const menu = choices.map((c) => `[${c[0]}]${c.slice(1)}`).join('/');
      const text = wrapText(`${question} ${menu}:`, width());
      output.write(`${text.join('\n')} `);
      const line = await nextLine();
      const typed = (line ?? 'q').trim().toLowerCase();
      const answer: Answer =
        line === '\u0003' ? 'interrupt' : line === null ? 'quit' : (choices.find((c) => typed !== '' && c.startsWith(typed[0]!)) ?? 'no');
      if (line === '\u0003' || line === null) output.write('\n');
      log(`${question} -> ${answer}\n`);
      return answer;
    },
    close() {
      rl?.close();
      if (ttyStream) {
        try {
          ttyStream.close();
        } catch {
          /* already closed */
        }
      }
    },
  };
}
