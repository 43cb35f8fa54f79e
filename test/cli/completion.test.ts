import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS, complete, Directive, flagsOf, KUBECTL_HELPER } from '../../src/cli/completion.ts';
import { allRules } from '../../rules/index.ts';
import { CLI, runCli, runMain } from './run-cli.ts';
import { tempDir } from '../temp.ts';

function run(argv: string[], env: NodeJS.ProcessEnv = { HOME: '/nonexistent-home' }) {
  return runMain(argv, allRules, { env });
}

/** `kubectl doctor __complete WORDS...` as kubectl_complete-doctor runs it: candidate values and the directive. */
async function completions(words: string[], env?: NodeJS.ProcessEnv) {
  const r = await run(['__complete', ...words], env);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, '');
  const lines = r.stdout.trimEnd().split('\n');
  const last = lines.pop()!;
  assert.match(last, /^:\d+$/, 'the last line is the cobra directive');
  return { values: lines.map((l) => l.split('\t')[0]!), lines, directive: Number(last.slice(1)) };
}

const ids = allRules.map((r) => r.meta.id);

test('the completion flag table matches the flags each command accepts (its --help)', async () => {
  for (const command of Object.keys(COMMANDS)) {
    // yargs prints help with console.log, so this runs the built CLI.
    const help = await runCli([
      ...(command ? [command] : []),
      ...(command === 'explain' ? ['x'] : command === 'restore' ? ['d'] : command === 'completion' ? ['bash'] : []),
      '--help',
    ]);
    assert.equal(help.code, 0, `${command} --help`);
    const fromHelp = new Set(
      [...help.stdout.matchAll(/(?:^|\s|,)(--?[a-zA-Z][\w-]*)/gm)].map((m) => m[1]!).filter((f) => f !== '--version'),
    );
    const known = new Set(
      flagsOf(command).flatMap((f) => [f.name.length === 1 ? `-${f.name}` : `--${f.name}`, ...(f.alias ? [`-${f.alias}`] : [])]),
    );
    // Flags in the help text but unknown to completion (each command's flags are listed in its help).
    const missing = [...fromHelp].filter((f) => !known.has(f) && new RegExp(`^\\s+${f}[,\\s]`, 'm').test(help.stdout));
    assert.deepEqual(missing, [], `command "${command || '(scan)'}": flags missing from src/cli/completion.ts`);
    const extra = [...known].filter((f) => !help.stdout.includes(f));
    assert.deepEqual(extra, [], `command "${command || '(scan)'}": completion offers flags the command does not have`);
  }
});

test('__complete: subcommands, flags and their values, in the cobra protocol', async () => {
  const root = await completions(['']);
  assert.deepEqual(root.values, ['rules', 'explain', 'dump', 'restore', 'version', 'completion']);
  assert.ok(
    root.lines.every((l) => l.includes('\t')),
    'subcommands carry descriptions',
  );
  assert.equal(root.directive, Directive.NoFileComp);
  assert.deepEqual((await completions(['ex'])).values, ['explain']);
  assert.deepEqual((await completions(['dump', '--f'])).values, ['--force']);

  const flags = await completions(['--ru']);
  assert.deepEqual(flags.values, ['--rules']);
  assert.ok((await completions(['-'])).values.includes('-n'), 'short flags when only a dash was typed');
  assert.ok(!(await completions(['--'])).values.includes('-n'));
  assert.deepEqual((await completions(['rules', '--'])).values, ['--output', '--help']);

  assert.deepEqual((await completions(['-o', ''])).values, ['table', 'wide', 'json', 'yaml', 'script', 'sarif', 'junit', 'name']);
  assert.deepEqual((await completions(['rules', '-o', ''])).values, ['table', 'wide', 'json', 'yaml']);
  assert.deepEqual((await completions(['explain', 'core/stuck-deletion', '-o', 'j'])).values, ['json']);
  assert.deepEqual((await completions(['--output=y'])).values, ['--output=yaml']);
  assert.deepEqual((await completions(['--fail-on', ''])).values, ['critical', 'error', 'warning', 'info']);
  assert.deepEqual((await completions(['--fix', '--allow', 'd'])).values, ['disruptive', 'destructive']);
  assert.deepEqual((await completions(['completion', ''])).values, ['bash', 'zsh', 'fish', 'powershell', 'kubectl']);
  // A value already given is not taken for the command: `-o rules` does not make `rules` the subcommand.
  assert.deepEqual((await completions(['-o', 'json', '--fail-on', 'e'])).values, ['error']);
});

