// End to end: kubevela/orphaned-cluster-reference and fleet/missing-values-secret against a real kube-apiserver
// (test/harness), through the built CLI. The broken states are written as the controllers would leave them (no
// KubeVela or Fleet controller runs here): a detached cluster's Secret is simply absent, ResourceTrackers carry
// entries for it (one gzip-compressed the way vela-core's GzipResourceTracker stores them), a BundleDeployment has a
// values hash but no options Secret. Status is written through the status subresources.
//
// KubeVela addon apps and their args Secrets always live in the shared `vela-system`: every name there carries a
// random suffix, and each --fix run is limited with -n to a namespace that holds only this file's objects at that
// moment (the addon state for -o script is created only after the --fix run).
//
// Run: ./node_modules/.bin/tsc -p tsconfig.build.json && ./node_modules/.bin/node --test \
//        --test-global-setup=test/harness/global-setup.ts test/e2e/kubevela-fleet.test.ts
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { adminKubeConfig, e2e, kubectlDir, rawRequest, uniqueName } from '../harness/env.ts';
import { create, createNamespace, doctor, parseReport, raw, read, readAudit, remove, type JsonReport } from './kube.ts';
import { tempDir } from '../temp.ts';
import { createBundleDeployment, createGitRepoBundle, createOptionsSecret, FLEET } from './fleet-objects.ts';

const VELA = 'core.oam.dev/v1beta1';
const CREDENTIAL_TYPE = 'cluster.core.oam.dev/cluster-credential-type';
const VELA_RULE = 'kubevela/orphaned-cluster-reference';
const FLEET_RULE = 'fleet/missing-values-secret';
/** The harness's kubectl (same Kubernetes version as the server) first, else the one on PATH. */
const SCRIPT_PATH = [kubectlDir(), process.env.PATH].filter(Boolean).join(':');
const KUBECTL = (() => {
  const r = spawnSync('bash', ['-c', 'command -v kubectl'], { encoding: 'utf8', env: { PATH: SCRIPT_PATH } });
  return r.status === 0 ? r.stdout.trim() : undefined;
})();

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (data: string) => Buffer.from(data, 'base64').toString('utf8');
/** As vela-core's GzipResourceTracker stores spec.managedResources: base64(gzip(JSON list)). */
const gzipEntries = (entries: unknown[]) => gzipSync(Buffer.from(JSON.stringify(entries), 'utf8')).toString('base64');
const gunzipEntries = (data: string) => JSON.parse(gunzipSync(Buffer.from(data, 'base64')).toString('utf8')) as Record<string, unknown>[];

type Finding = Omit<JsonReport['findings'][number], 'remediation'> & {
  remediation?: { steps: { title: string; risk: string; command: string; action: Record<string, any> }[] };
};

function findingsFor(report: JsonReport, rule: string, kind: string, namespace: string | undefined, name: string): Finding[] {
  return (report.findings as Finding[]).filter(
    (f) => f.rule === rule && f.object.kind === kind && f.object.name === name && (f.object.namespace ?? '') === (namespace ?? ''),
  );
}

async function writeStatus(path: string, status: Record<string, unknown>): Promise<void> {
  await raw('PATCH', `${path}/status`, { status }, 'application/merge-patch+json');
}

/** A registered cluster-gateway cluster: a labelled Secret in the gateway namespace (resolved through the APIService). */
async function registerCluster(name: string): Promise<void> {
  await create({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name, namespace: 'vela-system', labels: { [CREDENTIAL_TYPE]: 'X509Certificate' } },
    data: { endpoint: b64('https://192.0.2.10:6443'), 'tls.crt': b64('FAKE-CERT'), 'tls.key': b64('FAKE-KEY') },
  } as never);
}

/** The kubevela#6727 state: addon `fluxcd-<sfx>` enabled on vc1 and vc2, then vc2 detached (its Secret deleted). */
interface AddonState {
  sfx: string;
  addon: string;
  app: string;
  vc1: string;
  vc2: string;
  argsSecret: string;
  rootRt: string;
  gzipRt: string;
  gzipData: string;
}

