// End to end: helm/release-stuck-pending against a real kube-apiserver (test/harness), through the built CLI.
// The release records are Secrets written the way Helm v3's Secret driver writes them (name
// sh.helm.release.v1.<release>.v<revision>, type helm.sh/release.v1, labels owner/name/status/version, a
// `release` data key); no Helm process runs, which is exactly the state an interrupted `helm upgrade` leaves.
// Run: ./node_modules/.bin/node --test --test-global-setup=test/harness/global-setup.ts test/e2e/helm.test.ts
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { e2e, uniqueName } from '../harness/env.ts';
import { answerEverything, doctorCommand, onTerminal } from '../cli/pty.ts';
import { create, createNamespace, doctor, exists, parseReport, read, readAudit } from './kube.ts';
import { tempDir } from '../temp.ts';

const RULE = 'helm/release-stuck-pending';
/** A release body Helm would gzip and base64; the rule must never read or print it. */
const BODY = Buffer.from('RELEASE-BODY-MARKER values: {password: hunter2}').toString('base64');

function record(ns: string, release: string, version: number, status: string) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'helm.sh/release.v1',
    metadata: {
      name: `sh.helm.release.v1.${release}.v${version}`,
      namespace: ns,
      labels: { owner: 'helm', name: release, status, version: String(version) },
    },
    data: { release: BODY },
  };
}

const secretRef = (ns: string, name: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns } });

