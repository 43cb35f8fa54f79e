// End to end with the real Helm CLI (built from its Go module, test/helm-cli): on the test API server, an upgrade is
// interrupted the way it happens in the field (the process killed while it waits), leaving the release in
// pending-upgrade; `helm upgrade` then fails with "another operation ... is in progress", kubectl doctor finds the
// release, and after --fix `helm upgrade` succeeds and `helm history` is coherent. No kube-controller-manager runs
// here, so a Deployment never becomes ready and `helm upgrade --wait` waits until it is killed.
// Run: ./node_modules/.bin/node --test --test-global-setup=test/harness/global-setup.ts test/e2e/helm-cli.test.ts
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { e2e, uniqueName } from '../harness/env.ts';
import { answerEverything, doctorCommand, onTerminal } from '../cli/pty.ts';
import { createNamespace, doctor, parseReport, read } from './kube.ts';
import { tempDir } from '../temp.ts';
import { ensureHelm } from '../helm-cli/build.ts';

const RULE = 'helm/release-stuck-pending';
const IN_PROGRESS = 'another operation (install/upgrade/rollback) is in progress';

/** A chart with a ConfigMap, and a Deployment when `deploy` is set (it never becomes ready on this server). */
function writeChart(dir: string): string {
  const chart = join(dir, 'demo');
  mkdirSync(join(chart, 'templates'), { recursive: true });
  writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: demo\nversion: 0.1.0\n');
  writeFileSync(join(chart, 'values.yaml'), 'v: "1"\ndeploy: false\n');
  writeFileSync(
    join(chart, 'templates', 'cm.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata:\n  v: {{ .Values.v | quote }}\n',
  );
  writeFileSync(
    join(chart, 'templates', 'deploy.yaml'),
    [
      '{{- if .Values.deploy }}',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: demo',
      'spec:',
      '  replicas: 1',
      '  selector: {matchLabels: {app: demo}}',
      '  template:',
      '    metadata: {labels: {app: demo}}',
      '    spec: {containers: [{name: c, image: registry.invalid/never:1}]}',
      '{{- end }}',
      '',
    ].join('\n'),
  );
  return chart;
}

test(
  'the real Helm CLI: an interrupted upgrade blocks helm upgrade; --fix unblocks it and helm history stays coherent',
  { timeout: 1_500_000 },
  async () => {
    const helmBin = await ensureHelm();
    const { kubeconfigPath, adminContext } = e2e();
    const home = tempDir('helm-home');
    const ns = uniqueName('e2e-helmcli');
    await createNamespace(ns);
    const chart = writeChart(home);
    const env = {
      ...process.env,
      KUBECONFIG: kubeconfigPath,
      HELM_KUBECONTEXT: adminContext,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    };
    const helm = (...args: string[]) => spawnSync(helmBin, [...args, '-n', ns], { env, encoding: 'utf8', timeout: 120_000 });

    const install = helm('install', 'demo', chart);
    assert.equal(install.status, 0, install.stderr);

    // The upgrade waits for a Deployment that never becomes ready; it is killed once its pending record exists.
    const upgrading = spawn(
      helmBin,
      ['upgrade', 'demo', chart, '-n', ns, '--set', 'v=2', '--set', 'deploy=true', '--wait', '--timeout', '10m'],
      { env, stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => upgrading.on('close', resolve));
    const record = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sh.helm.release.v1.demo.v2', namespace: ns } };
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const status = await read(record).then(
          (s) => s.metadata.labels?.status,
          () => undefined,
        );
        if (status === 'pending-upgrade') break;
        assert.ok(Date.now() < deadline, 'helm upgrade wrote no pending-upgrade record within 60 s');
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      upgrading.kill('SIGKILL');
      await exited;
    }

    const blocked = helm('upgrade', 'demo', chart, '--set', 'v=3');
    assert.notEqual(blocked.status, 0);
    assert.match(blocked.stderr, new RegExp(`UPGRADE FAILED: ${IN_PROGRESS.replace(/[()/]/g, '\\$&')}`));

    const scan = parseReport(await doctor(['-n', ns, '--rules', RULE, '--min-age', '0s', '-o', 'json']));
    assert.deepEqual(
      scan.findings.map((f) => [f.object.name, f.evidence.status, f.evidence.lastDeployedRevision]),
      [['sh.helm.release.v1.demo.v2', 'pending-upgrade', 1]],
    );

    const pty = onTerminal(
      doctorCommand([
        '--kubeconfig',
        kubeconfigPath,
        '--context',
        adminContext,
        '-n',
        ns,
        '--rules',
        RULE,
        '--min-age',
        '0s',
        '--fix',
        '--allow',
        'destructive',
        '--backup-dir',
        join(home, 'backups'),
      ]),
    );
    const { code } = await answerEverything(pty);
    assert.equal(code, 0, pty.screen());

    const upgraded = helm('upgrade', 'demo', chart, '--set', 'v=3');
    assert.equal(upgraded.status, 0, upgraded.stderr);
    const history = helm('history', 'demo', '-o', 'json');
    assert.equal(history.status, 0, history.stderr);
    assert.deepEqual(
      (JSON.parse(history.stdout) as { revision: number; status: string }[]).map((h) => [h.revision, h.status]),
      [
        [1, 'superseded'],
        [2, 'deployed'],
      ],
    );
    const cm = await read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'demo', namespace: ns } });
    assert.deepEqual((cm as unknown as { data: unknown }).data, { v: '3' });
    assert.deepEqual(parseReport(await doctor(['-n', ns, '--rules', RULE, '--min-age', '0s', '-o', 'json'])).findings, []);
  },
);
