import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { ActionTarget } from '../../src/plan/actions.ts';
import { kubectlCommand, shellQuote } from '../../src/plan/command.ts';
import { visible } from '../../src/util/terminal.ts';

test('shellQuote gives bash every character back exactly, prints no control character, and never lets NUL cut a word short', () => {
  const words = [
    '',
    'plain',
    "it's",
    '"',
    '\\',
    '$(x)',
    '`x`',
    '!x',
    'a b',
    '-n',
    '--flag=x',
    'é',
    '日本',
    '🙂',
    '\u2028',
    '\u2029',
    '\u202e',
    '\u00a0',
    '\u0085',
    ...Array.from({ length: 0x800 - 1 }, (_, i) => String.fromCodePoint(i + 1)),
    'mixed\n\r\t\u001b]52;c;x\u0007\'"$`\\ end',
  ];
  const quoted = words.map(shellQuote);
  for (const q of quoted) assert.equal(visible(q), q, `control character in ${q}`);
  for (const locale of ['C', 'C.UTF-8']) {
    const run = spawnSync('bash', ['-c', `printf '%s\\0' ${quoted.join(' ')}`], { env: { LC_ALL: locale, PATH: process.env.PATH } });
    assert.equal(run.status, 0, run.stderr.toString());
    assert.deepEqual(run.stdout.toString('utf8').split('\0').slice(0, -1), words, `LC_ALL=${locale}`);
  }
  assert.equal(shellQuote('a\u0000b'), "$'a\\\\x00b'");
  assert.equal(
    spawnSync('bash', ['-c', `printf '%s' ${shellQuote('a\u0000b')}`]).stdout.toString(),
    'a\\x00b',
    'shown, not truncated to "a"',
  );
});

test('the namespace finalize body goes through printf, not a heredoc: a body line "EOF" cannot end it', () => {
  const ns: ActionTarget = {
    apiVersion: 'v1',
    kind: 'Namespace',
    name: 'a/b?c',
    uid: 'u-ns',
    resource: 'namespaces',
    namespaced: false,
    resourceVersion: '9',
  };
  const command = kubectlCommand({ type: 'finalize-namespace', target: ns, body: { metadata: { name: 'x\nEOF\nrm -rf /' } } });
  assert.equal(command.split('\n').length, 1);
  assert.equal(
    command,
    `printf '%s' '{"metadata":{"name":"x\\nEOF\\nrm -rf /"}}' | kubectl replace --raw /api/v1/namespaces/a%2Fb%3Fc/finalize -f -`,
  );
});
