// A real pseudo-terminal for interactive tests: util-linux script(1) runs the command on a new pty, forwards what
// the test writes to the pty (so the program reads a terminal: raw mode, Ctrl-C as a key) and gives back what the
// program printed on it. The test answers prompts as a person would: wait for the text, then type.
import { spawn, type ChildProcess } from 'node:child_process';
import { shellQuote } from '../../src/plan/command.ts';
import { CLI, ROOT } from './run-cli.ts';

export interface Pty {
  /** Everything the terminal showed so far (ANSI sequences included). */
  readonly screen: () => string;
  /** Waits until the terminal shows `pattern` (after `from`, an index into screen()); returns the match's end. */
  waitFor(pattern: RegExp, from?: number, timeoutMs?: number): Promise<number>;
  /** Types `text` (use `\r` for Enter, `\u0003` for Ctrl-C, `\u0004` for Ctrl-D). */
  type(text: string): void;
  /** The exit code of the command (script -e passes it through; 128+n for a signal). */
  exited: Promise<number>;
  kill(): void;
}

/** Runs `shellCommand` (bash) on a pseudo-terminal `columns` wide. */
export function onTerminal(shellCommand: string, options: { env?: NodeJS.ProcessEnv; columns?: number } = {}): Pty {
  const columns = options.columns ?? 100;
  const command = `stty cols ${columns} rows 50; ${shellCommand}`;
  const child: ChildProcess = spawn('script', ['-qefc', `bash -c ${shellQuote(command)}`, '/dev/null'], {
    cwd: ROOT,
    env: { ...(options.env ?? process.env), TERM: 'dumb' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString('utf8');
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  const kill = setTimeout(() => child.kill('SIGKILL'), 120_000);
  void exited.then(() => clearTimeout(kill));
  return {
    screen: () => out,
    waitFor(pattern, from = 0, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(out.slice(from));
          if (!m) return false;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(from + m.index + m[0].length);
          return true;
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`terminal never showed ${pattern} within ${timeoutMs} ms; it shows:\n${out.slice(from)}`));
        }, timeoutMs);
        listeners.add(check);
        void exited.then(() => {
          if (listeners.has(check) && !check()) {
            listeners.delete(check);
            clearTimeout(timer);
            reject(new Error(`the command exited before the terminal showed ${pattern}; it shows:\n${out.slice(from)}`));
          }
        });
        check();
      });
    },
    type(text) {
      child.stdin!.write(text);
    },
    exited,
    kill() {
      child.kill('SIGKILL');
    },
  };
}

/** `kubectl-doctor ARGS` as a shell command line, for onTerminal. */
export function doctorCommand(args: string[]): string {
  return [process.execPath, CLI, ...args].map(shellQuote).join(' ');
}

/**
 * Answers every question the command asks with `answer` until it exits; returns each question as the terminal
 * showed it (the text since the previous answer, whitespace folded: questions wrap to the terminal's width).
 */
export async function answerEverything(pty: Pty, answer = 'y'): Promise<{ code: number; questions: string[] }> {
  const questions: string[] = [];
  let at = 0;
  for (;;) {
    const next = await Promise.race([pty.waitFor(/\[y\]es\/[^\n]*: $/, at).catch(() => -1), pty.exited.then(() => -1)]);
    if (next < 0) break;
    questions.push(pty.screen().slice(at, next).replace(/\s+/g, ' '));
    at = next;
    pty.type(`${answer}\r`);
  }
  return { code: await pty.exited, questions };
}
