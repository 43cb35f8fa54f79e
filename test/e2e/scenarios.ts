// Broken states as the other end-to-end files make them (stuck-deletion, kubevela-fleet, helm, harvester), each in
// namespaces or under names of its own, for tests that need several at once (test/e2e/dump.test.ts). Every Secret
// value, and every credential in a field of another type a dump redacts (src/kube/redact.ts,
// rules/*/dump-redactions.ts), carries `secretMarker` so a test can prove that a dump holds none of them.
import { randomBytes } from 'node:crypto';
import { uniqueName } from '../harness/env.ts';
import { gzipSync } from 'node:zlib';
import { create, createNamespace, ensure, remove } from './kube.ts';
import { createBundleDeployment, createOptionsSecret, FLEET } from './fleet-objects.ts';
import { buildAddon, enabling, KLIPPER_HELM, plus, seconds, SERVER_VERSION_SETTING } from './harvester-objects.ts';

const VELA = 'core.oam.dev/v1beta1';
const CREDENTIAL_TYPE = 'cluster.core.oam.dev/cluster-credential-type';

export interface Scenarios {
  sfx: string;
  /** In every Secret value and other credential written: a dump must hold it nowhere. */
  secretMarker: string;
  /** Every such value written in base64 (Secret `data`, an addon's default values, a chart archive): a dump must hold none. */
  secretValues: string[];
  /** Objects holding a credential outside Secrets, by resource, `namespace/name` (or `name`): each must be in the dump. */
  carriers: Record<string, string[]>;
  /** The stuck Addon whose values the dump redacts: `namespace/name`. */
  addon: string;
  /** A gzip-compressed ResourceTracker that tracks a Secret holding `secretMarker`, on the detached cluster. */
  tracker: string;
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
  // Bundles made without fleet apply keep Helm values and resources inline (rules/fleet/dump-redactions.ts): the twin
  // holds both.
  for (const name of ['nginx', 'with-secret'])
    await create({
      apiVersion: FLEET,
      kind: 'Bundle',
      metadata: { name, namespace: namespaces.fleet },
      spec:
        name === 'nginx'
          ? {}
          : {
              helm: { values: { password: secretMarker } },
              resources: [{ name: 'secret.yaml', content: `apiVersion: v1\nkind: Secret\nstringData: {password: ${secretMarker}}\n` }],
            },
    } as never);
  await createBundleDeployment(namespaces.fleet, 'nginx', {
    deploymentID: 's-4b8f:5f2c8e1a',
    valuesHash: '5f2c8e1a',
    options: { helm: { releaseName: 'nginx' } },
  });
  const withSecret = await createBundleDeployment(namespaces.fleet, 'with-secret', {
    deploymentID: 's-2:abc',
    valuesHash: 'abc',
    options: {
      helm: {
        values: { password: secretMarker },
        templateValues: { token: secretMarker },
        valuesFrom: [{ secretKeyRef: { name: 'with-secret-values', namespace: namespaces.fleet, key: 'values.yaml' } }],
      },
    },
    stagedOptions: { helm: { values: { password: secretMarker } } },
  });
  await createOptionsSecret(withSecret, { values: b64(`{"password":"${secretMarker}"}`) });

