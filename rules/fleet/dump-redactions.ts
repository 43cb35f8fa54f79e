/**
 * The fields of Fleet's types (and of Rancher's ManagedChart, a Fleet bundle) that can carry credentials, which
 * `kubectl doctor dump` redacts (src/kube/redact.ts; RuleMeta.dumpRedactions of every rule that reads them in full).
 * Not a rule: it has no default export.
 */
import type { DumpRedaction, FieldRedaction } from '../../src/kube/redact.ts';

/**
 * Fleet's drift report: `modifiedStatus[].patch` is the merge patch from the deployed to the desired object, a
 * Secret's data included (rancher/fleet v0.16 internal/cmd/agent/deployer/monitor/updatestatus.go; its test has
 * `{"data": {"foo": "bar"}`). BundleDeployments carry it in status, Bundles, GitRepos and ManagedCharts in their
 * summaries of non-ready resources (pkg/apis/fleet.cattle.io/v1alpha1 BundleSummary.NonReadyResources).
 */
const SUMMARY_PATCHES: readonly FieldRedaction[] = [
  { path: 'status.summary.nonReadyResources[].modifiedStatus[].patch' },
  { path: 'status.partitions[].summary.nonReadyResources[].modifiedStatus[].patch' },
];

/**
 * Fleet Helm options (rancher/fleet v0.16 pkg/apis/fleet.cattle.io/v1alpha1 HelmOptions): `values` and
 * `templateValues` are the chart's values. Fleet >= 0.10 moves a Bundle's and a BundleDeployment's values into
 * Secrets and clears them (pkg/helmvalues/extract.go ClearValues, ClearOptions), but Bundles made another way (older
 * Fleet, Rancher's ManagedCharts, by hand) keep them inline. `valuesFrom` only names ConfigMaps and Secrets (ValuesFrom:
 * name, namespace, key) and stays, as do `valuesFiles` (file names).
 */
function helmValues(options: string): FieldRedaction[] {
  return [{ path: `${options}.helm.values` }, { path: `${options}.helm.templateValues.*` }];
}

/** What the rules read stays: spec.valuesHash/waitingForValues/deploymentID/options.helm.releaseName, status. */
export const BUNDLE_DEPLOYMENTS: DumpRedaction = {
  resource: 'bundledeployments.fleet.cattle.io',
  fields: [...helmValues('spec.options'), ...helmValues('spec.stagedOptions'), { path: 'status.modifiedStatus[].patch' }],
};

/**
 * A Bundle's resources are the files of its path in the git repository (BundleResource: name, content, encoding):
 * manifests and values files, Secrets among them as anyone committed them. What the rules read stays: spec.valuesHash,
 * status.
 */
export const BUNDLES: DumpRedaction = {
  resource: 'bundles.fleet.cattle.io',
  fields: [...helmValues('spec'), ...helmValues('spec.targets[]'), { path: 'spec.resources[].content' }, ...SUMMARY_PATCHES],
};

export const GITREPOS: DumpRedaction = { resource: 'gitrepos.fleet.cattle.io', fields: [...SUMMARY_PATCHES] };

/**
 * rancher/rancher pkg/apis/management.cattle.io/v3 ManagedChartSpec: Values *fleet.GenericMap, Targets
 * []fleet.BundleTarget (each with Helm options); its status is a fleet BundleStatus. What the rules read stays:
 * spec.paused.
 */
export const MANAGED_CHARTS: DumpRedaction = {
  resource: 'managedcharts.management.cattle.io',
  fields: [{ path: 'spec.values' }, ...helmValues('spec.targets[]'), ...SUMMARY_PATCHES],
};
