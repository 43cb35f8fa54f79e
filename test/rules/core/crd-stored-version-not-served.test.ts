import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import rule from '../../../rules/core/crd-stored-version-not-served.ts';
import { loadFixtures, onlyFinding, planRows, ruleTester, runRule } from '../../rule-tester.ts';
import { SnapshotSource } from '../../../src/cluster/snapshot.ts';
import { runScan } from '../../../src/engine/scan.ts';

const DIR = 'core/crd-stored-version-not-served';

ruleTester(rule, {
  valid: [
    {
      name: 'an old version still served (Cluster API v1beta1, deprecated) is the normal state before a migration',
      fixtures: [`${DIR}/healthy-served.yaml`],
    },
    {
      name: 'storedVersions holds only the storage version (after cmctl upgrade migrate-api-version)',
      fixtures: [`${DIR}/healthy-migrated.yaml`],
    },
    {
      name: 'a scan limited with -n reports no CRD: they are cluster-scoped',
      fixtures: [`${DIR}/broken-not-served.yaml`],
      namespace: 'apps',
    },
  ],
  invalid: [
    {
      name: 'cert-manager v1.6: v1alpha2 stored, no longer served, two Certificates',
      fixtures: [`${DIR}/broken-not-served.yaml`],
      findings: [{ reason: 'not-served', object: 'CustomResourceDefinition/certificates.cert-manager.io', severity: 'warning' }],
    },
    {
      name: 'no object of the kind exists',
      fixtures: [`${DIR}/broken-no-objects.yaml`],
      findings: [{ reason: 'not-served', object: 'CustomResourceDefinition/challenges.acme.cert-manager.io', severity: 'warning' }],
    },
    {
      name: 'a stored version missing from spec.versions (written through /status): every CRD update is refused',
      fixtures: [`${DIR}/broken-missing-from-spec.yaml`],
      findings: [{ reason: 'missing-from-spec', object: 'CustomResourceDefinition/widgets.example.com', severity: 'error' }],
    },
    {
      name: 'every fixture together: each CRD on its own, the healthy ones silent',
      fixtures: [
        `${DIR}/broken-not-served.yaml`,
        `${DIR}/broken-no-objects.yaml`,
        `${DIR}/broken-missing-from-spec.yaml`,
        `${DIR}/healthy-served.yaml`,
        `${DIR}/healthy-migrated.yaml`,
      ],
      findings: [
        { reason: 'not-served', object: 'CustomResourceDefinition/certificates.cert-manager.io', severity: 'warning' },
        { reason: 'not-served', object: 'CustomResourceDefinition/challenges.acme.cert-manager.io', severity: 'warning' },
        { reason: 'missing-from-spec', object: 'CustomResourceDefinition/widgets.example.com', severity: 'error' },
      ],
    },
  ],
});

