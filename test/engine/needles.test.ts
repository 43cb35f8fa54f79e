// What a `*` list's objects must hold in their JSON text to be parsed at all (ListRequest.keepNeedles, read by
// src/cluster/metadata-page.ts): subset.test.ts checks in every scenario that each object kept holds one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonKeyNeedles, SubsetKeeper } from '../../src/engine/keep.ts';
import { requiredLabel } from '../../src/kube/selector.ts';
import type { KubeObject } from '../../src/kube/object.ts';

test('a selector requires the label of its first key=value or key in (...), else of its first key; none for negations only', () => {
  assert.deepEqual(requiredLabel('owner=helm'), { key: 'owner', values: ['helm'] });
  assert.deepEqual(requiredLabel('!a,tier in (web, db),b'), { key: 'tier', values: ['web', 'db'] });
  assert.deepEqual(requiredLabel('!a,app.kubernetes.io/name'), { key: 'app.kubernetes.io/name' });
  assert.equal(requiredLabel('!a,b!=c,d notin (e)'), undefined);
});

test('a key is looked for as JSON writes it, with its value when one is required, and with `/` escaped too', () => {
  assert.deepEqual(jsonKeyNeedles('owner', ['helm']), ['"owner":"helm"']);
  assert.deepEqual(jsonKeyNeedles('a.io/b'), ['"a.io/b":', '"a.io\\/b":']);
  assert.deepEqual(jsonKeyNeedles('a.io/b', ['x', 'y']), ['"a.io/b":"x"', '"a.io\\/b":"x"', '"a.io/b":"y"', '"a.io\\/b":"y"']);
});

test('the needles of a subset: deletion always, the others as declared; none while the namespaces being deleted are unknown', () => {
  assert.deepEqual(new SubsetKeeper({ deleting: true }).needles(), ['"deletionTimestamp"']);
  assert.deepEqual(new SubsetKeeper({ annotated: ['x.io/moved'], blockingDependents: true }).needles(), [
    '"deletionTimestamp"',
    '"blockOwnerDeletion"',
    '"x.io/moved":',
    '"x.io\\/moved":',
  ]);
  const keeper = new SubsetKeeper({ deleting: true, inDeletingNamespaces: true });
  assert.equal(keeper.needles(), undefined);
  const ns = (name: string, deleting: boolean): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, ...(deleting ? { deletionTimestamp: '2026-11-30T00:00:00Z' } : {}) },
  });
  for (const n of [ns('kept', false), ns('gone', true)]) keeper.subset(n);
  keeper.namespacesListed();
  assert.deepEqual(keeper.needles(), ['"deletionTimestamp"', '"namespace":"gone"']);
});
