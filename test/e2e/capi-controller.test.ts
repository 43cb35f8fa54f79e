// End to end with the real Cluster API core controller (test/capi: the manager of the pinned release, its CRDs and
// webhooks, on a kube-apiserver of its own): the Cluster API rules and fixes are judged by what the controller then
// does, not only by the objects our writes leave behind. No infrastructure provider runs: this test plays it, for the
// TestMachine type (test/capi/testmachines.yaml), where a scenario needs one.
// Run: ./node_modules/.bin/node --test --test-global-setup=test/harness/global-setup.ts test/e2e/capi-controller.test.ts
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { e2e, rawRequest, uniqueName } from '../harness/env.ts';
import { startCapi, SYNC_PERIOD_MS, type Capi } from '../capi/manager.ts';
import { answerEverything, doctorCommand, onTerminal } from '../cli/pty.ts';
import { assertValidReport } from '../cli/run-cli.ts';
import { tempDir } from '../temp.ts';
import { doctor, parseReport, type JsonReport } from './kube.ts';

const CAPI = 'cluster.x-k8s.io/v1beta2';
const INFRA = 'infrastructure.cluster.x-k8s.io/v1alpha1';
const CLUSTER_FINALIZER = 'cluster.cluster.x-k8s.io';
const MACHINE_FINALIZER = 'machine.cluster.x-k8s.io';
const DELETE_FOR_MOVE = 'clusterctl.cluster.x-k8s.io/delete-for-move';
/** What a provider's controller holds on its infrastructure objects until what they stand for is gone. */
const PROVIDER_FINALIZER = 'infrastructure.cluster.x-k8s.io/test';

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    finalizers?: string[];
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } & Record<string, unknown>;
}

const plural = (kind: string) => `${kind.toLowerCase()}s`;

