import type { Action, ActionTarget } from '../plan/actions.ts';

/** Quotes one shell word so bash passes it through unchanged. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `<resource> <name> [-n <namespace>]`: how kubectl addresses one object. */
export function objectArgs(target: ActionTarget): string[] {
  const args = [target.resource, target.name];
  if (target.namespaced && target.namespace) args.push('-n', target.namespace);
  return args;
}

/** The kubectl command a person would type to perform `action`, with the same preconditions where kubectl can express them. */
export function kubectlCommand(action: Action): string {
  const words: string[] = ['kubectl'];
  switch (action.type) {
    case 'json-patch':
    case 'merge-patch':
      words.push('patch', ...objectArgs(action.target));
      if (action.subresource) words.push(`--subresource=${action.subresource}`);
      words.push(`--type=${action.type === 'json-patch' ? 'json' : 'merge'}`, '-p', JSON.stringify(action.patch));
      break;
    case 'delete':
      // kubectl cannot send delete preconditions; --fix sends uid + resourceVersion, the script checks them first.
      words.push('delete', ...objectArgs(action.target));
      break;
    case 'finalize-namespace':
      words.push('replace', '--raw', `/api/v1/namespaces/${action.target.name}/finalize`, '-f', '-');
      return `${words.map(shellQuote).join(' ')} <<'EOF'\n${JSON.stringify(action.body)}\nEOF`;
    case 'manual':
    case 'checkpoint':
      return action.instructions;
  }
  return words.map(shellQuote).join(' ');
}