test('__complete: rule ids after --rules/--skip-rules (comma lists) and for explain', async () => {
  const all = await completions(['--rules', '']);
  assert.deepEqual(
    all.values.filter((v) => !v.endsWith('/*')),
    ids,
  );
  assert.ok(all.values.includes('harvester/*'), 'ecosystem globs');
  assert.equal(all.directive, Directive.NoFileComp);
  assert.deepEqual((await completions(['--skip-rules', 'core/'])).values, ids.filter((i) => i.startsWith('core/')).concat('core/*'));
  const listed = await completions(['--rules', 'core/stuck-deletion,cluster-api/p']);
  assert.deepEqual(listed.values, ['core/stuck-deletion,cluster-api/paused-deletion']);
  assert.deepEqual((await completions(['--rules=fleet/'])).values, ['--rules=fleet/missing-values-secret', '--rules=fleet/*']);
  const explain = await completions(['explain', '']);
  assert.deepEqual(explain.values, ids, 'explain takes one rule id, no globs');
  assert.deepEqual((await completions(['explain', 'core/stuck-deletion', ''])).values, [], 'only one rule');
});

test('__complete: contexts, clusters and users from the kubeconfig; files and directories left to the shell', async () => {
  const dir = tempDir('complete');
  const config = join(dir, 'config');
  writeFileSync(
    config,
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: prod',
      'clusters: [{name: c1, cluster: {server: "https://127.0.0.1:1"}}, {name: c2, cluster: {server: "https://127.0.0.1:2"}}]',
      'users: [{name: alice, user: {token: x}}]',
      'contexts: [{name: prod, context: {cluster: c1, user: alice}}, {name: "arn:aws:eks:eu-west-1:1:cluster/dev", context: {cluster: c2, user: alice}}]',
    ].join('\n'),
  );
  const other = join(dir, 'other');
  writeFileSync(other, 'apiVersion: v1\nkind: Config\ncontexts: [{name: elsewhere, context: {cluster: c1}}]\n');
  const env = { HOME: '/nonexistent-home', KUBECONFIG: config };
  const contexts = await completions(['--context', ''], env);
  assert.deepEqual(contexts.values, ['arn:aws:eks:eu-west-1:1:cluster/dev', 'prod']);
  assert.ok(contexts.lines.includes('prod\tcurrent context'));
  assert.deepEqual((await completions(['--context', 'p'], env)).values, ['prod']);
  assert.deepEqual(
    (await completions(['--kubeconfig', other, '--context', ''], env)).values,
    ['elsewhere'],
    '--kubeconfig wins over KUBECONFIG',
  );
  assert.deepEqual((await completions(['--cluster', ''], env)).values, ['c1', 'c2']);
  assert.deepEqual((await completions(['restore', '--user', ''], env)).values, ['alice']);
  // No kubeconfig: no candidates, no error output.
  assert.deepEqual((await completions(['--context', ''])).values, []);

  assert.equal((await completions(['--snapshot', ''])).directive, Directive.Default, 'file completion for --snapshot');
  assert.equal((await completions(['--backup-dir', ''])).directive, Directive.FilterDirs);
  assert.equal((await completions(['restore', ''])).directive, Directive.FilterDirs);
  assert.equal((await completions(['--now', ''])).directive, Directive.NoFileComp);
});

