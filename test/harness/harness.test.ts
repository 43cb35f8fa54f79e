// Proves the end-to-end harness itself: a real kube-apiserver with the semantics kubectl doctor relies on.
// Run: ./node_modules/.bin/node --test --test-global-setup=test/harness/global-setup.ts test/harness/harness.test.ts
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ApiException, CoreV1Api, CustomObjectsApi, type V1ConfigMap } from '@kubernetes/client-node';
import { kubeConfigAt, loadCrdFiles, startTestCluster } from './cluster.ts';
import { adminKubeConfig, e2e, limitedKubeConfig, rawRequest, uniqueName } from './env.ts';

const META_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const TEST_FINALIZER = 'e2e.kubectl-doctor.io/hold';

interface Status {
  kind: string;
  status: string;
  message: string;
  reason: string;
  code: number;
}

function statusOf(body: unknown): Status {
  const s = body as Partial<Status> | undefined;
  assert.equal(s?.kind, 'Status', `expected a Status body, got ${JSON.stringify(body)}`);
  return s as Status;
}

async function expectApiError(p: Promise<unknown>, code: number): Promise<Status> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApiException, `expected ApiException, got ${String(err)}`);
    assert.equal(err.code, code, `expected HTTP ${code}, got ${err.code}: ${String(err.body)}`);
    return statusOf(typeof err.body === 'string' ? JSON.parse(err.body) : err.body);
  }
  assert.fail(`expected HTTP ${code}, but the request succeeded`);
}

const env = e2e();
const kc = adminKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const ns = uniqueName('harness');

// No controller-manager: a deleted namespace would stay Terminating forever, so test namespaces are
// simply left behind (the server is thrown away after the run).
before(async () => {
  await core.createNamespace({ body: { metadata: { name: ns } } });
});