async function addonState(): Promise<AddonState> {
  const sfx = randomBytes(4).toString('hex');
  const s: AddonState = {
    sfx,
    addon: `fluxcd-${sfx}`,
    app: `addon-fluxcd-${sfx}`,
    vc1: `vc1-${sfx}`,
    vc2: `vc2-${sfx}`,
    argsSecret: `addon-secret-fluxcd-${sfx}`,
    rootRt: `addon-fluxcd-${sfx}-vela-system`,
    gzipRt: `addon-fluxcd-${sfx}-v1-vela-system`,
    gzipData: '',
  };
  await registerCluster(s.vc1);
  // vc2 was joined (its Secret existed) and detached: `vela cluster detach` deleted the Secret.
  await registerCluster(s.vc2);
  await remove({ apiVersion: 'v1', kind: 'Secret', metadata: { name: s.vc2, namespace: 'vela-system' } });
  await create({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: s.argsSecret, namespace: 'vela-system' },
    data: { addonParameterDataKey: b64(JSON.stringify({ clusters: [s.vc1, s.vc2] })) },
  } as never);
  const app = await create({
    apiVersion: VELA,
    kind: 'Application',
    metadata: {
      name: s.app,
      namespace: 'vela-system',
      labels: { 'addons.oam.dev/name': s.addon, 'addons.oam.dev/version': '2.3.0', 'addons.oam.dev/registry': 'KubeVela' },
    },
    spec: {
      components: [
        {
          name: 'fluxcd-ns',
          type: 'k8s-objects',
          properties: { objects: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'flux-system' } }] },
        },
      ],
      policies: [
        {
          type: 'shared-resource',
          name: 'shared-CRD-namespace',
          properties: { rules: [{ selector: { resourceTypes: ['CustomResourceDefinition', 'Namespace'] } }] },
        },
        { type: 'topology', name: 'deploy-fluxcd', properties: { namespace: 'flux-system', clusters: [s.vc1, s.vc2] } },
        {
          type: 'garbage-collect',
          name: 'not-gc-CRD-namespace',
          properties: { rules: [{ selector: { resourceTypes: ['CustomResourceDefinition', 'Namespace'] }, strategy: 'never' }] },
        },
      ],
    },
  } as never);
  await writeStatus(`/apis/${VELA}/namespaces/vela-system/applications/${s.app}`, {
    status: 'runningWorkflow',
    workflow: {
      steps: [
        {
          name: 'deploy-deploy-fluxcd',
          type: 'deploy',
          phase: 'failed',
          reason: 'Execute',
          message: `failed to get cluster ${s.vc2}: virtualclusters.cluster.core.oam.dev "${s.vc2}" not found`,
        },
      ],
    },
  });
  const labels = { 'app.oam.dev/name': s.app, 'app.oam.dev/namespace': 'vela-system', 'app.oam.dev/uid': app.metadata.uid! };
  await create({
    apiVersion: VELA,
    kind: 'ResourceTracker',
    metadata: { name: s.rootRt, labels, finalizers: ['resourcetracker.core.oam.dev/finalizer'] },
    spec: {
      type: 'root',
      applicationGeneration: 0,
      managedResources: [
        { cluster: s.vc2, apiVersion: 'v1', kind: 'Namespace', name: 'flux-system', component: 'fluxcd-ns', skipGC: true },
        { cluster: s.vc1, apiVersion: 'v1', kind: 'Namespace', name: 'flux-system', component: 'fluxcd-ns', skipGC: true },
        {
          cluster: s.vc2,
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          name: 'helmreleases.helm.toolkit.fluxcd.io',
          component: 'fluxcd-CRD',
          skipGC: true,
        },
      ],
    },
  } as never);
  const deployment = (cluster: string) => ({
    cluster,
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: 'flux-system',
    name: 'helm-controller',
    component: 'helm-controller',
    raw: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'helm-controller', namespace: 'flux-system' },
      spec: { replicas: 1 },
    },
  });
  s.gzipData = gzipEntries([deployment(s.vc1), deployment(s.vc2)]);
  await create({
    apiVersion: VELA,
    kind: 'ResourceTracker',
    metadata: {
      name: s.gzipRt,
      labels: { ...labels, 'app.oam.dev/appRevision': `${s.app}-v1` },
      finalizers: ['resourcetracker.core.oam.dev/finalizer'],
    },
    spec: { type: 'versioned', applicationGeneration: 1, compression: { type: 'gzip', data: s.gzipData } },
  } as never);
  return s;
}

