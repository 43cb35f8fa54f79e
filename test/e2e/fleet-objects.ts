// Fleet objects as fleet apply and the fleet-controller leave them, for the end-to-end files that make
// fleet/missing-values-secret's states (kubevela-fleet.test.ts, and scenarios.ts for the dump). The options Secret's
// type and owner reference as fleet's manageOptionsSecret writes them (reference/fleet-values-secret.md).
import type { KubeObject } from '../../src/kube/object.ts';
import { create } from './kube.ts';

export const FLEET = 'fleet.cattle.io/v1alpha1';
const OPTIONS_SECRET_TYPE = 'fleet.cattle.io/bundle-deployment/v1alpha1';

/** A GitRepo and the Bundle it made, labelled with the repo's name as fleet apply labels it. */
export async function createGitRepoBundle(
  namespace: string,
  bundle: string,
  options: { forceSyncGeneration: number; bundleSpec: Record<string, unknown> },
): Promise<void> {
  await create({
    apiVersion: FLEET,
    kind: 'GitRepo',
    metadata: { name: 'myrepo', namespace },
    spec: { repo: 'https://git.example.invalid/apps', forceSyncGeneration: options.forceSyncGeneration },
  } as never);
  await create({
    apiVersion: FLEET,
    kind: 'Bundle',
    metadata: { name: bundle, namespace, labels: { 'fleet.cattle.io/repo-name': 'myrepo' } },
    spec: options.bundleSpec,
  } as never);
}

/**
 * The BundleDeployment of Bundle `name` (the fleet-controller names it after the Bundle) on a downstream cluster,
 * with the labels the fleet-controller sets and `spec` as given.
 */
export function createBundleDeployment(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  options: { finalizers?: string[] } = {},
): Promise<KubeObject> {
  return create({
    apiVersion: FLEET,
    kind: 'BundleDeployment',
    metadata: {
      name,
      namespace,
      labels: {
        'fleet.cattle.io/bundle-name': name,
        'fleet.cattle.io/bundle-namespace': namespace,
        'fleet.cattle.io/cluster': 'c-abcde',
        'fleet.cattle.io/managed': 'true',
      },
      ...(options.finalizers ? { finalizers: options.finalizers } : {}),
    },
    spec,
  } as never);
}

/** A BundleDeployment's options Secret (same name and namespace), owned by it as the fleet-controller makes it. */
export function createOptionsSecret(bundleDeployment: KubeObject, data: Record<string, string>): Promise<KubeObject> {
  const name = bundleDeployment.metadata.name!;
  return create({
    apiVersion: 'v1',
    kind: 'Secret',
    type: OPTIONS_SECRET_TYPE,
    metadata: {
      name,
      namespace: bundleDeployment.metadata.namespace!,
      ownerReferences: [
        {
          apiVersion: FLEET,
          kind: 'BundleDeployment',
          name,
          uid: bundleDeployment.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    data,
  } as never);
}
