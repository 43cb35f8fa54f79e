/**
 * The fields of Cluster API's types that can carry credentials, which `kubectl doctor dump` redacts
 * (src/kube/redact.ts; RuleMeta.dumpRedactions of every rule that reads them in full). Not a rule: it has no default
 * export.
 */
import type { DumpRedaction } from '../../src/kube/redact.ts';

/**
 * sigs.k8s.io/cluster-api v1.14 api/core/v1beta2 cluster_types.go: Topology.Variables and the control plane's,
 * MachineDeployments' and MachinePools' variable overrides are ClusterVariable{name, value: any JSON} the
 * ClusterClass patches into templates, credentials among them where a class asks for one. What the rules read stays:
 * spec.paused and spec.topology's class.
 */
export const CLUSTERS: DumpRedaction = {
  resource: 'clusters.cluster.x-k8s.io',
  fields: [
    { path: 'spec.topology.variables[].value' },
    { path: 'spec.topology.controlPlane.variables.overrides[].value' },
    { path: 'spec.topology.workers.{machineDeployments,machinePools}[].variables.overrides[].value' },
  ],
};
