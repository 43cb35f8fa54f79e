import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import rule from '../../../rules/helm/release-stuck-pending.ts';
import { evidenceAt, loadFixtures, onlyFinding, planRows, runRule } from '../../rule-tester.ts';

const DIR = 'helm/release-stuck-pending';
const CRDS = `${DIR}/crds.yaml`;
const IN_PROGRESS = '"another operation (install/upgrade/rollback) is in progress"';

describe('helm/release-stuck-pending', () => {
  it('reads only the metadata of objects labelled owner=helm: release bodies are never listed', () => {
    assert.deepEqual(rule.meta.reads.secrets, { resource: 'secrets', metadataOnly: true, labelSelector: 'owner=helm' });
    assert.deepEqual(rule.meta.reads.configMaps, {
      resource: 'configmaps',
      metadataOnly: true,
      labelSelector: 'owner=helm',
      optional: true,
    });
  });

  it('broken: a pending-upgrade for 2h over a deployed revision; delete the pending record, helm rollback as the alternative', async () => {
    const { result, findings } = await runRule(rule, [CRDS, `${DIR}/broken-pending-upgrade.yaml`]);
    assert.equal(result.status, 'fail');
    const f = onlyFinding(findings);
    assert.equal(f.severity, 'error');
    assert.deepEqual(f.object, {
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: 'apps',
      name: 'sh.helm.release.v1.web.v3',
      uid: '7e0c1a00-0000-4000-8000-000000000003',
    });
    assert.equal(
      f.message,
      `Helm release apps/web: revision 3 has been pending-upgrade for 2h, so every helm upgrade of it fails with ${IN_PROGRESS}; last deployed revision 2`,
    );
    assert.deepEqual(f.evidence, {
      release: 'web',
      namespace: 'apps',
      storage: 'Secret',
      pendingRevision: 3,
      status: 'pending-upgrade',
      age: { seconds: 7200, human: '2h' },
      threshold: { seconds: 900, human: '15m' },
      lastDeployedRevision: 2,
      pendingRecords: [{ name: 'sh.helm.release.v1.web.v3', revision: 3, status: 'pending-upgrade' }],
      revisions: [
        { revision: 3, status: 'pending-upgrade' },
        { revision: 2, status: 'deployed' },
        { revision: 1, status: 'superseded' },
      ],
      owners: 'none found',
    });
    assert.deepEqual(planRows(f), [
      ['manual', 'safe', true, 'prerequisite', 'helm history web -n apps  # then check the pipelines and controllers that deploy it'],
      ['manual', 'safe', true, 'alternative', 'helm rollback web 2 -n apps'],
      ['delete', 'destructive', true, '', 'kubectl delete secrets sh.helm.release.v1.web.v3 -n apps'],
    ]);
    const del = f.remediation!.steps[2]!.action;
    assert.deepEqual(del.type === 'delete' && del.preconditions, { uid: '7e0c1a00-0000-4000-8000-000000000003', resourceVersion: '1003' });
    assert.equal(f.remediation!.leftTo, 'whoever runs Helm for release apps/web: run the interrupted helm upgrade again');
    assert.doesNotMatch(
      JSON.stringify(findings),
      /UkVMRUFTRS1|looks-like-helm/,
      'no release body, no tenant Secret that only wears the labels',
    );
  });

  it('broken: a pending-install with no deployed revision is left to helm uninstall, by hand; nothing is deleted', async () => {
    const f = onlyFinding((await runRule(rule, [CRDS, `${DIR}/broken-pending-install.yaml`])).findings);
    assert.equal(
      f.message,
      `Helm release data/db: revision 1 has been pending-install for 1h, so every helm upgrade of it fails with ${IN_PROGRESS}; no deployed revision`,
    );
    assert.equal(evidenceAt(f, 'lastDeployedRevision'), 'none');
    assert.deepEqual(planRows(f), [
      ['manual', 'safe', true, 'prerequisite', 'helm history db -n data  # then check the pipelines and controllers that deploy it'],
      ['manual', 'safe', true, 'prerequisite', 'helm uninstall db -n data'],
    ]);
    assert.equal(f.remediation!.leftTo, undefined);
  });

  it('broken: a HelmChart add-on with two pending records (an interrupted upgrade, then an interrupted rollback): both go, newest first; the Job is named', async () => {
    const f = onlyFinding((await runRule(rule, [CRDS, `${DIR}/broken-helmchart.yaml`])).findings);
    assert.equal(f.object.name, 'sh.helm.release.v1.rancher-monitoring.v3');
    assert.match(
      f.message,
      /revision 3 has been pending-rollback for 30m, .*; last deployed revision 1; owner: HelmChart kube-system\/rancher-monitoring$/,
    );
    assert.deepEqual(evidenceAt(f, 'owners'), [
      { kind: 'HelmChart', name: 'rancher-monitoring', namespace: 'kube-system', matchedBy: 'release name and spec.targetNamespace' },
    ]);
    assert.deepEqual(
      planRows(f).map((s) => s[4]),
      [
        'kubectl get pods -n kube-system -l job-name=helm-install-rancher-monitoring  # none Running',
        'helm rollback rancher-monitoring 1 -n cattle-monitoring-system',
        'kubectl delete secrets sh.helm.release.v1.rancher-monitoring.v3 -n cattle-monitoring-system',
        'kubectl delete secrets sh.helm.release.v1.rancher-monitoring.v2 -n cattle-monitoring-system',
      ],
    );
    assert.match(
      f.remediation!.steps[0]!.title,
      /the helm-controller Job helm-install-rancher-monitoring of HelmChart kube-system\/rancher-monitoring has no running pod$/,
    );
    assert.equal(
      f.remediation!.leftTo,
      'the helm-controller: its next helm-install Job for HelmChart kube-system/rancher-monitoring runs the upgrade again',
    );
  });

  it('broken: ConfigMap storage (HELM_DRIVER=configmap) of a Flux HelmRelease; only the pending record above the failed one goes', async () => {
    const f = onlyFinding((await runRule(rule, [CRDS, `${DIR}/broken-flux-configmap.yaml`])).findings);
    assert.deepEqual([f.object.kind, f.object.namespace, f.object.name], ['ConfigMap', 'prod', 'sh.helm.release.v1.prod-podinfo.v5']);
    assert.equal(evidenceAt(f, 'storage'), 'ConfigMap (HELM_DRIVER=configmap)');
    assert.deepEqual(evidenceAt(f, 'owners'), [
      { kind: 'HelmRelease', name: 'podinfo', namespace: 'flux-system', matchedBy: 'release name and storage namespace' },
    ]);
    assert.deepEqual(
      planRows(f).map((s) => s[4]),
      [
        'kubectl get helmreleases.helm.toolkit.fluxcd.io podinfo -n flux-system  # READY is not Unknown',
        'HELM_DRIVER=configmap helm rollback prod-podinfo 3 -n prod',
        'kubectl delete configmaps sh.helm.release.v1.prod-podinfo.v5 -n prod',
      ],
    );
    assert.match(f.remediation!.leftTo ?? '', /^Flux's helm-controller: the next reconcile of HelmRelease flux-system\/podinfo/);
  });

  it("a Flux HelmRelease's spec.releaseName names its release, whatever its targetNamespace", async () => {
    const f = onlyFinding((await runRule(rule, [CRDS, `${DIR}/broken-flux-release-name.yaml`])).findings);
    assert.equal(f.reason, 'never-deployed');
    assert.deepEqual(evidenceAt(f, 'owners'), [
      { kind: 'HelmRelease', name: 'metrics', namespace: 'monitoring', matchedBy: 'release name and storage namespace' },
    ]);
  });

  it('a Fleet BundleDeployment is matched by spec.options.helm.releaseName only, and says so', async () => {
    const objects = loadFixtures(CRDS, `${DIR}/broken-flux-configmap.yaml`).map((o) =>
      o.kind === 'BundleDeployment' ? { ...o, spec: { options: { helm: { releaseName: 'prod-podinfo' } } } } : o,
    );
    const f = onlyFinding((await runRule(rule, objects)).findings);
    assert.deepEqual(
      (evidenceAt(f, 'owners') as { kind: string; matchedBy: string }[]).map((o) => [o.kind, o.matchedBy]),
      [
        ['HelmRelease', 'release name and storage namespace'],
        ['BundleDeployment', 'spec.options.helm.releaseName only'],
      ],
    );
  });

  it("without the owners' APIs the rule still runs and says which owner reads it could not make", async () => {
    const { result, findings } = await runRule(rule, [`${DIR}/broken-pending-upgrade.yaml`]);
    assert.equal(result.status, 'fail');
    assert.deepEqual(evidenceAt(onlyFinding(findings), 'ownerReadsUnavailable'), [
      'api not served: helmcharts.helm.cattle.io',
      'api not served: helmreleases.helm.toolkit.fluxcd.io',
      'api not served: bundledeployments.fleet.cattle.io',
    ]);
  });

  it("-n limits the scan to that namespace's releases", async () => {
    const all = [CRDS, `${DIR}/broken-pending-upgrade.yaml`, `${DIR}/broken-pending-install.yaml`];
    assert.equal((await runRule(rule, all)).findings.length, 2);
    assert.deepEqual(
      (await runRule(rule, all, { namespace: 'data' })).findings.map((f) => f.object.name),
      ['sh.helm.release.v1.db.v1'],
    );
  });

  it('release names from the cluster are quoted in every command', async () => {
    const name = "x';touch /tmp/pwn;'";
    const objects = loadFixtures(`${DIR}/broken-pending-upgrade.yaml`)
      .filter((o) => o.metadata.name !== 'looks-like-helm')
      .map((o) => ({
        ...o,
        metadata: { ...o.metadata, name: o.metadata.name!.replace('.web.', `.${name}.`), labels: { ...o.metadata.labels, name } },
      }));
    const f = onlyFinding((await runRule(rule, objects)).findings);
    assert.deepEqual(
      planRows(f).map((s) => s[4]),
      [
        `helm history 'x'\\'';touch /tmp/pwn;'\\''' -n apps  # then check the pipelines and controllers that deploy it`,
        `helm rollback 'x'\\'';touch /tmp/pwn;'\\''' 2 -n apps`,
        `kubectl delete secrets 'sh.helm.release.v1.x'\\'';touch /tmp/pwn;'\\''.v3' -n apps`,
      ],
    );
  });

  describe('healthy', () => {
    it('an upgrade running for 30 s, an old pending revision below a deployed one, a failed latest, a non-numeric version: silent', async () => {
      const { result, findings } = await runRule(rule, [CRDS, `${DIR}/healthy.yaml`]);
      assert.equal(result.status, 'pass');
      assert.deepEqual(findings, []);
    });

    it('--min-age 0s reports the 30 s pending upgrade, and only it', async () => {
      const f = onlyFinding((await runRule(rule, [CRDS, `${DIR}/healthy.yaml`], { minAgeMs: 0 })).findings);
      assert.equal(f.object.name, 'sh.helm.release.v1.api.v2');
      assert.deepEqual(evidenceAt(f, 'age'), { seconds: 30, human: '30s' });
    });
  });
});
