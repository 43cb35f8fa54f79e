// Targeting through the CLI over a dump: TYPE[/NAME] arguments resolved from the snapshot's types (built-in short
// names, CRD short names and singulars, kinds, groups), --fingerprint, and the usage errors. The same on the real
// API server: test/e2e/pipelines.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, runMain } from './run-cli.ts';
import { parseTargetArgs } from '../../src/engine/scope.ts';
import { Discovery } from '../../src/cluster/source.ts';
import { builtInTypes, resourceName } from '../../src/cluster/resources.ts';

const EXAMPLE = join(ROOT, 'examples', 'cluster-dump');

/** `-o name` lines of a scan of the example dump with these arguments. */
async function names(...args: string[]): Promise<string[]> {
  const r = await runMain(['--snapshot', EXAMPLE, '-o', 'name', ...args]);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

test('TYPE[/NAME] narrows the findings to objects of that type (and name), resolved from the snapshot', async () => {
  // The unavailable APIService's finding carries the plan for the namespace stuck on it: narrowing brings it along.
  const monitoring = [
    'core/apiservice-unavailable APIService/v1beta1.metrics.k8s.io',
    'core/namespace-stuck-terminating Namespace/monitoring',
    'core/stuck-deletion Namespace/monitoring',
  ];
  assert.deepEqual(await names('namespaces'), monitoring);
  assert.deepEqual(await names('ns/monitoring'), monitoring, 'a built-in short name');
  assert.deepEqual(await names('Namespace', 'monitoring'), monitoring, 'a kind, then a name');
  assert.deepEqual(await names('ns/default'), [], 'another name: nothing');
  assert.deepEqual(await names('app'), ['kubevela/orphaned-cluster-reference Application/vela-system/addon-fluxcd'], "a CRD's short name");
  assert.deepEqual(await names('bundledeployment'), [
    'fleet/missing-values-secret BundleDeployment/cluster-fleet-default-c-abcde-0f1e2d3c4b5a/myrepo-apps-nginx',
  ]);
  const capi = await names('cluster.cluster.x-k8s.io/prod-a', '-n', 'capi-clusters');
  assert.deepEqual(capi, [
    'cluster-api/interrupted-move Cluster/capi-clusters/prod-a',
    'cluster-api/paused-deletion Cluster/capi-clusters/prod-a',
    'core/stuck-deletion Cluster/capi-clusters/prod-a',
  ]);
  assert.deepEqual(await names('secrets,addons'), [
    'harvester/addon-stuck-enabling Addon/harvester-system/harvester-vm-dhcp-controller',
    'helm/release-stuck-pending Secret/shop/sh.helm.release.v1.shop.v3',
  ]);
  // Out of scope is not suppressed: the summary counts nothing suppressed, and the exit code follows what is shown.
  const json = await runMain(['--snapshot', EXAMPLE, '-o', 'json', 'ns/default']);
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as { findings: unknown[]; summary: { suppressed: number } };
  assert.deepEqual([report.findings.length, report.summary.suppressed], [0, 0]);
});

test('--fingerprint shows one finding', async () => {
  const all = JSON.parse((await runMain(['--snapshot', EXAMPLE, '-o', 'json'])).stdout) as {
    findings: { fingerprint: string; rule: string }[];
  };
  const [first, second] = all.findings;
  const one = await runMain(['--snapshot', EXAMPLE, '-o', 'json', '--fingerprint', first!.fingerprint]);
  assert.deepEqual(
    (JSON.parse(one.stdout) as { findings: { fingerprint: string }[] }).findings.map((f) => f.fingerprint),
    [first!.fingerprint],
  );
  const two = await runMain([
    '--snapshot',
    EXAMPLE,
    '-o',
    'json',
    '--fingerprint',
    first!.fingerprint,
    '--fingerprint',
    second!.fingerprint,
  ]);
  assert.equal((JSON.parse(two.stdout) as { findings: unknown[] }).findings.length, 2);
  const bad = await runMain(['--snapshot', EXAMPLE, '--fingerprint', 'xyz']);
  assert.deepEqual(
    [bad.code, bad.stderr],
    [2, `error: invalid --fingerprint "xyz": use the 16 hex digits of a finding's fingerprint (-o json or -o wide show them)\n`],
  );
});

test('an unknown TYPE or a mixed argument list: one line, exit 2, before any scan', async () => {
  const unknown = await runMain(['--snapshot', EXAMPLE, 'frobnicate']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stdout, '');
  assert.equal(
    unknown.stderr,
    'error: unknown resource type "frobnicate": the snapshot holds no such type; TYPE[/NAME] arguments work as in kubectl get (e.g. ns/monitoring, deployments.apps web), and the commands are rules, explain, dump, restore, completion and version\n',
  );
  const mixed = await runMain(['--snapshot', EXAMPLE, 'ns/monitoring', 'pods']);
  assert.equal(mixed.code, 2);
  assert.match(
    mixed.stderr,
    /^error: there is no need to give a resource type as a separate argument when passing arguments in TYPE\/NAME form/,
  );
});

test('TYPE[/NAME] arguments parse as kubectl get reads them', () => {
  assert.deepEqual(parseTargetArgs(['ns/a', 'deploy/b']), [
    { type: 'ns', names: ['a'] },
    { type: 'deploy', names: ['b'] },
  ]);
  assert.deepEqual(parseTargetArgs(['cm,secret', 'a', 'b']), [
    { type: 'cm', names: ['a', 'b'] },
    { type: 'secret', names: ['a', 'b'] },
  ]);
  for (const bad of [['ns/'], ['/a'], ['a/b/c'], ['cm,'], ['a,b/c']]) assert.throws(() => parseTargetArgs(bad), /invalid argument/);
});

test('Discovery.resolve: plural, singular, short name, kind, resource.group and resource.version.group', () => {
  const fleetClusters = {
    group: 'fleet.cattle.io',
    version: 'v1alpha1',
    resource: 'clusters',
    kind: 'Cluster',
    namespaced: true,
    verbs: [],
  };
  const capiClusters = {
    group: 'cluster.x-k8s.io',
    version: 'v1beta2',
    resource: 'clusters',
    kind: 'Cluster',
    namespaced: true,
    verbs: [],
  };
  const capiOld = { ...capiClusters, version: 'v1beta1' };
  const discovery = new Discovery([...builtInTypes, fleetClusters, capiClusters, capiOld]);
  const resolved = (arg: string) => {
    const t = discovery.resolve(arg);
    return t && `${resourceName(t)}/${t.version}`;
  };
  for (const arg of ['deployments', 'deployment', 'deploy', 'Deployment', 'DEPLOYMENTS', 'deployments.apps', 'deploy.v1.apps'])
    assert.equal(resolved(arg), 'deployments.apps/v1', arg);
  assert.equal(resolved('ns'), 'namespaces/v1');
  assert.equal(resolved('crd'), 'customresourcedefinitions.apiextensions.k8s.io/v1');
  assert.equal(resolved('cluster.cluster.x-k8s.io'), 'clusters.cluster.x-k8s.io/v1beta2', 'the preferred version');
  assert.equal(resolved('clusters.v1beta1.cluster.x-k8s.io'), 'clusters.cluster.x-k8s.io/v1beta1');
  assert.equal(resolved('clusters.fleet.cattle.io'), 'clusters.fleet.cattle.io/v1alpha1');
  assert.equal(resolved('cluster'), 'clusters.fleet.cattle.io/v1alpha1', 'ambiguous: the first in discovery order');
  assert.equal(resolved('deployments.nope'), undefined);
  assert.equal(resolved('frobnicate'), undefined);
});