describe('helm/release-stuck-pending on a real API server', () => {
  const ns = uniqueName('e2e-helm');
  /** 20 minutes from now: past the rule's 15-minute default, without --min-age. */
  const later = () => new Date(Date.now() + 20 * 60_000).toISOString();

  before(async () => {
    await createNamespace(ns);
    // web: upgrade interrupted (3 pending-upgrade over the deployed 2). cache: an old pending revision below a
    // deployed one. queue: the latest revision failed. None of the latter two blocks Helm.
    for (const [release, version, status] of [
      ['web', 1, 'superseded'],
      ['web', 2, 'deployed'],
      ['web', 3, 'pending-upgrade'],
      ['cache', 1, 'pending-upgrade'],
      ['cache', 2, 'deployed'],
      ['queue', 1, 'deployed'],
      ['queue', 2, 'failed'],
    ] as const)
      await create(record(ns, release, version, status) as never);
    // A tenant's Secret that wears Helm's labels under a name Helm never writes.
    await create({
      ...record(ns, 'web', 9, 'pending-upgrade'),
      metadata: { name: 'looks-like-helm', namespace: ns, labels: { owner: 'helm', name: 'web', status: 'pending-upgrade', version: '9' } },
    } as never);
  });

  it('a pending revision younger than 15 minutes is silent; past it, only the blocked release is reported, from metadata only', async () => {
    const young = await doctor(['-n', ns, '--rules', RULE, '-o', 'json']);
    assert.deepEqual(parseReport(young).findings, [], young.stderr);
    assert.equal(young.code, 0, young.stderr);

    const result = await doctor(['-n', ns, '--rules', RULE, '--now', later(), '-o', 'json']);
    assert.equal(result.code, 1, result.stderr);
    const report = parseReport(result);
    assert.deepEqual(
      report.rules.map((r) => [r.id, r.status, r.incomplete]),
      [[RULE, 'fail', false]],
    );
    assert.equal(report.findings.length, 1, JSON.stringify(report.findings.map((f) => f.message)));
    const f = report.findings[0]!;
    assert.deepEqual([f.object.kind, f.object.namespace, f.object.name], ['Secret', ns, 'sh.helm.release.v1.web.v3']);
    assert.match(
      f.message,
      new RegExp(
        `^Helm release ${ns}/web: revision 3 has been pending-upgrade for 20m\\d*s?, so every helm upgrade of it fails with "another operation \\(install/upgrade/rollback\\) is in progress"; last deployed revision 2$`,
      ),
    );
    assert.equal(f.evidence.lastDeployedRevision, 2);
    assert.deepEqual(f.evidence.pendingRecords, [{ name: 'sh.helm.release.v1.web.v3', revision: 3, status: 'pending-upgrade' }]);
    assert.deepEqual(
      f.remediation!.steps.map((s) => [s.action.type, s.risk]),
      [
        ['manual', 'safe'],
        ['manual', 'safe'],
        ['delete', 'destructive'],
      ],
    );
    assert.doesNotMatch(result.stdout + result.stderr, new RegExp(`${BODY.slice(0, 16)}|RELEASE-BODY|hunter2|looks-like-helm`));
  });

  it('--fix --yes stops at the check that no Helm operation runs: nothing is deleted unattended', async () => {
    const result = await doctor([
      '-n',
      ns,
      '--rules',
      RULE,
      '--now',
      later(),
      '--fix',
      '--yes',
      '--allow',
      'destructive',
      '--backup-dir',
      tempDir('helm-yes'),
      '-o',
      'json',
    ]);
    assert.equal(result.code, 1, result.stderr);
    const [fix] = parseReport(result).fix!.results;
    assert.equal(fix!.outcome, 'not-attempted');
    assert.match(fix!.stopped ?? '', /^step 1 is by hand: Make sure no Helm operation is running on release /);
    assert.equal(await exists(secretRef(ns, 'sh.helm.release.v1.web.v3')), true);
  });

  it('on a terminal, once confirmed, --fix deletes only the pending record; a rescan is clean; restore brings it back', async () => {
    const pending = await read(secretRef(ns, 'sh.helm.release.v1.web.v3'));
    const backupDir = tempDir('helm-fix');
    const { kubeconfigPath, adminContext } = e2e();
    const args = ['--kubeconfig', kubeconfigPath, '--context', adminContext, '-n', ns, '--rules', RULE, '--now', later()];
    const pty = onTerminal(doctorCommand([...args, '--fix', '--allow', 'destructive', '--backup-dir', backupDir]));
    const { code, questions } = await answerEverything(pty);
    assert.equal(code, 0, `--fix exited ${code}:\n${pty.screen()}`);
    assert.ok(
      questions.some((q) => /Step 1 is by hand: Make sure no Helm operation is running on release .*Is it done\?/.test(q)),
      questions.join('\n'),
    );
    assert.ok(
      questions.some((q) =>
        /Step 3 \(destructive\) on Secret .*sh\.helm\.release\.v1\.web\.v3: Delete the pending revision record/.test(q),
      ),
      questions.join('\n'),
    );
    assert.doesNotMatch(pty.screen(), /RELEASE-BODY|hunter2/);

    assert.equal(await exists(secretRef(ns, 'sh.helm.release.v1.web.v3')), false, pty.screen());
    for (const name of ['sh.helm.release.v1.web.v1', 'sh.helm.release.v1.web.v2', 'sh.helm.release.v1.cache.v1', 'looks-like-helm']) {
      assert.equal(await exists(secretRef(ns, name)), true, `${name} is left alone`);
    }
    const audit = readAudit(backupDir);
    assert.deepEqual(
      audit.map((e) => [e.result, e.action, e.object.name]),
      [
        ['intent', 'delete', 'sh.helm.release.v1.web.v3'],
        ['applied', 'delete', 'sh.helm.release.v1.web.v3'],
      ],
    );
    const rescan = parseReport(await doctor([...args.slice(4), '-o', 'json']));
    assert.deepEqual(rescan.findings, []);

    const restore = await doctor(['restore', backupDir, '--yes']);
    assert.equal(restore.code, 0, restore.stdout + restore.stderr);
    assert.match(restore.stdout, new RegExp(`recreated Secret ${ns}/sh\\.helm\\.release\\.v1\\.web\\.v3`));
    assert.doesNotMatch(
      restore.stdout + restore.stderr,
      new RegExp(`${BODY.slice(0, 16)}|RELEASE-BODY|hunter2`),
      'restore shows no Secret value',
    );
    const back = await read(secretRef(ns, 'sh.helm.release.v1.web.v3'));
    assert.deepEqual(
      [back.metadata.labels, (back as unknown as { data: unknown }).data, (back as unknown as { type: string }).type],
      [pending.metadata.labels, (pending as unknown as { data: unknown }).data, 'helm.sh/release.v1'],
    );
    assert.equal(
      parseReport(await doctor([...args.slice(4), '-o', 'json'])).findings.length,
      1,
      'the restored record blocks the release again',
    );
  });
});
