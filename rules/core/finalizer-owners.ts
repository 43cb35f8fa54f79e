import type { ListedType } from '../../src/engine/rule.ts';
import { parseResourceName, resourceName, BUILT_IN_GROUPS } from '../../src/cluster/resources.ts';
import { field, groupOf, keyOf, type KubeObject } from '../../src/kube/object.ts';
import { pushTo } from '../../src/util/collections.ts';

/**
 * Who is expected to remove a finalizer, and whether that controller is there to do it.
 *
 * - `running`: a controller Deployment was found with ready replicas (slow, or ignoring the object, but alive);
 * - `not-ready`: its Deployment exists but has no ready replicas (scaled to 0, crash-looping, unschedulable);
 * - `absent`: proven gone: the finalizer's provider is known and no Deployment of it exists in any namespace;
 * - `disabled`: its Deployment runs with the feature gate that serves the finalizer switched off;
 * - `built-in`: a Kubernetes component (kube-controller-manager, kube-apiserver): never "orphaned";
 * - `unknown`: the owner could not be tied to anything visible (it may run outside the cluster, or could not be read).
 *
 * Only `absent` and `disabled` are proof of an orphaned finalizer.
 */
export type OwnerVerdict = 'running' | 'not-ready' | 'absent' | 'disabled' | 'built-in' | 'unknown';

export interface ControllerState {
  /** `namespace/name` of the Deployment. */
  deployment: string;
  replicas: number;
  readyReplicas: number;
}

export interface FinalizerOwner {
  finalizer: string;
  verdict: OwnerVerdict;
  /** Who removes it, in words: `capi-system/capi-controller-manager (Cluster API core, provider cluster-api)`. */
  expectedRemover: string;
  /** How the owner was found: the catalogue, a CRD and the label followed, or the built-in table. */
  resolvedBy: string;
  /** Why the verdict is what it is. */
  detail: string;
  controllers?: ControllerState[];
  crds?: string[];
  /** What brings the owner back, for a remediation step: a provider to reinstall, a gate to enable. */
  restore?: { provider?: string; gate?: { name: string; deployment: string } };
}

export function isOrphaned(owner: FinalizerOwner): boolean {
  return owner.verdict === 'absent' || owner.verdict === 'disabled';
}

/** Label every Cluster API provider's kustomization puts on its CRDs and Deployments (`includeSelectors: true`). */
export const CAPI_PROVIDER_LABEL = 'cluster.x-k8s.io/provider';

interface CatalogueEntry {
  component: string;
  provider: string;
  /** Where `clusterctl init` installs it (kustomize namespace + namePrefix). */
  deployment: string;
  /** The controller that removes this finalizer only runs with this feature gate on. */
  gate?: string;
}

const CAPI_CORE: CatalogueEntry = {
  component: 'Cluster API core',
  provider: 'cluster-api',
  deployment: 'capi-system/capi-controller-manager',
};
const KCP: CatalogueEntry = {
  component: 'Cluster API kubeadm control-plane provider',
  provider: 'control-plane-kubeadm',
  deployment: 'capi-kubeadm-control-plane-system/capi-kubeadm-control-plane-controller-manager',
};
const CAPD: CatalogueEntry = {
  component: 'Cluster API Docker provider (CAPD)',
  provider: 'infrastructure-docker',
  deployment: 'capd-system/capd-controller-manager',
};
const CAPA: CatalogueEntry = {
  component: 'Cluster API AWS provider (CAPA)',
  provider: 'infrastructure-aws',
  deployment: 'capa-system/capa-controller-manager',
};

/** Cluster API finalizers and the controllers that add and remove them (reference/stuck-deletion.md 1.3). */
const CAPI_FINALIZERS: Readonly<Record<string, CatalogueEntry>> = {
  'cluster.cluster.x-k8s.io': CAPI_CORE,
  'machine.cluster.x-k8s.io': CAPI_CORE,
  'cluster.x-k8s.io/machineset': CAPI_CORE,
  'cluster.x-k8s.io/machinedeployment': CAPI_CORE,
  'machineset.topology.cluster.x-k8s.io': { ...CAPI_CORE, gate: 'ClusterTopology' },
  'machinedeployment.topology.cluster.x-k8s.io': { ...CAPI_CORE, gate: 'ClusterTopology' },
  'machinepool.cluster.x-k8s.io': { ...CAPI_CORE, gate: 'MachinePool' },
  'machinepool.exp.cluster.x-k8s.io': { ...CAPI_CORE, gate: 'MachinePool' },
  'addons.cluster.x-k8s.io': { ...CAPI_CORE, gate: 'ClusterResourceSet' },
  'kubeadm.controlplane.cluster.x-k8s.io': KCP,
  'dockercluster.infrastructure.cluster.x-k8s.io': CAPD,
  'dockermachine.infrastructure.cluster.x-k8s.io': CAPD,
  'dockermachinepool.infrastructure.cluster.x-k8s.io': CAPD,
  'awscluster.infrastructure.cluster.x-k8s.io': CAPA,
  'awsmachine.infrastructure.cluster.x-k8s.io': CAPA,
};

