// A foreground deletion stuck on its dependents, on a real API server: the owner carries the foregroundDeletion
// finalizer, a deletionTimestamp, and blockOwnerDeletion dependents that nothing deletes. The harness's API server
// runs without garbage collection (a Foreground DELETE there removes the object at once), so the owner is created
// with the finalizer the API server adds on a Foreground DELETE, then deleted: the state the garbage collector
// leaves while it waits. The scan keeps of the every-type lists only what its rules
// look at (src/engine/keep.ts): the dependents of a foreground deletion are among them, whichever list the owner and
// the dependents come in, while the objects of the same types that block nothing are only counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueName } from '../harness/env.ts';
import { create, createNamespace, doctor, parseReport, raw } from './kube.ts';

test('a foreground deletion names the dependents that block it; the other objects of their types are counted, not kept', async () => {
  const ns = uniqueName('e2e-foreground');
  await createNamespace(ns);
  const owner = await create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'owner', namespace: ns, finalizers: ['foregroundDeletion'] },
  });
  const ref = (blockOwnerDeletion: boolean) => [
    { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid!, blockOwnerDeletion },
  ];
  await create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'blocks', namespace: ns, ownerReferences: ref(true) } });
  await create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'owned-not-blocking', namespace: ns, ownerReferences: ref(false) } });
  await create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'unrelated', namespace: ns } });
  await raw('DELETE', `/api/v1/namespaces/${ns}/configmaps/owner`, {
    kind: 'DeleteOptions',
    apiVersion: 'v1',
    propagationPolicy: 'Foreground',
  });
  const deleting = await raw('GET', `/api/v1/namespaces/${ns}/configmaps/owner`);
  assert.deepEqual(deleting.metadata.finalizers, ['foregroundDeletion'], 'the API server holds the owner for its dependents');

  const result = await doctor(['-n', ns, '--rules', 'core/stuck-deletion', '--min-age', '0s', '-v', '-o', 'json']);
  const report = parseReport(result);
  const finding = report.findings.find((f) => f.object.kind === 'ConfigMap' && f.object.name === 'owner');
  assert.ok(finding, JSON.stringify(report.findings.map((f) => f.object)));
  const finalizers = finding.evidence.finalizers as { name: string; blockingDependents?: string[] }[];
  assert.deepEqual(finalizers, [{ ...finalizers[0], name: 'foregroundDeletion', blockingDependents: [`Secret/${ns}/blocks`] }]);
  assert.match(
    finding.remediation!.steps[0]!.title,
    new RegExp(`^Resolve the dependents that block ConfigMap/${ns}/owner \\(blockOwnerDeletion=true\\): Secret/${ns}/blocks$`),
  );
  // Three Secrets listed, one kept (as a reference to the deletion it blocks).
  const secrets = result.stderr.split('\n').find((l) => l.startsWith('doctor: list secrets '));
  assert.match(secrets ?? '', /: 3 items \(1 kept\), 1 pages /, result.stderr.slice(-2000));
});