describe('the real Cluster API controller', { skip: e2e().external && 'needs an API server of its own', timeout: 3_600_000 }, () => {
  let capi: Capi;
  const backups = tempDir('capi-backups');

  before(
    async () => {
      capi = await startCapi();
    },
    { timeout: 3_600_000 }, // the first run builds the manager
  );
  after(async () => {
    await capi?.stop();
  });

  const cluster = () => ({ kubeconfigPath: capi.cluster.kubeconfigPath, adminContext: capi.cluster.adminContext });
  const pathOf = (o: { apiVersion: string; kind: string; metadata: { namespace?: string; name: string } }, sub = '') =>
    `/apis/${o.apiVersion}/namespaces/${o.metadata.namespace}/${plural(o.kind)}/${o.metadata.name}${sub}`;

  async function api(method: string, path: string, body?: unknown, contentType?: string): Promise<Obj> {
    const res = await rawRequest(capi.kubeConfig, method, path, {
      ...(body !== undefined ? { body } : {}),
      ...(contentType ? { headers: { 'Content-Type': contentType } } : {}),
    });
    if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status}: ${res.body}`);
    return res.json as Obj;
  }
  const create = (o: Obj) => api('POST', pathOf(o).replace(/\/[^/]+$/, ''), o);
  const read = async (o: Obj): Promise<Obj | undefined> => {
    const res = await rawRequest(capi.kubeConfig, 'GET', pathOf(o));
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`GET ${pathOf(o)}: HTTP ${res.status}: ${res.body}`);
    return res.json as Obj;
  };
  const merge = (o: Obj, patch: object) => api('PATCH', pathOf(o), patch, 'application/merge-patch+json');
  const jsonPatch = (o: Obj, patch: object[]) => api('PATCH', pathOf(o), patch, 'application/json-patch+json');
  const remove = (o: Obj) => api('DELETE', pathOf(o));
  const namespace = async (prefix: string) => {
    const name = uniqueName(prefix);
    await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    return name;
  };

  /** Polls `check` until it returns a value (not undefined/false); fails with `what` and the manager's log. */
  async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline)
        assert.fail(`${what}: not within ${timeoutMs / 1000}s; the manager's log ends:\n${capi.log().slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const condition = (o: Obj | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);
  const hasFinalizer = async (o: Obj, finalizer: string) => ((await read(o))?.metadata.finalizers ?? []).includes(finalizer);

  /** How many times the manager's controller `name` has reconciled (controller-runtime's own counter). */
  async function reconciles(name: string): Promise<number> {
    const text = await (await fetch(capi.metricsUrl)).text();
    let total = 0;
    for (const line of text.split('\n'))
      if (line.startsWith('controller_runtime_reconcile_total{') && line.includes(`controller="${name}"`))
        total += Number(line.slice(line.lastIndexOf(' ') + 1));
    return total;
  }
  /** Waits 1.5 sync periods and says how often each controller reconciled meanwhile: every object is looked at again. */
  async function aSyncPeriodLater(controllers: string[]): Promise<Record<string, number>> {
    const before = await Promise.all(controllers.map(reconciles));
    await new Promise((r) => setTimeout(r, SYNC_PERIOD_MS * 1.5));
    const after = await Promise.all(controllers.map(reconciles));
    return Object.fromEntries(controllers.map((c, i) => [c, after[i]! - before[i]!]));
  }

  /** A Cluster on a TestCluster and no control plane (the webhook wants one of them at least). */
  const clusterObj = (ns: string, name: string): Obj => ({
    apiVersion: CAPI,
    kind: 'Cluster',
    metadata: { name, namespace: ns },
    spec: { infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'TestCluster', name } },
  });
  const infraObj = (kind: 'TestCluster' | 'TestMachine', ns: string, name: string, finalizers: string[] = []): Obj => ({
    apiVersion: INFRA,
    kind,
    metadata: { name, namespace: ns, finalizers },
    spec: {},
  });
  /** The provider's part: the infrastructure object, provisioned (its status, as the provider writes it). */
  async function provisioned(o: Obj, spec: Record<string, unknown> = {}): Promise<Obj> {
    await create({ ...o, spec });
    return api('PATCH', pathOf(o, '/status'), { status: { initialization: { provisioned: true } } }, 'application/merge-patch+json');
  }
  const machine = (ns: string, name: string, clusterName: string, labels: Record<string, string> = {}): Obj =>
    ({
      apiVersion: CAPI,
      kind: 'Machine',
      metadata: { name, namespace: ns, labels: { 'cluster.x-k8s.io/cluster-name': clusterName, ...labels } },
      spec: {
        clusterName,
        bootstrap: { dataSecretName: `${name}-bootstrap` },
        infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'TestMachine', name },
      },
    }) as Obj;

  const scan = async (ns: string, rules = 'cluster-api/*') =>
    parseReport(await doctor(['-n', ns, '--rules', rules, '--min-age', '0s', '-o', 'json'], { cluster: cluster() }));
  const brief = (r: JsonReport) => r.findings.map((f) => `${f.rule} ${f.reason} ${f.object.kind}/${f.object.name}`).sort();

  it('a Cluster deleted while paused stays; --fix unpauses it, and reports fixed only once the controller has deleted it', async () => {
    const ns = await namespace('capi-paused');
    // bare: nothing under it but its infrastructure, which goes at once. slow: its provider takes its time to delete
    // the infrastructure (it holds its finalizer on the TestCluster until the test lets go), as real ones do.
    const bare = clusterObj(ns, 'bare');
    const slow = clusterObj(ns, 'slow');
    const slowInfra = infraObj('TestCluster', ns, 'slow', [PROVIDER_FINALIZER]);
    await provisioned(infraObj('TestCluster', ns, 'bare'));
    await provisioned(slowInfra);
    for (const c of [bare, slow]) {
      await create(c);
      await until(
        `Cluster ${c.metadata.name} provisioned`,
        async () => field(await read(c), 'status', 'initialization', 'infrastructureProvisioned') === true,
      );
    }

    // Paused (maintenance, a move about to run), then deleted.
    for (const c of [bare, slow]) {
      await merge(c, { spec: { paused: true } });
      await until(`Cluster ${c.metadata.name} Paused`, async () => condition(await read(c), 'Paused')?.status === 'True');
      await remove(c);
    }

    // The controller looks at them again (the deletion, then its sync period) and leaves them: deleting, finalizer
    // kept, Paused, their infrastructure not even deleted.
    const looked = await aSyncPeriodLater(['cluster']);
    assert.ok(looked.cluster! >= 2, `the cluster controller reconciled ${looked.cluster} times in 1.5 sync periods`);
    for (const c of [bare, slow]) {
      const now = (await read(c))!;
      assert.ok(now.metadata.deletionTimestamp, `${c.metadata.name} is deleting`);
      assert.deepEqual(now.metadata.finalizers, [CLUSTER_FINALIZER]);
      assert.equal(condition(now, 'Paused')?.status, 'True');
    }
    assert.equal((await read(slowInfra))!.metadata.deletionTimestamp, undefined);

    const found = await scan(ns);
    assert.deepEqual(brief(found), [
      'cluster-api/paused-deletion deleting-while-paused Cluster/bare',
      'cluster-api/paused-deletion deleting-while-paused Cluster/slow',
    ]);

    // The unpause is disruptive (the controllers then delete the infrastructure): a safe-only --fix leaves it.
    const fixArgs = ['-n', ns, '--rules', 'cluster-api/*', '--min-age', '0s', '--fix', '--yes', '-o', 'json'];
    const safe = await doctor(fixArgs, { cluster: cluster() });
    assert.equal(safe.code, 1, safe.stderr);
    assert.match(safe.stderr, /Nothing to fix: .* at --allow=safe/);
    assert.equal(field(await read(bare), 'spec', 'paused'), true);

    const fix = await doctor([...fixArgs, '--allow', 'disruptive', '--timeout', '20s', '--backup-dir', join(backups, 'paused')], {
      cluster: cluster(),
    });
    assertValidReport(parseReport(fix)); // awaitsDeletion and the pending outcome are part of the contract
    const outcomes = parseReport(fix).fix!.results.map((r) => [r.object.name, r.outcome, r.waitingFor ?? '']);
    // bare: the controller deleted it within the wait: fixed. slow: unpaused, the controller deleting its
    // infrastructure, which the provider has not finished: pending, waiting for the controllers, not fixed.
    assert.deepEqual(
      outcomes.map(([name, outcome]) => [name, outcome]),
      [
        ['bare', 'fixed'],
        ['slow', 'pending'],
      ],
      fix.stderr,
    );
    assert.match(outcomes[1]![2]!, new RegExp(`^the Cluster API controllers: .*: Cluster ${ns}/slow still there after 20s$`));
    assert.equal(fix.code, 1, 'pending is not done');
    assert.equal(await read(bare), undefined, 'fixed, and the Cluster is gone');
    assert.ok((await read(slowInfra))?.metadata.deletionTimestamp, 'the controller deletes the infrastructure of the unpaused Cluster');

    // The provider finishes: the controller then removes its finalizer, and nothing is left to report.
    await merge(slowInfra, { metadata: { finalizers: null } });
    await until('the controller finishes deleting Cluster slow', async () => (await read(slow)) === undefined);
    assert.deepEqual(brief(await scan(ns)), []);
  });

  it('an interrupted clusterctl move (the delete phase of clusterctl <= v1.9.4 racing the controller): the ladder ends where clusterctl move ends', async () => {
    const ns = await namespace('capi-move');
    const src = clusterObj(ns, 'src');
    const srcInfra = infraObj('TestCluster', ns, 'src', [PROVIDER_FINALIZER]);
    const infra = infraObj('TestMachine', ns, 'src-m1', [PROVIDER_FINALIZER]);
    const m1 = machine(ns, 'src-m1', 'src');
    await provisioned(srcInfra);
    await create(infra);
    for (const o of [src, m1]) await create(o);
    await until(
      'the controllers put their finalizers',
      async () => (await hasFinalizer(src, CLUSTER_FINALIZER)) && hasFinalizer(m1, MACHINE_FINALIZER),
    );

    // clusterctl move: pause the Cluster (setClusterPause, a merge patch), wait for block-move to go (no provider
    // sets it here), create everything on the target (not modelled: the test confirms the doctor's check of it).
    await merge(src, { spec: { paused: true } });
    for (const o of [src, m1]) await until(`${o.kind} Paused`, async () => condition(await read(o), 'Paused')?.status === 'True');

    // The delete phase, leaves first (the TestMachine; the Machine and the TestCluster; the Cluster), each as
    // clusterctl <= v1.9.4 did it (v1.9.4 mover.go deleteSourceObject): add delete-for-move, remove the finalizers,
    // delete. The controllers put their finalizer back in between although the Cluster is paused (EnsureFinalizer runs
    // before the paused check): a clusterctl slower than them loses that race (issues #11809, #11812). Here it always
    // loses it.
    for (const [o, controllerFinalizer] of [
      [infra, undefined],
      [m1, MACHINE_FINALIZER],
      [srcInfra, undefined],
      [src, CLUSTER_FINALIZER],
    ] as const) {
      await jsonPatch(o, [{ op: 'add', path: '/metadata/annotations', value: { [DELETE_FOR_MOVE]: '' } }]);
      await merge(o, { metadata: { finalizers: [] } });
      if (controllerFinalizer)
        await until(`the ${o.kind} controller puts ${controllerFinalizer} back on the paused ${o.kind}`, () =>
          hasFinalizer(o, controllerFinalizer),
        );
      await remove(o);
    }
    for (const o of [infra, srcInfra]) assert.equal(await read(o), undefined, `no provider runs to put the ${o.kind}'s finalizer back`);

    // What the controllers do not do: finish the deletion. They look again and leave both.
    const looked = await aSyncPeriodLater(['cluster', 'machine']);
    assert.ok(looked.cluster! >= 1 && looked.machine! >= 1, JSON.stringify(looked));
    for (const [o, f] of [
      [m1, MACHINE_FINALIZER],
      [src, CLUSTER_FINALIZER],
    ] as const) {
      const now = (await read(o))!;
      assert.ok(now.metadata.deletionTimestamp);
      assert.deepEqual(now.metadata.finalizers, [f]);
      assert.deepEqual(now.metadata.annotations, { [DELETE_FOR_MOVE]: '' }, "clusterctl's patch replaced every annotation");
    }

    const found = await scan(ns);
    const move = found.findings.filter((f) => f.rule === 'cluster-api/interrupted-move');
    assert.deepEqual(
      move.map((f) => `${f.reason} ${f.object.kind}/${f.object.name}`),
      ['delete-phase Cluster/src'],
    );
    assert.deepEqual(
      (move[0]!.evidence.deletingForMove as { object: string; onlyAnnotation: boolean }[]).map((o) => [o.object, o.onlyAnnotation]),
      [
        [`Machine/${ns}/src-m1`, true],
        [`Cluster/${ns}/src`, true],
      ],
    );

    // The ladder, on a terminal as a person runs it: confirm the target has the objects, then remove the finalizers,
    // children first; the last step (unpause on the target) is by hand.
    const pty = onTerminal(
      doctorCommand([
        '--kubeconfig',
        capi.cluster.kubeconfigPath,
        '-n',
        ns,
        '--rules',
        'cluster-api/*',
        '--min-age',
        '0s',
        '--fix',
        '--allow',
        'destructive',
        '--backup-dir',
        join(backups, 'move'),
      ]),
    );
    const { code, questions } = await answerEverything(pty);
    assert.equal(code, 0, pty.screen());
    assert.ok(
      questions.some((q) => /Step 1 is by hand: Check that the target management cluster has Cluster/.test(q)),
      questions.join('\n'),
    );
    assert.match(pty.screen(), /Fix: 1 fixed\./);
    // What clusterctl move leaves in the source: nothing of the Cluster.
    for (const kind of [`${CAPI}/clusters`, `${CAPI}/machines`, `${INFRA}/testclusters`, `${INFRA}/testmachines`]) {
      const list = await api('GET', `/apis/${kind.replace(/\/(\w+)$/, `/namespaces/${ns}/$1`)}`);
      assert.deepEqual((list as unknown as { items: Obj[] }).items, [], `${kind} left in the source`);
    }
    assert.deepEqual(brief(await scan(ns)), []);
  });

  it('a drain a PodDisruptionBudget blocks: the doctor reads the condition the controller writes, and its timeout ends the drain', async () => {
    const ns = await namespace('capi-drain');
    const workload = await namespace('workload'); // the test API server doubles as the workload cluster
    const node = uniqueName('work-md');
    const providerID = `test://${node}`;
    // The kubeconfig Secret as Cluster API names and labels it (only labelled Secrets are in the manager's cache).
    const kubeconfig = readFileSync(capi.cluster.kubeconfigPath).toString('base64');
    await api('POST', `/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'work-kubeconfig', namespace: ns, labels: { 'cluster.x-k8s.io/cluster-name': 'work' } },
      type: 'cluster.x-k8s.io/secret',
      data: { value: kubeconfig },
    });
    await api('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: node }, spec: { providerID } });
    const work = clusterObj(ns, 'work');
    await provisioned(infraObj('TestCluster', ns, 'work'));
    await create(work);
    // A control plane Machine: without one the Machine controller neither drains nor deletes Nodes
    // (isDeleteNodeAllowed: errNoControlPlaneNodes). Its infrastructure is never provisioned; it does not matter.
    await create(infraObj('TestMachine', ns, 'work-cp'));
    await create(machine(ns, 'work-cp', 'work', { 'cluster.x-k8s.io/control-plane': '' }));
    const worker = machine(ns, node, 'work');
    await provisioned(infraObj('TestMachine', ns, node), { providerID });
    await create(worker);
    await until(
      'the Machine controller finds the Node by its providerID',
      async () => field(await read(worker), 'status', 'nodeRef', 'name') === node,
    );

    // A Pod on the Node, running (no kubelet: its status is written as one would), and a budget that allows no
    // disruption, with the status the disruption controller would write (none runs here).
    await api('POST', `/api/v1/namespaces/${workload}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'app-0', namespace: workload, labels: { app: 'app' } },
      spec: { nodeName: node, containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
    });
    await api(
      'PATCH',
      `/api/v1/namespaces/${workload}/pods/app-0/status`,
      {
        status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
      },
      'application/merge-patch+json',
    );
    const pdb = await api('POST', `/apis/policy/v1/namespaces/${workload}/poddisruptionbudgets`, {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'app', namespace: workload },
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'app' } } },
    });
    await api(
      'PATCH',
      `/apis/policy/v1/namespaces/${workload}/poddisruptionbudgets/app/status`,
      {
        status: {
          observedGeneration: (pdb.metadata as { generation?: number }).generation ?? 1,
          disruptionsAllowed: 0,
          currentHealthy: 1,
          desiredHealthy: 1,
          expectedPods: 1,
        },
      },
      'application/merge-patch+json',
    );

    // Deleting the Machine: the controller cordons the Node and evicts the Pod; the API server refuses (429), and the
    // controller writes why into the Machine's Deleting condition, retrying every 20 s.
    await remove(worker);
    const deleting = await until('the controller reports the blocked drain', async () => {
      const c = condition(await read(worker), 'Deleting');
      return c?.reason === 'DrainingNode' && /disruption budget/.test(c.message ?? '') ? c : undefined;
    });
    assert.match(
      deleting.message!,
      new RegExp(
        `^Drain not completed yet \\(started at [0-9TZ:-]+\\):\\n\\* Pod ${workload}/app-0: cannot evict pod as it would violate the pod's disruption budget\\. The disruption budget app needs 1 healthy pods and has 1 currently$`,
      ),
    );
    assert.equal(field(await api('GET', `/api/v1/nodes/${node}`), 'spec', 'unschedulable'), true, 'the controller cordoned the Node');

    // The drain has been blocked for 20 minutes: its start, which the controller keeps once set, moved back (the
    // rule's threshold and the drain timeout are both judged from it).
    const started = new Date(Date.now() - 20 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    await api(
      'PATCH',
      pathOf(worker, '/status'),
      { status: { deletion: { nodeDrainStartTime: started } } },
      'application/merge-patch+json',
    );
    await until('the controller rewrites its message from that start', async () =>
      condition(await read(worker), 'Deleting')?.message?.startsWith(`Drain not completed yet (started at ${started}):`),
    );

    // The doctor, without --min-age: the real condition text, classified.
    const found = parseReport(await doctor(['-n', ns, '--rules', 'cluster-api/*', '-o', 'json'], { cluster: cluster() }));
    assert.deepEqual(brief(found), [`cluster-api/machine-drain-blocked pdb-blocks-eviction Machine/${node}`]);
    const f = found.findings[0]!;
    assert.match(
      f.message,
      new RegExp(
        `^draining Node ${node} for 20m\\d*s? with no nodeDrainTimeout: Pod ${workload}/app-0 cannot be evicted, PodDisruptionBudget app allows no disruption`,
      ),
    );
    assert.deepEqual(f.evidence.blockingPods, [
      {
        cause: 'pdb',
        pods: [`${workload}/app-0`],
        podDisruptionBudget: 'app',
        detail:
          "cannot evict pod as it would violate the pod's disruption budget. The disruption budget app needs 1 healthy pods and has 1 currently",
      },
    ]);

    // --fix at the allowed risk sets the drain timeout on the Machine (nothing owns it); the controller ends the drain
    // at once (it has run longer), deletes the infrastructure and the Node, and the Machine goes: fixed.
    const fix = await doctor(
      [
        '-n',
        ns,
        '--rules',
        'cluster-api/*',
        '--fix',
        '--yes',
        '--allow',
        'disruptive',
        '--backup-dir',
        join(backups, 'drain'),
        '-o',
        'json',
      ],
      { cluster: cluster() },
    );
    assert.deepEqual(
      parseReport(fix).fix!.results.map((r) => [r.object.name, r.outcome, r.stopped ?? '']),
      [[node, 'fixed', 'checkpoint: ' + (f.remediation!.steps[2]!.action as unknown as { instructions: string }).instructions]],
      fix.stderr,
    );
    assert.equal(fix.code, 0, fix.stderr);
    assert.equal(await read(worker), undefined, 'the Machine is gone');
    const nodeNow = await rawRequest(capi.kubeConfig, 'GET', `/api/v1/nodes/${node}`);
    assert.equal(nodeNow.status, 404, 'the controller deleted the Node');
    // Not evicted: the budget was not honoured, the Pod went down with its Node (here, with no pod GC, it stays).
    const podNow = await api('GET', `/api/v1/namespaces/${workload}/pods/app-0`);
    assert.equal(podNow.metadata.deletionTimestamp, undefined);
    assert.deepEqual(brief(await scan(ns)), []);
  });
});

function field(o: Obj | undefined, ...path: string[]): unknown {
  let v: unknown = o;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}