  // helm/release-stuck-pending: an upgrade interrupted at revision 3 over the deployed revision 2 (helm.test.ts).
  // The rule names as owner any BundleDeployment anywhere whose spec.options.helm.releaseName is the release's name:
  // a name of its own keeps other files' BundleDeployments (kubevela-fleet.test.ts releases `web`) out of its finding.
  const release = `web-${sfx}`;
  for (const [version, status] of [
    [2, 'deployed'],
    [3, 'pending-upgrade'],
  ] as const) {
    await create({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'helm.sh/release.v1',
      metadata: {
        name: `sh.helm.release.v1.${release}.v${version}`,
        namespace: namespaces.helm,
        labels: { owner: 'helm', name: release, status, version: String(version) },
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
    spec: {
      components: [{ name: 'web', type: 'webservice', properties: { env: [{ name: 'DB_PASSWORD', value: secretMarker }] } }],
      policies: [{ type: 'topology', name: 'where', properties: { clusters: [vc1, vc2] } }],
    },
  } as never);
  // A tracker of an Application that is gone, gzip-compressed as vela-core's GzipResourceTracker stores it, tracking a
  // Secret on the detached cluster: reported on itself; the dump writes its entries decoded and its data redacted.
  const tracker = `dump-rt-${sfx}`;
  await create({
    apiVersion: VELA,
    kind: 'ResourceTracker',
    metadata: { name: tracker, labels: { 'app.oam.dev/name': `gone-${sfx}`, 'app.oam.dev/namespace': namespaces.vela } },
    spec: {
      type: 'root',
      compression: {
        type: 'gzip',
        data: gzipSync(
          JSON.stringify([
            {
              cluster: vc2,
              apiVersion: 'v1',
              kind: 'Secret',
              namespace: 'web',
              name: 'db',
              raw: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'web' }, stringData: { password: secretMarker } },
            },
          ]),
        ).toString('base64'),
      },
    },
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

  const { carriers, addon } = await createCredentialCarriers(sfx, namespaces.helm, secretMarker, b64);
  Object.assign(carriers, {
    'bundles.fleet.cattle.io': [`${namespaces.fleet}/with-secret`],
    'bundledeployments.fleet.cattle.io': [`${namespaces.fleet}/with-secret`],
    'applications.core.oam.dev': [`${namespaces.vela}/web`],
    'resourcetrackers.core.oam.dev': [tracker],
  });
  return { sfx, secretMarker, secretValues, namespaces, opaque, opaqueValue, upgrade, tracker, carriers, addon };
}

/**
 * Objects of the types a rule reads in full that hold `marker` outside a Secret, one per field a dump redacts
 * (src/kube/redact.ts, rules/<ecosystem>/dump-redactions.ts): harvester/addon-stuck-enabling's #7376 state
 * (buildAddon, as harvester.test.ts makes it) whose Addon takes its default values from the addon-defaults
 * annotation, which the HelmChart holds as valuesContent, with `--set` values in the HelmChart and the install Job's
 * args and a proxy password in the Job's and its pod's env; a Deployment with env values and the applied-configuration
 * annotations of kubectl, wrangler and vela-core; a Harvester Setting with an S3 secret key.
 */
async function createCredentialCarriers(
  sfx: string,
  ns: string,
  marker: string,
  b64: (text: string) => string,
): Promise<{ carriers: Record<string, string[]>; addon: string }> {
  const name = `addon-${sfx}`;
  const values = `auth:\n  password: ${marker}\n`;
  const proxy = { name: 'HTTP_PROXY', value: `http://proxy:${marker}@192.0.2.20:3128` };
  const container = {
    name: 'helm',
    image: KLIPPER_HELM,
    env: [proxy],
    args: ['install', '--set-string', `auth.token=${marker}`],
  };
  // InProgress 60 s after the Job was created (#7376): the Job is never counted as current.
  const { job } = await buildAddon(ns, name, {
    job: 'succeeded',
    status: (jobCreated) => enabling(seconds(plus(jobCreated, 60))),
    extra: {
      addonAnnotations: { 'harvesterhci.io/addon-defaults': b64(values) },
      helmChartSpec: { valuesContent: values, set: { 'auth.token': marker }, chartContent: b64(`chart archive ${marker}`) },
      container,
      jobAnnotations: { 'objectset.rio.cattle.io/applied': JSON.stringify({ spec: { template: { spec: { containers: [container] } } } }) },
    },
  });
  await create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `helm-install-${name}-x1`,
      namespace: ns,
      labels: { 'helmcharts.helm.cattle.io/chart': name, 'batch.kubernetes.io/job-name': job!.metadata.name! },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job!.metadata.name!, uid: job!.metadata.uid!, controller: true }],
    },
    spec: { restartPolicy: 'OnFailure', containers: [container] },
  } as never);
  // The Harvester version the addon rule reads, as harvester.test.ts sets it: present for the live scan and the dump.
  await ensure(SERVER_VERSION_SETTING);
  await create({
    apiVersion: 'harvesterhci.io/v1beta1',
    kind: 'Setting',
    metadata: { name: `dump-backup-target-${sfx}` },
    default: '',
    value: JSON.stringify({ type: 's3', endpoint: 'https://192.0.2.30', accessKeyId: 'AKIAEXAMPLE', secretAccessKey: marker }),
  } as never);
  const deployment = `dump-web-${sfx}`;
  await create({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: deployment,
      namespace: ns,
      annotations: {
        'objectset.rio.cattle.io/applied': JSON.stringify({ env: marker }),
        'app.oam.dev/last-applied-configuration': JSON.stringify({ env: marker }),
      },
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: deployment } },
      template: {
        metadata: { labels: { app: deployment } },
        spec: {
          containers: [
            { name: 'web', image: 'nginx:1.27', env: [{ name: 'DB_PASSWORD', value: marker }], command: ['sh', '-c', `echo ${marker}`] },
          ],
        },
      },
    },
  } as never);
  return {
    addon: `${ns}/${name}`,
    carriers: {
      'addons.harvesterhci.io': [`${ns}/${name}`],
      'helmcharts.helm.cattle.io': [`${ns}/${name}`],
      'jobs.batch': [`${ns}/helm-install-${name}`],
      pods: [`${ns}/helm-install-${name}-x1`],
      'deployments.apps': [`${ns}/${deployment}`],
      'settings.harvesterhci.io': [`dump-backup-target-${sfx}`],
    },
  };
}

/** Removes what this file put in namespaces other files share (vela-system, harvester-system). */
export async function removeSharedScenarios(s: Scenarios): Promise<void> {
  await remove({ apiVersion: 'harvesterhci.io/v1beta1', kind: 'Upgrade', metadata: { name: s.upgrade, namespace: 'harvester-system' } });
  await remove({ apiVersion: 'harvesterhci.io/v1beta1', kind: 'Setting', metadata: { name: `dump-backup-target-${s.sfx}` } });
  await remove({ apiVersion: VELA, kind: 'ResourceTracker', metadata: { name: s.tracker } });
  await remove({ apiVersion: 'v1', kind: 'Secret', metadata: { name: s.opaque, namespace: 'vela-system' } });
  await remove({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `vc1-${s.sfx}`, namespace: 'vela-system' } });
}