/** Everything that could still name vc2, read back from the API server. */
async function addonEndState(s: AddonState) {
  const app = await read({ apiVersion: VELA, kind: 'Application', metadata: { name: s.app, namespace: 'vela-system' } });
  const secret = await read({ apiVersion: 'v1', kind: 'Secret', metadata: { name: s.argsSecret, namespace: 'vela-system' } });
  const root = await read({ apiVersion: VELA, kind: 'ResourceTracker', metadata: { name: s.rootRt } });
  const gz = await read({ apiVersion: VELA, kind: 'ResourceTracker', metadata: { name: s.gzipRt } });
  const compression = (gz.spec as { compression: { type: string; data: string } }).compression;
  return {
    policies: (app.spec as { policies: unknown[] }).policies,
    args: JSON.parse(unb64((secret as unknown as { data: Record<string, string> }).data.addonParameterDataKey!)) as unknown,
    root: (root.spec as { managedResources: Record<string, unknown>[] }).managedResources,
    gzipType: compression.type,
    gzipHasManagedResources: Object.hasOwn(gz.spec as object, 'managedResources'),
    gzip: gunzipEntries(compression.data),
    everything: JSON.stringify([
      app.spec,
      unb64((secret as unknown as { data: Record<string, string> }).data.addonParameterDataKey!),
      root.spec,
      gunzipEntries(compression.data),
    ]),
  };
}

/** The end state with this state's suffix replaced, to compare two runs. */
function normalised(state: Awaited<ReturnType<typeof addonEndState>>, s: AddonState): string {
  const { everything: _all, ...rest } = state;
  return JSON.stringify(rest).replaceAll(s.sfx, 'SFX');
}