const KCM = 'kube-controller-manager';

/** Finalizers that Kubernetes itself adds and removes (reference/stuck-deletion.md 2.5). */
const BUILT_IN_FINALIZERS: Readonly<Record<string, string>> = {
  kubernetes: `the namespace controller (${KCM})`,
  foregroundDeletion: `the garbage collector (${KCM}), once no dependent with blockOwnerDeletion=true remains`,
  orphan: `the garbage collector (${KCM}), after it removes the ownerReferences of the dependents`,
  'kubernetes.io/pvc-protection': `the pvc-protection controller (${KCM}), once no scheduled pod uses the claim`,
  'kubernetes.io/pv-protection': `the pv-protection controller (${KCM}), once the volume is no longer bound to a claim`,
  'batch.kubernetes.io/job-tracking': `the Job controller (${KCM}), once the pod is counted in its Job's status`,
  'resource.kubernetes.io/delete-protection': `the resource-claim controller (${KCM}), once the claim is no longer allocated or reserved`,
  'customresourcecleanup.apiextensions.k8s.io': 'kube-apiserver (the apiextensions CRD finalizer), once no instance of the CRD remains',
};

/**
 * Finalizers of Kubernetes-project components that are installed separately (cloud-controller-manager, CSI
 * sidecars): their owner is known by name, but a scan cannot tell whether it runs (often outside the cluster).
 */
function separatelyInstalled(finalizer: string): string | undefined {
  if (finalizer === 'service.kubernetes.io/load-balancer-cleanup')
    return 'the service controller of the cloud-controller-manager, once the cloud load balancer is deleted';
  if (finalizer.startsWith('external-attacher/'))
    return `the external-attacher sidecar of CSI driver ${finalizer.slice('external-attacher/'.length)}, once the volume is detached`;
  if (finalizer.startsWith('snapshot.storage.kubernetes.io/')) return 'the CSI snapshot-controller, once the snapshot is no longer in use';
  return undefined;
}

/** The domain a finalizer names: the part before `/`, or the whole name when it is dotted; lower case. */
export function finalizerDomain(finalizer: string): string | undefined {
  const slash = finalizer.indexOf('/');
  const domain = (slash >= 0 ? finalizer.slice(0, slash) : finalizer).toLowerCase();
  return domain.includes('.') ? domain : undefined;
}

/**
 * The CRDs by what a finalizer domain may name, each list in CRD order, so that resolving thousands of distinct
 * finalizers costs a lookup each, not a pass over every type and CRD: `<kind>.<group>` of each served custom type
 * that has a CRD, each CRD's group, and every parent domain of a group (`example.com` for `a.example.com`).
 */
interface CrdIndex {
  byKind: Map<string, string[]>;
  byGroup: Map<string, string[]>;
  under: Map<string, string[]>;
}

function crdIndex(types: readonly ListedType['type'][], crds: ReadonlyMap<string, KubeObject>): CrdIndex {
  const index: CrdIndex = { byKind: new Map(), byGroup: new Map(), under: new Map() };
  for (const t of types)
    if (t.group !== '' && crds.has(resourceName(t))) pushTo(index.byKind, `${t.kind.toLowerCase()}.${t.group}`, resourceName(t));
  for (const name of crds.keys()) {
    const { group } = parseResourceName(name);
    pushTo(index.byGroup, group, name);
    for (let dot = group.indexOf('.'); dot >= 0; dot = group.indexOf('.', dot + 1)) pushTo(index.under, group.slice(dot + 1), name);
  }
  return index;
}

function isKubernetesDomain(domain: string): boolean {
  return ['kubernetes.io', 'k8s.io'].some((d) => domain === d || domain.endsWith(`.${d}`));
}

