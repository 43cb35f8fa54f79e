// The engine against a real kube-apiserver: discovery, skip reasons, RBAC, -n, --context and pagination.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubeConfigAt, startTestCluster } from '../harness/cluster.ts';
import { e2e, rawRequest, uniqueName } from '../harness/env.ts';
import { allRules } from '../../rules/index.ts';
import { assertValidReport, runCli } from '../cli/run-cli.ts';
import { create, createNamespace, doctor, inParallel, parseReport, TWO_GROUPS_SCAN } from './kube.ts';

test(
  'a fresh cluster: exit 0, every rule passes or is skipped with a reason; a removed CRD skips its rule',
  { skip: e2e().external && 'needs its own API server' },
  async () => {
    // Its own API server: the shared one holds the other tests' broken states.
    const cluster = await startTestCluster();
    try {
      const run = (args: string[]) =>
        runCli(['--kubeconfig', cluster.kubeconfigPath, '--context', cluster.adminContext, ...args], { timeoutMs: 120_000 });
      const kc = kubeConfigAt(cluster.kubeconfigPath, cluster.adminContext);

      // The harness registers v1alpha1.cluster.core.oam.dev with no backend, as real clusters with a broken
      // aggregated API have: discovery reports it, the rule that reads every type says it could not see that
      // group, and the scan is incomplete (exit 3) rather than clean.
      const broken = await run(['-o', 'json']);
      const brokenReport = parseReport(broken);
      assertValidReport(brokenReport);
      assert.equal(broken.code, 3, broken.stderr);
      assert.deepEqual(
        (brokenReport as unknown as { discoveryFailures: { groupVersion: string }[] }).discoveryFailures.map((f) => f.groupVersion),
        ['cluster.core.oam.dev/v1alpha1'],
      );
      const everything = brokenReport.rules.find((r) => r.id === 'core/stuck-deletion') as
        { gaps?: { resource: string }[]; incomplete: boolean } | undefined;
      assert.deepEqual(
        everything?.gaps?.map((g) => g.resource),
        ['cluster.core.oam.dev/v1alpha1'],
      );

      const gone = await rawRequest(kc, 'DELETE', '/apis/apiregistration.k8s.io/v1/apiservices/v1alpha1.cluster.core.oam.dev');
      assert.equal(gone.status, 200, gone.body);
      const result = await run(['-o', 'json']);
      const report = parseReport(result);
      assertValidReport(report);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(report.source, { type: 'live', context: 'admin', cluster: 'test', user: 'admin', server: cluster.server });
      assert.deepEqual(
        report.rules.map((r) => r.id),
        allRules.map((r) => r.meta.id),
      );
      for (const r of report.rules) {
        assert.ok(r.status === 'pass' || (r.status === 'skipped' && r.reason), `${r.id}: ${r.status} ${r.reason ?? ''}`);
      }
      assert.equal(report.findings.length, 0);
      assert.equal(report.complete, true);

      const del = await rawRequest(kc, 'DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/addons.harvesterhci.io');
      assert.equal(del.status, 200, del.body);
      for (let i = 0; i < 100; i++) {
        const gv = await rawRequest(kc, 'GET', '/apis/harvesterhci.io/v1beta1');
        if (!String(gv.body).includes('"addons"')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const after = parseReport(await run(['-o', 'json', '--rules', 'harvester/*']));
      const addon = after.rules.find((r) => r.id === 'harvester/addon-stuck-enabling');
      assert.deepEqual([addon?.status, addon?.reason, addon?.incomplete], ['skipped', 'api not served: addons.harvesterhci.io', false]);
    } finally {
      await cluster.stop();
    }
  },
);

test(
  'the limited user: rules that need Secrets are skipped "forbidden: list secrets" and the scan exits 3',
  { skip: !e2e().limitedContext && 'no limited context on an external cluster' },
  async () => {
    const result = await doctor(['-o', 'json', '--rules', 'kubevela/*,fleet/*'], { context: e2e().limitedContext! });
    const report = parseReport(result);
    assert.equal(result.code, 3, result.stderr);
    assert.equal(report.complete, false);
    assert.equal(report.source.context, 'limited');
    const vela = report.rules.find((r) => r.id === 'kubevela/orphaned-cluster-reference');
    assert.equal(vela?.status, 'skipped');
    assert.match(vela?.reason ?? '', /^forbidden: list /);
    assert.equal(vela?.incomplete, true);
  },
);

test('one list per type, paginated: 1,200 ConfigMaps come back in 3 pages of 500; -n scopes the lists', async () => {
  const ns = uniqueName('e2e-pages');
  await createNamespace(ns);
  await inParallel(
    Array.from({ length: 1200 }, (_, i) => i),
    16,
    (i) => create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, namespace: ns } }),
  );
  const result = await doctor(['-n', ns, '--rules', 'core/stuck-deletion', '--chunk-size', '500', '-v', '-o', 'json']);
  const report = parseReport(result);
  // 3, not 0: the shared server's broken aggregated API is a coverage gap of the rule that reads every type.
  assert.equal(result.code, 3, result.stderr.slice(-2000));
  assert.equal(report.findings.length, 0);
  assert.equal(report.source.namespace, ns);
  const line = result.stderr.split('\n').find((l) => l.includes('list configmaps '));
  // Listed and counted, none kept: no rule of this scan looks at a ConfigMap that is not being deleted.
  assert.equal(
    line?.replace(/ \(\d+ms, from \+\d+ms\)$/, ''),
    `doctor: list configmaps (v1, ns ${ns}, metadata): 1200 items (0 kept), 3 pages`,
  );
  // Each type once per scope: a read that spans namespaces (a controller's Deployment) is a different list.
  const lists = result.stderr
    .split('\n')
    .filter((l) => /^doctor: list /.test(l))
    .map((l) => l.replace(/\).*$/, ')').replace(/, metadata\)$/, ')'));
  assert.equal(lists.length, new Set(lists).size, `each resource type is listed once per scope: ${lists.join('\n')}`);
  assert.ok(lists.length > 50, 'the rule that reads every type listed them all');
});

test('--as and repeated --as-group impersonate as kubectl does (each group its own header)', async () => {
  const limited = parseReport(await doctor(['-o', 'json', '--rules', 'kubevela/*', '--as', 'doctor-limited']));
  assert.match(limited.rules[0]!.reason ?? '', /^forbidden: list secrets/);
  // Two groups: only the second grants access, so it must arrive as a group of its own, not "a,b".
  const masters = await doctor(TWO_GROUPS_SCAN);
  const report = parseReport(masters);
  assert.notEqual(report.rules[0]!.status, 'skipped', JSON.stringify(report.rules[0]));
});
