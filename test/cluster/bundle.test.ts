// What the bundle the npm launcher and the single binary start from (scripts/bundle.ts, built before the tests)
// leaves out (client-node's generated API, which only KubeConfig.makeApiClient() uses; undici but for its
// dispatchers), and what it leaves for later (string-width's Intl.Segmenter and Unicode regexes, which only help and
// tables need). A live scan through the bundle is in test/e2e/release.test.ts (the single binary and krew).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE } from '../../scripts/bundle.ts';
import { ROOT } from '../../scripts/release.ts';
import { tempDir } from '../temp.ts';

test('the bundle holds client-node KubeConfig without its generated API; the stand-in says so if ever called', () => {
  const code = readFileSync(BUNDLE, 'utf8');
  assert.match(code, /KubeConfig\.makeApiClient is not available in the kubectl-doctor bundle/);
  // Model and API classes of client-node's gen/ (the package's own names, kept as strings in their serializers).
  for (const generated of ['V1PodSpec', 'CoreV1Api', 'V1CustomResourceDefinitionSpec']) {
    assert.equal(code.includes(generated), false, `${generated} is in the bundle`);
  }
});

test("the bundle holds undici's dispatchers without its fetch, WebSocket, EventSource or mocks", () => {
  const code = readFileSync(BUNDLE, 'utf8');
  assert.match(code, /undici fetch is not available in the kubectl-doctor bundle/);
  // Messages of undici's fetch and WebSocket, and its mock classes.
  for (const left of ['fetch failed', 'Received network error or non-101 status code', 'MockAgent', 'EventSource']) {
    assert.equal(code.includes(left), false, `${left} is in the bundle`);
  }
});

test('the bundle builds no Intl.Segmenter as it starts: string-width is evaluated when help first measures a width', () => {
  const dir = tempDir('bundle-segmenter');
  // Counts the Segmenters built in the process (string-width and the table renderer build one when first used).
  const preload = join(dir, 'count-segmenters.cjs');
  writeFileSync(
    preload,
    [
      'let made = 0;',
      'const Segmenter = Intl.Segmenter;',
      'Intl.Segmenter = class extends Segmenter { constructor(...args) { super(...args); made++; } };',
      "process.on('exit', () => process.stderr.write(`segmenters built: ${made}\\n`));",
    ].join('\n'),
  );
  const run = (...args: string[]) => spawnSync(process.execPath, ['-r', preload, BUNDLE, ...args], { encoding: 'utf8' });
  const built = (stderr: string) => Number(/segmenters built: (\d+)/.exec(stderr)?.[1]);

  const scan = run('--snapshot', join(ROOT, 'examples', 'cluster-dump'), '-o', 'json');
  assert.equal(scan.status, 1, scan.stderr);
  assert.ok((JSON.parse(scan.stdout) as { findings: unknown[] }).findings.length > 0);
  assert.equal(built(scan.stderr), 0);

  // The stand-ins call the string-width each importer resolved to: help is laid out in columns as before.
  const help = run('--help');
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^ {2}-o, --output +\S/m);
  assert.ok(built(help.stderr) > 0, 'help measured no width');
});
