// A big broken cluster, as objects: what the scale tests scan in memory and scripts/big-dump.ts writes as a
// `kubectl doctor dump`. Its shapes are the rules' fixtures (test/fixtures/<rule-id>/) repeated, so a scan of it
// exercises each rule's big case: many findings, one finding over many objects, many findings led by one cause.
import type { KubeObject } from '../../src/kube/object.ts';

/** The clock the big cluster was captured at: every deletion in it is hours old. */
export const BIG_CLUSTER_NOW = '2026-11-22T12:00:00Z';

export interface BigClusterShape {
  /** ConfigMaps stuck deleting on a finalizer nobody removes, spread over `namespaces` active namespaces. */
  stuck: number;
  /** Namespaces the stuck objects are spread over. */
  namespaces: number;
  /** Objects (PVCs and Widgets) stuck deleting inside one namespace that is being deleted (`doomed`). */
  inDeletingNamespace: number;
  /** Deployments deleting in the foreground, each waiting for its ReplicaSet (blockOwnerDeletion). */
  foreground: number;
  /** Machines (with a DockerMachine each) of one paused, deleting Cluster API Cluster. */
  machines: number;
  /** Namespaces Terminating behind one unavailable APIService (discovery of metrics.k8s.io fails). */
  terminating: number;
  /** Fleet BundleDeployments whose values Secret is missing. */
  bundleDeployments: number;
  /** Custom resource types (CRDs), each with one object stuck on a finalizer of its own group: many types, many owners. */
  customTypes: number;
}

/** About `n` broken objects in the proportions of a real incident: most stuck deletions, a few of each other kind. */
export function bigClusterShape(n: number): BigClusterShape {
  return {
    stuck: Math.round(n / 4),
    namespaces: Math.max(1, Math.round(n / 100)),
    inDeletingNamespace: Math.round(n / 4),
    foreground: Math.round(n / 8),
    machines: Math.round(n / 8),
    terminating: Math.round(n / 20),
    bundleDeployments: Math.round(n / 20),
    customTypes: Math.round(n / 40),
  };
}

const HOURS_AGO = (h: number, s = 0) =>
  new Date(Date.parse(BIG_CLUSTER_NOW) - h * 3_600_000 + s * 1000).toISOString().replace('.000Z', 'Z');

