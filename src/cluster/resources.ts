/** A resource type as discovery describes it. */
export interface ResourceType {
  group: string;
  version: string;
  /** The plural, lower-case resource name: `applications`. */
  resource: string;
  kind: string;
  namespaced: boolean;
  /** Verbs from discovery; empty when unknown (snapshots). */
  verbs: string[];
  /** The singular name (`application`) and short names (`app`) discovery or a CRD gives, for TYPE arguments. */
  singular?: string;
  shortNames?: string[];
}

/**
 * The name kubectl uses for a resource across versions: `pods`, `deployments.apps`,
 * `applications.core.oam.dev`. Rules declare their reads with it and skip reasons print it.
 */
export function resourceName(type: { group: string; resource: string }): string {
  return type.group ? `${type.resource}.${type.group}` : type.resource;
}

/** `applications.core.oam.dev` -> { resource: 'applications', group: 'core.oam.dev' }. */
export function parseResourceName(name: string): { group: string; resource: string } {
  const dot = name.indexOf('.');
  return dot < 0 ? { group: '', resource: name } : { resource: name.slice(0, dot), group: name.slice(dot + 1) };
}

export function apiVersionOf(type: { group: string; version: string }): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** The URL path of a collection: `/api/v1/namespaces/ns/pods`, `/apis/apps/v1/deployments`. */
export function collectionPath(type: ResourceType, namespace?: string): string {
  const base = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  const ns = type.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${type.resource}`;
}

/** The URL path of one object, optionally of its subresource. */
export function objectPath(type: ResourceType, namespace: string | undefined, name: string, subresource?: string): string {
  const base = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  const ns = type.namespaced ? `/namespaces/${encodeURIComponent(namespace ?? '')}` : '';
  return `${base}${ns}/${type.resource}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`;
}

/**
 * API groups that every Kubernetes API server serves. A snapshot counts them as served even when it holds
 * none of their objects (a dump may simply have none).
 */
export const BUILT_IN_GROUPS: ReadonlySet<string> = new Set([
  '',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'apps',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
]);

type BuiltIn = [kind: string, resource: string, group: string, version: string, namespaced: boolean];

/** Built-in resource types a snapshot may hold or a rule may read (the listable ones). */
const BUILT_IN_TYPES: BuiltIn[] = [
  ['Binding', 'bindings', '', 'v1', true],
  ['ConfigMap', 'configmaps', '', 'v1', true],
  ['Endpoints', 'endpoints', '', 'v1', true],
  ['Event', 'events', '', 'v1', true],
  ['LimitRange', 'limitranges', '', 'v1', true],
  ['Namespace', 'namespaces', '', 'v1', false],
  ['Node', 'nodes', '', 'v1', false],
  ['PersistentVolumeClaim', 'persistentvolumeclaims', '', 'v1', true],
  ['PersistentVolume', 'persistentvolumes', '', 'v1', false],
  ['Pod', 'pods', '', 'v1', true],
  ['PodTemplate', 'podtemplates', '', 'v1', true],
  ['ReplicationController', 'replicationcontrollers', '', 'v1', true],
  ['ResourceQuota', 'resourcequotas', '', 'v1', true],
  ['Secret', 'secrets', '', 'v1', true],
  ['ServiceAccount', 'serviceaccounts', '', 'v1', true],
  ['Service', 'services', '', 'v1', true],
  ['MutatingWebhookConfiguration', 'mutatingwebhookconfigurations', 'admissionregistration.k8s.io', 'v1', false],
  ['ValidatingWebhookConfiguration', 'validatingwebhookconfigurations', 'admissionregistration.k8s.io', 'v1', false],
  ['ValidatingAdmissionPolicy', 'validatingadmissionpolicies', 'admissionregistration.k8s.io', 'v1', false],
  ['ValidatingAdmissionPolicyBinding', 'validatingadmissionpolicybindings', 'admissionregistration.k8s.io', 'v1', false],
  ['CustomResourceDefinition', 'customresourcedefinitions', 'apiextensions.k8s.io', 'v1', false],
  ['APIService', 'apiservices', 'apiregistration.k8s.io', 'v1', false],
  ['ControllerRevision', 'controllerrevisions', 'apps', 'v1', true],
  ['DaemonSet', 'daemonsets', 'apps', 'v1', true],
  ['Deployment', 'deployments', 'apps', 'v1', true],
  ['ReplicaSet', 'replicasets', 'apps', 'v1', true],
  ['StatefulSet', 'statefulsets', 'apps', 'v1', true],
  ['HorizontalPodAutoscaler', 'horizontalpodautoscalers', 'autoscaling', 'v2', true],
  ['CronJob', 'cronjobs', 'batch', 'v1', true],
  ['Job', 'jobs', 'batch', 'v1', true],
  ['CertificateSigningRequest', 'certificatesigningrequests', 'certificates.k8s.io', 'v1', false],
  ['Lease', 'leases', 'coordination.k8s.io', 'v1', true],
  ['EndpointSlice', 'endpointslices', 'discovery.k8s.io', 'v1', true],
  ['FlowSchema', 'flowschemas', 'flowcontrol.apiserver.k8s.io', 'v1', false],
  ['PriorityLevelConfiguration', 'prioritylevelconfigurations', 'flowcontrol.apiserver.k8s.io', 'v1', false],
  ['IngressClass', 'ingressclasses', 'networking.k8s.io', 'v1', false],
  ['Ingress', 'ingresses', 'networking.k8s.io', 'v1', true],
  ['NetworkPolicy', 'networkpolicies', 'networking.k8s.io', 'v1', true],
  ['RuntimeClass', 'runtimeclasses', 'node.k8s.io', 'v1', false],
  ['PodDisruptionBudget', 'poddisruptionbudgets', 'policy', 'v1', true],
  ['ClusterRoleBinding', 'clusterrolebindings', 'rbac.authorization.k8s.io', 'v1', false],
  ['ClusterRole', 'clusterroles', 'rbac.authorization.k8s.io', 'v1', false],
  ['RoleBinding', 'rolebindings', 'rbac.authorization.k8s.io', 'v1', true],
  ['Role', 'roles', 'rbac.authorization.k8s.io', 'v1', true],
  ['PriorityClass', 'priorityclasses', 'scheduling.k8s.io', 'v1', false],
  ['CSIDriver', 'csidrivers', 'storage.k8s.io', 'v1', false],
  ['CSINode', 'csinodes', 'storage.k8s.io', 'v1', false],
  ['CSIStorageCapacity', 'csistoragecapacities', 'storage.k8s.io', 'v1', true],
  ['StorageClass', 'storageclasses', 'storage.k8s.io', 'v1', false],
  ['VolumeAttachment', 'volumeattachments', 'storage.k8s.io', 'v1', false],
];

/** The short names kube-apiserver's discovery gives built-in types (their REST storage's ShortNames()). */
const BUILT_IN_SHORT_NAMES: Record<string, string[]> = {
  configmaps: ['cm'],
  endpoints: ['ep'],
  events: ['ev'],
  limitranges: ['limits'],
  namespaces: ['ns'],
  nodes: ['no'],
  persistentvolumeclaims: ['pvc'],
  persistentvolumes: ['pv'],
  pods: ['po'],
  replicationcontrollers: ['rc'],
  resourcequotas: ['quota'],
  serviceaccounts: ['sa'],
  services: ['svc'],
  'customresourcedefinitions.apiextensions.k8s.io': ['crd', 'crds'],
  'daemonsets.apps': ['ds'],
  'deployments.apps': ['deploy'],
  'replicasets.apps': ['rs'],
  'statefulsets.apps': ['sts'],
  'horizontalpodautoscalers.autoscaling': ['hpa'],
  'cronjobs.batch': ['cj'],
  'certificatesigningrequests.certificates.k8s.io': ['csr'],
  'ingresses.networking.k8s.io': ['ing'],
  'networkpolicies.networking.k8s.io': ['netpol'],
  'poddisruptionbudgets.policy': ['pdb'],
  'priorityclasses.scheduling.k8s.io': ['pc'],
  'storageclasses.storage.k8s.io': ['sc'],
};

export const builtInTypes: readonly ResourceType[] = BUILT_IN_TYPES.map(([kind, resource, group, version, namespaced]) => {
  const shortNames = BUILT_IN_SHORT_NAMES[resourceName({ group, resource })];
  return { kind, resource, group, version, namespaced, verbs: [], singular: kind.toLowerCase(), ...(shortNames ? { shortNames } : {}) };
});

/**
 * kubectl's fallback for a kind it has no discovery for (UnsafeGuessKindToResource):
 * lower-case, then `y` -> `ies`, `s`/`x`/`z`/`ch`/`sh` -> `es`, else `s`.
 */
export function guessResourceForKind(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith('endpoints')) return lower;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  return `${lower}s`;
}
