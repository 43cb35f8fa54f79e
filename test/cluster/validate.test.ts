import assert from 'node:assert/strict';
import { test } from 'node:test';
import { depthExceeds, malformedMetadata, treeDepthExceeds } from '../../src/cluster/validate.ts';
import type { KubeObject } from '../../src/kube/object.ts';

/** `levels` containers nested in each other, alternating maps and lists, with a scalar at the bottom. */
function nested(levels: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i++) value = i % 2 === 0 ? [value, 1] : { a: value, b: 'x' };
  return value;
}

test('the tree walk and the walk that allows shared nodes agree on the depth limit', () => {
  for (const levels of [0, 1, 2, 199, 200, 201, 202, 500]) {
    const value = nested(levels);
    // The root is at depth 0: `levels` containers reach depth levels - 1.
    const expected = levels - 1 > 200;
    assert.equal(depthExceeds(value, 200), expected, `depthExceeds, ${levels} levels`);
    assert.equal(treeDepthExceeds(value, 200), expected, `treeDepthExceeds, ${levels} levels`);
  }
  // Deep on one branch only, next to wide shallow ones.
  const wide = { spec: Array.from({ length: 1000 }, (_, i) => ({ i })), status: { deep: nested(250) } };
  assert.equal(treeDepthExceeds(wide, 200), true);
  assert.equal(treeDepthExceeds({ spec: wide.spec }, 200), false);
  for (const scalar of [null, undefined, 'text', 1, true]) assert.equal(treeDepthExceeds(scalar, 0), false);
});

test('what a live list parses is a tree: the walk is linear in its nodes and never recurses', () => {
  const text = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  assert.equal(treeDepthExceeds(JSON.parse(text), 200), true);
  assert.equal(treeDepthExceeds(JSON.parse(text), 100_000), false);
});

test('metadata of the wrong shape is named; lists of strings and references are checked item by item', () => {
  const obj = (metadata: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata }) as KubeObject;
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'a', uid: 'u' };
  assert.equal(malformedMetadata(obj({ name: 'a', finalizers: ['x', 'y'], ownerReferences: [ref, ref] })), undefined);
  assert.equal(malformedMetadata(obj({ finalizers: ['x', 1] })), 'metadata.finalizers is not a list of strings');
  assert.equal(malformedMetadata(obj({ finalizers: 'x' })), 'metadata.finalizers is not a list of strings');
  for (const bad of [[ref, { ...ref, uid: 1 }], [ref, null], [['v1']], { 0: ref }]) {
    assert.equal(
      malformedMetadata(obj({ ownerReferences: bad })),
      'metadata.ownerReferences is not a list of references with string apiVersion, kind, name and uid',
      JSON.stringify(bad),
    );
  }
  for (const key of ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'generateName']) {
    assert.equal(malformedMetadata(obj({ name: 'a', [key]: 1 })), `metadata.${key} is not a string`, key);
  }
  for (const key of ['generation', 'deletionGracePeriodSeconds']) {
    assert.equal(malformedMetadata(obj({ [key]: '1' })), `metadata.${key} is not a number`, key);
    assert.equal(malformedMetadata(obj({ [key]: null })), undefined, key);
  }
  assert.equal(malformedMetadata(obj({ labels: { a: 1 } })), 'metadata.labels is not a map of strings');
  assert.equal(malformedMetadata(obj({ annotations: ['a'] })), 'metadata.annotations is not a map of strings');
  assert.equal(
    malformedMetadata({ apiVersion: 'v1', kind: 1, metadata: {} } as unknown as KubeObject),
    'apiVersion and kind must be strings',
  );
  assert.equal(malformedMetadata({ apiVersion: 'v1', kind: 'X', metadata: [] } as unknown as KubeObject), 'metadata is not a mapping');
  const emptied = obj({ name: 'a', labels: null, finalizers: null, annotations: null, ownerReferences: null });
  assert.equal(malformedMetadata(emptied), undefined);
  assert.deepEqual(emptied.metadata, { name: 'a' });
});