describe('kubevela/orphaned-cluster-reference against a real API server', () => {
  const ok = uniqueName('vela-ok');
  const stale = uniqueName('vela-stale');
  const ocm = `vc3-${randomBytes(4).toString('hex')}`;
  const registered = `vc1-${randomBytes(4).toString('hex')}`;
  let a: AddonState;
  let fixedEnd: Awaited<ReturnType<typeof addonEndState>> | undefined;

  before(async () => {
    a = await addonState();
    await createNamespace(ok);
    await createNamespace(stale);
    await registerCluster(registered);
    await create({
      apiVersion: 'cluster.open-cluster-management.io/v1',
      kind: 'ManagedCluster',
      metadata: { name: ocm },
      spec: { hubAcceptsClient: true, managedClusterClientConfigs: [{ url: 'https://192.0.2.30:6443', caBundle: b64('FAKE-CA') }] },
    } as never);
    const topology = (name: string, properties: Record<string, unknown>) =>
      create({
        apiVersion: VELA,
        kind: 'Application',
        metadata: { name, namespace: ok },
        spec: { components: [], policies: [{ type: 'topology', name: 'where', properties }] },
      } as never);
    await topology('registered', { clusters: [registered, 'local'] });
    await topology('ocm-only', { clusters: [ocm] });
    await topology('selector', { clusterLabelSelector: {} });
    // Stale bookkeeping only: the spec is fine, status still lists the detached cluster.
    await create({
      apiVersion: VELA,
      kind: 'Application',
      metadata: { name: 'web', namespace: stale },
      spec: { components: [], policies: [{ type: 'topology', name: 'where', properties: { clusters: [registered] } }] },
    } as never);
    await writeStatus(`/apis/${VELA}/namespaces/${stale}/applications/web`, {
      appliedResources: [
        { cluster: a.vc2, apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web', creator: 'workflow' },
        { cluster: registered, apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' },
      ],
      services: [{ name: 'web', namespace: 'web', cluster: a.vc2, healthy: false }],
    });
  });

  it('the API server keeps a gzip-compressed ResourceTracker byte for byte (no managedResources key), and it decodes as the rule expects', async () => {
    const rt = await read({ apiVersion: VELA, kind: 'ResourceTracker', metadata: { name: a.gzipRt } });
    const spec = rt.spec as Record<string, any>;
    assert.equal(spec.compression.type, 'gzip');
    assert.equal(spec.compression.data, a.gzipData);
    assert.equal(Object.hasOwn(spec, 'managedResources'), false);
    assert.deepEqual(
      gunzipEntries(spec.compression.data).map((e) => e.cluster),
      [a.vc1, a.vc2],
    );
  });

  it('reports the detached cluster in the addon app: policy, args, both trackers (one compressed) and the workflow message', async () => {
    const young = parseReport(await doctor(['-n', 'vela-system', '--rules', 'kubevela/*', '-o', 'json']));
    assert.deepEqual(
      findingsFor(young, VELA_RULE, 'Application', 'vela-system', a.app),
      [],
      'objects younger than 5m are left alone without --min-age',
    );

    const result = await doctor(['-n', 'vela-system', '--rules', 'kubevela/*', '--min-age', '0s', '-o', 'json']);
    assert.equal(result.code, 1, result.stderr);
    const report = parseReport(result);
    const found = findingsFor(report, VELA_RULE, 'Application', 'vela-system', a.app);
    assert.equal(found.length, 1, JSON.stringify(report.findings.map((f) => f.object)));
    const f = found[0]!;
    assert.equal(f.severity, 'error');
    assert.equal(
      f.message,
      `Application vela-system/${a.app} references unregistered cluster ${a.vc2} in topology policy deploy-fluxcd, addon args, ResourceTracker ${a.gzipRt} and 1 more (its next deploy or addon enable fails)`,
    );
    const e = f.evidence as Record<string, any>;
    assert.deepEqual(e.orphanedClusters, [a.vc2]);
    assert.ok(e.knownClusters.includes(a.vc1) && e.knownClusters.includes('local') && !e.knownClusters.includes(a.vc2));
    assert.equal(e.gatewayNamespaceFrom, 'APIService v1alpha1.cluster.core.oam.dev spec.service.namespace');
    assert.deepEqual(e.references, [
      {
        cluster: a.vc2,
        kind: 'topology-policy',
        where: 'spec.policies[1].properties.clusters[1]',
        policy: 'deploy-fluxcd',
        clusters: [a.vc1, a.vc2],
      },
      {
        cluster: a.vc2,
        kind: 'addon-args',
        where: `Secret vela-system/${a.argsSecret} data.addonParameterDataKey clusters`,
        clusters: [a.vc1, a.vc2],
      },
      {
        cluster: a.vc2,
        where: `ResourceTracker ${a.gzipRt} spec.compression.data[].cluster`,
        tracker: a.gzipRt,
        trackerType: 'versioned',
        compression: 'gzip',
        entries: 1,
        resources: ['apps/v1/Deployment/flux-system/helm-controller'],
      },
      {
        cluster: a.vc2,
        where: `ResourceTracker ${a.rootRt} spec.managedResources[].cluster`,
        tracker: a.rootRt,
        trackerType: 'root',
        compression: 'none',
        entries: 2,
        resources: ['v1/Namespace/flux-system', 'apiextensions.k8s.io/v1/CustomResourceDefinition/helmreleases.helm.toolkit.fluxcd.io'],
      },
    ]);
    assert.deepEqual(e.addon, {
      name: a.addon,
      argsSecret: `vela-system/${a.argsSecret}`,
      argsSecretExists: true,
      argsRead: true,
      argsClusters: [a.vc1, a.vc2],
      otherArgs: 0,
    });
    assert.deepEqual(e.failureMessages, [
      {
        where: 'status.workflow.steps[0] deploy-deploy-fluxcd',
        reason: 'Execute',
        message: `failed to get cluster ${a.vc2}: virtualclusters.cluster.core.oam.dev "${a.vc2}" not found`,
      },
    ]);
    // No credential of a cluster Secret reaches the report.
    assert.equal(result.stdout.includes(b64('FAKE-KEY')), false);
    assert.deepEqual(
      f.remediation!.steps.map((s) => `${s.action.type}${s.action.target ? ` ${s.action.target.kind}/${s.action.target.name}` : ''}`),
      [
        'manual',
        `json-patch Application/${a.app}`,
        `json-patch Secret/${a.argsSecret}`,
        `json-patch ResourceTracker/${a.gzipRt}`,
        `json-patch ResourceTracker/${a.rootRt}`,
        'manual',
      ],
    );
    assert.equal(f.remediation!.steps[0]!.command, `vela addon enable ${a.addon} --version 2.3.0 --clusters ${a.vc1}`);

    // The policy patch `test`s a whole list value: the API server compares it element by element, in order.
    const patch = f.remediation!.steps[1]!.action.patch as { op: string; path: string; value?: unknown }[];
    assert.deepEqual(patch[0], { op: 'test', path: '/spec/policies/1/properties/clusters', value: [a.vc1, a.vc2] });
    const appPath = `/apis/${VELA}/namespaces/vela-system/applications/${a.app}`;
    assert.equal((await rawDry('PATCH', appPath, patch)).status, 200);
    const reordered = patch.map((op, i) => (i === 0 ? { ...op, value: [a.vc2, a.vc1] } : op));
    assert.equal((await rawDry('PATCH', appPath, reordered)).status, 422);
    // The compressed tracker's patch tests the whole base64 string the scan read.
    const gz = f.remediation!.steps[3]!.action.patch as { op: string; path: string; value?: unknown }[];
    assert.deepEqual(gz[0], { op: 'test', path: '/spec/compression/data', value: a.gzipData });
  });

  it('stale status alone is a warning with the workflow restart', async () => {
    const report = parseReport(await doctor(['-n', stale, '--rules', 'kubevela/*', '--min-age', '0s', '-o', 'json']));
    const [f] = findingsFor(report, VELA_RULE, 'Application', stale, 'web');
    assert.ok(f, JSON.stringify(report.findings));
    assert.equal(f.severity, 'warning');
    assert.equal(f.message, `Application ${stale}/web references unregistered cluster ${a.vc2} in status (stale bookkeeping)`);
    assert.deepEqual(f.evidence.references as unknown[], [
      { cluster: a.vc2, where: 'status.appliedResources[].cluster', count: 1, kind: 'status' },
      { cluster: a.vc2, where: 'status.services[].cluster', count: 1, kind: 'status' },
    ]);
    assert.equal(f.remediation!.steps[0]!.command, `vela workflow restart web -n ${stale}`);
  });

  it('healthy twins are silent: registered cluster, OCM-only cluster, selector-based policy; the OCM app is flagged once its ManagedCluster goes', async () => {
    const result = await doctor(['-n', ok, '--rules', 'kubevela/*', '--min-age', '0s', '-o', 'json']);
    const report = parseReport(result);
    assert.equal(report.rules.find((r) => r.id === VELA_RULE)?.status, 'pass', result.stdout);
    assert.deepEqual(report.findings, []);
    assert.equal(result.code, 0);

    await remove({ apiVersion: 'cluster.open-cluster-management.io/v1', kind: 'ManagedCluster', metadata: { name: ocm } });
    const after = parseReport(await doctor(['-n', ok, '--rules', 'kubevela/*', '--min-age', '0s', '-o', 'json']));
    assert.deepEqual(
      after.findings.map((f) => `${f.object.name}: ${(f.evidence.orphanedClusters as string[]).join()}`),
      [`ocm-only: ${ocm}`],
    );
  });

  it('without Secret access the rule is skipped with the reason, never a false report (exit 3)', async (t) => {
    if (!e2e().limitedContext) return t.skip('external cluster: no limited context');
    const result = await doctor(['--rules', 'kubevela/*', '--min-age', '0s', '-o', 'json'], { context: e2e().limitedContext! });
    assert.equal(result.code, 3, result.stderr);
    const report = parseReport(result);
    const rule = report.rules.find((r) => r.id === VELA_RULE)!;
    assert.equal(rule.status, 'skipped');
    assert.equal(rule.reason, 'forbidden: list secrets');
    assert.deepEqual(
      report.findings.filter((f) => f.rule === VELA_RULE),
      [],
    );
  });

  it('--fix --yes removes every reference to the detached cluster (spec, args Secret, plain and gzip trackers); the rescan is clean', async () => {
    const backups = tempDir('vela-fix');
    const dry = await doctor([
      '-n',
      'vela-system',
      '--rules',
      'kubevela/*',
      '--min-age',
      '0s',
      '--fix',
      '--yes',
      '--dry-run=server',
      '-o',
      'json',
    ]);
    assert.deepEqual(
      parseReport(dry)
        .fix!.results.filter((r) => r.rule === VELA_RULE)
        .map((r) => r.outcome),
      ['dry-run'],
      dry.stderr,
    );
    const result = await doctor([
      '-n',
      'vela-system',
      '--rules',
      'kubevela/*',
      '--min-age',
      '0s',
      '--fix',
      '--yes',
      '--backup-dir',
      backups,
      '-o',
      'json',
    ]);
    const report = parseReport(result);
    assert.equal(result.code, 0, `${result.stderr}\n${JSON.stringify(report.fix, null, 2)}`);
    assert.equal(dry.code, result.code, `the server dry run exits as the real run: ${dry.stderr}`);
    const mine = report.fix!.results.filter((r) => r.rule === VELA_RULE);
    assert.deepEqual(
      mine.map((r) => [r.outcome, r.steps.map((s) => s.status).join(',')]),
      [['fixed', 'manual,applied,applied,applied,applied,manual']],
    );

    const end = await addonEndState(a);
    assert.equal(end.everything.includes(a.vc2), false, end.everything);
    assert.deepEqual((end.policies[1] as { properties: unknown }).properties, { namespace: 'flux-system', clusters: [a.vc1] });
    assert.deepEqual(end.args, { clusters: [a.vc1] });
    assert.deepEqual(
      end.root.map((r) => `${String(r.cluster)} ${String(r.kind)}`),
      [`${a.vc1} Namespace`],
    );
    assert.equal(end.gzipType, 'gzip');
    assert.equal(end.gzipHasManagedResources, false);
    assert.deepEqual(end.gzip, [
      {
        cluster: a.vc1,
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: 'flux-system',
        name: 'helm-controller',
        component: 'helm-controller',
        raw: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'helm-controller', namespace: 'flux-system' },
          spec: { replicas: 1 },
        },
      },
    ]);

    const rescan = await doctor(['-n', 'vela-system', '--rules', 'kubevela/*', '--min-age', '0s', '-o', 'json']);
    assert.deepEqual(findingsFor(parseReport(rescan), VELA_RULE, 'Application', 'vela-system', a.app), []);
    assert.equal(rescan.code, 0, rescan.stdout);

    fixedEnd = end;
  });

  it(
    '-o script on a second identical state, run with bash and kubectl, gives the same end state',
    {
      skip: KUBECTL ? false : 'no kubectl on PATH: the script cannot be run, so its end state is not checked',
    },
    async () => {
      assert.ok(fixedEnd, 'needs the --fix test before it');
      const backups = tempDir('vela-script');
      const b = await addonState();
      const script = await doctor(['-n', 'vela-system', '--rules', 'kubevela/*', '--min-age', '0s', '-o', 'script']);
      assert.equal(script.code, 1, script.stderr);
      for (const needle of [
        `kubectl patch applications.core.oam.dev ${b.app} -n vela-system --type=json`,
        `kubectl patch secrets ${b.argsSecret} -n vela-system --type=json`,
        `kubectl patch resourcetrackers.core.oam.dev ${b.rootRt} --type=json`,
        `kubectl patch resourcetrackers.core.oam.dev ${b.gzipRt} --type=json`,
      ])
        assert.ok(script.stdout.includes(needle), `script lacks ${needle}:\n${script.stdout}`);
      const file = join(backups, 'plan.sh');
      writeFileSync(file, script.stdout);
      const run = spawnSync('bash', [file], { encoding: 'utf8', env: { ...process.env, PATH: SCRIPT_PATH } });
      assert.equal(run.status, 0, `script failed:\n${run.stderr}\n${script.stdout}`);
      const endB = await addonEndState(b);
      assert.equal(endB.everything.includes(b.vc2), false, endB.everything);
      assert.equal(normalised(endB, b), normalised(fixedEnd, a));
      const again = await doctor(['-n', 'vela-system', '--rules', 'kubevela/*', '--min-age', '0s', '-o', 'json']);
      assert.equal(again.code, 0, again.stdout);

      // Run twice, the script stops at its first precondition instead of writing over a changed object.
      const rerun = spawnSync('bash', [file], { encoding: 'utf8', env: { ...process.env, PATH: SCRIPT_PATH } });
      assert.notEqual(rerun.status, 0);
      // A failed JSON-patch `test` op is a 422 with a generic message: the API server does not say which op failed.
      assert.match(rerun.stderr, /the server rejected our request due to an error in our request/);
    },
  );
});

