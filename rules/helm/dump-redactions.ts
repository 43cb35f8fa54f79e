/**
 * The fields of the Helm controllers' types that can carry credentials, which `kubectl doctor dump` redacts
 * (src/kube/redact.ts; RuleMeta.dumpRedactions of every rule that reads them in full). Not a rule: it has no default
 * export.
 */
import type { DumpRedaction } from '../../src/kube/redact.ts';

/**
 * k3s-io/helm-controller v0.17.7 pkg/apis/helm.cattle.io/v1/types.go HelmChartSpec: the chart's values inline
 * (valuesContent, values) and as `--set` overrides (set, map[string]IntOrString: keys stay), and chartContent, a whole
 * chart archive (base64 .tgz) with its default values. valuesSecrets and authSecret only name Secrets; repoCA is a
 * public certificate. What the rules read stays: spec.repo/chart/version/targetNamespace, status.jobName;
 * valuesContent is only compared (harvester/addon-stuck-enabling: sameText).
 */
export const HELM_CHARTS: DumpRedaction = {
  resource: 'helmcharts.helm.cattle.io',
  fields: [{ path: 'spec.valuesContent' }, { path: 'spec.values' }, { path: 'spec.set.*' }, { path: 'spec.chartContent' }],
};

/**
 * fluxcd/helm-controller api/v2 HelmReleaseSpec.Values (apiextensionsv1.JSON); valuesFrom only names objects. What
 * the rules read stays: spec.releaseName/targetNamespace/storageNamespace.
 */
export const HELM_RELEASES: DumpRedaction = { resource: 'helmreleases.helm.toolkit.fluxcd.io', fields: [{ path: 'spec.values' }] };
