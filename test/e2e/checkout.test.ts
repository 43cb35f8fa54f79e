// The README's "from a checkout" install path, followed as written in a fresh copy of the repository: `npm ci`,
// the launcher's folder on PATH, and kubectl finds the plugin as `kubectl-doctor` and runs `kubectl doctor`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT, runProcess } from '../cli/run-cli.ts';
import { ENV_KUBECTL } from '../harness/global-setup.ts';
import { ensureKubectl } from '../harness/build.ts';
import { tempDir } from '../temp.ts';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The repository's tracked files as they are in the work tree: what a clone of this commit holds. */
function copyCheckout(to: string): void {
  const listed = spawnSync('git', ['-C', ROOT, 'ls-files', '-z'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(listed.status, 0, listed.stderr);
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    const from = join(ROOT, file);
    if (!existsSync(from)) continue; // deleted in the work tree, not yet committed
    mkdirSync(dirname(join(to, file)), { recursive: true });
    copyFileSync(from, join(to, file));
    chmodSync(join(to, file), statSync(from).mode & 0o777);
  }
}

test('from a checkout: npm ci, bin/ on PATH, and kubectl lists and runs the plugin as kubectl-doctor', { timeout: 600_000 }, async (t) => {
  const kubectl = process.env[ENV_KUBECTL] ?? (await ensureKubectl());
  const checkout = join(tempDir('checkout'), 'kubectl-doctor');
  copyCheckout(checkout);
  // npm runs with the Node of this test (24) first on PATH, as `npm ci` in a checkout runs the `node` devDependency.
  const npmEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  const ci = await runProcess('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: checkout,
    env: npmEnv,
    timeoutMs: 480_000,
  });
  assert.equal(ci.code, 0, ci.stderr);
  assert.doesNotMatch(ci.stderr, /install-scripts/, 'allowScripts covers every install script');

  // As the README says: the checkout's bin/ on PATH, with a Node >= 22.19 there too.
  const env = {
    HOME: tempDir('checkout-home'),
    PATH: [join(checkout, 'bin'), dirname(process.execPath), dirname(kubectl), '/usr/bin', '/bin'].join(':'),
  };
  const plugins = await runProcess(kubectl, ['plugin', 'list'], { env, cwd: checkout });
  assert.equal(plugins.code, 0, plugins.stderr);
  assert.ok(plugins.stdout.includes(join(checkout, 'bin', 'kubectl-doctor')), plugins.stdout);
  assert.doesNotMatch(plugins.stdout + plugins.stderr, /doctor\.js|warning/);
  const version = await runProcess(kubectl, ['doctor', 'version'], { env, cwd: '/' });
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout, `kubectl-doctor v${VERSION}\n`);

  // With an older Node first on PATH (the system Node of this machine, if it is one), the launcher says what to do:
  // the checkout already carries Node 24.
  const system = spawnSync('/usr/bin/node', ['-p', 'process.versions.node'], { encoding: 'utf8' });
  const [major = 0, minor = 0] = (system.stdout ?? '').trim().split('.').map(Number);
  if (system.status !== 0 || major > 22 || (major === 22 && minor >= 19)) {
    t.diagnostic('no Node.js older than 22.19 at /usr/bin/node: the old-Node message is not checked');
    return;
  }
  const old = await runProcess(kubectl, ['doctor', 'version'], {
    env: { ...env, PATH: [join(checkout, 'bin'), '/usr/bin', dirname(kubectl), '/bin'].join(':') },
    cwd: '/',
  });
  assert.equal(old.code, 2);
  assert.match(old.stderr, /needs Node\.js >= 22\.19 \(this is v\d+/);
  assert.ok(old.stderr.includes(`run \`npx kubectl-doctor\` in ${checkout}`), old.stderr);
});
