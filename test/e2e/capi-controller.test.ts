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
import drainRule from '../../rules/cluster-api/machine-drain-blocked.ts';
import { onlyFinding, runRule } from '../rule-tester.ts';
import { ApiClient } from '../../src/cluster/http.ts';
import { loadKubeConfig } from '../../src/cluster/kubeconfig.ts';
import { FixExecutor } from '../../src/fix/execute.ts';
import { ObjectClient } from '../../src/fix/object-client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import type { ActionTarget } from '../../src/plan/actions.ts';

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

  /**
   * A Cluster `name` whose workload cluster is this API server: the kubeconfig Secret as Cluster API names and labels
   * it (only labelled Secrets are in the manager's cache), and a control plane Machine, without which the Machine
   * controller neither drains nor deletes Nodes (isDeleteNodeAllowed: errNoControlPlaneNodes). Its infrastructure is
   * never provisioned; it does not matter.
   */
  async function workloadCluster(ns: string, name: string): Promise<void> {
    await api('POST', `/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${name}-kubeconfig`, namespace: ns, labels: { 'cluster.x-k8s.io/cluster-name': name } },
      type: 'cluster.x-k8s.io/secret',
      data: { value: readFileSync(capi.cluster.kubeconfigPath).toString('base64') },
    });
    await provisioned(infraObj('TestCluster', ns, name));
    await create(clusterObj(ns, name));
    await create(infraObj('TestMachine', ns, `${name}-cp`));
    await create(machine(ns, `${name}-cp`, name, { 'cluster.x-k8s.io/control-plane': '' }));
  }

  /**
   * Node `node` (spec.providerID `providerID`) with Pod `app`-0 of namespace `workload` on it, running (no kubelet: its
   * status is written as one would), and a budget `app` that allows no disruption, with the status the disruption
   * controller would write (none runs here): the eviction API ignores budgets for Pending Pods, lets unhealthy ones go,
   * and refuses with another message while observedGeneration lags.
   */
  async function podThatCannotBeEvicted(workload: string, node: string, providerID: string, app: string): Promise<void> {
    await api('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: node }, spec: { providerID } });
    await api('POST', `/api/v1/namespaces/${workload}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${app}-0`, namespace: workload, labels: { app } },
      spec: { nodeName: node, containers: [{ name: app, image: `registry.invalid/${app}:1` }] },
    });
    await api(
      'PATCH',
      `/api/v1/namespaces/${workload}/pods/${app}-0/status`,
      { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
      'application/merge-patch+json',
    );
    const pdb = await api('POST', `/apis/policy/v1/namespaces/${workload}/poddisruptionbudgets`, {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: app, namespace: workload },
      spec: { minAvailable: 1, selector: { matchLabels: { app } } },
    });
    await api(
      'PATCH',
      `/apis/policy/v1/namespaces/${workload}/poddisruptionbudgets/${app}/status`,
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
  }

  /** Waits for the Machine controller to report the drain of `m` blocked by the budget; returns the Deleting condition. */
  const blockedByBudget = (m: Obj) =>
    until(`the controller reports the blocked drain of Machine ${m.metadata.name}`, async () => {
      const c = condition(await read(m), 'Deleting');
      return c?.reason === 'DrainingNode' && /disruption budget/.test(c.message ?? '') ? c : undefined;
    });

  /**
   * Moves the start of the drain of `m`, which the controller keeps once set and judges the drain timeout from, back
   * by `minutes`: a drain blocked that long (the rule's threshold is judged from it too). Returns the new start.
   */
  async function drainStartedAgo(m: Obj, minutes: number): Promise<string> {
    const started = new Date(Date.now() - minutes * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    await api('PATCH', pathOf(m, '/status'), { status: { deletion: { nodeDrainStartTime: started } } }, 'application/merge-patch+json');
    return started;
  }

  it('a drain a PodDisruptionBudget blocks: the doctor reads the condition the controller writes, and its timeout ends the drain', async () => {
    const ns = await namespace('capi-drain');
    const workload = await namespace('workload'); // the test API server doubles as the workload cluster
    const node = uniqueName('work-md');
    const providerID = `test://${node}`;
    await workloadCluster(ns, 'work');
    await podThatCannotBeEvicted(workload, node, providerID, 'app');
    const worker = machine(ns, node, 'work');
    await provisioned(infraObj('TestMachine', ns, node), { providerID });
    await create(worker);
    await until(
      'the Machine controller finds the Node by its providerID',
      async () => field(await read(worker), 'status', 'nodeRef', 'name') === node,
    );

    // Deleting the Machine: the controller cordons the Node and evicts the Pod; the API server refuses (429), and the
    // controller writes why into the Machine's Deleting condition, retrying every 20 s.
    await remove(worker);
    const deleting = await blockedByBudget(worker);
    assert.match(
      deleting.message!,
      new RegExp(
        `^Drain not completed yet \\(started at [0-9TZ:-]+\\):\\n\\* Pod ${workload}/app-0: cannot evict pod as it would violate the pod's disruption budget\\. The disruption budget app needs 1 healthy pods and has 1 currently$`,
      ),
    );
    assert.equal(field(await api('GET', `/api/v1/nodes/${node}`), 'spec', 'unschedulable'), true, 'the controller cordoned the Node');

    // The drain has been blocked for 20 minutes.
    const started = await drainStartedAgo(worker, 20);
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
    // at its next attempt (it has run longer; within 20 s), deletes the infrastructure and the Node, and the Machine
    // goes: fixed.
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

  it("MachineDeployments whose Machines cannot drain: the timeout reaches a scaled-down Machine from the template, in either API version, and a deleted MachineDeployment's Machine itself", async () => {
    const ns = await namespace('capi-md');
    const workload = await namespace('workload');
    await workloadCluster(ns, 'fleet');
    await create({
      apiVersion: INFRA,
      kind: 'TestMachineTemplate',
      metadata: { name: 'worker', namespace: ns },
      spec: { template: { spec: {} } },
    });
    // scaled: scaled down to 0 (its MachineSet deletes the Machine: the MachineSet lives on). deleted: deleted (its
    // MachineSet is deleted with it and deletes the Machine).
    const deployments = ['scaled', 'deleted'].map((name): Obj => ({
      apiVersion: CAPI,
      kind: 'MachineDeployment',
      metadata: { name, namespace: ns },
      spec: {
        clusterName: 'fleet',
        replicas: 1,
        selector: { matchLabels: { pool: name } },
        template: {
          metadata: { labels: { pool: name } },
          spec: {
            clusterName: 'fleet',
            bootstrap: { dataSecretName: `${name}-bootstrap` },
            infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'TestMachineTemplate', name: 'worker' },
          },
        },
      },
    }));
    for (const md of deployments) await create(md);
    const list = async (kind: string, version = 'v1beta2') =>
      (await api('GET', `/apis/cluster.x-k8s.io/${version}/namespaces/${ns}/${plural(kind)}`)) as unknown as { items: Obj[] };
    const ofPool = (items: Obj[], pool: string) =>
      items.filter((o) => (o.metadata as { labels?: Record<string, string> }).labels?.pool === pool);
    // The provider's part for each Machine the MachineSets create: a Node, provisioned TestMachine with its providerID.
    const [scaled, deleted] = await Promise.all(
      deployments.map(async (md) => {
        const pool = md.metadata.name;
        const m = await until(`MachineDeployment ${pool} gets a Machine`, async () => ofPool((await list('Machine')).items, pool)[0]);
        const node = uniqueName(`${pool}-node`);
        const providerID = `test://${node}`;
        await podThatCannotBeEvicted(workload, node, providerID, pool);
        const infra = infraObj('TestMachine', ns, (m.spec!.infrastructureRef as { name: string }).name);
        await merge(infra, { spec: { providerID } });
        await api('PATCH', pathOf(infra, '/status'), { status: { initialization: { provisioned: true } } }, 'application/merge-patch+json');
        await until(`Machine ${m.metadata.name} gets its Node`, async () => field(await read(m), 'status', 'nodeRef', 'name') === node);
        return { md, m, node };
      }),
    );
    const [ms] = ofPool((await list('MachineSet')).items, 'scaled');
    assert.ok(ms);

    // Scaled down: the MachineSet deletes the Machine, whose drain the budget blocks.
    await merge(scaled!.md, { spec: { replicas: 0 } });
    await blockedByBudget(scaled!.m);
    const timeoutOf = async (o: Obj, ...under: string[]) => field(await read(o), 'spec', ...under, 'deletion', 'nodeDrainTimeoutSeconds');

    // The doctor's plan for the Machine as read through the v1beta1 API (CAPI's conversion webhook, in the manager,
    // answers the API server: the objects carry its conversion-data annotation), as a --snapshot of them plans it:
    // v1beta1's duration on the MachineDeployment's template. The --fix executor sends it through the v1beta1 API.
    const v1beta1 = (
      await Promise.all(['Machine', 'MachineSet', 'MachineDeployment'].map(async (kind) => (await list(kind, 'v1beta1')).items))
    ).flat();
    const mdV1beta1 = v1beta1.find((o) => o.kind === 'MachineDeployment' && o.metadata.name === 'scaled')!;
    assert.ok(mdV1beta1.metadata.annotations?.['cluster.x-k8s.io/conversion-data'], 'converted by the conversion webhook');
    const planned = onlyFinding(
      (await runRule(drainRule, v1beta1 as unknown as KubeObject[], { now: new Date().toISOString(), minAgeMs: 0, namespace: ns }))
        .findings,
    );
    const patchStep = planned.remediation!.steps[1]!.action as { type: string; target: ActionTarget; patch: unknown };
    assert.deepEqual(
      [patchStep.type, patchStep.target.apiVersion, patchStep.target.kind, patchStep.target.name, patchStep.patch],
      [
        'json-patch',
        'cluster.x-k8s.io/v1beta1',
        'MachineDeployment',
        'scaled',
        [{ op: 'add', path: '/spec/template/spec/nodeDrainTimeout', value: '10m0s' }],
      ],
    );
    const loaded = loadKubeConfig({ kubeconfig: capi.cluster.kubeconfigPath, context: capi.cluster.adminContext }, {});
    const client = new ApiClient(loaded.kubeConfig, loaded.server, { timeoutMs: 30_000 });
    try {
      const run = await new FixExecutor(new ObjectClient(client), {
        allow: 'disruptive',
        dryRun: 'none',
        backups: undefined,
        actor: { user: 'admin', context: 'admin', server: loaded.server },
        now: () => new Date(),
        gates: { manualDone: async () => true, destructive: async () => 'not in this test' },
      }).run(planned);
      assert.deepEqual(
        run.steps.map((r) => r.status),
        ['manual', 'applied', 'not-run', 'not-run'],
        JSON.stringify(run),
      );
    } finally {
      await client.close();
    }
    // Read back in v1beta2, converted: 600 seconds, on the MachineDeployment; the controllers copy it in place to its
    // MachineSet (no new MachineSet: no rollout) and on to the deleting Machine. The drain has run seconds, not 600:
    // the Machine drains on, and the doctor no longer reports it (it has a timeout).
    assert.equal(await timeoutOf(scaled!.md, 'template', 'spec'), 600);
    await until('the MachineSet gets the timeout', async () => (await timeoutOf(ms, 'template', 'spec')) === 600);
    await until('the deleting Machine gets the timeout', async () => (await timeoutOf(scaled!.m)) === 600);
    assert.equal(field(await api('GET', pathOf(scaled!.m).replace('/v1beta2/', '/v1beta1/')), 'spec', 'nodeDrainTimeout'), '10m0s');
    assert.equal(condition(await read(scaled!.m), 'Deleting')?.reason, 'DrainingNode');
    assert.deepEqual(brief(await scan(ns, 'cluster-api/machine-drain-blocked')), []);

    // Taken off the template again (as restore would), it goes from the Machine too; set on the Machine alone, the
    // MachineSet puts its own (none) back: why the plan never sets it on a Machine a MachineSet keeps.
    // (The whole of deletion: the CRD wants at least one property in it.)
    await jsonPatch(scaled!.md, [{ op: 'remove', path: '/spec/template/spec/deletion' }]);
    await until('the MachineSet takes it off the deleting Machine', async () => (await timeoutOf(scaled!.m)) === undefined);
    await merge(scaled!.m, { spec: { deletion: { nodeDrainTimeoutSeconds: 86400 } } });
    await until("the MachineSet overwrites the Machine's own timeout", async () => (await timeoutOf(scaled!.m)) === undefined);

    // Deleted: the MachineDeployment and its MachineSet are deleting (their finalizers wait for the Machine), and a
    // deleting MachineSet copies nothing to its Machines.
    await remove(deleted!.md);
    await blockedByBudget(deleted!.m);
    for (const m of [scaled!.m, deleted!.m]) await drainStartedAgo(m, 20);

    // The doctor, as a person runs it (v1beta2, the preferred version): the timeout where it reaches each Machine.
    const found = await scan(ns, 'cluster-api/machine-drain-blocked');
    const belongs = Object.fromEntries(found.findings.map((f) => [f.object.name, f.evidence.timeoutBelongsOn]));
    assert.deepEqual(belongs, {
      [scaled!.m.metadata.name]: `MachineDeployment/${ns}/scaled (spec.template.spec.deletion.nodeDrainTimeoutSeconds)`,
      [deleted!.m.metadata.name]: `Machine/${ns}/${deleted!.m.metadata.name} (spec.deletion.nodeDrainTimeoutSeconds)`,
    });
    const fix = await doctor(
      [
        '-n',
        ns,
        '--rules',
        'cluster-api/machine-drain-blocked',
        '--fix',
        '--yes',
        '--allow',
        'disruptive',
        '--timeout',
        '30s',
        '--backup-dir',
        join(backups, 'md'),
        '-o',
        'json',
      ],
      { cluster: cluster() },
    );
    assert.deepEqual(
      parseReport(fix)
        .fix!.results.map((r) => [r.object.name, r.outcome])
        .sort(),
      [scaled!.m.metadata.name, deleted!.m.metadata.name].sort().map((name) => [name, 'fixed']),
      fix.stderr,
    );
    assert.equal(fix.code, 0, fix.stderr);
    // The controllers ended both drains: the Machines and their Nodes are gone, the Pods were not evicted; the deleted
    // MachineDeployment and its MachineSet went after its Machine. The scaled one's MachineSet keeps the timeout.
    for (const { m, node } of [scaled!, deleted!]) {
      assert.equal(await read(m), undefined, `Machine ${m.metadata.name} is gone`);
      assert.equal((await rawRequest(capi.kubeConfig, 'GET', `/api/v1/nodes/${node}`)).status, 404, `Node ${node} deleted`);
    }
    for (const pool of ['scaled', 'deleted'])
      assert.equal((await api('GET', `/api/v1/namespaces/${workload}/pods/${pool}-0`)).metadata.deletionTimestamp, undefined);
    await until('MachineDeployment deleted goes', async () => (await read(deleted!.md)) === undefined);
    assert.equal(await timeoutOf(ms, 'template', 'spec'), 600);
    assert.deepEqual(
      (await list('MachineSet')).items.map((o) => o.metadata.name),
      [ms.metadata.name],
    );
  });
});

function field(o: Obj | undefined, ...path: string[]): unknown {
  let v: unknown = o;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}