describe('fleet/missing-values-secret against a real API server', () => {
  const ns = uniqueName('cluster-fleet');
  const bd = 'myrepo-apps-nginx';
  const bdPath = `/apis/${FLEET}/namespaces/${ns}/bundledeployments`;
  const targeting = `targeting error: failed to get options secret for bundledeployment ${ns}/${bd}, this is likely temporary: secrets "${bd}" not found`;

  before(async () => {
    await createNamespace(ns);
    // Bundle, GitRepo and BundleDeployments share one namespace here so that -n limits the scan (and --fix) to them.
    await createGitRepoBundle(ns, bd, { forceSyncGeneration: 2, bundleSpec: { helm: { releaseName: 'nginx' } } });
    await writeStatus(`/apis/${FLEET}/namespaces/${ns}/bundles/${bd}`, {
      conditions: [{ type: 'Ready', status: 'False', reason: 'Error', message: targeting, lastUpdateTime: new Date().toISOString() }],
    });
    await createBundleDeployment(
      ns,
      bd,
      {
        deploymentID: 's-4b8f:5f2c8e1a',
        stagedDeploymentID: 's-4b8f:5f2c8e1a',
        valuesHash: '5f2c8e1a',
        options: { defaultNamespace: 'nginx', helm: { releaseName: 'nginx' } },
      },
      { finalizers: ['fleet.cattle.io/bundle-deployment-finalizer'] },
    );
    await writeStatus(`${bdPath}/${bd}`, { appliedDeploymentID: 's-4b8f:11111111', ready: false, display: { state: 'WaitApplied' } });
    // Healthy twins: no values (valuesHash ""), and values with their options Secret owned by the BundleDeployment.
    await createBundleDeployment(ns, 'no-values', { deploymentID: 's-1:', valuesHash: '' });
    const withSecret = await createBundleDeployment(ns, 'with-secret', { deploymentID: 's-2:abc', valuesHash: 'abc' });
    await createOptionsSecret(withSecret, { values: b64('{"replicas":3}'), stagedValues: b64('{"replicas":3}') });
  });

  it('reports the BundleDeployment without its options Secret, with the evidence; the healthy twins and the young state are silent', async () => {
    const young = await doctor(['-n', ns, '--rules', 'fleet/*', '-o', 'json']);
    assert.deepEqual(parseReport(young).findings, [], 'a BundleDeployment younger than the 5m grace period is left alone');
    assert.equal(young.code, 0);

    const result = await doctor(['-n', ns, '--rules', 'fleet/*', '--min-age', '0s', '-o', 'json']);
    assert.equal(result.code, 1, result.stderr);
    const report = parseReport(result);
    assert.deepEqual(
      report.findings.map((f) => `${f.rule} ${f.object.kind}/${f.object.name}`),
      [`${FLEET_RULE} BundleDeployment/${bd}`],
    );
    const f = (report.findings as Finding[])[0]!;
    assert.equal(f.severity, 'error');
    assert.match(
      f.message,
      new RegExp(`^BundleDeployment ${ns}/${bd} has valuesHash set but its options Secret ${ns}/${bd} is missing \\(age \\d+s\\)$`),
    );
    const e = f.evidence as Record<string, any>;
    assert.equal(e.valuesHash, '5f2c8e1a');
    assert.equal(e.waitingForValues, false);
    assert.deepEqual([e.deploymentID, e.appliedDeploymentID], ['s-4b8f:5f2c8e1a', 's-4b8f:11111111']);
    assert.deepEqual(e.optionsSecret, {
      namespace: ns,
      name: bd,
      expectedType: 'fleet.cattle.io/bundle-deployment/v1alpha1',
      found: false,
    });
    assert.equal(e.bundle, `${ns}/${bd}`);
    assert.deepEqual(e.bundleReady, { status: 'False', message: targeting });
    assert.equal(e.gitRepo, `${ns}/myrepo`);
    assert.deepEqual(
      f.remediation!.steps.map((s) => `${s.action.type} ${s.risk}`),
      [
        'merge-patch safe',
        'json-patch safe',
        'manual disruptive',
        'checkpoint safe',
        'json-patch disruptive',
        'merge-patch safe',
        'checkpoint safe',
        'delete destructive',
      ],
    );
  });

  it('--fix --yes --allow=destructive takes only the first rung (poke the Bundle, bump the GitRepo) and stops at the checkpoint', async () => {
    const before = await read({ apiVersion: FLEET, kind: 'BundleDeployment', metadata: { name: bd, namespace: ns } });
    const result = await doctor([
      '-n',
      ns,
      '--rules',
      'fleet/*',
      '--min-age',
      '0s',
      '--fix',
      '--yes',
      '--allow',
      'destructive',
      '--backup-dir',
      tempDir('fleet-fix'),
      '-o',
      'json',
    ]);
    const report = parseReport(result);
    const [fix] = report.fix!.results;
    assert.ok(fix, result.stderr);
    assert.deepEqual(
      fix.steps.map((s) => s.status),
      ['applied', 'applied', 'manual', 'not-run', 'not-run', 'not-run', 'not-run', 'not-run'],
    );
    assert.match(
      fix.stopped ?? '',
      /^checkpoint: Wait for the fleet-controller to reconcile the Bundle .* the next rung resets the BundleDeployment's values hash \(disruptive\)\.$/,
    );
    // No fleet-controller runs here, so the Secret does not come back yet: pending at the checkpoint, exit 1
    // (findings remain, nothing went wrong), not 4.
    assert.equal(fix.outcome, 'pending');
    assert.equal(result.code, 1, result.stderr);

    const bundle = await read({ apiVersion: FLEET, kind: 'Bundle', metadata: { name: bd, namespace: ns } });
    assert.ok(bundle.metadata.annotations?.['doctor.kubectl/poke'], 'Bundle poked');
    const repo = await read({ apiVersion: FLEET, kind: 'GitRepo', metadata: { name: 'myrepo', namespace: ns } });
    assert.equal((repo.spec as { forceSyncGeneration: number }).forceSyncGeneration, 3);
    const after = await read({ apiVersion: FLEET, kind: 'BundleDeployment', metadata: { name: bd, namespace: ns } });
    assert.equal(
      after.metadata.resourceVersion,
      before.metadata.resourceVersion,
      'the BundleDeployment was not touched (no hash reset, no delete)',
    );
    assert.equal((after.spec as { valuesHash: string }).valuesHash, '5f2c8e1a');
  });

  it("the second rung's JSON patch (tests on valuesHash, add waitingForValues) is accepted by the API server, and refused once the value moved", async () => {
    const scan = parseReport(await doctor(['-n', ns, '--rules', 'fleet/*', '--min-age', '0s', '-o', 'json']));
    const reset = (scan.findings as Finding[])[0]!.remediation!.steps.find(
      (s) => s.risk === 'disruptive' && s.action.type === 'json-patch',
    )!;
    const path = `${bdPath}/${bd}`;
    const dry = await rawDry('PATCH', path, reset.action.patch);
    assert.equal(dry.status, 200, dry.body);
    const stale = (reset.action.patch as { op: string; path: string; value?: unknown }[]).map((op) =>
      op.path === '/spec/valuesHash' && op.op === 'test' ? { ...op, value: 'other' } : op,
    );
    const refused = await rawDry('PATCH', path, stale);
    // The only difference is the tested value: a failed `test` op is a 422 Invalid with a generic message.
    assert.equal(refused.status, 422, refused.body);
    assert.match(refused.body, /"reason":"Invalid"/);
  });
});

