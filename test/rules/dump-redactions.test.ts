// Which fields of a product's types carry credentials is declared by the rules that read those types
// (RuleMeta.dumpRedactions); src/kube/redact.ts knows only Kubernetes' own. What a dump does with them:
// test/cluster/dump.test.ts, test/e2e/dump.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allRules } from '../../rules/index.ts';
import { dumpRedactor, type DumpRedaction } from '../../src/kube/redact.ts';
import { redactorOf } from '../../src/cli/dump.ts';

/** Every declaration of the shipped rules, by resource type, with the rules that declare it. */
function declarations(): Map<string, Map<DumpRedaction, string[]>> {
  const byType = new Map<string, Map<DumpRedaction, string[]>>();
  for (const rule of allRules)
    for (const d of rule.meta.dumpRedactions ?? []) {
      const of = byType.get(d.resource) ?? new Map<DumpRedaction, string[]>();
      byType.set(d.resource, of);
      of.set(d, [...(of.get(d) ?? []), rule.meta.id]);
    }
  return byType;
}

test('a type several rules read in full is declared once, and every rule that reads it in full declares it', () => {
  const byType = declarations();
  assert.ok(byType.size >= 10, [...byType.keys()].join(', '));
  for (const [resource, declared] of byType)
    if (resource !== '*') assert.equal(declared.size, 1, `${resource}: declared by ${[...declared.values()].join(' and ')} separately`);
  for (const rule of allRules) {
    const own = new Set(rule.meta.dumpRedactions ?? []);
    const readInFull = new Set(
      Object.values(rule.meta.reads)
        .filter((r) => r.resource !== '*' && !r.metadataOnly)
        .map((r) => r.resource),
    );
    for (const resource of readInFull) {
      const declared = byType.get(resource);
      if (declared)
        assert.ok(own.has([...declared.keys()][0]!), `${rule.meta.id} reads ${resource} in full but does not declare its redactions`);
    }
    for (const d of own)
      assert.ok(d.resource === '*' || readInFull.has(d.resource), `${rule.meta.id} declares ${d.resource}, which it does not read in full`);
  }
  // The types read by more than one rule, so the checks above have something to check.
  for (const resource of [
    'helmcharts.helm.cattle.io',
    'settings.harvesterhci.io',
    'clusters.cluster.x-k8s.io',
    'bundledeployments.fleet.cattle.io',
  ])
    assert.ok([...byType.get(resource)!.values()][0]!.length >= 2, resource);
});

test('src/ redacts only what is Kubernetes-generic; the product fields come from the rules', () => {
  const generic = dumpRedactor([]);
  assert.deepEqual(generic.everyObject, [
    'metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]',
    'data.* and stringData.* of any Secret manifest inside another object',
  ]);
  assert.equal(generic.fieldsOf('pods').length, 7);
  assert.deepEqual(generic.fieldsOf('secrets'), ['data.*', 'stringData.*']);
  const shipped = redactorOf(allRules);
  for (const resource of declarations().keys()) {
    if (resource === '*') continue;
    assert.deepEqual(generic.fieldsOf(resource), [], resource);
    assert.ok(shipped.fieldsOf(resource).length > 0, resource);
  }
  const addon = {
    apiVersion: 'harvesterhci.io/v1beta1',
    kind: 'Addon',
    metadata: { name: 'a', annotations: { 'objectset.rio.cattle.io/applied': 'x' } },
    spec: { valuesContent: 'password: x' },
  };
  assert.equal(generic.redact(addon, 'addons.harvesterhci.io'), addon);
  assert.notDeepEqual(shipped.redact(addon, 'addons.harvesterhci.io'), addon);
});

test('a declaration with a path the redaction cannot read fails when the rules are put together', () => {
  assert.throws(
    () => dumpRedactor([{ resource: 'widgets.example.com', fields: [{ path: 'spec..values' }] }]),
    /redaction path spec\.\.values: cannot read \.values/,
  );
  assert.throws(
    () => dumpRedactor([{ resource: 'widgets.example.com', fields: [{ path: 'spec', keep: ['a[b'] }] }]),
    /redaction path a\[b: cannot read/,
  );
});
