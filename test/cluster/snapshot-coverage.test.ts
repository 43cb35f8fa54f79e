import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SnapshotSource } from '../../src/cluster/snapshot.ts';
import { allRules } from '../../rules/index.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { readSnapshotFile } from '../../src/cluster/snapshot.ts';
import { ROOT, runMain } from '../cli/run-cli.ts';
import { tempDir } from '../temp.ts';

const list = (items: unknown[], kind = 'List') => JSON.stringify({ apiVersion: 'v1', kind, items });
const cm = (name: string, namespace: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, uid: `u-${namespace}-${name}` },
});
const ns = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, uid: `u-${name}` } });

function dump(files: Record<string, string>): string {
  const dir = tempDir('coverage');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function listOf(source: SnapshotSource, resource: string, namespace?: string) {
  const type = (await source.discover()).find(resource);
  assert.ok(type, `${resource} is found`);
  return source.list({ type, metadataOnly: false, ...(namespace !== undefined ? { namespace } : {}) });
}

test('a List covers its kinds: in every namespace when its items span several, in the one namespace they share otherwise', async () => {
  const source = SnapshotSource.fromPaths([
    dump({
      'all.json': list([ns('a'), ns('b'), cm('x', 'a'), cm('y', 'b')]),
      'one.json': list([{ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'a', uid: 'u-s' } }]),
    }),
  ]);
  const configMaps = await listOf(source, 'configmaps');
  assert.ok(configMaps.ok && configMaps.incomplete === undefined);
  assert.equal(configMaps.items.length, 2);
  const namespaces = await listOf(source, 'namespaces');
  assert.ok(namespaces.ok && namespaces.incomplete === undefined, 'cluster-scoped kinds are covered whole');
  // `kubectl get svc -n a -o yaml` looks exactly like this: namespace a is known, the others are not.
  const inA = await listOf(source, 'services', 'a');
  assert.ok(inA.ok && inA.incomplete === undefined);
  const everywhere = await listOf(source, 'services');
  assert.ok(everywhere.ok);
  assert.equal(everywhere.incomplete, 'not in snapshot: services');
  assert.equal(everywhere.items.length, 1, 'what the dump holds is still shown');
  const secrets = await listOf(source, 'secrets');
  assert.ok(secrets.ok);
  assert.equal(secrets.incomplete, 'not in snapshot: secrets');
});

test('bare objects cover nothing; an empty typed cluster-scoped list is covered and empty; a coverage document declares the rest', async () => {
  const source = SnapshotSource.fromPaths([
    dump({
      'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bare, namespace: a}\n',
      'nodes.json': list([], 'NodeList'),
      'coverage.yaml':
        'apiVersion: kubectl-doctor/v1\nkind: SnapshotCoverage\nresources:\n- {resource: secrets, namespaces: [a]}\n- {resource: bundles.fleet.cattle.io}\n',
    }),
  ]);
  const bare = await listOf(source, 'configmaps');
  assert.ok(bare.ok && bare.incomplete === 'not in snapshot: configmaps');
  const nodes = await listOf(source, 'nodes');
  assert.ok(nodes.ok && nodes.incomplete === undefined && nodes.items.length === 0, 'covered and empty is empty');
  const secretsInA = await listOf(source, 'secrets', 'a');
  assert.ok(secretsInA.ok && secretsInA.incomplete === undefined && secretsInA.items.length === 0);
  const secretsInB = await listOf(source, 'secrets', 'b');
  assert.ok(secretsInB.ok && secretsInB.incomplete === 'not in snapshot: secrets');
  const bundles = await listOf(source, 'bundles.fleet.cattle.io');
  assert.ok(bundles.ok && bundles.incomplete === undefined && bundles.items.length === 0, 'a declared custom type is covered');
  // A custom type the dump says nothing of may be served: unknown, not "not served".
  const addons = await listOf(source, 'addons.harvesterhci.io');
  assert.ok(addons.ok && addons.incomplete === 'not in snapshot: addons.harvesterhci.io');
});