describe('kube-apiserver from the harness', () => {
  it('answers /version and /readyz', async (t) => {
    const v = await rawRequest(kc, 'GET', '/version');
    assert.equal(v.status, 200);
    const gitVersion = (v.json as { gitVersion: string }).gitVersion;
    t.diagnostic(`server ${env.server} gitVersion ${gitVersion}`);
    if (!env.external) assert.equal(gitVersion, env.kubernetesVersion);
    const r = await rawRequest(kc, 'GET', '/readyz');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok');
  });

  it('keeps a deleted object with a finalizer (deletionTimestamp set) and refuses new finalizers', async (t) => {
    const name = 'held';
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name, finalizers: [TEST_FINALIZER] }, data: { a: '1' } },
    });
    await core.deleteNamespacedConfigMap({ name, namespace: ns });
    const cm: V1ConfigMap = await core.readNamespacedConfigMap({ name, namespace: ns });
    assert.ok(cm.metadata?.deletionTimestamp, 'deletionTimestamp must be set');
    assert.deepEqual(cm.metadata?.finalizers, [TEST_FINALIZER]);

    const add = await rawRequest(kc, 'PATCH', `/api/v1/namespaces/${ns}/configmaps/${name}`, {
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: { metadata: { finalizers: [TEST_FINALIZER, 'e2e.kubectl-doctor.io/another'] } },
    });
    assert.equal(add.status, 422, add.body);
    const st = statusOf(add.json);
    t.diagnostic(`core object: HTTP 422 ${st.reason}: ${st.message}`);
    assert.equal(st.reason, 'Invalid');
    assert.match(st.message, /no new finalizers can be added if the object is being deleted/);

    // Removing the last finalizer lets the deletion complete.
    const rm = await rawRequest(kc, 'PATCH', `/api/v1/namespaces/${ns}/configmaps/${name}`, {
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: { metadata: { finalizers: null } },
    });
    assert.equal(rm.status, 200, rm.body);
    await expectApiError(core.readNamespacedConfigMap({ name, namespace: ns }), 404);
  });

  it('gives the same finalizer semantics for custom resources', async (t) => {
    const group = 'cluster.x-k8s.io';
    const version = 'v1beta2';
    const plural = 'clusters';
    const name = 'prod-a';
    await custom.createNamespacedCustomObject({
      group,
      version,
      namespace: ns,
      plural,
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'Cluster',
        metadata: { name, finalizers: [TEST_FINALIZER] },
        spec: { paused: true },
      },
    });
    await custom.deleteNamespacedCustomObject({ group, version, namespace: ns, plural, name });
    const obj = (await custom.getNamespacedCustomObject({ group, version, namespace: ns, plural, name })) as {
      metadata: { deletionTimestamp?: string };
    };
    assert.ok(obj.metadata.deletionTimestamp);
    const add = await rawRequest(kc, 'PATCH', `/apis/${group}/${version}/namespaces/${ns}/${plural}/${name}`, {
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: { metadata: { finalizers: [TEST_FINALIZER, 'cluster.cluster.x-k8s.io'] } },
    });
    assert.equal(add.status, 422, add.body);
    const st = statusOf(add.json);
    t.diagnostic(`custom resource: HTTP 422 ${st.reason}: ${st.message}`);
    assert.match(st.message, /no new finalizers can be added if the object is being deleted/);
  });

  it('forbids the limited user to list secrets but allows its read permissions', { skip: !env.limitedContext }, async (t) => {
    const lkc = limitedKubeConfig();
    const lcore = lkc.makeApiClient(CoreV1Api);
    const st = await expectApiError(lcore.listNamespacedSecret({ namespace: ns }), 403);
    t.diagnostic(`403 message: ${st.message}`);
    assert.equal(st.reason, 'Forbidden');
    assert.match(st.message, /User "doctor-limited" cannot list resource "secrets"/);
    await expectApiError(lcore.listSecretForAllNamespaces(), 403);

    await lcore.listNamespace();
    await lcore.listNamespacedConfigMap({ namespace: ns });
    const lcustom = lkc.makeApiClient(CustomObjectsApi);
    await lcustom.listClusterCustomObject({ group: 'core.oam.dev', version: 'v1beta1', plural: 'applications' });
    await expectApiError(lcustom.listClusterCustomObject({ group: 'core.oam.dev', version: 'v1beta1', plural: 'resourcetrackers' }), 403);
    // Discovery works for every authenticated user.
    const d = await rawRequest(lkc, 'GET', '/apis');
    assert.equal(d.status, 200);
  });

  it('serves every CRD from test/harness/crds (list returns 200 for each served version)', async () => {
    const crds = await loadCrdFiles();
    assert.ok(crds.length >= 20, `expected >= 20 CRDs, found ${crds.length}`);
    for (const crd of crds) {
      for (const v of crd.spec.versions.filter((x) => x.served)) {
        const path = `/apis/${crd.spec.group}/${v.name}/${crd.spec.names.plural}`;
        const r = await rawRequest(kc, 'GET', path);
        assert.equal(r.status, 200, `${path}: ${r.body}`);
        assert.equal((r.json as { kind: string }).kind, `${crd.spec.names.kind}List`);
      }
    }
  });

  it('has no status subresource for Harvester upgrades but one for addons', async () => {
    const base = `/apis/harvesterhci.io/v1beta1/namespaces/${ns}`;
    const up = await rawRequest(kc, 'POST', `${base}/upgrades`, {
      body: {
        apiVersion: 'harvesterhci.io/v1beta1',
        kind: 'Upgrade',
        metadata: { name: 'hvst-upgrade-x' },
        spec: { version: 'v1.4.3' },
        status: { previousVersion: 'v1.4.2' },
      },
    });
    assert.equal(up.status, 201, up.body);
    // Without a status subresource, .status is part of the main resource...
    assert.deepEqual((up.json as { status?: unknown }).status, { previousVersion: 'v1.4.2' });
    // ...and /status does not exist.
    const upStatus = await rawRequest(kc, 'GET', `${base}/upgrades/hvst-upgrade-x/status`);
    assert.equal(upStatus.status, 404, upStatus.body);

    const add = await rawRequest(kc, 'POST', `${base}/addons`, {
      body: {
        apiVersion: 'harvesterhci.io/v1beta1',
        kind: 'Addon',
        metadata: { name: 'rancher-logging' },
        spec: { enabled: true },
        status: { status: 'AddonEnabling' },
      },
    });
    assert.equal(add.status, 201, add.body);
    // With a status subresource, .status in a main-resource write is ignored...
    assert.equal((add.json as { status?: unknown }).status, undefined);
    // ...and must be written through /status.
    const addStatus = await rawRequest(kc, 'PATCH', `${base}/addons/rancher-logging/status`, {
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: { status: { status: 'AddonDeployed' } },
    });
    assert.equal(addStatus.status, 200, addStatus.body);
    assert.deepEqual((addStatus.json as { status?: unknown }).status, { status: 'AddonDeployed' });

    const disc = await rawRequest(kc, 'GET', '/apis/harvesterhci.io/v1beta1');
    const names = ((disc.json as { resources: { name: string }[] }).resources ?? []).map((r) => r.name);
    assert.ok(names.includes('addons/status'));
    assert.ok(names.includes('upgrades'));
    assert.ok(!names.includes('upgrades/status'));
  });

  it('supports metadata-only lists (PartialObjectMetadataList)', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'meta-only' }, data: { big: 'x'.repeat(1000) } } });
    const r = await rawRequest(kc, 'GET', `/api/v1/namespaces/${ns}/configmaps`, { headers: { Accept: META_LIST_ACCEPT } });
    assert.equal(r.status, 200, r.body);
    // Note: the response Content-Type is plain "application/json"; only the body's kind tells.
    const list = r.json as { kind: string; apiVersion: string; items: { kind?: string; metadata: { name: string }; data?: unknown }[] };
    assert.equal(list.kind, 'PartialObjectMetadataList');
    assert.equal(list.apiVersion, 'meta.k8s.io/v1');
    const item = list.items.find((i) => i.metadata.name === 'meta-only');
    assert.ok(item);
    assert.equal(item.data, undefined);

    // The same for custom resources.
    const cr = await rawRequest(kc, 'GET', `/apis/harvesterhci.io/v1beta1/namespaces/${ns}/addons`, {
      headers: { Accept: META_LIST_ACCEPT },
    });
    assert.equal(cr.status, 200, cr.body);
    const crList = cr.json as { kind: string; items: { metadata: { name: string }; spec?: unknown }[] };
    assert.equal(crList.kind, 'PartialObjectMetadataList');
    assert.ok(crList.items.some((i) => i.metadata.name === 'rancher-logging' && i.spec === undefined));
  });

  it('paginates with limit/continue', async () => {
    const pns = uniqueName('paging');
    await core.createNamespace({ body: { metadata: { name: pns } } });
    const want: string[] = [];
    for (let i = 0; i < 7; i++) {
      const name = `cm-${i}`;
      want.push(name);
      await core.createNamespacedConfigMap({ namespace: pns, body: { metadata: { name } } });
    }
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await core.listNamespacedConfigMap({ namespace: pns, limit: 3, _continue: token });
      pages++;
      seen.push(...page.items.map((i) => i.metadata?.name ?? ''));
      token = page.metadata?._continue || undefined;
      if (token) assert.ok((page.metadata?.remainingItemCount ?? 0) > 0);
    } while (token && pages < 20);
    // kube-root-ca.crt is not created (no controller-manager), so only ours are there.
    assert.deepEqual(seen.sort(), want.sort());
    assert.equal(pages, 3);
  });

  it('registers the broken aggregated API: unavailable, but discovery still works', async (t) => {
    const svc = await rawRequest(kc, 'GET', '/apis/apiregistration.k8s.io/v1/apiservices/v1alpha1.cluster.core.oam.dev');
    assert.equal(svc.status, 200);
    const cond = (
      svc.json as { status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } }
    ).status?.conditions?.find((c) => c.type === 'Available');
    t.diagnostic(`APIService Available=${cond?.status} reason=${cond?.reason} message=${cond?.message}`);
    assert.equal(cond?.status, 'False');

    const groups = await rawRequest(kc, 'GET', '/apis');
    assert.equal(groups.status, 200);
    const names = (groups.json as { groups: { name: string }[] }).groups.map((g) => g.name);
    assert.ok(names.includes('cluster.core.oam.dev'), 'the unavailable group is still listed in /apis');
    assert.ok(names.includes('core.oam.dev'));
    assert.ok(names.includes('apps'));

    const gv = await rawRequest(kc, 'GET', '/apis/cluster.core.oam.dev/v1alpha1');
    t.diagnostic(`GET /apis/cluster.core.oam.dev/v1alpha1 -> HTTP ${gv.status} ${JSON.stringify(gv.body.trim())}`);
    assert.equal(gv.status, 503);

    const agg = await rawRequest(kc, 'GET', '/apis', {
      headers: { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' },
    });
    assert.equal(agg.status, 200);
    const item = (
      agg.json as { items: { metadata: { name: string }; versions: { version: string; freshness?: string; resources?: unknown[] }[] }[] }
    ).items.find((i) => i.metadata.name === 'cluster.core.oam.dev');
    t.diagnostic(`aggregated discovery for cluster.core.oam.dev: ${JSON.stringify(item)}`);
    assert.equal(item?.versions[0]?.freshness, 'Stale');
  });
});

describe('kube-testenv --profiling (npm run bench)', () => {
  it('serves /debug/pprof only when asked, and heap?gc=1 runs the collector before it answers', { skip: e2e().external }, async () => {
    const numGc = (body: string): number => Number(/^# NumGC = (\d+)$/m.exec(body)?.[1] ?? NaN);
    // The suite's server is started without it: kube-apiserver --profiling=false.
    assert.equal((await rawRequest(adminKubeConfig(), 'GET', '/debug/pprof/heap?debug=1')).status, 404);
    const cluster = await startTestCluster({ fixtures: false, profiling: true });
    try {
      const kc = kubeConfigAt(cluster.kubeconfigPath, cluster.adminContext);
      const before = await rawRequest(kc, 'GET', '/debug/pprof/heap?debug=1');
      assert.equal(before.status, 200);
      const after = await rawRequest(kc, 'GET', '/debug/pprof/heap?debug=1&gc=1');
      assert.equal(after.status, 200);
      assert.ok(numGc(after.body) > numGc(before.body), `NumGC ${numGc(before.body)} -> ${numGc(after.body)}`);
    } finally {
      await cluster.stop();
    }
  });
});
