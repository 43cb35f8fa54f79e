// Broken states as the other end-to-end files make them (stuck-deletion, kubevela-fleet, helm, harvester), each in
// namespaces or under names of its own, for tests that need several at once (test/e2e/dump.test.ts). Every Secret
// value carries `secretMarker` so a test can prove that a dump holds none of them.
import { randomBytes } from 'node:crypto';
import { uniqueName } from '../harness/env.ts';
import { create, createNamespace, ensure, remove } from './kube.ts';

const VELA = 'core.oam.dev/v1beta1';
const FLEET = 'fleet.cattle.io/v1alpha1';
const CREDENTIAL_TYPE = 'cluster.core.oam.dev/cluster-credential-type';

export interface Scenarios {
  sfx: string;
  /** In every Secret value written: a dump must hold it nowhere. */
  secretMarker: string;
  /** Every Secret value written, as the API server stores it in `data` (base64): a dump must hold none. */
  secretValues: string[];
  /** The namespaces of the states below (vela-system and harvester-system are shared: names carry `sfx`). */
  namespaces: { stuck: string; fleet: string; helm: string; vela: string };
  /** A vela-system Secret read with its values, and its value: the dump holds its redaction marker instead. */
  opaque: string;
  opaqueValue: string;
  upgrade: string;
}

/** Whether a finding is about an object these scenarios made. */
export function ours(s: Scenarios, object: { namespace?: string; name: string }): boolean {
  return Object.values(s.namespaces).includes(object.namespace ?? '') || object.name.includes(s.sfx);
}

export async function createScenarios(): Promise<Scenarios> {
  const sfx = randomBytes(4).toString('hex');
  const secretMarker = `SECRET-VALUE-${sfx}`;
  const secretValues: string[] = [];
  const b64 = (text: string) => {
    const value = Buffer.from(text, 'utf8').toString('base64');
    if (text.includes(secretMarker)) secretValues.push(value);
    return value;
  };
  const namespaces = {
    stuck: uniqueName('dump-stuck'),
    fleet: uniqueName('dump-fleet'),
    helm: uniqueName('dump-helm'),
    vela: uniqueName('dump-vela'),
  };
  for (const ns of Object.values(namespaces)) await createNamespace(ns);

  // core/stuck-deletion: a ConfigMap held by a finalizer nobody in this cluster owns (stuck-deletion.test.ts).
  await create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'held', namespace: namespaces.stuck, finalizers: ['e2e.kubectl-doctor.io/hold'] },
  });
  await remove({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', namespace: namespaces.stuck } });

  // fleet/missing-values-secret: a BundleDeployment with a valuesHash and no options Secret; a twin with its Secret.
  const labels = (bundle: string) => ({
    'fleet.cattle.io/bundle-name': bundle,
    'fleet.cattle.io/bundle-namespace': namespaces.fleet,
    'fleet.cattle.io/cluster': 'c-abcde',
    'fleet.cattle.io/managed': 'true',
  });
  for (const name of ['nginx', 'with-secret'])
    await create({ apiVersion: FLEET, kind: 'Bundle', metadata: { name, namespace: namespaces.fleet }, spec: {} } as never);
  await create({
    apiVersion: FLEET,
    kind: 'BundleDeployment',
    metadata: { name: 'nginx', namespace: namespaces.fleet, labels: labels('nginx') },
    spec: { deploymentID: 's-4b8f:5f2c8e1a', valuesHash: '5f2c8e1a', options: { helm: { releaseName: 'nginx' } } },
  } as never);
  const withSecret = await create({
    apiVersion: FLEET,
    kind: 'BundleDeployment',
    metadata: { name: 'with-secret', namespace: namespaces.fleet, labels: labels('with-secret') },
    spec: { deploymentID: 's-2:abc', valuesHash: 'abc' },
  } as never);
  await create({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'fleet.cattle.io/bundle-deployment/v1alpha1',
    metadata: {
      name: 'with-secret',
      namespace: namespaces.fleet,
      ownerReferences: [
        { apiVersion: FLEET, kind: 'BundleDeployment', name: 'with-secret', uid: withSecret.metadata.uid!, controller: true },
      ],
    },
    data: { values: b64(`{"password":"${secretMarker}"}`) },
  } as never);

  // helm/release-stuck-pending: an upgrade interrupted at revision 3 over the deployed revision 2 (helm.test.ts).
  for (const [version, status] of [
    [2, 'deployed'],
    [3, 'pending-upgrade'],
  ] as const) {
    await create({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'helm.sh/release.v1',
      metadata: {
        name: `sh.helm.release.v1.web.v${version}`,
        namespace: namespaces.helm,
        labels: { owner: 'helm', name: 'web', status, version: String(version) },
      },
      data: { release: b64(`RELEASE ${secretMarker}`) },
    } as never);
  }

  // kubevela/orphaned-cluster-reference (kubevela-fleet.test.ts): vc1 registered, vc2 detached (its Secret deleted),
  // an Application whose topology policy still names vc2. Addon apps live in the shared vela-system, where
  // kubevela-fleet.test.ts runs --fix on everything it finds: this file leaves no Application there.
  const register = (name: string) =>
    create({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name, namespace: 'vela-system', labels: { [CREDENTIAL_TYPE]: 'X509Certificate' } },
      data: { endpoint: b64('https://192.0.2.10:6443'), 'tls.key': b64(`KEY ${secretMarker}`) },
    } as never);
  const vc1 = `vc1-${sfx}`;
  const vc2 = `vc2-${sfx}`;
  await register(vc1);
  await register(vc2);
  await remove({ apiVersion: 'v1', kind: 'Secret', metadata: { name: vc2, namespace: 'vela-system' } });
  await create({
    apiVersion: VELA,
    kind: 'Application',
    metadata: { name: 'web', namespace: namespaces.vela },
    spec: { components: [], policies: [{ type: 'topology', name: 'where', properties: { clusters: [vc1, vc2] } }] },
  } as never);
  // A Secret of vela-system the KubeVela rule reads with its values (as it reads addon args): the dump must redact
  // them, and kubectl apply's copy of them in last-applied-configuration.
  const opaqueValue = `{"token":"${secretMarker}"}`;
  const opaque = `dump-opaque-${sfx}`;
  await create({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: opaque,
      namespace: 'vela-system',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ data: { value: b64(opaqueValue) } }) },
    },
    data: { value: b64(opaqueValue) },
  } as never);

  // harvester/upgrade-status-wiped: an Upgrade without status (harvester.test.ts: reported once old enough).
  await ensure({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'harvester-system' } });
  const upgrade = `hvst-upgrade-${sfx}`;
  await create({
    apiVersion: 'harvesterhci.io/v1beta1',
    kind: 'Upgrade',
    metadata: { name: upgrade, namespace: 'harvester-system' },
    spec: { image: '', logEnabled: true, version: 'v1.5.0' },
  } as never);

  return { sfx, secretMarker, secretValues, namespaces, opaque, opaqueValue, upgrade };
}

/** Removes what this file put in namespaces other files share (vela-system, harvester-system). */
export async function removeSharedScenarios(s: Scenarios): Promise<void> {
  await remove({ apiVersion: 'harvesterhci.io/v1beta1', kind: 'Upgrade', metadata: { name: s.upgrade, namespace: 'harvester-system' } });
  await remove({ apiVersion: 'v1', kind: 'Secret', metadata: { name: s.opaque, namespace: 'vela-system' } });
  await remove({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `vc1-${s.sfx}`, namespace: 'vela-system' } });
}
