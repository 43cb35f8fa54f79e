// Dumps are files anyone can hand over: FIFOs, devices, huge files, alias bombs, deep nesting, unreadable
// directories and objects of the wrong shape must each cost one clear line, never a hang or a crash.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SnapshotSource } from '../../src/cluster/snapshot.ts';
import { DoctorError } from '../../src/errors.ts';
import { assertValidReport, CLI, runCli, type CliResult } from '../cli/run-cli.ts';
import { COMPLETE_COVERAGE } from '../rule-tester.ts';

const root = mkdtempSync(join(tmpdir(), 'doctor-hostile-'));
after(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
function dump(files: Record<string, string>): string {
  const dir = join(root, `dump-${dirs++}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries({ 'coverage.yaml': COMPLETE_COVERAGE, ...files })) writeFileSync(join(dir, name), text);
  return dir;
}

const NAMESPACE = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: good, uid: u-good}\n';
const STUCK = `apiVersion: v1
kind: ConfigMap
metadata: {name: held, namespace: good, uid: u-held, deletionTimestamp: "2026-11-01T00:00:00Z", finalizers: [example.com/never]}
`;

function assertOneLineError(r: CliResult, pattern: RegExp) {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^error: /);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /internal error/);
}

test('a FIFO named *.yaml is skipped with a warning naming it, not waited on', async () => {
  const dir = dump({ 'ns.yaml': NAMESPACE });
  execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);
  const warnings: string[] = [];
  const source = SnapshotSource.fromPaths([dir], { warn: (m) => warnings.push(m) });
  assert.equal(source.stats().objects, 1);
  assert.deepEqual(warnings, [`snapshot: skipped ${join(dir, 'pipe.yaml')}: a FIFO, not a regular file`]);
  // Given by name it is an error, not a hang.
  assert.throws(
    () => SnapshotSource.fromPaths([join(dir, 'pipe.yaml')]),
    (err: unknown) =>
      err instanceof DoctorError && /pipe\.yaml: a FIFO, not a regular file; pass a regular file or a directory/.test(err.message),
  );
});

test('a symlink to /dev/zero is skipped; a symlink to a regular file is read', async () => {
  const dir = dump({ 'ns.yaml': NAMESPACE });
  symlinkSync('/dev/zero', join(dir, 'zero.yaml'));
  writeFileSync(join(root, 'outside.yaml'), STUCK);
  symlinkSync(join(root, 'outside.yaml'), join(dir, 'linked.yaml'));
  const r = await runCli(['--snapshot', dir, '-o', 'json', '--rules', 'core/stuck-deletion', '--now', '2026-11-22T00:00:00Z'], {
    timeoutMs: 20_000,
  });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr, `warning: snapshot: skipped ${join(dir, 'zero.yaml')}: a character device, not a regular file\n`);
  assert.deepEqual(
    JSON.parse(r.stdout).findings.map((f: { object: { name: string } }) => f.object.name),
    ['held'],
  );
});

test('files over --snapshot-max-file-size are skipped with a warning; the limit is validated', async () => {
  const dir = dump({ 'ns.yaml': NAMESPACE, 'big.yaml': `${STUCK}# ${'x'.repeat(2048)}\n` });
  const r = await runCli(['--snapshot', dir, '-o', 'json', '--snapshot-max-file-size', '1Ki', '--rules', 'core/stuck-deletion']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^warning: snapshot: skipped .*big\.yaml: \d+ bytes, over the 1024-byte limit \(--snapshot-max-file-size\)\n$/);
  assert.equal(JSON.parse(r.stdout).findings.length, 0);
  assert.equal((await runCli(['--snapshot', dir, '-o', 'json', '--rules', 'core/stuck-deletion'])).code, 1, 'the default limit reads it');
  const given = await runCli(['--snapshot', join(dir, 'big.yaml'), '--snapshot-max-file-size', '1Ki']);
  assertOneLineError(
    given,
    /big\.yaml: \d+ bytes, over the 1024-byte limit \(--snapshot-max-file-size\); pass a regular file or a directory to --snapshot\n$/,
  );
  assert.doesNotMatch(given.stderr, /cannot read/, 'said once, not wrapped in itself');
  assertOneLineError(await runCli(['--snapshot', dir, '--snapshot-max-file-size', '-1']), /invalid --snapshot-max-file-size "-1"/);
  assertOneLineError(await runCli(['--snapshot', dir, '--snapshot-max-file-size', '1Ti']), /invalid --snapshot-max-file-size "1Ti"/);
});

test('a billion-laughs YAML is refused with one line', async () => {
  const levels = ['x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i <= 8; i++)
    levels.push(
      `x${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  const dir = dump({ 'bomb.yaml': `apiVersion: v1\nkind: ConfigMap\n${levels.join('\n')}\nmetadata:\n  name: *a8\n  namespace: good\n` });
  const r = await runCli(['--snapshot', dir, '-o', 'json'], { timeoutMs: 30_000 });
  assertOneLineError(r, /bomb\.yaml: document 1 uses YAML aliases that expand to more than 1000000 nodes/);
});

test('documents nested deeper than 200 levels are refused with one line, YAML and JSON', async () => {
  const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
  const dir = dump({ 'deep.json': deep });
  assertOneLineError(await runCli(['--snapshot', dir]), /deep\.json: nested deeper than 200 levels/);
  const yamlDir = dump({ 'deep.yaml': deep });
  assertOneLineError(await runCli(['--snapshot', yamlDir]), /deep\.yaml: invalid YAML.*nest/i);
});

test('objects of the wrong shape are skipped and reported; the rest of the dump is still scanned', async () => {
  const dir = dump({
    'ns.yaml': NAMESPACE,
    'stuck.yaml': STUCK,
    'bad.yaml': [
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: labels-string, namespace: good, labels: "app=web"}',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: finalizers-number, namespace: good, finalizers: 7, deletionTimestamp: "2026-11-01T00:00:00Z"}',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [not, a, string], namespace: good}',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: empty-labels, namespace: good, labels: }',
    ].join('\n---\n'),
  });
  const r = await runCli(['--snapshot', dir, '-o', 'json', '--rules', 'core/stuck-deletion', '--now', '2026-11-22T00:00:00Z']);
  assert.equal(r.code, 1, r.stderr);
  const report = JSON.parse(r.stdout);
  assertValidReport(report);
  assert.deepEqual(
    report.findings.map((f: { object: { name: string } }) => f.object.name),
    ['held'],
    'the rule still ran over the good objects',
  );
  const bad = join(dir, 'bad.yaml');
  assert.deepEqual(report.skippedObjects, [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'good',
      name: 'labels-string',
      reason: 'metadata.labels is not a map of strings',
      file: bad,
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'good',
      name: 'finalizers-number',
      reason: 'metadata.finalizers is not a list of strings',
      file: bad,
    },
    { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'good', reason: 'metadata.name is not a string', file: bad },
  ]);
  const rule = report.rules[0];
  assert.deepEqual([rule.status, rule.incomplete], ['fail', true]);
  assert.match(
    rule.reason,
    /skipped 3 malformed configmaps: ConfigMap good\/labels-string: metadata\.labels is not a map of strings and 2 more/,
  );
  assert.equal(report.complete, false);
  assert.deepEqual(r.stderr.trimEnd().split('\n'), [
    `warning: skipped malformed ConfigMap/good/labels-string in ${bad}: metadata.labels is not a map of strings`,
    `warning: skipped malformed ConfigMap/good/finalizers-number in ${bad}: metadata.finalizers is not a list of strings`,
    `warning: skipped malformed ConfigMap in ${bad}: metadata.name is not a string`,
  ]);
  // Without the broken file the same scan is complete: the skipped objects are what made it partial.
  rmSync(bad);
  const clean = JSON.parse(
    (await runCli(['--snapshot', dir, '-o', 'json', '--rules', 'core/stuck-deletion', '--now', '2026-11-22T00:00:00Z'])).stdout,
  );
  assert.deepEqual([clean.complete, clean.skippedObjects, clean.rules[0].incomplete], [true, [], false]);
});

test('no findings but malformed objects skipped: the rule is partial, not pass, and the scan exits 3', async () => {
  const dir = dump({
    'ns.yaml': NAMESPACE,
    'bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: good, annotations: [a]}\n',
  });
  const r = await runCli(['--snapshot', dir, '-o', 'json', '--rules', 'core/stuck-deletion']);
  assert.equal(r.code, 3, r.stderr);
  const report = JSON.parse(r.stdout);
  assertValidReport(report);
  assert.equal(report.rules[0].status, 'partial');
  assert.deepEqual(report.summary.rules, { pass: 0, partial: 1, fail: 0, skipped: 0, error: 0, total: 1 });
});

test('an unreadable directory is one line naming it (run as an unprivileged user: root reads anything)', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to start the CLI as another user');
    return;
  }
  // The unprivileged user must be able to start this checkout's Node and CLI: not so in a clone inside a private
  // directory (mktemp -d makes it 0700), where there is nothing this test can show.
  const starts = spawnSync(process.execPath, [CLI, 'version'], { uid: 65534, gid: 65534, env: { PATH: process.env.PATH ?? '' } });
  if (starts.error !== undefined || starts.status !== 0) {
    t.skip(
      `an unprivileged user cannot start ${CLI} (${starts.error?.message ?? `exit ${starts.status}`}): the checkout is not readable by others`,
    );
    return;
  }
  const open = mkdtempSync(join(tmpdir(), 'doctor-unreadable-'));
  t.after(() => rmSync(open, { recursive: true, force: true }));
  chmodSync(open, 0o755);
  const secret = join(open, 'secret');
  mkdirSync(secret, { mode: 0o700 });
  writeFileSync(join(open, 'ns.yaml'), NAMESPACE, { mode: 0o644 });
  const child = spawn(process.execPath, [CLI, '--snapshot', open], {
    uid: 65534,
    gid: 65534,
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assertOneLineError(
    { code, stdout, stderr, ms: 0 },
    new RegExp(`snapshot ${secret}: cannot read the directory: permission denied; check its permissions`),
  );
});