export interface OwnerInputs {
  /** Every listed type of a `*` read: the kinds and groups served. */
  listed: readonly ListedType[];
  /** The CustomResourceDefinitions (metadata), or why they could not be read. */
  crds: KubeObject[] | { unavailable: string };
  /** A full, all-namespaces list of Deployments, or why it could not be read. */
  deployments: KubeObject[] | { unavailable: string };
}

const HELM_RELEASE = 'meta.helm.sh/release-name';
const HELM_NAMESPACE = 'meta.helm.sh/release-namespace';
const APP_LABELS = ['app.kubernetes.io/part-of', 'app.kubernetes.io/instance', 'app.kubernetes.io/name'];

/**
 * Resolves finalizers to the controllers that remove them: the built-in table, the Cluster API catalogue, then
 * finalizer domain -> CRD (`<kind>.<group>`, the group itself, or a parent domain) -> the CRD's
 * `cluster.x-k8s.io/provider` label, Helm release or `app.kubernetes.io/*` labels -> Deployments with the same.
 * Proves an owner absent only where a provider label says which Deployment must exist; anything else that cannot
 * be tied to a visible controller stays `unknown`.
 */
export class FinalizerOwners {
  readonly #crds: Map<string, KubeObject> | { unavailable: string };
  readonly #types: ListedType['type'][];
  readonly #deployments: KubeObject[] | { unavailable: string };
  readonly #cache = new Map<string, FinalizerOwner>();
  #crdIndex: CrdIndex | undefined;

  constructor(inputs: OwnerInputs) {
    this.#types = inputs.listed.map((l) => l.type);
    const { crds } = inputs;
    this.#crds = Array.isArray(crds) ? new Map(crds.map((crd) => [crd.metadata.name ?? '', crd])) : crds;
    this.#deployments = inputs.deployments;
  }

  /** The owner of `finalizer` on `obj` (results are shared by every object of the same API group). */
  resolve(finalizer: string, obj: KubeObject): FinalizerOwner {
    const key = `${finalizer}\u0000${groupOf(obj.apiVersion)}`;
    let owner = this.#cache.get(key);
    if (!owner) {
      owner = this.#resolve(finalizer, groupOf(obj.apiVersion));
      this.#cache.set(key, owner);
    }
    return owner;
  }

  #resolve(finalizer: string, objectGroup: string): FinalizerOwner {
    const builtIn = BUILT_IN_FINALIZERS[finalizer];
    if (builtIn) {
      return {
        finalizer,
        verdict: 'built-in',
        expectedRemover: builtIn,
        resolvedBy: 'built-in Kubernetes finalizer',
        detail: 'removed by Kubernetes itself; look at what it waits for',
      };
    }
    const separate = separatelyInstalled(finalizer);
    if (separate) {
      return {
        finalizer,
        verdict: 'unknown',
        expectedRemover: separate,
        resolvedBy: 'well-known Kubernetes component finalizer',
        detail: 'installed separately, often outside the cluster: whether it runs cannot be seen from here',
      };
    }
    const catalogued = CAPI_FINALIZERS[finalizer];
    if (catalogued) return this.#fromCatalogue(finalizer, catalogued);

