// Broken states as the other end-to-end files make them (stuck-deletion, kubevela-fleet, helm, harvester), each in
// namespaces or under names of its own, for tests that need several at once (test/e2e/dump.test.ts). Every Secret
// value carries `secretMarker` so a test can prove that a dump holds none of them.
import { randomBytes } from 'node:crypto';
import { uniqueName } from '../harness/env.ts';
import { create, createNamespace, ensure, remove } from './kube.ts';

const VELA = 'core.oam.dev/v1beta1';
const FLEET = 'fleet.cattle.io/v1alpha1';
const CREDENTIAL_TYPE = 'cluster.core.oam.dev/cluster-credential-type';
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

export interface Scenarios {
  sfx: string;
  /** In every Secret value written: a dump must hold it nowhere (nor its base64). */
  secretMarker: string;
  /** The namespaces of the states below (vela-system and harvester-system are shared: names carry `sfx`). */
  namespaces: { stuck: string; fleet: string; helm: string };
  /** The addon args value (JSON) whose only orphan is in the args, for its expected redaction marker. */
  argsOnlyValue: string;
  argsOnlyApp: string;
  addonApp: string;
  upgrade: string;
}

/** Whether a finding is about an object these scenarios made. */
export function ours(s: Scenarios, object: { namespace?: string; name: string }): boolean {
  return Object.values(s.namespaces).includes(object.namespace ?? '') || object.name.includes(s.sfx);
}

export async function createScenarios(): Promise<Scenarios> {
  const sfx = randomBytes(4).toString('hex');
  const secretMarker = `SECRET-VALUE-${sfx}`;
  const namespaces = { stuck: uniqueName('dump-stuck'), fleet: uniqueName('dump-fleet'), helm: uniqueName('dump-helm') };
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

  // kubevela/orphaned-cluster-reference (kubevela-fleet.test.ts): vc1 registered, vc2 detached (its Secret deleted).
  // The addon app's topology policy and its args both name vc2; a second addon's policy was fixed but its args still
  // name vc2, which only the args Secret's value shows.
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
  const addon = async (name: string, policyClusters: string[], argsValue: string) => {
    await create({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: `addon-secret-${name}`, namespace: 'vela-system' },
      data: { addonParameterDataKey: b64(argsValue) },
    } as never);
    await create({
      apiVersion: VELA,
      kind: 'Application',
      metadata: {
        name: `addon-${name}`,
        namespace: 'vela-system',
        labels: { 'addons.oam.dev/name': name, 'addons.oam.dev/version': '2.3.0' },
      },
      spec: { components: [], policies: [{ type: 'topology', name: `deploy-${name}`, properties: { clusters: policyClusters } }] },
    } as never);
    return `addon-${name}`;
  };
  const addonApp = await addon(`fluxcd-${sfx}`, [vc1, vc2], JSON.stringify({ clusters: [vc1, vc2] }));
  const argsOnlyValue = JSON.stringify({ clusters: [vc1, vc2], token: secretMarker });
  const argsOnlyApp = await addon(`argsonly-${sfx}`, [vc1], argsOnlyValue);

  // harvester/upgrade-status-wiped: an Upgrade without status (harvester.test.ts: reported once old enough).
  await ensure({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'harvester-system' } });
  const upgrade = `hvst-upgrade-${sfx}`;
  await create({
    apiVersion: 'harvesterhci.io/v1beta1',
    kind: 'Upgrade',
    metadata: { name: upgrade, namespace: 'harvester-system' },
    spec: { image: '', logEnabled: true, version: 'v1.5.0' },
  } as never);

  return { sfx, secretMarker, namespaces, argsOnlyValue, argsOnlyApp, addonApp, upgrade };
}
