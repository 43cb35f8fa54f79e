// CI gating against the real API server: the ignore annotation read from metadata-only lists, and exit codes on a
// cluster whose one aggregated API (the harness's v1alpha1.cluster.core.oam.dev, no backend) cannot be read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { uniqueName } from '../harness/env.ts';
import { tempDir } from '../temp.ts';
import { assertValidReport } from '../cli/run-cli.ts';
import { create, createNamespace, doctor, remove } from './kube.ts';

const BROKEN_API = 'cluster.core.oam.dev/v1alpha1';

interface Json {
  complete: boolean;
  findings: { object: { name: string } }[];
  rules: { id: string; status: string; incomplete: boolean; gaps?: { resource: string }[]; waivedGaps?: { resource: string }[] }[];
  summary: { suppressed: number };
  suppressed: { object: { name: string }; by: string; reason?: string }[];
}

function parse(stdout: string): Json {
  const report = JSON.parse(stdout) as Json;
  assertValidReport(report);
  return report;
}

test('doctor.kubectl.io/ignore on a live object suppresses its finding, -l narrows to labelled objects (the rule lists metadata only)', async () => {
  const ns = uniqueName('e2e-ignore');
  await createNamespace(ns);
  for (const name of ['accepted', 'reported', 'labelled']) {
    const annotations: Record<string, string> =
      name === 'accepted'
        ? { 'doctor.kubectl.io/ignore': 'core/stuck-deletion', 'doctor.kubectl.io/ignore-reason': 'vendor ticket 42' }
        : {};
    const labels: Record<string, string> = name === 'labelled' ? { tier: 'web' } : {};
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: ns, finalizers: ['e2e.kubectl-doctor.io/hold'], annotations, labels },
    };
    await create(cm);
    await remove(cm);
  }
  const args = ['-n', ns, '--rules', 'core/stuck-deletion', '--min-age', '0s', '--ignore-gaps', BROKEN_API];
  const r = await doctor([...args, '-o', 'json']);
  const report = parse(r.stdout);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(
    report.findings.map((f) => f.object.name),
    ['labelled', 'reported'],
  );
  assert.deepEqual(
    report.suppressed.map((s) => [s.object.name, s.by, s.reason]),
    [['accepted', 'annotation', 'vendor ticket 42']],
  );

  // -l narrows to the objects with those labels (read from the metadata-only lists too).
  const selected = await doctor([...args, '-l', 'tier=web', '-o', 'name']);
  assert.deepEqual([selected.code, selected.stdout], [1, `core/stuck-deletion ConfigMap/${ns}/labelled\n`]);
  const none = await doctor([...args, '-l', 'tier=db', '-o', 'name']);
  assert.deepEqual([none.code, none.stdout], [0, '']);
});

test('a clean namespace with one unavailable aggregated API: exit 3, exit 0 with --ignore-gaps for it or with --fail-on above the rule', async () => {
  const ns = uniqueName('e2e-gaps');
  await createNamespace(ns);
  await create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fine', namespace: ns } });
  const args = ['-n', ns, '--rules', 'core/stuck-deletion', '--min-age', '0s', '-o', 'json'];

  const strict = await doctor(args);
  const strictReport = parse(strict.stdout);
  assert.equal(strict.code, 3, strict.stderr);
  assert.deepEqual(
    strictReport.rules.map((x) => [x.status, x.gaps?.map((g) => g.resource)]),
    [['partial', [BROKEN_API]]],
  );

  const waived = await doctor([...args, '--ignore-gaps', `pods.metrics.k8s.io,${BROKEN_API}`]);
  const report = parse(waived.stdout);
  assert.equal(waived.code, 0, waived.stderr);
  assert.deepEqual(report.findings, []);
  assert.equal(report.complete, true);
  assert.deepEqual(
    report.rules.map((x) => [x.status, x.incomplete, x.gaps, x.waivedGaps?.map((g) => g.resource)]),
    [['pass', false, undefined, [BROKEN_API]]],
  );

  // The same waiver from the suppression file.
  const file = join(tempDir('pipelines'), 'suppressions.yaml');
  writeFileSync(file, `ignoreGaps: [${BROKEN_API}]\n`);
  const fromFile = await doctor([...args, '--suppressions', file]);
  assert.equal(fromFile.code, 0, fromFile.stderr);

  // The table names the gap once and says how to accept it.
  const table = await doctor(args.slice(0, -2));
  assert.equal(table.code, 3);
  assert.match(table.stdout, /^core\/stuck-deletion +partial +could not read cluster\.core\.oam\.dev\/v1alpha1 \(see GAP\)$/m);
  assert.match(table.stdout, /^cluster\.core\.oam\.dev\/v1alpha1 +api unavailable: cluster\.core\.oam\.dev\/v1alpha1 /m);

  // core/stuck-deletion reports at most "error": with --fail-on critical its gap cannot hide a finding that gates.
  const critical = await doctor([...args, '--fail-on', 'critical']);
  assert.equal(critical.code, 0, critical.stderr);
  assert.equal(parse(critical.stdout).complete, false, 'still said: the report is incomplete');
  const error = await doctor([...args, '--fail-on', 'error']);
  assert.equal(error.code, 3, error.stderr);
});

