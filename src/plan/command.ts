import { visible } from '../util/terminal.ts';
import type { Action, ActionTarget, WriteAction } from './actions.ts';

const BARE = /^[\w@%+=:,./-]+$/;

/**
 * Quotes one shell word so bash passes it through unchanged: THE quoting function for every value in a command
 * this tool prints. Plain words stay bare; others go in single quotes, inside which bash gives every byte its
 * literal meaning. Words with characters `visible()` would escape (control characters, line separators, bidi
 * overrides) go in ANSI-C quotes `$'...'` with those characters written as their UTF-8 bytes `\xHH`, so the
 * printed command holds no raw control character (it is shown on terminals too) and bash decodes the exact bytes
 * whatever the locale. NUL cannot be in an argv: it is written as the four characters `\x00`, so the word names
 * nothing real instead of being cut short at the NUL; callers that run commands refuse such words (`hasNul`).
 */
export function shellQuote(word: string): string {
  if (BARE.test(word)) return word;
  if (visible(word) === word) return `'${word.replace(/'/g, `'\\''`)}'`;
  return `$'${Array.from(word, ansiC).join('')}'`;
}

function ansiC(ch: string): string {
  if (ch === '\\' || ch === "'") return `\\${ch}`;
  if (ch === '\u0000') return '\\\\x00';
  if (visible(ch) === ch) return ch;
  return Array.from(Buffer.from(ch, 'utf8'), (b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
}

/** True when a word holds a NUL byte, which no argv can carry: a command with it cannot be run as intended. */
export function hasNul(word: string): boolean {
  return word.includes('\u0000');
}

/** `<resource> <name> [-n <namespace>]`: how kubectl addresses one object. */
export function objectArgs(target: ActionTarget): string[] {
  const args = [target.resource, target.name];
  if (target.namespaced && target.namespace) args.push('-n', target.namespace);
  return args;
}

/** The API path `kubectl replace --raw` sends a namespace finalize to; the name is escaped as one path segment. */
export function finalizePath(target: ActionTarget): string {
  return `/api/v1/namespaces/${encodeURIComponent(target.name)}/finalize`;
}

/**
 * The kubectl arguments (after `kubectl`) that perform a write, and what it reads on stdin: the same
 * preconditions as `--fix` where kubectl can express them.
 */
export function kubectlWrite(action: WriteAction): { args: string[]; stdin?: string } {
  switch (action.type) {
    case 'json-patch':
    case 'merge-patch':
      return {
        args: [
          'patch',
          ...objectArgs(action.target),
          ...(action.subresource ? [`--subresource=${action.subresource}`] : []),
          `--type=${action.type === 'json-patch' ? 'json' : 'merge'}`,
          '-p',
          JSON.stringify(action.patch),
        ],
      };
    case 'delete':
      // kubectl cannot send delete preconditions; --fix sends uid + resourceVersion, the script checks them first.
      return { args: ['delete', ...objectArgs(action.target)] };
    case 'finalize-namespace':
      // The body goes on stdin through printf, not a heredoc: no value can end it early.
      return { args: ['replace', '--raw', finalizePath(action.target), '-f', '-'], stdin: JSON.stringify(action.body) };
  }
}

/** `printf '%s' <stdin> | <command>`, every word quoted by shellQuote: one line whatever the values hold. */
export function commandLine(args: readonly string[], stdin?: string): string {
  const command = args.map(shellQuote).join(' ');
  return stdin === undefined ? command : `printf '%s' ${shellQuote(stdin)} | ${command}`;
}

/** The kubectl command a person would type to perform `action`, with the same preconditions where kubectl can express them. */
export function kubectlCommand(action: Action): string {
  if (action.type === 'manual' || action.type === 'checkpoint') return action.instructions;
  const { args, stdin } = kubectlWrite(action);
  return commandLine(['kubectl', ...args], stdin);
}
