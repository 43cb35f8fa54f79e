import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import rule from '../../../rules/core/stuck-deletion.ts';
import type { KubeObject } from '../../../src/kube/object.ts';
import { ev, findingOn, load, risks, runObjects, tenantConfigMaps } from './deletion-helpers.ts';
import { MAX_LISTED } from '../../../rules/core/stuck-objects.ts';

const capiDeployment = (name: string, ns: string, provider: string, replicas: number, ready: number): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns, labels: { 'cluster.x-k8s.io/provider': provider } },
  spec: { replicas },
  status: { replicas, readyReplicas: ready },
});

describe('core/stuck-deletion', () => {
  describe('broken: Cluster API providers uninstalled while their objects were deleting', () => {
    it('reports each object as an error with the owner proven absent and a guarded one-finalizer patch', async () => {
      const { result, findings } = await runObjects(rule, load('crds-capi.yaml', 'orphaned-finalizers.yaml'));
      assert.equal(result.status, 'fail');
      assert.equal(result.incomplete, false);
      assert.equal(findings.length, 2);

      const machine = findingOn(findings, 'Machine', 'prod-a-md-0-abc');
      assert.equal(machine.severity, 'error');
      assert.equal(
        machine.message,
        'deleting for 2h, held by finalizer machine.cluster.x-k8s.io (orphaned: its controller is not installed)',
      );
      assert.deepEqual(ev(machine, 'deletingFor'), { seconds: 7200, human: '2h' });
      assert.equal(ev(machine, 'finalizers', 0, 'owner'), 'absent');
      assert.match(
        ev(machine, 'finalizers', 0, 'detail') as string,
        /no Deployment labelled cluster\.x-k8s\.io\/provider=cluster-api .* in any namespace/,
      );
      assert.deepEqual(ev(machine, 'finalizers', 0, 'addedBy'), ['manager']);
      assert.deepEqual(risks(machine), ['safe', 'destructive'], 'restore the provider first, remove the finalizer last');
      const [reinstall, removal] = machine.remediation!.steps;
      assert.equal(reinstall!.command, 'clusterctl init --core cluster-api');
      assert.equal(removal!.reversible, false);
      assert.deepEqual(removal!.action, {
        type: 'json-patch',
        target: {
          apiVersion: 'cluster.x-k8s.io/v1beta2',
          kind: 'Machine',
          name: 'prod-a-md-0-abc',
          namespace: 'fleet',
          uid: 'uid-machine-abc',
          resource: 'machines.cluster.x-k8s.io',
          namespaced: true,
          resourceVersion: '4816023',
        },
        patch: [
          { op: 'test', path: '/metadata/finalizers/0', value: 'machine.cluster.x-k8s.io' },
          { op: 'remove', path: '/metadata/finalizers/0' },
        ],
      });
    });

    it('removes only the orphaned finalizer, at its index, and leaves the one whose owner is unknown', async () => {
      const { findings } = await runObjects(rule, load('crds-capi.yaml', 'orphaned-finalizers.yaml'));
      const dm = findingOn(findings, 'DockerMachine', 'prod-a-md-0-abc');
      assert.equal(dm.severity, 'error', 'an orphaned finalizer is an error even before 1h');
      assert.deepEqual(
        (ev(dm, 'finalizers') as { name: string; owner: string }[]).map((f) => [f.name, f.owner]),
        [
          ['backup.example.com/protect', 'unknown'],
          ['dockermachine.infrastructure.cluster.x-k8s.io', 'absent'],
        ],
      );
      const destructive = dm.remediation!.steps.filter((s) => s.risk === 'destructive');
      assert.equal(destructive.length, 1);
      assert.deepEqual((destructive[0]!.action as { patch: unknown }).patch, [
        { op: 'test', path: '/metadata/finalizers/1', value: 'dockermachine.infrastructure.cluster.x-k8s.io' },
        { op: 'remove', path: '/metadata/finalizers/1' },
      ]);
      assert.equal(
        destructive[0]!.command,
        `kubectl patch dockermachines.infrastructure.cluster.x-k8s.io prod-a-md-0-abc -n fleet --type=json -p '[{"op":"test","path":"/metadata/resourceVersion","value":"4816030"},{"op":"test","path":"/metadata/finalizers/1","value":"dockermachine.infrastructure.cluster.x-k8s.io"},{"op":"remove","path":"/metadata/finalizers/1"}]'`,
      );
    });
  });

  describe('owners that exist are never called orphaned', () => {
    it('a running controller: severity from age alone, no finalizer removal', async () => {
      const objects = [
        ...load('crds-capi.yaml', 'orphaned-finalizers.yaml', 'capi-core-controller.yaml'),
        capiDeployment('capd-controller-manager', 'capd-system', 'infrastructure-docker', 0, 0),
      ];
      const { findings } = await runObjects(rule, objects);
      const machine = findingOn(findings, 'Machine', 'prod-a-md-0-abc');
      assert.equal(machine.severity, 'error', 'older than 1h');
      assert.equal(ev(machine, 'finalizers', 0, 'owner'), 'running');
      assert.deepEqual(ev(machine, 'finalizers', 0, 'controllers'), [
        { deployment: 'capi-system/capi-controller-manager', replicas: 1, readyReplicas: 1 },
      ]);
      assert.ok(!risks(machine).includes('destructive'));
      assert.match(machine.message, /owner capi-system\/capi-controller-manager is running/);

      const dm = findingOn(findings, 'DockerMachine', 'prod-a-md-0-abc');
      assert.equal(dm.severity, 'warning', '20 minutes, owner scaled to 0 but present');
      assert.equal(ev(dm, 'finalizers', 1, 'owner'), 'not-ready');
      assert.equal(ev(dm, 'finalizers', 1, 'detail'), 'capd-system/capd-controller-manager is scaled to 0');
      assert.ok(!risks(dm).includes('destructive'));
      assert.ok(
        dm.remediation!.steps.some((s) => s.command === 'kubectl -n capd-system scale deployment/capd-controller-manager --replicas=1'),
      );
    });

    it("a controller running with the finalizer's feature gate off is proof of an orphaned finalizer", async () => {
      const { findings } = await runObjects(rule, load('crds-capi.yaml', 'capi-core-controller.yaml', 'topology-gate-off.yaml'));
      const f = findingOn(findings, 'MachineSet', 'prod-a-md-0-topo');
      assert.equal(f.severity, 'error');
      assert.equal(ev(f, 'finalizers', 0, 'owner'), 'disabled');
      assert.match(f.message, /feature gate ClusterTopology is off/);
      assert.deepEqual(risks(f), ['safe', 'destructive']);
      assert.match(f.remediation!.steps[0]!.title, /Enable feature gate ClusterTopology on capi-system\/capi-controller-manager/);
    });
  });

  describe('built-in finalizers', () => {
    it('reports what they wait for, never as orphaned; pods in their grace period, young and live objects stay silent', async () => {
      const { findings } = await runObjects(rule, load('builtins.yaml'));
      assert.deepEqual(findings.map((f) => `${f.object.kind}/${f.object.name}`).sort(), [
        'Deployment/frontend',
        'PersistentVolumeClaim/data-0',
      ]);

      const pvc = findingOn(findings, 'PersistentVolumeClaim', 'data-0');
      assert.equal(pvc.severity, 'warning');
      assert.equal(ev(pvc, 'finalizers', 0, 'owner'), 'built-in');
      assert.deepEqual(
        pvc.remediation!.steps.map((s) => s.command),
        ['kubectl describe pvc data-0 -n apps'],
      );

      const deploy = findingOn(findings, 'Deployment', 'frontend');
      assert.equal(deploy.severity, 'warning');
      assert.deepEqual(ev(deploy, 'finalizers', 0, 'blockingDependents'), ['ReplicaSet/apps/frontend-5d9f']);
      assert.deepEqual(risks(deploy), ['safe']);
    });

    it('--min-age lowers the threshold, but a pod inside its grace period is never late', async () => {
      const { findings } = await runObjects(rule, load('builtins.yaml'), { minAgeMs: 5 * 60_000 });
      assert.deepEqual(findings.map((f) => f.object.name).sort(), ['data-0', 'frontend', 'young']);
    });
  });

  describe('children of a deleting namespace', () => {
    it('are grouped under one Namespace finding, not repeated one by one', async () => {
      const { findings } = await runObjects(rule, load('namespace-children.yaml'));
      assert.deepEqual(findings.map((f) => `${f.object.kind}/${f.object.name}`).sort(), ['ConfigMap/stuck', 'Namespace/team-a']);
      const ns = findingOn(findings, 'Namespace', 'team-a');
      assert.equal(ns.severity, 'error', 'older than 1h');
      assert.equal(ev(ns, 'stuckObjects'), 2);
      assert.deepEqual((ev(ns, 'objects') as { object: string }[]).map((o) => o.object).sort(), [
        'PersistentVolumeClaim/team-a/data',
        'Widget/team-a/w1',
      ]);
      assert.match(ns.message, /^namespace deleting for 3h; 2 objects in it cannot finish deleting: /);
      const widget = (ev(ns, 'objects') as { object: string; finalizers: { owner: string; resolvedBy: string }[] }[]).find(
        (o) => o.object === 'Widget/team-a/w1',
      )!;
      assert.equal(widget.finalizers[0]!.owner, 'running');
      assert.match(widget.finalizers[0]!.resolvedBy, /Helm release widget-system\/widget-operator/);
    });

    it('a namespace of objects with thousands of distinct owners: one plan, at most MAX_LISTED owner steps, the rest counted', async () => {
      const objects = [...load('crds-capi.yaml', 'namespace-content.yaml'), ...tenantConfigMaps(1600, '2026-11-22T11:29:00Z')];
      const f = findingOn((await runObjects(rule, objects)).findings, 'Namespace', 'capi-aws');
      assert.equal(f.evidence.stuckObjects, 1601);
      const steps = f.remediation!.steps;
      assert.equal(steps.length, MAX_LISTED + 1);
      const more = `1 more stuck object and ${1600 + 1 - MAX_LISTED} more finalizer owners are not in this plan`;
      assert.deepEqual(
        [steps.at(-1)!.title, steps.at(-1)!.action],
        [
          `${more} (at most ${MAX_LISTED} of each get a step of their own)`,
          {
            type: 'manual',
            role: 'aside',
            instructions: 'once the steps above are done, run kubectl doctor again: it plans the next ones',
          },
        ],
      );
      assert.equal(f.remediation!.leftTo, `another run of kubectl doctor: ${more}; once the steps above are done, it plans the next ones`);
    });

    it('an owner that cannot be seen is "unknown", never "orphaned", and gets no finalizer removal', async () => {
      const { findings } = await runObjects(rule, load('namespace-children.yaml'));
      const cm = findingOn(findings, 'ConfigMap', 'stuck');
      assert.equal(ev(cm, 'finalizers', 0, 'owner'), 'unknown');
      assert.match(ev(cm, 'finalizers', 0, 'detail') as string, /may run outside this cluster/);
      assert.equal(cm.severity, 'error', 'older than 1h');
      assert.deepEqual(risks(cm), ['safe']);
    });
  });

  describe('a CRD stuck on customresourcecleanup', () => {
    it('names the instances that still hold it', async () => {
      const { findings } = await runObjects(rule, load('crd-terminating.yaml'));
      assert.equal(findings.length, 2);
      const crd = findingOn(findings, 'CustomResourceDefinition', 'gadgets.example.com');
      assert.equal(crd.severity, 'error');
      assert.match(crd.message, /1 instance remains, 1 held by finalizer gadgets\.example\.com\/finalizer/);
      assert.deepEqual(ev(crd, 'instances'), {
        remaining: 1,
        heldByFinalizers: [{ object: 'Gadget/lab/g1', deleting: true, finalizers: ['gadgets.example.com/finalizer'] }],
      });
      assert.deepEqual(risks(crd), ['safe'], 'the CRD finalizer is never removed by hand');
      const gadget = findingOn(findings, 'Gadget', 'g1');
      assert.equal(ev(gadget, 'finalizers', 0, 'owner'), 'unknown');
    });

    it('-n limits the scan to the namespace: cluster-scoped objects are left out', async () => {
      const { findings } = await runObjects(rule, load('crd-terminating.yaml'), { namespace: 'lab' });
      assert.deepEqual(
        findings.map((f) => f.object.name),
        ['g1'],
      );
    });
  });

  describe('what the scan could not read', () => {
    it('forbidden Deployments: the owner is unknown, never absent, and the rule is incomplete', async () => {
      const { result, findings } = await runObjects(rule, load('crds-capi.yaml', 'orphaned-finalizers.yaml'), {
        refuse: { 'deployments.apps': 'forbidden: list deployments.apps' },
      });
      assert.equal(result.incomplete, true);
      const machine = findingOn(findings, 'Machine', 'prod-a-md-0-abc');
      assert.equal(ev(machine, 'finalizers', 0, 'owner'), 'unknown');
      assert.equal(ev(machine, 'finalizers', 0, 'detail'), 'deployments.apps could not be read (forbidden: list deployments.apps)');
      assert.ok(!findings.some((f) => risks(f).includes('destructive')));
    });

    it('forbidden CRDs: the finalizer cannot be followed, the gap is reported with the namespace', async () => {
      const { result, findings } = await runObjects(rule, load('namespace-children.yaml'), {
        refuse: { 'customresourcedefinitions.apiextensions.k8s.io': 'forbidden: list customresourcedefinitions.apiextensions.k8s.io' },
      });
      assert.equal(result.incomplete, true);
      assert.deepEqual(result.gaps, [
        {
          resource: 'customresourcedefinitions.apiextensions.k8s.io',
          reason: 'forbidden: list customresourcedefinitions.apiextensions.k8s.io',
        },
      ]);
      const ns = findingOn(findings, 'Namespace', 'team-a');
      const widget = (ev(ns, 'objects') as { object: string; finalizers: { owner: string; detail: string }[] }[]).find(
        (o) => o.object === 'Widget/team-a/w1',
      )!;
      assert.equal(widget.finalizers[0]!.owner, 'unknown');
      assert.match(widget.finalizers[0]!.detail, /^CRDs could not be read \(forbidden: list customresourcedefinitions/);
      assert.deepEqual(ev(ns, 'coverageGaps'), result.gaps);
    });

    it('a type that cannot be listed hides its objects: they are not guessed at', async () => {
      const { findings } = await runObjects(rule, load('namespace-children.yaml'), {
        refuse: { 'widgets.example.com': 'forbidden: list widgets.example.com' },
      });
      const ns = findingOn(findings, 'Namespace', 'team-a');
      assert.equal(ev(ns, 'stuckObjects'), 1);
      assert.deepEqual(ev(ns, 'coverageGaps'), [{ resource: 'widgets.example.com', reason: 'forbidden: list widgets.example.com' }]);
    });
  });
});