test('with CRDs covered, a custom type without a CRD is not served, as live', async () => {
  const crds = list([
    {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gadgets.example.org', uid: 'u-crd' },
      spec: {
        group: 'example.org',
        scope: 'Cluster',
        names: { plural: 'gadgets', kind: 'Gadget' },
        versions: [{ name: 'v1', served: true, storage: true }],
      },
    },
  ]);
  const discovery = await SnapshotSource.fromPaths([dump({ 'crds.json': crds })]).discover();
  assert.equal(discovery.find('addons.harvesterhci.io'), undefined);
  assert.ok(discovery.find('gadgets.example.org'));
});

test('a malformed coverage document is one clear error naming the file', () => {
  assert.throws(
    () => SnapshotSource.fromPaths([dump({ 'c.yaml': 'apiVersion: kubectl-doctor/v1\nkind: SnapshotCoverage\nresources: secrets\n' })]),
    /c\.yaml: document 1: SnapshotCoverage resources is not a list; write complete: true or resources:/,
  );
});

async function scan(dir: string) {
  const { code, stdout, stderr } = await runMain(
    ['--snapshot', dir, '-o', 'json', '--now', '2026-11-22T12:00:00Z', '--rules', 'core/*,fleet/*'],
    allRules,
  );
  return {
    code,
    stderr,
    report: JSON.parse(stdout) as {
      complete: boolean;
      findings: { rule: string; message: string }[];
      rules: { id: string; status: string; reason?: string; gaps?: { resource: string; reason: string }[] }[];
    },
  };
}

// Issue 13: `kubectl get namespaces,bundledeployments,bundles -A -o yaml > partial.yaml` (no Secrets), plus a
// ConfigMap saved on its own from a Terminating namespace.
test('a partial dump: no "missing" Secret, no "no content remains", and the scan says it is incomplete', async () => {
  const fleet = readSnapshotFile(join(ROOT, 'examples', 'cluster-dump', 'fleet-missing-values-secret.yaml'));
  const picked: KubeObject[] = fleet.filter((o) => ['Namespace', 'BundleDeployment', 'Bundle'].includes(o.kind));
  assert.ok(picked.some((o) => o.kind === 'BundleDeployment') && picked.some((o) => o.kind === 'Bundle'));
  picked.push({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'leaving', uid: 'u-leaving', creationTimestamp: '2026-01-01T00:00:00Z', deletionTimestamp: '2026-11-01T00:00:00Z' },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Terminating' },
  } as KubeObject);
  const dir = dump({
    'partial.json': list(picked),
    'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: left, namespace: leaving, uid: u-left}\n',
  });
  const { code, report } = await scan(dir);
  const rule = (id: string) => report.rules.find((r) => r.id === id)!;

  assert.deepEqual(
    [rule('fleet/missing-values-secret').status, rule('fleet/missing-values-secret').reason],
    ['skipped', 'not in snapshot: secrets'],
  );
  assert.ok(!report.findings.some((f) => /missing/.test(f.message) && f.rule.startsWith('fleet/')));

  const leaving = report.findings.find((f) => f.rule === 'core/namespace-stuck-terminating');
  assert.ok(leaving, 'the Terminating namespace is still reported');
  assert.doesNotMatch(leaving.message, /no content remains/);
  assert.match(leaving.message, /1 object remains|not in snapshot/);

  const stuck = rule('core/stuck-deletion');
  assert.equal(stuck.status, 'partial');
  assert.ok(stuck.gaps!.some((g) => g.reason === 'not in snapshot: configmaps'));
  assert.ok(stuck.gaps!.some((g) => g.reason === 'not in snapshot: secrets'));
  assert.equal(report.complete, false);
  assert.equal(code, 1, 'findings first; the report says incomplete');

  // The same dump declared complete: the Fleet rule runs, and the BundleDeployment's Secret is absent indeed.
  writeFileSync(join(dir, 'coverage.yaml'), 'apiVersion: kubectl-doctor/v1\nkind: SnapshotCoverage\ncomplete: true\n');
  const whole = await scan(dir);
  assert.equal(whole.report.rules.find((r) => r.id === 'fleet/missing-values-secret')!.status, 'fail');
});

test('a partial dump without findings exits 3, not 0', async () => {
  const dir = dump({ 'ns.json': list([ns('a')]) });
  const { code, report } = await scan(dir);
  assert.equal(report.findings.length, 0);
  assert.equal(report.complete, false);
  assert.equal(code, 3);
});
