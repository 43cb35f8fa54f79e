// A reader that stops early (`kubectl doctor | head`, `| true`) closes the pipe: the CLI must not die of it with a
// stack trace, and exits with the code of what it did (cmd/kubectl-doctor.ts). A live scan is where it showed: its
// output fails with EPIPE while it still closes its connections, and the error surfaced then, unhandled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { e2e } from '../harness/env.ts';
import { ROOT } from '../cli/run-cli.ts';

function run(args: string[], readStdout: boolean): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'kubectl-doctor'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Closed before the scan prints anything: every write to stdout fails with EPIPE.
  if (!readStdout) child.stdout.destroy();
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

for (const output of ['json', 'table']) {
  test(`a live scan whose -o ${output} reader has gone exits with the scan's code and no stack trace`, async () => {
    const { kubeconfigPath, adminContext } = e2e();
    const args = ['--kubeconfig', kubeconfigPath, '--context', adminContext, '--rules', 'core/namespace-stuck-terminating', '-o', output];
    const read = await run(args, true);
    assert.ok(read.stdout.length > 0, read.stderr);
    const gone = await run(args, false);
    assert.doesNotMatch(gone.stderr, /EPIPE|Unhandled|^\s+at /m);
    assert.equal(gone.code, read.code, gone.stderr);
  });
}
