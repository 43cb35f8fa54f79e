// End to end: the deletion rules against a real kube-apiserver (test/harness), through the built CLI.
// The API server sets deletionTimestamp and keeps objects with finalizers; no controller runs (no
// kube-controller-manager, no Cluster API), which is exactly the "owner absent / namespace never finishes" state.
// Run: ./node_modules/.bin/node --test --test-global-setup=test/harness/global-setup.ts test/e2e/stuck-deletion.test.ts
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { Finding } from '../../src/engine/finding.ts';
import type { Action } from '../../src/plan/actions.ts';
import { adminKubeConfig, kubectlEnv, rawRequest, uniqueName } from '../harness/env.ts';
import { runCli } from '../cli/run-cli.ts';
import { answerEverything, doctorCommand, onTerminal } from '../cli/pty.ts';
import { readAudit } from './kube.ts';

const kc = adminKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const HOLD = 'e2e.kubectl-doctor.io/hold';
const CAPI = { group: 'cluster.x-k8s.io', version: 'v1beta2' };
const DELETE_FOR_MOVE = 'clusterctl.cluster.x-k8s.io/delete-for-move';

interface Report {
  rules: { id: string; status: string }[];
  findings: Finding[];
}

async function doctor(args: string[]): Promise<{ code: number | null; report: Report; stderr: string }> {
  const env = kubectlEnv() as Record<string, string>;
  const r = await runCli([...args, '--min-age', '0s', '-o', 'json'], { env: { KUBECONFIG: env.KUBECONFIG! } });
  assert.ok(r.stdout.startsWith('{'), `expected a JSON report, got stdout=${r.stdout.slice(0, 300)} stderr=${r.stderr}`);
  return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
}

async function createCapi(
  ns: string,
  plural: string,
  kind: string,
  metadata: Record<string, unknown>,
  spec: Record<string, unknown> = {},
): Promise<void> {
  await custom.createNamespacedCustomObject({
    ...CAPI,
    namespace: ns,
    plural,
    body: { apiVersion: `${CAPI.group}/${CAPI.version}`, kind, metadata, spec },
  });
}

async function capiExists(ns: string, plural: string, name: string): Promise<boolean> {
  const r = await rawRequest(kc, 'GET', `/apis/${CAPI.group}/${CAPI.version}/namespaces/${ns}/${plural}/${name}`);
  return r.status === 200;
}

