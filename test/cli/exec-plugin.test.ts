// Exec credential plugins through the built CLI, with real (tiny bash) plugins: bounded by --request-timeout,
// no stdin unless interactiveMode allows it and stdin is a terminal, one clear line when they fail.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { doctorCommand, onTerminal } from './pty.ts';
import { CLI, runCli, type CliResult } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'doctor-exec-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CREDENTIAL = '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t"}}';

function plugin(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  return path;
}

/** A kubeconfig whose user runs `command`; the server refuses connections, so getting past authentication shows. */
function kubeconfig(name: string, command: string, interactiveMode = 'IfAvailable'): string {
  const path = join(dir, `${name}.kubeconfig`);
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'c',
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command, interactiveMode } } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    }),
    { mode: 0o600 },
  );
  return path;
}

function assertOneLine(r: CliResult, pattern: RegExp) {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.match(r.stderr, /^error: /);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
}

test('a plugin that never finishes is killed at --request-timeout, with one line naming it', async () => {
  const hang = plugin('hang.sh', 'sleep 600');
  const r = await runCli(['--kubeconfig', kubeconfig('hang', hang), '--request-timeout', '2s'], { timeoutMs: 20_000 });
  // The message is the deadline's own; a CLI that hung instead would be killed at 20 s and fail on its exit code.
  assertOneLine(r, new RegExp(`exec credential plugin "${hang}" did not finish within --request-timeout 2s`));
});

test("a plugin that reads stdin gets none (EOF at once), even when the CLI's stdin stays open", async () => {
  // `cat` ends at EOF on its stdin; with the CLI's stdin it would wait for this test's pipe forever.
  const reader = plugin('reader.sh', `cat >/dev/null\necho '${CREDENTIAL}'`);
  const child = spawn(process.execPath, [CLI, '--kubeconfig', kubeconfig('reader', reader), '--request-timeout', '10s'], {
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent-home' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(killer);
  child.stdin.destroy();
  assert.equal(code, 2, stderr);
  // Authentication succeeded: the error is the refused connection, not the plugin.
  assert.match(stderr, /^error: cannot reach the API server at https:\/\/127\.0\.0\.1:1: connection refused/);
});

test('interactiveMode Always without a terminal is refused before the plugin runs', async () => {
  const marker = join(dir, 'ran-always');
  const always = plugin('always.sh', `touch ${marker}\necho '${CREDENTIAL}'`);
  const r = await runCli(['--kubeconfig', kubeconfig('always', always, 'Always')]);
  assertOneLine(r, /needs a terminal \(interactiveMode: Always\) but stdin is not one/);
  assert.equal(existsSync(marker), false, 'the plugin did not run');
});

test('on a terminal, interactiveMode Always runs the plugin and tells it the session is interactive', async () => {
  const info = join(dir, 'exec-info-terminal');
  const always = plugin('always-terminal.sh', `printf '%s' "$KUBERNETES_EXEC_INFO" > ${info}\necho '${CREDENTIAL}'`);
  const terminal = onTerminal(doctorCommand(['--kubeconfig', kubeconfig('always-terminal', always, 'Always')]), {
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent-home' },
  });
  const code = await terminal.exited;
  // Authentication succeeded: the error is the refused connection, not the plugin.
  assert.equal(code, 2, terminal.screen());
  assert.match(terminal.screen(), /cannot reach the API server at https:\/\/127\.0\.0\.1:1/);
  assert.equal((JSON.parse(readFileSync(info, 'utf8')) as { spec: { interactive: boolean } }).spec.interactive, true);
});

test('a plugin that exits 1 without stderr: one line with the command and the exit status', async () => {
  const fails = plugin('fails.sh', 'exit 1');
  const r = await runCli(['--kubeconfig', kubeconfig('fails', fails)]);
  assertOneLine(r, new RegExp(`exec credential plugin "${fails}" exited with status 1 and wrote nothing to stderr`));
});

test('a plugin that fails with stderr: its last line, control characters escaped', async () => {
  const noisy = plugin('noisy.sh', `echo 'first line' >&2\nprintf 'token expired \\033]52;c;aGk=\\a\\n' >&2\nexit 3`);
  const r = await runCli(['--kubeconfig', kubeconfig('noisy', noisy)]);
  assertOneLine(r, /exited with status 3: token expired \\e\]52;c;aGk=\\x07; run it by hand/);
});

test('a missing plugin and one that prints no ExecCredential: one clear line each', async () => {
  assertOneLine(await runCli(['--kubeconfig', kubeconfig('missing', join(dir, 'nope'))]), /exec credential plugin ".*nope" not found/);
  const garbage = plugin('garbage.sh', 'echo hello');
  assertOneLine(
    await runCli(['--kubeconfig', kubeconfig('garbage', garbage)]),
    /did not print an ExecCredential \(its output is not JSON\)/,
  );
});