test('namespace completion uses the connection flags typed so far and is bounded by --request-timeout', async () => {
  let seen: Record<string, unknown> | undefined;
  let timeout = 0;
  const ns = await complete(['--context', 'prod', '--as-group', 'g1', '--as-group', 'g2', '-n', 'kube-'], { env: {} }, allRules, {
    listNamespaces: async (flags, ms) => {
      seen = flags;
      timeout = ms;
      return ['default', 'kube-public', 'kube-system'];
    },
  });
  assert.deepEqual(ns.candidates, ['kube-public', 'kube-system']);
  assert.deepEqual(seen, { context: 'prod', 'as-group': ['g1', 'g2'] });
  assert.equal(timeout, 5000, 'a default bound when --request-timeout is not given');

  const started = Date.now();
  const hung = await complete(['--request-timeout', '200ms', '--namespace', ''], { env: {} }, allRules, {
    listNamespaces: (_flags, ms) => {
      timeout = ms;
      return new Promise<string[]>(() => undefined);
    },
  });
  assert.equal(timeout, 200);
  assert.deepEqual(hung.candidates, []);
  assert.ok(Date.now() - started < 2000, 'a hanging list gives up after --request-timeout');

  const failed = await complete(['-n', ''], { env: {} }, allRules, {
    listNamespaces: async () => {
      throw new Error('connection refused');
    },
  });
  assert.deepEqual(failed, { candidates: [], directive: Directive.NoFileComp }, 'silent on failure');

  // The real lister against nothing listening: no candidates, no output on stderr, quickly.
  const dead = await run(['__complete', '--server', 'https://127.0.0.1:1', '--request-timeout', '1s', '-n', '']);
  assert.equal(dead.stdout, `:${Directive.NoFileComp}\n`);
  assert.equal(dead.stderr, '');
});

test('completion bash: the script completes kubectl-doctor through __complete', async () => {
  const script = (await run(['completion', 'bash'])).stdout;
  assert.equal(spawnSync('bash', ['-n'], { input: script }).status, 0, 'valid bash');
  // A kubectl-doctor on PATH that is the built CLI, then the script's completion function, as bash calls it.
  const dir = tempDir('bash');
  writeFileSync(join(dir, 'kubectl-doctor'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`, { mode: 0o755 });
  const probe = (line: string) => {
    const r = spawnSync(
      'bash',
      ['-c', `${script}\nCOMP_LINE="$1"; COMP_POINT=\${#COMP_LINE}; _kubectl_doctor; printf '%s\\n' "\${COMPREPLY[@]}"`, 'bash', line],
      {
        env: { PATH: `${dir}:${process.env.PATH}`, HOME: '/nonexistent-home' },
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split('\n').filter(Boolean);
  };
  assert.deepEqual(probe('kubectl-doctor ver'), ['version']);
  assert.deepEqual(
    probe('kubectl-doctor explain core/'),
    ids.filter((i) => i.startsWith('core/')),
  );
  // bash splits at '=': the candidate is what follows it.
  assert.deepEqual(probe('kubectl-doctor --output=ya'), ['yaml']);
});

test('completion zsh|fish|powershell|kubectl print their scripts; an unknown shell is a usage error', async () => {
  const zsh = await run(['completion', 'zsh']);
  assert.match(zsh.stdout, /^#compdef kubectl-doctor\n/);
  assert.match(zsh.stdout, /kubectl-doctor __complete/);
  const fish = await run(['completion', 'fish']);
  assert.match(fish.stdout, /complete -c kubectl-doctor .*__kubectl_doctor_complete/);
  assert.match(fish.stdout, /kubectl-doctor __complete \$args/);
  // PowerShell (for the Windows archive) is checked as text: no pwsh on this machine.
  const powershell = await run(['completion', 'powershell']);
  assert.equal(powershell.code, 0);
  assert.match(powershell.stdout, /Register-ArgumentCompleter -Native -CommandName 'kubectl-doctor', 'kubectl-doctor.exe'/);
  assert.match(powershell.stdout, /__complete \$\(\$quoted -join ' '\)/);
  assert.match(powershell.stdout, /-split "`t", 2/);
  assert.doesNotMatch(powershell.stdout, /\$\{/, 'no JavaScript interpolation leaked into the script');
  const helper = await run(['completion', 'kubectl']);
  assert.equal(helper.stdout, KUBECTL_HELPER);
  assert.match(helper.stdout, /^#!\/bin\/sh\n[\s\S]*exec kubectl-doctor __complete "\$@"\n$/);
  const bad = await run(['completion', 'tcsh']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /tcsh/);
});