/** The objects of a big broken cluster of the given shape, in a stable order. */
export function bigCluster(shape: BigClusterShape): KubeObject[] {
  const objects: KubeObject[] = [];
  const add = (obj: Record<string, unknown>) => objects.push(obj as unknown as KubeObject);
  let rv = 1000;
  const meta = (m: Record<string, unknown>) => ({ uid: `uid-${rv}`, resourceVersion: String(rv++), ...m });
  const crd = (group: string, plural: string, kind: string, labels: Record<string, string> = {}, version = 'v1') =>
    add({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: meta({ name: `${plural}.${group}`, labels }),
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural, singular: kind.toLowerCase(), kind },
        versions: [{ name: version, served: true, storage: true }],
      },
    });
  const namespace = (name: string, extra: Record<string, unknown> = {}) =>
    add({ apiVersion: 'v1', kind: 'Namespace', metadata: meta({ name }), status: { phase: 'Active' }, ...extra });

  // Custom types and the controllers that own their finalizers.
  crd('example.com', 'widgets', 'Widget', {}, 'v1');
  const capi = { 'cluster.x-k8s.io/provider': 'cluster-api' };
  crd('cluster.x-k8s.io', 'clusters', 'Cluster', capi, 'v1beta2');
  crd('cluster.x-k8s.io', 'machines', 'Machine', capi, 'v1beta2');
  crd(
    'infrastructure.cluster.x-k8s.io',
    'dockermachines',
    'DockerMachine',
    { 'cluster.x-k8s.io/provider': 'infrastructure-docker' },
    'v1beta2',
  );
  crd('fleet.cattle.io', 'bundledeployments', 'BundleDeployment', {}, 'v1alpha1');
  crd('fleet.cattle.io', 'bundles', 'Bundle', {}, 'v1alpha1');
  crd('fleet.cattle.io', 'gitrepos', 'GitRepo', {}, 'v1alpha1');
  for (const ns of ['kube-system', 'capi-system', 'capd-system', 'cattle-fleet-system', 'fleet', 'fleet-default']) namespace(ns);
  const deployment = (ns: string, name: string, labels: Record<string, string>, image: string) =>
    add({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta({ name, namespace: ns, labels }),
      spec: { replicas: 1, template: { spec: { containers: [{ name: 'manager', image, args: ['--leader-elect'] }] } } },
      status: { replicas: 1, readyReplicas: 1, availableReplicas: 1 },
    });
  deployment('capi-system', 'capi-controller-manager', capi, 'registry.k8s.io/cluster-api/cluster-api-controller:v1.10.0');
  deployment(
    'capd-system',
    'capd-controller-manager',
    { 'cluster.x-k8s.io/provider': 'infrastructure-docker' },
    'registry.k8s.io/cluster-api/capd-manager:v1.10.0',
  );
  deployment('cattle-fleet-system', 'fleet-controller', { app: 'fleet-controller' }, 'rancher/fleet:v0.15.1');

  // core/stuck-deletion: ConfigMaps stuck on a SaaS finalizer, in active namespaces; one in ten with a finalizer of
  // its own (hostile data: as many distinct finalizers as objects).
  for (let i = 0; i < shape.namespaces; i++) namespace(`team-${i}`);
  for (let i = 0; i < shape.stuck; i++) {
    add({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta({
        name: `stuck-${i}`,
        namespace: `team-${i % shape.namespaces}`,
        deletionTimestamp: HOURS_AGO(2 + (i % 5), i % 60),
        finalizers: i % 10 === 0 ? [`saas-${i}.example.io/protect`] : ['saas.example.io/protect'],
      }),
    });
  }

  // core/stuck-deletion (namespace-content-stuck) and core/namespace-stuck-terminating: one namespace being
  // deleted, holding many objects that cannot finish.
  namespace('doomed', {
    metadata: meta({ name: 'doomed', deletionTimestamp: HOURS_AGO(3) }),
    spec: { finalizers: ['kubernetes'] },
    status: {
      phase: 'Terminating',
      conditions: [
        {
          type: 'NamespaceContentRemaining',
          status: 'True',
          reason: 'SomeResourcesRemain',
          message: `Some resources are remaining: persistentvolumeclaims. has ${Math.ceil(shape.inDeletingNamespace / 2)} resource instances, widgets.example.com has ${Math.floor(shape.inDeletingNamespace / 2)} resource instances`,
        },
        {
          type: 'NamespaceFinalizersRemaining',
          status: 'True',
          reason: 'SomeFinalizerRemain',
          message: `Some finalizers are remaining: kubernetes.io/pvc-protection in ${Math.ceil(shape.inDeletingNamespace / 2)} resource instances, widgets.example.com/cleanup in ${Math.floor(shape.inDeletingNamespace / 2)} resource instances`,
        },
      ],
    },
  });
  for (let i = 0; i < shape.inDeletingNamespace; i++) {
    const claim = i % 2 === 0;
    add({
      apiVersion: claim ? 'v1' : 'example.com/v1',
      kind: claim ? 'PersistentVolumeClaim' : 'Widget',
      metadata: meta({
        name: `${claim ? 'data' : 'w'}-${i}`,
        namespace: 'doomed',
        deletionTimestamp: HOURS_AGO(3, 1 + (i % 30)),
        finalizers: [claim ? 'kubernetes.io/pvc-protection' : 'widgets.example.com/cleanup'],
      }),
      ...(claim ? { spec: { accessModes: ['ReadWriteOnce'] } } : {}),
    });
  }

  // core/stuck-deletion: owner chains, each Deployment deleting in the foreground behind its ReplicaSet.
  for (let i = 0; i < shape.foreground; i++) {
    const ns = `team-${i % shape.namespaces}`;
    const uid = `uid-deploy-fg-${i}`;
    add({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        ...meta({ name: `frontend-${i}`, namespace: ns }),
        uid,
        deletionTimestamp: HOURS_AGO(1, i % 60),
        finalizers: ['foregroundDeletion'],
      },
      spec: { replicas: 2 },
    });
    add({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: meta({
        name: `frontend-${i}-5d9f`,
        namespace: ns,
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'Deployment', name: `frontend-${i}`, uid, controller: true, blockOwnerDeletion: true },
        ],
      }),
    });
  }

  // cluster-api/paused-deletion (and core/stuck-deletion): a paused Cluster deleted with its Machines.
  add({
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'Cluster',
    metadata: meta({ name: 'prod-b', namespace: 'fleet', deletionTimestamp: HOURS_AGO(1), finalizers: ['cluster.cluster.x-k8s.io'] }),
    spec: { paused: true },
    status: {
      conditions: [
        {
          type: 'Paused',
          status: 'True',
          reason: 'Paused',
          message: 'Cluster spec.paused is set to true',
          lastTransitionTime: HOURS_AGO(1, -600),
        },
      ],
    },
  });
  for (let i = 0; i < shape.machines; i++) {
    const labels = { 'cluster.x-k8s.io/cluster-name': 'prod-b' };
    add({
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'Machine',
      metadata: meta({
        name: `prod-b-m${i}`,
        namespace: 'fleet',
        labels,
        deletionTimestamp: HOURS_AGO(1, 1),
        finalizers: ['machine.cluster.x-k8s.io'],
      }),
    });
    add({
      apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2',
      kind: 'DockerMachine',
      metadata: meta({
        name: `prod-b-m${i}`,
        namespace: 'fleet',
        labels,
        deletionTimestamp: HOURS_AGO(1, 2),
        finalizers: ['dockermachine.infrastructure.cluster.x-k8s.io'],
      }),
    });
  }

  // core/apiservice-unavailable leading core/namespace-stuck-terminating: metrics-server uninstalled, its APIService
  // left, and every namespace deleted since stuck on the discovery failure.
  add({
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: meta({ name: 'v1beta1.metrics.k8s.io', creationTimestamp: '2026-01-10T09:00:00Z' }),
    spec: { group: 'metrics.k8s.io', version: 'v1beta1', service: { namespace: 'kube-system', name: 'metrics-server', port: 443 } },
    status: {
      conditions: [
        {
          type: 'Available',
          status: 'False',
          reason: 'ServiceNotFound',
          message: 'service/metrics-server in "kube-system" is not present',
          lastTransitionTime: HOURS_AGO(4),
        },
      ],
    },
  });
  for (let i = 0; i < shape.terminating; i++) {
    namespace(`old-${i}`, {
      metadata: meta({ name: `old-${i}`, deletionTimestamp: HOURS_AGO(2, i % 60) }),
      spec: { finalizers: ['kubernetes'] },
      status: {
        phase: 'Terminating',
        conditions: [
          {
            type: 'NamespaceDeletionDiscoveryFailure',
            status: 'True',
            reason: 'DiscoveryFailed',
            message:
              'Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: stale GroupVersion discovery: metrics.k8s.io/v1beta1',
          },
        ],
      },
    });
  }

  // fleet/missing-values-secret: BundleDeployments whose options Secret is gone, in per-cluster namespaces.
  for (let i = 0; i < shape.bundleDeployments; i++) {
    const ns = `cluster-fleet-default-c-${i % 50}`;
    if (i < 50) namespace(ns);
    add({
      apiVersion: 'fleet.cattle.io/v1alpha1',
      kind: 'BundleDeployment',
      metadata: meta({
        name: `app-${i}`,
        namespace: ns,
        creationTimestamp: '2026-01-14T08:00:00Z',
        finalizers: ['fleet.cattle.io/bundle-deployment-finalizer'],
        labels: {
          'fleet.cattle.io/bundle-name': `app-${i}`,
          'fleet.cattle.io/bundle-namespace': 'fleet-default',
          'fleet.cattle.io/cluster': `c-${i % 50}`,
          'fleet.cattle.io/cluster-namespace': 'fleet-default',
          'fleet.cattle.io/managed': 'true',
        },
      }),
      spec: {
        deploymentID: `s-${i}:9c1d`,
        stagedDeploymentID: `s-${i}:9c1d`,
        valuesHash: '5f2c8e1a',
        options: { defaultNamespace: 'app' },
      },
      status: { display: { state: 'WaitApplied' } },
    });
  }

  // core/stuck-deletion: an operator-heavy cluster, many CRDs, an object of each stuck on its own group's finalizer.
  namespace('operators');
  for (let i = 0; i < shape.customTypes; i++) {
    const group = `op${i}.example.org`;
    crd(group, 'gadgets', 'Gadget');
    add({
      apiVersion: `${group}/v1`,
      kind: 'Gadget',
      metadata: meta({ name: `g-${i}`, namespace: 'operators', deletionTimestamp: HOURS_AGO(2, i % 60), finalizers: [`${group}/cleanup`] }),
    });
  }
  return objects;
}
