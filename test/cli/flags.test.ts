// Flag values that used to be misread: a negative duration taken for short flags, an empty rule selection
// taken for "every rule".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, runCli, type CliResult } from './run-cli.ts';

const EXAMPLE = join(ROOT, 'examples', 'cluster-dump');

function assertOneLineError(r: CliResult, message: string) {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `error: ${message}\n`);
}

test('a negative --min-age is rejected with one line that says so, written either way', async () => {
  const message = 'invalid --min-age "-5s": a duration cannot be negative; use a duration such as 0s (report at once) or 10m';
  assertOneLineError(await runCli(['--snapshot', EXAMPLE, '--min-age', '-5s']), message);
  assertOneLineError(await runCli(['--snapshot', EXAMPLE, '--min-age=-5s']), message);
  assertOneLineError(
    await runCli(['--snapshot', EXAMPLE, '--request-timeout', '-1']),
    'invalid --request-timeout "-1": a duration cannot be negative; use a duration such as 30s, 2m or 0 for no timeout',
  );
});

test('--rules with nothing in it selects no rule: an error, not every rule', async () => {
  const hint = 'name rule ids or globs (kubectl doctor rules lists them), or leave --rules out to run every rule';
  assertOneLineError(await runCli(['--snapshot', EXAMPLE, '--rules', '']), `--rules "" selects no rule; ${hint}`);
  assertOneLineError(await runCli(['--snapshot', EXAMPLE, '--rules', ' , ']), `--rules " , " selects no rule; ${hint}`);
  assert.equal((await runCli(['--snapshot', EXAMPLE, '--rules', 'core/*', '-o', 'json'])).code, 1, 'a real selection still runs');
});

test("usage errors are in our words, one line, with kubectl's pointer to --help: never yargs' wording", async () => {
  const usage = (r: CliResult, message: string) => {
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `error: ${message}\nSee 'kubectl doctor --help' for usage.\n`);
  };
  usage(
    await runCli(['--snapshot', EXAMPLE, '-o', 'bogus']),
    'invalid --output "bogus": use one of table, wide, json, yaml, script, sarif, junit, name',
  );
  usage(await runCli(['--snapshot', EXAMPLE, '--fail-on', 'nope']), 'invalid --fail-on "nope": use one of critical, error, warning, info');
  usage(await runCli(['--snapshot', EXAMPLE, '--bogus-flag']), 'unknown flag --bogus-flag');
  // A word that is no command is a TYPE argument (as in kubectl get); one no cluster or dump has names the commands.
  assertOneLineError(
    await runCli(['--snapshot', EXAMPLE, 'frobnicate']),
    'unknown resource type "frobnicate": the snapshot holds no such type; TYPE[/NAME] arguments work as in kubectl get (e.g. ns/monitoring, deployments.apps web), and the commands are rules, explain, dump, restore, completion and version',
  );
  usage(await runCli(['explain']), 'explain needs a rule id: kubectl doctor explain RULE (kubectl doctor rules lists them)');
  usage(await runCli(['restore']), 'restore needs the backup directory --fix printed: kubectl doctor restore DIR');
  usage(await runCli(['--snapshot', EXAMPLE, '-n']), 'flag needs an argument: -n/--namespace');
  usage(await runCli(['--context', '--snapshot', EXAMPLE]), 'flag needs an argument: --context');
  assertOneLineError(
    await runCli(['--snapshot', EXAMPLE, '--chunk-size', 'abc']),
    'invalid --chunk-size that is not a number: use a whole number of objects per page, e.g. 500',
  );
});

test('the connection flags are mapped once: to kubeconfig overrides, and to the flags a script repeats', async () => {
  const { connectionFlags, passOnFlags } = await import('../../src/cli/flags.ts');
  const given = {
    kubeconfig: '/k/config',
    context: 'prod',
    server: 'https://10.0.0.1:6443',
    token: 'secret-token',
    'as-group': ['g1', 'g2'],
    'client-certificate': 'client.crt',
    'client-key': 'client.key',
    'tls-server-name': 'api.example',
    'insecure-skip-tls-verify': true,
    'disable-compression': true,
    namespace: 'ns',
    'request-timeout': '5s',
    selector: 'app=web',
  };
  assert.deepEqual(connectionFlags(given), {
    kubeconfig: '/k/config',
    context: 'prod',
    namespace: 'ns',
    server: 'https://10.0.0.1:6443',
    token: 'secret-token',
    asGroups: ['g1', 'g2'],
    insecureSkipTlsVerify: true,
    clientCertificate: 'client.crt',
    clientKey: 'client.key',
    tlsServerName: 'api.example',
    disableCompression: true,
  });
  // --kubeconfig and --context are repeated as loaded (not here), the token never, files as absolute paths;
  // --disable-compression never (how answers travel; kubectl before 1.26 refuses it).
  assert.deepEqual(passOnFlags(given), [
    '--server',
    'https://10.0.0.1:6443',
    '--as-group',
    'g1',
    '--as-group',
    'g2',
    '--insecure-skip-tls-verify',
    '--client-certificate',
    join(process.cwd(), 'client.crt'),
    '--client-key',
    join(process.cwd(), 'client.key'),
    '--tls-server-name',
    'api.example',
  ]);
});
