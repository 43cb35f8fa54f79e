import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import rule from '../../../rules/cluster-api/machine-drain-blocked.ts';
import stuckDeletion from '../../../rules/core/stuck-deletion.ts';
import { evidenceAt, FIXTURES, loadFixtures, onlyFinding, ruleTester, runRule } from '../../rule-tester.ts';
import { SnapshotSource } from '../../../src/cluster/snapshot.ts';
import { runScan } from '../../../src/engine/scan.ts';
import { buildReport } from '../../../src/report/report.ts';
import type { Finding } from '../../../src/engine/finding.ts';
import { join } from 'node:path';

const DIR = 'cluster-api/machine-drain-blocked';
const NOW = '2026-11-22T12:00:00Z';

function plan(f: Finding) {
  return f.remediation!.steps.map((s) => [
    s.action.type,
    s.risk,
    s.action.type === 'manual' ? (s.action.role ?? 'prerequisite') : '',
    s.action.type === 'json-patch' ? `${s.action.target.kind}/${s.action.target.name} ${JSON.stringify(s.action.patch)}` : '',
  ]);
}

ruleTester(rule, {
  now: NOW,
  valid: [
    {
      name: 'a drain of a minute, drain timeouts (v1beta1 and v1beta2), volume detach, infrastructure, exclude-node-draining, not deleting',
      fixtures: [`${DIR}/healthy.yaml`],
    },
    { name: 'a blocked drain younger than 15 minutes', fixtures: [`${DIR}/broken-pdb-v1beta2.yaml`], now: '2026-11-22T10:14:00Z' },
  ],
  invalid: [
    {
      name: 'v1beta2 (CAPI v1.11): a PodDisruptionBudget refuses the eviction',
      fixtures: [`${DIR}/broken-pdb-v1beta2.yaml`],
      findings: [{ reason: 'pdb-blocks-eviction', object: 'Machine/capi-prod/prod-md-0-7d9f8-x2k4p', severity: 'error' }],
    },
    {
      name: 'v1beta1 with v1beta2 conditions (CAPI v1.9/v1.10): evicted Pods never leave the Node',
      fixtures: [`${DIR}/broken-terminating-v1beta1.yaml`],
      findings: [{ reason: 'pods-not-terminating', object: 'Machine/capi-edge/edge-worker-1', severity: 'error' }],
    },
    {
      name: 'CAPI v1.8: DrainingSucceeded only, no Pod names',
      fixtures: [`${DIR}/broken-v1-8.yaml`],
      findings: [{ reason: 'drain-not-finished', object: 'Machine/capi-mgmt/mgmt-cp-abcde', severity: 'error' }],
    },
    {
      name: 'DrainingFailed: the drain itself errors',
      fixtures: [`${DIR}/broken-drain-error.yaml`],
      findings: [{ reason: 'drain-error', object: 'Machine/capi-lab/lab-worker-0', severity: 'error' }],
    },
    {
      name: 'an eviction refused by a webhook; a MachineDrainRule waiting for a Pod to complete',
      fixtures: [`${DIR}/broken-eviction-failed-and-waiting.yaml`],
      findings: [
        { reason: 'eviction-failed', object: 'Machine/capi-ci/ci-worker-a', severity: 'error' },
        { reason: 'waiting-for-pods', object: 'Machine/capi-ci/ci-worker-b', severity: 'error' },
      ],
    },
  ],
});