    const domain = finalizerDomain(finalizer);
    if (domain === undefined) {
      return {
        finalizer,
        verdict: 'unknown',
        expectedRemover: 'unknown',
        resolvedBy: 'none',
        detail: 'the finalizer name has no domain to follow to an API group',
      };
    }
    const crds = this.#crdsFor(domain);
    if (crds === undefined || crds.names.length === 0) {
      if (isKubernetesDomain(domain) || (domain === objectGroup && BUILT_IN_GROUPS.has(objectGroup))) {
        return {
          finalizer,
          verdict: 'built-in',
          expectedRemover: 'a Kubernetes component',
          resolvedBy: `the Kubernetes domain ${domain}`,
          detail: 'a Kubernetes component removes it; look at what it waits for',
        };
      }
      const why =
        crds === undefined
          ? `CRDs could not be read (${(this.#crds as { unavailable: string }).unavailable}), so ${domain} cannot be followed to a controller`
          : `no CRD of an API group matching ${domain}: the owner may run outside this cluster (a management cluster, a SaaS operator)`;
      return { finalizer, verdict: 'unknown', expectedRemover: 'unknown', resolvedBy: 'none', detail: why };
    }
    return this.#fromCrds(finalizer, crds.names, crds.how);
  }

  #fromCatalogue(finalizer: string, entry: CatalogueEntry): FinalizerOwner {
    const [ns, name] = entry.deployment.split('/') as [string, string];
    const base = {
      finalizer,
      expectedRemover: `${entry.deployment} (${entry.component}, provider ${entry.provider})`,
      resolvedBy: `Cluster API finalizer catalogue: Deployments labelled ${CAPI_PROVIDER_LABEL}=${entry.provider}`,
      restore: { provider: entry.provider },
    };
    if (!Array.isArray(this.#deployments)) {
      return { ...base, verdict: 'unknown', detail: `deployments.apps could not be read (${this.#deployments.unavailable})` };
    }
    const found = this.#deployments.filter(
      (d) => d.metadata.labels?.[CAPI_PROVIDER_LABEL] === entry.provider || (d.metadata.namespace === ns && d.metadata.name === name),
    );
    if (found.length === 0) {
      return {
        ...base,
        verdict: 'absent',
        detail: `no Deployment labelled ${CAPI_PROVIDER_LABEL}=${entry.provider} (nor ${entry.deployment}) exists in any namespace: the provider is not installed`,
      };
    }
    const owner: FinalizerOwner = { ...base, ...readiness(found) };
    if (entry.gate && owner.verdict === 'running') {
      const running = found.filter((d) => readyOf(d) > 0);
      if (running.every((d) => gateDisabled(d, entry.gate!))) {
        const deployment = keyOf({ namespace: running[0]!.metadata.namespace, name: running[0]!.metadata.name ?? '' });
        return {
          ...owner,
          verdict: 'disabled',
          detail: `${deployment} runs with --feature-gates ${entry.gate}=false, so the controller that removes this finalizer is not started`,
          restore: { gate: { name: entry.gate, deployment } },
        };
      }
    }
    return owner;
  }

  /** CRDs a finalizer domain points at, best match first; undefined when CRDs could not be read. */
  #crdsFor(domain: string): { names: string[]; how: string } | undefined {
    if (!(this.#crds instanceof Map)) return undefined;
    const index = (this.#crdIndex ??= crdIndex(this.#types, this.#crds));
    // `<kind>.<group>`: CAPI style, `dockercluster.infrastructure.cluster.x-k8s.io`.
    const byKind = index.byKind.get(domain);
    if (byKind) return { names: byKind, how: `the kind and group in ${domain}` };
    const sameGroup = index.byGroup.get(domain);
    if (sameGroup) return { names: sameGroup, how: `API group ${domain}` };
    // `resources-finalizer.argocd.argoproj.io` -> group argoproj.io: the longest group the domain ends with.
    for (let dot = domain.indexOf('.'); dot >= 0; dot = domain.indexOf('.', dot + 1)) {
      const parent = domain.slice(dot + 1);
      const names = index.byGroup.get(parent);
      if (names) return { names, how: `API group ${parent}, a parent of ${domain}` };
    }
    // `example.com/cleanup` -> groups under example.com.
    return { names: index.under.get(domain) ?? [], how: `API groups under ${domain}` };
  }

  #fromCrds(finalizer: string, names: string[], how: string): FinalizerOwner {
    const crds = names.map((n) => (this.#crds as Map<string, KubeObject>).get(n)!);
    const shown = names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
    const base = { finalizer, crds: names.slice(0, 10) };
    const providers = [...new Set(crds.map((c) => c.metadata.labels?.[CAPI_PROVIDER_LABEL]).filter((p): p is string => !!p))];
    const deployments = this.#deployments;

    if (providers.length > 0) {
      const label = providers.map((p) => `${CAPI_PROVIDER_LABEL}=${p}`).join(' or ');
      const owner = {
        ...base,
        expectedRemover: `the Deployment labelled ${label}`,
        resolvedBy: `CRD ${shown} (matched by ${how}), label ${label}`,
        restore: { provider: providers.join(', ') },
      };
      if (!Array.isArray(deployments))
        return { ...owner, verdict: 'unknown', detail: `deployments.apps could not be read (${deployments.unavailable})` };
      const found = deployments.filter((d) => providers.includes(d.metadata.labels?.[CAPI_PROVIDER_LABEL] ?? ''));
      if (found.length === 0) {
        return {
          ...owner,
          verdict: 'absent',
          detail: `the CRD carries ${label}, but no Deployment in any namespace does: the provider was removed and left its CRDs behind`,
        };
      }
      return { ...owner, expectedRemover: found.map(deploymentKey).join(', '), ...readiness(found) };
    }

    const unknown = (detail: string): FinalizerOwner => ({
      ...base,
      verdict: 'unknown',
      expectedRemover: `the controller of CRD ${shown}`,
      resolvedBy: `CRD ${shown} (matched by ${how})`,
      detail,
    });
    if (!Array.isArray(deployments)) return unknown(`deployments.apps could not be read (${deployments.unavailable})`);

    // A Helm release that installed the CRD also installed its controller.
    const releases = new Set(crds.map((c) => helmRelease(c)).filter((r): r is string => r !== undefined));
    if (releases.size > 0) {
      const found = deployments.filter((d) => releases.has(helmRelease(d) ?? ''));
      if (found.length > 0) {
        return {
          ...base,
          expectedRemover: found.map(deploymentKey).join(', '),
          resolvedBy: `CRD ${shown} (matched by ${how}), Helm release ${[...releases].join(', ')}`,
          ...readiness(found),
        };
      }
    }
    for (const label of APP_LABELS) {
      const values = new Set(crds.map((c) => c.metadata.labels?.[label]).filter((v): v is string => !!v));
      if (values.size === 0) continue;
      const found = deployments.filter((d) => values.has(d.metadata.labels?.[label] ?? ''));
      if (found.length > 0) {
        return {
          ...base,
          expectedRemover: found.map(deploymentKey).join(', '),
          resolvedBy: `CRD ${shown} (matched by ${how}), label ${label}=${[...values].join(',')}`,
          ...readiness(found),
        };
      }
    }
    return unknown(
      releases.size > 0
        ? `no Deployment of Helm release ${[...releases].join(', ')} exists; its controller may be another kind of workload or run outside the cluster`
        : 'no Deployment could be tied to the CRD (no provider label, Helm release or app.kubernetes.io label to follow); the controller may run outside the cluster',
    );
  }
}

function deploymentKey(d: KubeObject): string {
  return keyOf({ namespace: d.metadata.namespace, name: d.metadata.name ?? '' });
}

function readyOf(d: KubeObject): number {
  const ready = field(d, 'status', 'readyReplicas');
  return typeof ready === 'number' ? ready : 0;
}

function readiness(found: KubeObject[]): Pick<FinalizerOwner, 'verdict' | 'detail' | 'controllers'> {
  const controllers = found.map((d) => {
    const replicas = field(d, 'spec', 'replicas');
    return { deployment: deploymentKey(d), replicas: typeof replicas === 'number' ? replicas : 1, readyReplicas: readyOf(d) };
  });
  const ready = controllers.filter((c) => c.readyReplicas > 0);
  if (ready.length > 0) {
    return {
      verdict: 'running',
      controllers,
      detail: `${ready.map((c) => `${c.deployment} has ${c.readyReplicas}/${c.replicas} ready`).join('; ')}: the controller is alive but has not removed it`,
    };
  }
  return {
    verdict: 'not-ready',
    controllers,
    detail: controllers
      .map((c) => (c.replicas === 0 ? `${c.deployment} is scaled to 0` : `${c.deployment} has 0/${c.replicas} ready replicas`))
      .join('; '),
  };
}

function helmRelease(obj: KubeObject): string | undefined {
  const name = obj.metadata.annotations?.[HELM_RELEASE];
  const ns = obj.metadata.annotations?.[HELM_NAMESPACE];
  return name && ns ? `${ns}/${name}` : undefined;
}

/** True when a container of the Deployment passes `--feature-gates` with `gate=false`. */
export function gateDisabled(deployment: KubeObject, gate: string): boolean {
  const containers = field(deployment, 'spec', 'template', 'spec', 'containers');
  if (!Array.isArray(containers)) return false;
  for (const c of containers) {
    const args = [field(c, 'command'), field(c, 'args')].flatMap((a) =>
      Array.isArray(a) ? a.filter((x): x is string => typeof x === 'string') : [],
    );
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      let value: string | undefined;
      if (arg.startsWith('--feature-gates=')) value = arg.slice('--feature-gates='.length);
      else if (arg === '--feature-gates') value = args[i + 1];
      if (value?.split(',').some((kv) => kv.trim() === `${gate}=false`)) return true;
    }
  }
  return false;
}