test('TYPE[/NAME] arguments narrow the findings as kubectl get reads them, resolved through the live discovery', async () => {
  const ns = uniqueName('e2e-target');
  await createNamespace(ns);
  const held = (apiVersion: string, kind: string, name: string, spec?: unknown) => {
    const labels: Record<string, string> = name === 'web' ? { tier: 'web' } : {};
    return {
      apiVersion,
      kind,
      metadata: { name, namespace: ns, finalizers: ['e2e.kubectl-doctor.io/hold'], labels },
      ...(spec !== undefined ? { spec } : {}),
    };
  };
  const objects = [
    held('v1', 'ConfigMap', 'web'),
    held('v1', 'ConfigMap', 'db'),
    held('v1', 'Secret', 'web'),
    // Two groups serve "clusters" (cluster.x-k8s.io and fleet.cattle.io): the group says which.
    held('cluster.x-k8s.io/v1beta1', 'Cluster', 'prod-a', {}),
    held('fleet.cattle.io/v1alpha1', 'Cluster', 'prod-a', {}),
    held('cluster.x-k8s.io/v1beta1', 'Machine', 'm1', { clusterName: 'prod-a', bootstrap: { dataSecretName: 'x' } }),
  ];
  for (const o of objects) await create(o);
  for (const o of objects) await remove(o);
  const scan = (...args: string[]) =>
    doctor(['-n', ns, '--rules', 'core/stuck-deletion', '--min-age', '0s', '--ignore-gaps', BROKEN_API, ...args]);
  /** The findings' objects as apiVersion Kind/name, sorted. */
  const objectsFound = async (...args: string[]) => {
    const r = await scan('-o', 'json', ...args);
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    const report = JSON.parse(r.stdout) as { findings: { object: { apiVersion: string; kind: string; name: string } }[] };
    return report.findings.map((f) => `${f.object.apiVersion} ${f.object.kind}/${f.object.name}`).sort();
  };
  const capi = 'cluster.x-k8s.io/v1beta2 Cluster/prod-a';
  const fleet = 'fleet.cattle.io/v1alpha1 Cluster/prod-a';
  assert.deepEqual(await objectsFound(), [
    capi,
    'cluster.x-k8s.io/v1beta2 Machine/m1',
    fleet,
    'v1 ConfigMap/db',
    'v1 ConfigMap/web',
    'v1 Secret/web',
  ]);
  assert.deepEqual(await objectsFound('configmaps'), ['v1 ConfigMap/db', 'v1 ConfigMap/web'], 'a plural');
  assert.deepEqual(await objectsFound('cm/web'), ['v1 ConfigMap/web'], 'a short name and a name');
  assert.deepEqual(await objectsFound('ConfigMap', 'db'), ['v1 ConfigMap/db'], 'a kind, then names');
  assert.deepEqual(await objectsFound('cm,secret', 'web'), ['v1 ConfigMap/web', 'v1 Secret/web'], 'types, then names');
  assert.deepEqual(await objectsFound('ma'), ['cluster.x-k8s.io/v1beta2 Machine/m1'], "a CRD's short name, from discovery");
  assert.deepEqual(await objectsFound('cm', '-l', 'tier=web'), ['v1 ConfigMap/web'], 'TYPE and -l together');
  assert.deepEqual(await objectsFound('cluster.cluster.x-k8s.io/prod-a'), [capi], 'the group picks one of the two Cluster types');
  assert.deepEqual(await objectsFound('clusters.fleet.cattle.io'), [fleet]);
  assert.deepEqual(
    await objectsFound('clusters.v1beta1.cluster.x-k8s.io'),
    [capi],
    'resource.version.group (any served version names the type)',
  );

  const unknown = await scan('frobnicate/x');
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stdout, '');
  assert.match(
    unknown.stderr,
    /^error: unknown resource type "frobnicate": the cluster serves no such type \(kubectl api-resources lists them\);[^\n]*\n$/,
  );
});