/** A JSON patch sent with dryRun=All: validated and admitted by the API server, not persisted. */
async function rawDry(method: string, path: string, patch: unknown) {
  return rawRequest(adminKubeConfig(), method, `${path}?dryRun=All`, {
    body: patch,
    headers: { 'Content-Type': 'application/json-patch+json' },
  });
}

describe('fleet: a BundleDeployment and its Bundle that both lost their Secrets', () => {
  const ns = uniqueName('fleet-pair');
  const name = 'myrepo-apps-web';

  before(async () => {
    await createNamespace(ns);
    // The Bundle's values Secret and the BundleDeployment's options Secret are both gone.
    await createGitRepoBundle(ns, name, { forceSyncGeneration: 7, bundleSpec: { valuesHash: 'b0b0', helm: { releaseName: 'web' } } });
    await createBundleDeployment(ns, name, { deploymentID: 's-1:b0b0', valuesHash: 'b0b0', options: { helm: { releaseName: 'web' } } });
  });

  it('the GitRepo bump and the Bundle poke both findings need are made once; a server dry run exits as the real run', async () => {
    const scan = parseReport(await doctor(['-n', ns, '--rules', 'fleet/*', '--min-age', '0s', '-o', 'json']));
    assert.deepEqual(scan.findings.map((f) => f.object.kind).sort(), ['Bundle', 'BundleDeployment']);

    const repoBefore = await read({ apiVersion: FLEET, kind: 'GitRepo', metadata: { name: 'myrepo', namespace: ns } });
    const args = ['-n', ns, '--rules', 'fleet/*', '--min-age', '0s', '--fix', '--yes', '--allow', 'destructive', '-o', 'json'];
    const dry = await doctor([...args, '--dry-run=server']);
    assert.equal(
      (await read({ apiVersion: FLEET, kind: 'GitRepo', metadata: { name: 'myrepo', namespace: ns } })).metadata.resourceVersion,
      repoBefore.metadata.resourceVersion,
    );

    const backups = tempDir('fleet-pair');
    const real = await doctor([...args, '--backup-dir', backups]);
    const report = parseReport(real);
    assert.equal(real.code, 1, `pending at the checkpoint, never 4: ${real.stderr}`);
    assert.equal(dry.code, real.code, `the dry run exits as the real run: ${dry.stderr}`);
    assert.deepEqual(
      parseReport(dry).fix!.results.map((r) => r.outcome),
      ['dry-run', 'dry-run'],
    );
    assert.deepEqual(
      report.fix!.results.map((r) => r.outcome),
      ['pending', 'pending'],
    );
    const shared = report.fix!.results.flatMap((r) => r.steps).filter((s) => s.status === 'shared');
    assert.equal(shared.length, 2, "the second finding refers to the first one's writes");

    const repo = await read({ apiVersion: FLEET, kind: 'GitRepo', metadata: { name: 'myrepo', namespace: ns } });
    assert.equal((repo.spec as { forceSyncGeneration: number }).forceSyncGeneration, 8, 'bumped once');
    const audit = readAudit(backups);
    assert.deepEqual(
      audit
        .filter((e) => e.result === 'intent')
        .map((e) => e.object.kind)
        .sort(),
      ['Bundle', 'GitRepo'],
      'one write per object',
    );
    rmSync(backups, { recursive: true, force: true });
  });
});
