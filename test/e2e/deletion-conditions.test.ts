// The deletion rules' reasons and healthy twins on a real API server. No controller-manager runs, so a deleted
// namespace stays Terminating; its status.conditions are written here through the status subresource, exactly as
// the namespace controller writes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueName } from '../harness/env.ts';
import { create, createNamespace, doctor, namespaceCondition, parseReport, raw, remove, schemalessCrd, writeTerminating } from './kube.ts';

const HOLD = 'e2e.kubectl-doctor.io/hold';

async function terminatingNamespace(conditions: Record<string, unknown>[]): Promise<string> {
  const ns = uniqueName('e2e-term');
  await createNamespace(ns);
  await remove({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await writeTerminating(ns, conditions);
  return ns;
}

test('a namespace whose deletion fails discovery: critical, naming the unavailable APIService the API server reports', async () => {
  const ns = await terminatingNamespace([
    namespaceCondition(
      'NamespaceDeletionDiscoveryFailure',
      'True',
      'DiscoveryFailed',
      'Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: cluster.core.oam.dev/v1alpha1: stale GroupVersion discovery: cluster.core.oam.dev/v1alpha1',
    ),
    namespaceCondition(
      'NamespaceDeletionContentFailure',
      'False',
      'ContentDeleted',
      'All content successfully deleted, may be waiting on finalization',
    ),
  ]);
  const report = parseReport(await doctor(['-n', ns, '--rules', 'core/namespace-stuck-terminating', '--min-age', '0s', '-o', 'json']));
  const finding = report.findings.find((f) => f.object.kind === 'Namespace' && f.object.name === ns);
  assert.ok(finding, JSON.stringify(report.findings.map((f) => f.object)));
  assert.equal(finding.severity, 'critical');
  // The harness's APIService has no backend: the API server itself marks it Available=False, EndpointsNotFound.
  assert.match(
    finding.message,
    /discovery of cluster\.core\.oam\.dev\/v1alpha1 fails \(APIService v1alpha1\.cluster\.core\.oam\.dev unavailable: EndpointsNotFound\)/,
  );
  const discovery = finding.evidence.discovery as { failingGroupVersions: string[]; unavailableAPIServices: { name: string }[] };
  assert.deepEqual(discovery.failingGroupVersions, ['cluster.core.oam.dev/v1alpha1']);
  assert.deepEqual(
    discovery.unavailableAPIServices.map((a) => a.name),
    ['v1alpha1.cluster.core.oam.dev'],
  );
  assert.deepEqual(
    (finding.evidence.conditions as { type: string }[]).map((c) => c.type),
    ['NamespaceDeletionDiscoveryFailure'],
  );
  // Its Service exists (only its backend is missing): restore the backend, never delete the APIService.
  const steps = finding.remediation!.steps;
  assert.match(
    steps[0]!.title,
    /^Restore the backend of APIService v1alpha1\.cluster\.core\.oam\.dev \(EndpointsNotFound\): Service vela-system\/kubevela-cluster-gateway-service/,
  );
  assert.equal(
    steps.some((s) => s.action.type === 'delete'),
    false,
  );
});

test('a namespace whose content remains: the reason comes from its conditions and the objects holding it', async () => {
  const ns = uniqueName('e2e-content');
  await createNamespace(ns);
  await create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', namespace: ns, finalizers: [HOLD] } });
  await remove({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', namespace: ns } });
  await remove({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await writeTerminating(ns, [
    namespaceCondition(
      'NamespaceContentRemaining',
      'True',
      'SomeResourcesRemain',
      'Some resources are remaining: configmaps. has 1 resource instances',
    ),
    namespaceCondition(
      'NamespaceFinalizersRemaining',
      'True',
      'SomeFinalizerRemain',
      `Some finalizers are remaining: ${HOLD} in 1 resource instances`,
    ),
  ]);
  const report = parseReport(await doctor(['-n', ns, '--rules', 'core/namespace-stuck-terminating', '--min-age', '0s', '-o', 'json']));
  const finding = report.findings.find((f) => f.object.kind === 'Namespace' && f.object.name === ns)!;
  assert.match(finding.message, new RegExp(`1 object remains, held by .*${HOLD.replace(/[./]/g, '\\$&')}`));
  assert.deepEqual(
    (finding.evidence.conditions as { type: string }[]).map((c) => c.type),
    ['NamespaceContentRemaining', 'NamespaceFinalizersRemaining'],
  );
  const remaining = finding.evidence.remaining as { total: number; heldByFinalizers: unknown[] };
  assert.equal(remaining.total, 1);
  assert.equal(remaining.heldByFinalizers.length, 1);
  // /finalize sits behind a checkpoint: --fix never force-finalizes in the same run.
  const types = finding.remediation!.steps.map((s) => s.action.type);
  assert.ok(types.indexOf('checkpoint') >= 0 && types.indexOf('checkpoint') < types.indexOf('finalize-namespace'));
});

test('healthy twins stay silent: a deletion younger than the threshold, a paused Cluster that is not deleting', async () => {
  const ns = uniqueName('e2e-young');
  await createNamespace(ns);
  await create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'young', namespace: ns, finalizers: [HOLD] } });
  await remove({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'young', namespace: ns } });
  await create({
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'Cluster',
    metadata: { name: 'maintenance', namespace: ns, finalizers: ['cluster.cluster.x-k8s.io'] },
    spec: { paused: true },
  });

  const rules = 'core/stuck-deletion,cluster-api/*';
  const quiet = parseReport(await doctor(['-n', ns, '--rules', rules, '-o', 'json']));
  assert.deepEqual(
    quiet.findings.filter((f) => f.object.namespace === ns),
    [],
    'default thresholds: 15 min for deletions',
  );
  // The same state is reported once the threshold is lifted: silence above was the threshold, not blindness.
  const loud = parseReport(await doctor(['-n', ns, '--rules', rules, '--min-age', '0s', '-o', 'json']));
  assert.deepEqual(
    loud.findings.filter((f) => f.object.namespace === ns).map((f) => `${f.rule} ${f.object.kind}/${f.object.name}`),
    ['core/stuck-deletion ConfigMap/young'],
  );
});

test('a CRD stuck on customresourcecleanup: the API server keeps serving it, and the rule names the instance holding it', async () => {
  const group = `${uniqueName('e2e')}.example.com`;
  const crdName = `gadgets.${group}`;
  await create(schemalessCrd(group, { plural: 'gadgets', singular: 'gadget', kind: 'Gadget' }));
  const ns = uniqueName('e2e-crd');
  await createNamespace(ns);
  // The CRD must be established before an instance can be created.
  for (let i = 0; i < 100; i++) {
    const crd = await raw('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`);
    if (
      ((crd.status as { conditions?: { type: string; status: string }[] })?.conditions ?? []).some(
        (c) => c.type === 'Established' && c.status === 'True',
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (let i = 0; ; i++) {
    try {
      await create({ apiVersion: `${group}/v1`, kind: 'Gadget', metadata: { name: 'g1', namespace: ns, finalizers: [HOLD] } });
      break;
    } catch (err) {
      if (i > 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await remove({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: crdName } });
  // The CRD finalizer (inside kube-apiserver) deletes the instance, which its own finalizer keeps; the CRD waits.
  let crd = await raw('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`);
  for (let i = 0; i < 100 && !(crd.metadata.finalizers ?? []).includes('customresourcecleanup.apiextensions.k8s.io'); i++) {
    await new Promise((r) => setTimeout(r, 100));
    crd = await raw('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`);
  }
  assert.ok(crd.metadata.deletionTimestamp, 'the CRD is terminating');
  assert.deepEqual(crd.metadata.finalizers, ['customresourcecleanup.apiextensions.k8s.io']);
  for (let i = 0; i < 100; i++) {
    const g = await raw('GET', `/apis/${group}/v1/namespaces/${ns}/gadgets/g1`);
    if (g.metadata.deletionTimestamp) break;
    await new Promise((r) => setTimeout(r, 100));
  }

  const report = parseReport(await doctor(['--rules', 'core/stuck-deletion', '--min-age', '0s', '-o', 'json']));
  const onCrd = report.findings.find((f) => f.object.kind === 'CustomResourceDefinition' && f.object.name === crdName);
  assert.ok(onCrd, JSON.stringify(report.findings.map((f) => `${f.object.kind}/${f.object.name}`)));
  assert.match(onCrd.message, new RegExp(`1 instance remains, 1 held by finalizer ${HOLD.replace(/[./]/g, '\\$&')}`));
  assert.deepEqual(onCrd.evidence.instances, {
    remaining: 1,
    heldByFinalizers: [{ object: `Gadget/${ns}/g1`, deleting: true, finalizers: [HOLD] }],
  });
  assert.ok(
    onCrd.remediation!.steps.every((s) => s.risk === 'safe'),
    'the CRD finalizer is never removed by hand',
  );
});