describe('cluster-api/machine-drain-blocked', () => {
  it("v1beta2 templates that already have a deletion block: the timeout is added inside it, on the MachineDeployment's or the lone MachineSet's", async () => {
    const run = await runRule(rule, [`${DIR}/broken-template-deletion.yaml`], { now: NOW });
    assert.deepEqual(
      run.findings.map((f) => plan(f)[1]![3]),
      [
        'MachineDeployment/edge-md-0 [{"op":"add","path":"/spec/template/spec/deletion/nodeDrainTimeoutSeconds","value":600}]',
        'MachineSet/edge-ms-solo [{"op":"add","path":"/spec/template/spec/deletion/nodeDrainTimeoutSeconds","value":600}]',
      ],
    );
  });

  it('PDB, v1beta2: evidence from the conditions, the Node, the workload cluster named; the timeout goes on the MachineDeployment', async () => {
    const run = await runRule(rule, [`${DIR}/broken-pdb-v1beta2.yaml`], { now: NOW });
    const f = onlyFinding(run.findings);
    assert.equal(
      f.message,
      'draining Node prod-md-0-7d9f8-x2k4p for 1h59m with no nodeDrainTimeout: Pod shop/db-0 cannot be evicted, PodDisruptionBudget db allows no disruption, so the Machine is never deleted',
    );
    assert.equal(evidenceAt(f, 'drainStartedAt'), '2026-11-22T10:00:05Z');
    assert.equal(evidenceAt(f, 'drainStartFrom'), 'status.deletion.nodeDrainStartTime');
    assert.equal(evidenceAt(f, 'node'), 'prod-md-0-7d9f8-x2k4p');
    assert.equal(evidenceAt(f, 'cluster'), 'prod');
    assert.deepEqual(evidenceAt(f, 'blockingPods'), [
      {
        cause: 'pdb',
        pods: ['shop/db-0'],
        podDisruptionBudget: 'db',
        detail:
          "cannot evict pod as it would violate the pod's disruption budget. The disruption budget db needs 1 healthy pods and has 1 currently",
      },
    ]);
    assert.equal(evidenceAt(f, 'conditions', 'Deleting', 'reason'), 'DrainingNode');
    assert.equal(evidenceAt(f, 'conditions', 'DrainingSucceeded', 'reason'), 'Draining');
    assert.match(
      String(evidenceAt(f, 'podsLiveIn')),
      /^the workload cluster prod \(kubeconfig: Secret capi-prod\/prod-kubeconfig, key value\), which kubectl doctor does not read/,
    );
    assert.equal(
      evidenceAt(f, 'timeoutBelongsOn'),
      'MachineDeployment/capi-prod/prod-md-0 (spec.template.spec.deletion.nodeDrainTimeoutSeconds)',
    );
    assert.deepEqual(plan(f), [
      ['manual', 'safe', 'alternative', ''],
      [
        'json-patch',
        'disruptive',
        '',
        'prod-md-0 [{"op":"add","path":"/spec/template/spec/deletion","value":{"nodeDrainTimeoutSeconds":600}}]'.replace(
          /^/,
          'MachineDeployment/',
        ),
      ],
      ['checkpoint', 'safe', '', ''],
      [
        'json-patch',
        'destructive',
        '',
        'Machine/prod-md-0-7d9f8-x2k4p [{"op":"add","path":"/metadata/annotations","value":{"machine.cluster.x-k8s.io/exclude-node-draining":""}}]',
      ],
    ]);
    assert.equal(
      f.remediation!.steps[0]!.command,
      [
        "kubectl --kubeconfig <(kubectl get secret prod-kubeconfig -n capi-prod -o jsonpath='{.data.value}' | base64 -d) get pods -A --field-selector spec.nodeName=prod-md-0-7d9f8-x2k4p -o wide",
        "kubectl --kubeconfig <(kubectl get secret prod-kubeconfig -n capi-prod -o jsonpath='{.data.value}' | base64 -d) get pdb -n shop",
      ].join('\n'),
    );
    assert.match(f.remediation!.steps[1]!.title, /whose controllers copy it to MachineSet prod-md-0-7d9f8 and to the deleting Machine/);
    assert.match(
      f.remediation!.leftTo ?? '',
      /copies the timeout to Machine capi-prod\/prod-md-0-7d9f8-x2k4p \(spec\.deletion\.nodeDrainTimeoutSeconds\)/,
    );
  });

  it('a MachineSet without a MachineDeployment keeps the timeout in its template; v1beta1 as a duration', async () => {
    const objects = loadFixtures(`${DIR}/broken-pdb-v1beta2.yaml`).filter((o) => o.kind !== 'MachineDeployment');
    for (const o of objects) if (o.kind === 'MachineSet') delete o.metadata.ownerReferences;
    let f = onlyFinding((await runRule(rule, objects, { now: NOW })).findings);
    assert.deepEqual(plan(f)[1], [
      'json-patch',
      'disruptive',
      '',
      'MachineSet/prod-md-0-7d9f8 [{"op":"add","path":"/spec/template/spec/deletion","value":{"nodeDrainTimeoutSeconds":600}}]',
    ]);
    const v1beta1 = objects.map((o) => ({ ...o, apiVersion: 'cluster.x-k8s.io/v1beta1' }));
    // The same Machine read through the v1beta1 API of CAPI v1.11: conditions under status.v1beta2 / status.
    const m = v1beta1.find((o) => o.kind === 'Machine') as unknown as { status: Record<string, unknown> };
    m.status = {
      ...m.status,
      v1beta2: { conditions: m.status.conditions },
      conditions: (m.status.deprecated as { v1beta1: { conditions: unknown } }).v1beta1.conditions,
    };
    f = onlyFinding((await runRule(rule, v1beta1, { now: NOW })).findings);
    assert.equal(f.reason, 'pdb-blocks-eviction');
    assert.deepEqual(plan(f)[1], [
      'json-patch',
      'disruptive',
      '',
      'MachineSet/prod-md-0-7d9f8 [{"op":"add","path":"/spec/template/spec/nodeDrainTimeout","value":"10m0s"}]',
    ]);
  });

  it('a deleting MachineSet (its MachineDeployment deleted) or a gone one copies nothing: the timeout goes on the Machine', async () => {
    // The MachineDeployment and the MachineSet deleting, as MachineDeployment deletion leaves them (their finalizers
    // wait for the Machine): a deleting MachineSet runs reconcileDelete, not syncMachines.
    const deleting = loadFixtures(`${DIR}/broken-pdb-v1beta2.yaml`);
    for (const o of deleting) if (o.kind !== 'Machine') o.metadata.deletionTimestamp = '2026-11-22T09:59:59Z';
    // Another MachineSet is listed, not the Machine's: it is gone.
    const gone = loadFixtures(`${DIR}/broken-pdb-v1beta2.yaml`);
    for (const o of gone) if (o.kind === 'MachineSet') Object.assign(o.metadata, { name: 'prod-md-0-55b4c', uid: 'another' });
    for (const [objects, why] of [
      [
        deleting,
        /^the Machine itself \(its MachineSet capi-prod\/prod-md-0-7d9f8 is being deleted, as a deleted MachineDeployment's are: a deleting MachineSet copies nothing to its Machines\)/,
      ],
      [gone, /^the Machine itself \(its MachineSet capi-prod\/prod-md-0-7d9f8 is gone: nothing copies a timeout over it\)/],
    ] as const) {
      const f = onlyFinding((await runRule(rule, objects, { now: NOW })).findings);
      assert.deepEqual(plan(f)[1], [
        'json-patch',
        'disruptive',
        '',
        'Machine/prod-md-0-7d9f8-x2k4p [{"op":"add","path":"/spec/deletion","value":{"nodeDrainTimeoutSeconds":600}}]',
      ]);
      assert.equal(evidenceAt(f, 'timeoutBelongsOn'), 'Machine/capi-prod/prod-md-0-7d9f8-x2k4p (spec.deletion.nodeDrainTimeoutSeconds)');
      assert.match(f.remediation!.steps[1]!.title.replace(/^Set a drain timeout of 600 s on /, ''), why);
      assert.doesNotMatch(f.remediation!.steps[1]!.title, /later drain/);
      assert.match(f.remediation!.leftTo ?? '', /^capi-controller-manager: the Machine controller ends the drain once it has run 600 s/);
    }
  });

  it('a MachineSet that cannot be read: the timeout step is by hand; the annotation stays behind the checkpoint', async () => {
    const objects = loadFixtures(`${DIR}/broken-pdb-v1beta2.yaml`).filter((o) => o.kind === 'Machine');
    const f = onlyFinding((await runRule(rule, objects, { now: NOW })).findings);
    assert.deepEqual(
      plan(f).map((s) => s.slice(0, 3)),
      [
        ['manual', 'safe', 'alternative'],
        ['manual', 'safe', 'alternative'],
        ['checkpoint', 'safe', ''],
        ['json-patch', 'destructive', ''],
      ],
    );
    assert.match(
      String(evidenceAt(f, 'timeoutBelongsOn')),
      /^MachineSet capi-prod\/prod-md-0-7d9f8 owns the Machine but could not be read/,
    );
  });

  it('standalone v1beta1 Machine: the timeout is set on it; Pods beyond the first three are counted', async () => {
    const f = onlyFinding((await runRule(rule, [`${DIR}/broken-terminating-v1beta1.yaml`], { now: NOW })).findings);
    assert.match(
      f.message,
      /Pods monitoring\/node-exporter-x, logging\/fluent-bit-y, apps\/api-5c9-abc and 2 more were evicted but never leave the Node/,
    );
    assert.deepEqual(plan(f)[1], [
      'json-patch',
      'disruptive',
      '',
      'Machine/edge-worker-1 [{"op":"add","path":"/spec/nodeDrainTimeout","value":"10m0s"}]',
    ]);
    // The finding goes once the Machine has its timeout, but the drain is over only when the Machine is gone.
    assert.match(f.remediation!.leftTo ?? '', /^capi-controller-manager: the Machine controller ends the drain once it has run 600 s/);
    assert.deepEqual(
      f.remediation!.awaitsDeletion!.map((t) => `${t.kind}/${t.name}`),
      ['Machine/edge-worker-1'],
    );
  });

  it('CAPI v1.8: the drain start is the DrainingSucceeded transition; a KubeadmControlPlane owner gets the timeout by hand', async () => {
    const f = onlyFinding((await runRule(rule, [`${DIR}/broken-v1-8.yaml`], { now: NOW })).findings);
    assert.equal(evidenceAt(f, 'drainStartFrom'), 'the DrainingSucceeded condition (lastTransitionTime)');
    assert.deepEqual(evidenceAt(f, 'drainingFor'), { seconds: 10800, human: '3h' });
    assert.equal(evidenceAt(f, 'conditions', 'Deleting'), 'absent');
    assert.match(
      f.remediation!.steps[1]!.command,
      /KubeadmControlPlane capi-mgmt\/mgmt-cp owns the Machine: set the drain timeout in its machine template/,
    );
    assert.deepEqual(plan(f)[3]!.slice(3), [
      'Machine/mgmt-cp-abcde [{"op":"add","path":"/metadata/annotations/machine.cluster.x-k8s.io~1exclude-node-draining","value":""}]',
    ]);
  });

  it('DrainingFailed: the error is the one DrainingSucceeded carries, not the generic Deleting message', async () => {
    const f = onlyFinding((await runRule(rule, [`${DIR}/broken-drain-error.yaml`], { now: NOW })).findings);
    assert.match(
      f.message,
      /the controller cannot drain it \(failed to get Node lab-worker-0: Get "https:\/\/lab-lb:6443\/api\/v1\/nodes\/lab-worker-0": dial tcp/,
    );
    assert.deepEqual(plan(f)[1]!.slice(3), [
      'Machine/lab-worker-0 [{"op":"add","path":"/spec/deletion/nodeDrainTimeoutSeconds","value":600}]',
    ]);
  });

  it('--min-age overrides the 15 minutes; a younger drain is held back with its age', async () => {
    const young = await runRule(rule, [`${DIR}/healthy.yaml`], { now: NOW });
    assert.deepEqual(
      young.heldBack.map((h) => [h.object.name, h.reason]),
      [['young', 'draining for 1m, reported after 15m']],
    );
    const all = await runRule(rule, [`${DIR}/healthy.yaml`], { now: NOW, minAgeMs: 0 });
    assert.deepEqual(
      all.findings.map((f) => f.object.name),
      ['young'],
    );
  });

  it('with core/stuck-deletion, this finding leads and the stuck-deletion one on the same Machine defers to it', async () => {
    const source = SnapshotSource.fromPaths([join(FIXTURES, DIR, 'broken-pdb-v1beta2.yaml')], { complete: true });
    const scan = await runScan(source, {
      rules: [stuckDeletion, rule],
      now: new Date(NOW),
      minAgeMs: undefined,
      namespace: undefined,
      concurrency: 2,
    });
    // Findings are related in the report, among those it shows.
    const { findings } = buildReport(scan, 'test');
    const drain = findings.find((f) => f.rule === rule.meta.id)!;
    const stuck = findings.find((f) => f.rule === 'core/stuck-deletion' && f.object.kind === 'Machine')!;
    assert.deepEqual(stuck.related, { ledBy: drain.fingerprint });
    assert.equal(stuck.remediation, undefined);
    assert.deepEqual(drain.related, { seeAlso: [stuck.fingerprint] });
  });

  it('hostile names are quoted in the workload-cluster commands', async () => {
    const objects = loadFixtures(`${DIR}/broken-pdb-v1beta2.yaml`).map((o) =>
      o.kind === 'Machine'
        ? ({
            ...o,
            metadata: { ...o.metadata, labels: { 'cluster.x-k8s.io/cluster-name': "x'$(id)" } },
            status: { ...(o as never as { status: object }).status, nodeRef: { name: 'n;rm -rf /' } },
          } as never)
        : o,
    );
    const f = onlyFinding((await runRule(rule, objects, { now: NOW })).findings);
    assert.match(
      f.remediation!.steps[0]!.command,
      /kubectl get secret 'x'\\''\$\(id\)-kubeconfig' -n capi-prod .* --field-selector 'spec\.nodeName=n;rm -rf \/' -o wide/,
    );
  });
});