describe('core/crd-stored-version-not-served', () => {
  it('counts objects from the shared metadata-only list of every type, keeping none of them: no read of its own per CRD', () => {
    assert.deepEqual(rule.meta.reads.all, { resource: '*', metadataOnly: true, subset: {} });
    assert.deepEqual(rule.meta.reads.crds, { resource: 'customresourcedefinitions.apiextensions.k8s.io' });
  });

  it('not served: the evidence names the versions, the index the API server refuses, the object count; migrate by hand, then the status patch', async () => {
    const f = onlyFinding((await runRule(rule, [`${DIR}/broken-not-served.yaml`])).findings);
    assert.equal(
      f.message,
      'status.storedVersions still lists v1alpha2, no longer served (storage version v1; 2 Certificate objects), so the upgrade that removes v1alpha2 from spec.versions is refused: status.storedVersions[0]: Invalid value: "v1alpha2": must appear in spec.versions',
    );
    assert.deepEqual(f.evidence, {
      crd: 'certificates.cert-manager.io',
      group: 'cert-manager.io',
      kind: 'Certificate',
      storageVersion: 'v1',
      storedVersions: ['v1alpha2', 'v1'],
      staleVersions: [{ version: 'v1alpha2', index: 0, state: 'not-served' }],
      versions: [
        { name: 'v1alpha2', served: false, storage: false },
        { name: 'v1alpha3', served: false, storage: false },
        { name: 'v1beta1', served: false, storage: false },
        { name: 'v1', served: true, storage: true },
      ],
      conversion: 'Webhook',
      objects: 2,
      refusedWith: {
        'kubernetes<=1.32': 'status.storedVersions[0]: Invalid value: "v1alpha2": must appear in spec.versions',
        'kubernetes>=1.33':
          'status.storedVersions[0]: Invalid value: "v1alpha2": missing from spec.versions; v1alpha2 was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in v1alpha2 and removes v1alpha2 from status.storedVersions',
      },
    });
    assert.deepEqual(planRows(f), [
      ['manual', 'safe', true, 'prerequisite', 'kubectl get certificates.v1.cert-manager.io -A -o json | kubectl replace -f -'],
      [
        'json-patch',
        'destructive',
        true,
        '',
        `kubectl patch customresourcedefinitions.apiextensions.k8s.io certificates.cert-manager.io --subresource=status --type=json -p '[{"op":"test","path":"/metadata/resourceVersion","value":"5001"},{"op":"test","path":"/status/storedVersions","value":["v1alpha2","v1"]},{"op":"replace","path":"/status/storedVersions","value":["v1"]}]'`,
      ],
    ]);
    const patch = f.remediation!.steps[1]!.action;
    assert.equal(
      patch.type === 'json-patch' && patch.subresource,
      'status',
      'storedVersions is written through /status: the main resource ignores status',
    );
  });

  it('no object exists: nothing can be stored in the old version, so the status patch is not gated by a migration', async () => {
    const f = onlyFinding((await runRule(rule, [`${DIR}/broken-no-objects.yaml`])).findings);
    assert.equal(f.evidence.objects, 0);
    assert.deepEqual(
      planRows(f).map((s) => [s[0], s[1]]),
      [['json-patch', 'destructive']],
    );
    assert.match(f.remediation!.steps[0]!.title, /^No Challenge object exists, so nothing is stored in v1alpha2: /);
  });

  it('missing from spec.versions: reported as an error, the whole list replaced by the storage version', async () => {
    const f = onlyFinding((await runRule(rule, [`${DIR}/broken-missing-from-spec.yaml`])).findings);
    assert.equal(
      f.message,
      'status.storedVersions lists v1alpha3, which spec.versions does not contain, so every update of the CRD is refused (status.storedVersions[2]: Invalid value: "v1alpha3": must appear in spec.versions); 1 Widget object',
    );
    assert.deepEqual(f.evidence.staleVersions, [{ version: 'v1alpha3', index: 2, state: 'missing-from-spec' }]);
    const patch = f.remediation!.steps.at(-1)!.action;
    assert.deepEqual(patch.type === 'json-patch' && patch.patch, [
      { op: 'test', path: '/status/storedVersions', value: ['v1beta1', 'v1', 'v1alpha3'] },
      { op: 'replace', path: '/status/storedVersions', value: ['v1'] },
    ]);
  });

  it('an object count that cannot be had is said, and the migration step stays', async () => {
    // A dump that holds the CRDs but says nothing of Certificates: what it lacks is unknown, not absent.
    const objects = loadFixtures(`${DIR}/broken-not-served.yaml`).filter((o) => o.kind === 'CustomResourceDefinition');
    const source = new SnapshotSource(objects, { coverage: [{ resource: 'customresourcedefinitions.apiextensions.k8s.io' }] });
    const scan = await runScan(source, {
      rules: [rule],
      now: new Date('2026-11-22T12:00:00Z'),
      minAgeMs: undefined,
      namespace: undefined,
      concurrency: 1,
    });
    const f = onlyFinding(scan.findings);
    assert.match(String(f.evidence.objects), /^unknown: /);
    assert.match(f.message, /object count unknown/);
    assert.equal(f.remediation!.steps[0]!.action.type, 'manual');
  });

  it('a deleting CRD is left to core/stuck-deletion; a CRD without a storage version is not judged', async () => {
    const [crd] = loadFixtures(`${DIR}/broken-no-objects.yaml`);
    const deleting = { ...crd!, metadata: { ...crd!.metadata, deletionTimestamp: '2026-11-22T11:00:00Z', finalizers: ['x'] } };
    assert.deepEqual((await runRule(rule, [deleting])).findings, []);
    const noStorage = structuredClone(crd!) as unknown as { spec: { versions: { storage: boolean }[] } };
    for (const v of noStorage.spec.versions) v.storage = false;
    assert.deepEqual((await runRule(rule, [noStorage as never])).findings, []);
  });

  it('hostile names are quoted in the migration command', async () => {
    const objects = loadFixtures(`${DIR}/broken-not-served.yaml`).map((o) =>
      o.kind === 'CustomResourceDefinition'
        ? ({
            ...o,
            spec: { ...(o as unknown as { spec: object }).spec, names: { kind: 'Certificate', plural: "certs'; rm -rf /" } },
          } as never)
        : o,
    );
    const f = onlyFinding((await runRule(rule, objects)).findings);
    assert.equal(
      f.remediation!.steps[0]!.command,
      `kubectl get 'certs'\\''; rm -rf /.v1.cert-manager.io' -A -o json | kubectl replace -f -`,
    );
  });
});
