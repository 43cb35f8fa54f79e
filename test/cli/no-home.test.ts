// A user without a home directory: no HOME, and a uid the system cannot name (a container running an arbitrary uid).
// os.homedir() throws there; the CLI must still start, scan a dump, and say in one line what it cannot find.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI, ROOT } from './run-cli.ts';
import { DoctorError } from '../../src/errors.ts';
import { defaultBackupDir } from '../../src/fix/backup.ts';

/** A uid and gid no passwd or group entry names. */
const NAMELESS = 54_321;

test('without a home: the launcher starts, a dump is scanned, and a missing kubeconfig is one line', (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to start the CLI as a user without a passwd entry');
    return;
  }
  const run = (args: string[]) =>
    spawnSync(process.execPath, [CLI, ...args], { uid: NAMELESS, gid: NAMELESS, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
  const version = run(['version']);
  // As in test/cluster/snapshot-hostile.test.ts: a clone inside a private directory cannot be started by another user.
  if (version.error !== undefined || (version.status !== 0 && /EACCES|permission denied/i.test(version.stderr))) {
    t.skip(`a user without a home cannot start ${CLI}: the checkout is not readable by others`);
    return;
  }
  assert.equal(version.status, 0, version.stderr);
  assert.match(version.stdout, /^kubectl-doctor v/);

  const scan = run(['--snapshot', join(ROOT, 'examples', 'cluster-dump'), '-o', 'json']);
  assert.equal(scan.status, 1, scan.stderr);
  assert.equal(scan.stderr, '');
  assert.ok((JSON.parse(scan.stdout) as { findings: unknown[] }).findings.length > 0);

  const live = run([]);
  assert.equal(live.status, 2);
  assert.equal(
    live.stderr,
    'error: no kubeconfig found: set --kubeconfig or KUBECONFIG (there is no ~/.kube/config: HOME is not set and this user has no home directory)\n',
  );
});

test('without a home, --fix needs --backup-dir, said before anything is written', () => {
  assert.throws(
    () => defaultBackupDir(new Date(), undefined),
    (err: unknown) =>
      err instanceof DoctorError && /HOME is not set and this user has no home directory: pass --backup-dir$/.test(err.message),
  );
  assert.match(
    defaultBackupDir(new Date('2026-11-30T00:00:00Z'), '/home/x'),
    /^\/home\/x\/\.kube\/doctor\/backups\/2026-11-30T00-00-00-000Z$/,
  );
});
