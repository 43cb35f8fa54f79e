/**
 * The fields of KubeVela's types that can carry credentials, which `kubectl doctor dump` redacts
 * (src/kube/redact.ts; RuleMeta.dumpRedactions of every rule that reads them in full). Not a rule: it has no default
 * export.
 */
import type { KubeObject } from '../../src/kube/object.ts';
import type { DumpRedaction } from '../../src/kube/redact.ts';
import { trackerEntries } from './clusters.ts';

/**
 * vela-core's copy of what it applied, on every object an Application deploys (kubevela/kubevela pkg/oam/labels.go
 * AnnotationLastAppliedConfig, set in pkg/utils/apply/patch.go). No rule reads it.
 */
export const VELA_APPLIED: DumpRedaction = {
  resource: '*',
  fields: [{ path: 'metadata.annotations["app.oam.dev/last-applied-configuration"]' }],
};

/**
 * KubeVela properties kept: what the rules read (cluster names, placements) and the rest of a topology's placement
 * (cluster labels, namespace); every other property is redacted on its own.
 */
const POLICY_KEPT = ['clusters', 'clusterLabelSelector', 'clusterSelector', 'namespace', 'allowEmpty', 'envs[].name', 'envs[].placement'];
const STEP_KEPT = ['cluster', 'policies', 'inlinePolicies[].type', 'inlinePolicies[].name', 'inlinePolicies[].properties.clusters'];

/**
 * KubeVela Applications (kubevela/kubevela v1.11 apis/core.oam.dev/v1beta1 ApplicationSpec): component and trait
 * properties are whatever the definitions take (env values, Helm values, passwords); policy and workflow step
 * properties too (an override policy's component properties, a notification step's webhook URL, an apply-object
 * step's object). Step groups nest one level (subSteps, kubevela/workflow api/v1alpha1 WorkflowStep). What the rules
 * read stays: the policies' cluster lists and placements, workflow steps' cluster and inline topology policies,
 * status.
 */
export const APPLICATIONS: DumpRedaction = {
  resource: 'applications.core.oam.dev',
  fields: [
    { path: 'spec.components[].properties' },
    { path: 'spec.components[].traits[].properties' },
    { path: 'spec.policies[].properties', keep: POLICY_KEPT },
    { path: 'spec.workflow.steps[].properties', keep: STEP_KEPT },
    { path: 'spec.workflow.steps[].subSteps[].properties', keep: STEP_KEPT },
  ],
};

/**
 * kubevela/kubevela v1.11 apis/core.oam.dev/v1beta1/resourcetracker_types.go: each ManagedResource carries `raw`, the
 * whole manifest applied (Secrets, Deployments with their env). A compressed tracker (ResourceTrackerSpec.MarshalJSON)
 * holds the same list as base64 gzip/zstd JSON in spec.compression.data: the dump writes it decoded as
 * spec.managedResources, where the rule reads it (trackerEntries), and the data's marker instead of the data. What
 * the rules read of each entry stays: cluster, kind, name, namespace, deleted (not `raw`).
 */
export const RESOURCE_TRACKERS: DumpRedaction = {
  resource: 'resourcetrackers.core.oam.dev',
  fields: [{ path: 'spec.compression.data' }, { path: 'spec.managedResources[].raw' }],
  unpack: decodedTracker,
};

/**
 * A compressed ResourceTracker with its entries decoded into spec.managedResources (their `raw` is redacted next).
 * One the dump cannot decode keeps no entries: its data is redacted whole, and the rule says it cannot read it.
 */
function decodedTracker(rt: KubeObject): KubeObject {
  const decoded = trackerEntries(rt);
  if (!decoded.ok || decoded.compression === undefined || decoded.redacted) return rt;
  return { ...rt, spec: { ...(rt.spec as Record<string, unknown>), managedResources: decoded.entries } };
}