describe('stuck deletion against a real API server', () => {
  const ns = uniqueName('stuck');
  const move = uniqueName('move');

  before(async () => {
    for (const name of [ns, move]) await core.createNamespace({ body: { metadata: { name } } });
    // A ConfigMap held by a finalizer nobody in this cluster owns.
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'held', finalizers: [HOLD] } } });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'held' });
    // An interrupted clusterctl move: a paused Cluster and its Machine, deleted, with delete-for-move.
    await createCapi(
      move,
      'clusters',
      'Cluster',
      { name: 'src', finalizers: ['cluster.cluster.x-k8s.io'], annotations: { [DELETE_FOR_MOVE]: '' } },
      { paused: true },
    );
    await createCapi(
      move,
      'machines',
      'Machine',
      {
        name: 'src-m1',
        finalizers: ['machine.cluster.x-k8s.io'],
        annotations: { [DELETE_FOR_MOVE]: '' },
        labels: { 'cluster.x-k8s.io/cluster-name': 'src' },
      },
      { clusterName: 'src' },
    );
    for (const [plural, name] of [
      ['machines', 'src-m1'],
      ['clusters', 'src'],
    ] as const) {
      await custom.deleteNamespacedCustomObject({ ...CAPI, namespace: move, plural, name });
    }
  });

  it('core/stuck-deletion finds the deleting ConfigMap through metadata-only lists; its owner is unknown, never orphaned', async () => {
    const { code, report } = await doctor(['-n', ns, '--rules', 'core/stuck-deletion']);
    assert.equal(code, 1);
    const f = report.findings.find((x) => x.object.kind === 'ConfigMap' && x.object.name === 'held');
    assert.ok(f, JSON.stringify(report.findings.map((x) => x.object)));
    assert.equal(f.severity, 'warning');
    const fin = (f.evidence.finalizers as { name: string; owner: string }[])[0]!;
    assert.deepEqual([fin.name, fin.owner], [HOLD, 'unknown']);
    assert.ok(!f.remediation!.steps.some((s) => s.risk === 'destructive'));
  });

  it('the Cluster API rules see the paused deletion and the interrupted move; --fix finishes the move on the real server', async () => {
    const scan = await doctor(['-n', move, '--rules', 'cluster-api/*,core/stuck-deletion']);
    const byRule = (rule: string) => scan.report.findings.filter((x) => x.rule === rule);
    assert.deepEqual(
      byRule('cluster-api/paused-deletion').map((x) => `${x.object.kind}/${x.object.name}`),
      ['Cluster/src'],
    );
    const moveFinding = byRule('cluster-api/interrupted-move');
    assert.deepEqual(
      moveFinding.map((x) => `${x.object.kind}/${x.object.name}`),
      ['Cluster/src'],
    );
    assert.deepEqual(
      (moveFinding[0]!.evidence.deletingForMove as { object: string }[]).map((o) => o.object),
      [`Machine/${move}/src-m1`, `Cluster/${move}/src`],
    );
    // No Cluster API controller runs here: the catalogue proves the owners absent.
    const owners = byRule('core/stuck-deletion').map((x) => (x.evidence.finalizers as { owner: string }[])[0]!.owner);
    assert.deepEqual(owners, ['absent', 'absent']);

    // One object, one ladder: the most specific rule leads; the findings it refines defer to its plan.
    // The move's plan also removes the Machine's finalizer (behind its check): the Machine's own stuck-deletion
    // finding defers to it instead of offering the same removal unguarded.
    const lead = moveFinding[0]!;
    const led = scan.report.findings.filter((x) => x !== lead && (x.object.kind === 'Cluster' || x.object.name === 'src-m1'));
    assert.deepEqual(led.map((x) => `${x.rule} ${x.object.kind}`).sort(), [
      'cluster-api/paused-deletion Cluster',
      'core/stuck-deletion Cluster',
      'core/stuck-deletion Machine',
    ]);
    assert.deepEqual([...lead.related!.seeAlso!].sort(), led.map((x) => x.fingerprint).sort());
    for (const f of led) {
      assert.equal(f.related?.ledBy, lead.fingerprint, f.rule);
      assert.equal(f.remediation, undefined, `${f.rule} carries no plan of its own`);
    }

    // --yes cannot confirm the check that the target has the objects: nothing is removed, and the run says why.
    const env = kubectlEnv() as Record<string, string>;
    const backupDir = mkdtempSync(join(tmpdir(), 'doctor-move-'));
    after(() => rmSync(backupDir, { recursive: true, force: true }));
    // The same fix, run unattended, as a server dry run and on a terminal.
    const fixMove = ['-n', move, '--rules', 'cluster-api/*,core/stuck-deletion', '--min-age', '0s', '--fix', '--allow', 'destructive'];
    const unattended = await runCli([...fixMove, '--yes', '--backup-dir', join(backupDir, 'yes'), '-o', 'json'], {
      env: { KUBECONFIG: env.KUBECONFIG! },
    });
    assert.equal(unattended.code, 1, unattended.stderr);
    const results = (JSON.parse(unattended.stdout) as { fix: { results: { rule: string; outcome: string; stopped?: string }[] } }).fix
      .results;
    const moveResult = results.find((r) => r.rule === 'cluster-api/interrupted-move')!;
    assert.equal(moveResult.outcome, 'not-attempted');
    assert.match(moveResult.stopped ?? '', /^step 1 is by hand: Check that the target management cluster has Cluster/);
    assert.equal(await capiExists(move, 'machines', 'src-m1'), true);

    // A server dry run of the whole plan: every step validated (the gates are not asked), nothing stored.
    const before = await rawRequest(kc, 'GET', `/apis/${CAPI.group}/${CAPI.version}/namespaces/${move}/machines/src-m1`);
    const dry = await runCli([...fixMove, '--yes', '--dry-run=server', '-o', 'json'], { env: { KUBECONFIG: env.KUBECONFIG! } });
    const dryResults = (JSON.parse(dry.stdout) as { fix: { results: { rule: string; outcome: string }[] } }).fix.results;
    assert.equal(dryResults.find((r) => r.rule === 'cluster-api/interrupted-move')!.outcome, 'dry-run', dry.stderr);
    const still = await rawRequest(kc, 'GET', `/apis/${CAPI.group}/${CAPI.version}/namespaces/${move}/machines/src-m1`);
    assert.equal(
      (still.json as { metadata: { resourceVersion: string } }).metadata.resourceVersion,
      (before.json as { metadata: { resourceVersion: string } }).metadata.resourceVersion,
    );

    // On a terminal a person confirms each check and each one-way step: the move is finished, one write per object.
    const pty = onTerminal(doctorCommand([...fixMove, '--backup-dir', join(backupDir, 'tty')]), {
      env: { ...process.env, KUBECONFIG: env.KUBECONFIG! },
    });
    const { code, questions } = await answerEverything(pty);
    assert.ok(code === 0 || code === 1, `--fix exited ${code}:\n${pty.screen()}`);
    assert.equal(dry.code, code, 'the server dry run exits as the real run');
    assert.ok(
      questions.some((q) => /Step 1 is by hand: Check that the target management cluster has Cluster .*Is it done\?/.test(q)),
      questions.join('\n'),
    );
    assert.ok(
      questions.some((q) => /Step \d+ \(destructive, cannot be undone\) on Cluster .*src: .*Run it\?/.test(q)),
      questions.join('\n'),
    );
    assert.equal(await capiExists(move, 'machines', 'src-m1'), false, `Machine still there after --fix:\n${pty.screen()}`);
    assert.equal(await capiExists(move, 'clusters', 'src'), false, `Cluster still there after --fix:\n${pty.screen()}`);
    const audit = readAudit(join(backupDir, 'tty'));
    const writes = audit.filter((e) => e.result === 'intent').map((e) => `${e.object.kind}/${e.object.name}`);
    assert.deepEqual([...writes].sort(), ['Cluster/src', 'Machine/src-m1'], 'one write per object, whichever findings need it');
  });

  it('a namespace that can never finish: both core rules report it, and the planned /finalize body is accepted', async () => {
    const gone = uniqueName('gone');
    await core.createNamespace({ body: { metadata: { name: gone } } });
    await core.createNamespacedConfigMap({ namespace: gone, body: { metadata: { name: 'held', finalizers: [HOLD] } } });
    await core.deleteNamespacedConfigMap({ namespace: gone, name: 'held' });
    await core.deleteNamespace({ name: gone });

    const { report } = await doctor(['-n', gone, '--rules', 'core/*']);
    const onNamespace = report.findings.filter((x) => x.object.kind === 'Namespace' && x.object.name === gone);
    assert.deepEqual(onNamespace.map((x) => x.rule).sort(), ['core/namespace-stuck-terminating', 'core/stuck-deletion']);
    assert.equal(report.findings.length, 2, 'the ConfigMap is grouped under its namespace, not reported again');
    const grouped = onNamespace.find((x) => x.rule === 'core/stuck-deletion')!;
    assert.equal(grouped.evidence.stuckObjects, 1);

    const terminating = onNamespace.find((x) => x.rule === 'core/namespace-stuck-terminating')!;
    const steps = terminating.remediation!.steps;
    assert.deepEqual(
      steps.slice(-2).map((s) => s.action.type),
      ['checkpoint', 'finalize-namespace'],
    );
    // What --fix would send after the checkpoint: the API server takes it, and the namespace is gone.
    const action = steps[steps.length - 1]!.action as Extract<Action, { type: 'finalize-namespace' }>;
    const put = await rawRequest(kc, 'PUT', `/api/v1/namespaces/${gone}/finalize`, { body: action.body });
    assert.equal(put.status, 200, put.body);
    const after = await rawRequest(kc, 'GET', `/api/v1/namespaces/${gone}`);
    assert.equal(after.status, 404, `namespace still there: ${after.body}`);
  });
});
