import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import rule from '../../../rules/cluster-api/interrupted-move.ts';
import type { KubeObject } from '../../../src/kube/object.ts';
import { MAX_LISTED } from '../../../rules/core/stuck-objects.ts';
import { edit, ev, findingOn, load, runObjects } from '../core/deletion-helpers.ts';

describe('cluster-api/interrupted-move', () => {
  describe('broken: the move died in its delete phase', () => {
    it('is one error on the source Cluster listing every object left deleting with delete-for-move', async () => {
      const { result, findings } = await runObjects(rule, load('crds-capi.yaml', 'capi-interrupted-move.yaml'));
      assert.equal(result.status, 'fail');
      const f = findingOn(findings, 'Cluster', 'prod-a');
      assert.equal(findings.length, 1);
      assert.equal(f.severity, 'error');
      assert.equal(
        f.message,
        'clusterctl move was interrupted in its delete phase: 4 objects (DockerMachine, Machine, MachineSet, Cluster) deleting for up to 1h48m with clusterctl.cluster.x-k8s.io/delete-for-move still hold their finalizers, and the Cluster is paused, so no controller will remove them',
      );
      assert.deepEqual(ev(f, 'cluster'), { name: 'fleet/prod-a', specPaused: true, pausedSince: '2026-11-22T10:11:00Z', deleting: true });
      const objects = ev(f, 'deletingForMove') as { object: string; onlyAnnotation: boolean; finalizers: string[] }[];
      assert.deepEqual(
        objects.map((o) => o.object),
        ['DockerMachine/fleet/prod-a-md-0-xyz', 'Machine/fleet/prod-a-md-0-xyz', 'MachineSet/fleet/prod-a-md-0-ms', 'Cluster/fleet/prod-a'],
      );
      assert.ok(objects.every((o) => o.onlyAnnotation));
    });

    it("plans: check the target, then finish clusterctl's job one object at a time, children first, Cluster last", async () => {
      const { findings } = await runObjects(rule, load('crds-capi.yaml', 'capi-interrupted-move.yaml'));
      const steps = findingOn(findings, 'Cluster', 'prod-a').remediation!.steps;
      assert.deepEqual(
        steps.map((s) => s.risk),
        ['safe', 'safe', 'destructive', 'destructive', 'destructive', 'destructive', 'safe'],
      );
      assert.match(steps[0]!.command, /^kubectl --kubeconfig <target-kubeconfig> -n fleet get clusters\.cluster\.x-k8s\.io\/prod-a/);
      assert.deepEqual(
        steps.slice(2, 6).map((s) => (s.action as { target: { kind: string } }).target.kind),
        ['DockerMachine', 'Machine', 'MachineSet', 'Cluster'],
      );
      assert.deepEqual((steps[5]!.action as { patch: unknown }).patch, [
        { op: 'test', path: '/metadata/finalizers/0', value: 'cluster.cluster.x-k8s.io' },
        { op: 'remove', path: '/metadata/finalizers/0' },
      ]);
      assert.match(steps[6]!.title, /^Unpause Cluster fleet\/prod-a on the target/);
    });

    it('an object marked for the move whose Cluster is unknown is reported on its own', async () => {
      const secret: KubeObject = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 'orphan-creds',
          namespace: 'fleet',
          uid: 'uid-secret',
          resourceVersion: '31',
          annotations: { 'clusterctl.cluster.x-k8s.io/delete-for-move': '' },
          deletionTimestamp: '2026-11-22T11:00:00Z',
          finalizers: ['example.com/keep'],
        },
      };
      const { findings } = await runObjects(rule, [...load('crds-capi.yaml'), secret]);
      const f = findingOn(findings, 'Secret', 'orphan-creds');
      assert.equal(f.severity, 'error');
      assert.equal(ev(f, 'cluster'), undefined);
      assert.equal(f.remediation!.steps.filter((s) => s.risk === 'destructive').length, 1);
    });

    it('orders an ownerReference chain 20,000 deep children first, without overflowing the stack', async () => {
      // Each machine is owned by the one before it: m-19999 is the deepest child, m-00000 the root. Names sort the
      // other way round, so only the depth ordering can produce this order. Listed deepest first, so the first depth
      // asked for is the whole chain's.
      const count = 20_000;
      const chain = Array.from({ length: count }, (_, i) => movedMachine(i, i > 0 ? [i - 1] : []));
      const objects = [...load('crds-capi.yaml'), ...chain.reverse()];
      const { result, findings } = await runObjects(rule, objects);
      assert.equal(result.status, 'fail', result.reason);
      const f = findingOn(findings, 'Machine', 'm-00000');
      const listed = (ev(f, 'deletingForMove') as { object: string }[]).map((o) => o.object);
      assert.deepEqual(listed.slice(0, 3), ['Machine/fleet/m-19999', 'Machine/fleet/m-19998', 'Machine/fleet/m-19997']);
      assert.equal(listed.length, MAX_LISTED);
      assert.equal(listed.at(-1), `Machine/fleet/m-${String(count - MAX_LISTED).padStart(5, '0')}`);
      assert.equal(ev(f, 'notListed'), count - MAX_LISTED);
    });

    it('an ownerReference cycle: the edge back into the chain being followed counts as depth 0', async () => {
      // m-0 and m-1 own each other, m-2 is owned by m-1, m-3 by nothing. Ranked first, m-0 follows m-1 back to
      // itself: m-1 gets depth 1 and m-0 depth 2, as does m-2 (owned by m-1); names break the tie.
      const objects = [...load('crds-capi.yaml'), movedMachine(0, [1]), movedMachine(1, [0]), movedMachine(2, [1]), movedMachine(3, [])];
      const f = findingOn((await runObjects(rule, objects)).findings, 'Machine', 'm-00003');
      assert.deepEqual(
        (ev(f, 'deletingForMove') as { object: string }[]).map((o) => o.object),
        ['Machine/fleet/m-00000', 'Machine/fleet/m-00002', 'Machine/fleet/m-00001', 'Machine/fleet/m-00003'],
      );
    });
  });

  describe('broken: what a move left around a Cluster that is not deleting', () => {
    it('a stale block-move on a Cluster paused for 2h (Paused condition under status.v1beta2): warning, unpause', async () => {
      const { findings } = await runObjects(rule, load('crds-capi.yaml', 'capi-block-move.yaml'));
      const f = findingOn(findings, 'Cluster', 'prod-c');
      assert.equal(f.severity, 'warning');
      assert.equal(
        f.message,
        'Cluster left paused for 2h by a clusterctl move: 1 object still carries clusterctl.cluster.x-k8s.io/block-move, so the next move waits ~2 minutes and fails',
      );
      assert.deepEqual(ev(f, 'blockMove'), ['AzureCluster/fleet/prod-c']);
      // clusterctl waits for block-move before creating anything on the target: unpausing restores the state before the move.
      const steps = f.remediation!.steps;
      assert.deepEqual(
        steps.map((s) => [s.risk, s.action.type]),
        [
          ['safe', 'manual'],
          ['disruptive', 'json-patch'],
        ],
      );
      assert.equal(steps[0]!.command, 'kubectl get azureclusters.infrastructure.cluster.x-k8s.io prod-c -n fleet -o yaml');
      assert.deepEqual((steps[1]!.action as { patch: unknown }).patch, [
        { op: 'test', path: '/spec/paused', value: true },
        { op: 'replace', path: '/spec/paused', value: false },
      ]);
    });

    it('objects marked delete-for-move but never deleted (clusterctl <= v1.9.4): warning, delete them, never unpause', async () => {
      const machine: KubeObject = {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Machine',
        metadata: {
          name: 'prod-c-m1',
          namespace: 'fleet',
          uid: 'uid-machine-prod-c-m1',
          resourceVersion: '8003',
          labels: { 'cluster.x-k8s.io/cluster-name': 'prod-c' },
          annotations: { 'clusterctl.cluster.x-k8s.io/delete-for-move': '' },
        },
      };
      const objects = [...load('crds-capi.yaml', 'capi-block-move.yaml').filter((o) => o.kind !== 'AzureCluster'), machine];
      const f = findingOn((await runObjects(rule, objects)).findings, 'Cluster', 'prod-c');
      assert.match(f.message, /1 object was marked clusterctl\.cluster\.x-k8s\.io\/delete-for-move but never deleted$/);
      assert.deepEqual(ev(f, 'markedForMoveNotDeleted'), ['Machine/fleet/prod-c-m1']);
      const steps = f.remediation!.steps;
      assert.deepEqual(
        steps.map((s) => [s.risk, s.action.type]),
        [
          ['safe', 'manual'],
          ['destructive', 'delete'],
        ],
      );
      assert.match(steps[0]!.title, /never unpause fleet\/prod-c here/);
      assert.deepEqual((steps[1]!.action as { preconditions: unknown }).preconditions, {
        uid: 'uid-machine-prod-c-m1',
        resourceVersion: '8003',
      });
    });

    it('a Cluster and its ClusterClass both left paused: warning; without the ClusterClass mark it is intentional', async () => {
      const { findings } = await runObjects(rule, load('crds-capi.yaml', 'capi-paused-class.yaml'));
      const f = findingOn(findings, 'Cluster', 'prod-d');
      assert.equal(f.severity, 'warning');
      assert.match(f.message, /^Cluster paused for 3h together with its ClusterClass fleet\/quick-start/);
      assert.deepEqual(
        f.remediation!.steps.map((s) => [s.risk, s.action.type]),
        [
          ['safe', 'manual'],
          ['safe', 'checkpoint'],
          ['disruptive', 'json-patch'],
          ['disruptive', 'json-patch'],
        ],
        'the scan cannot tell how far the move got: --fix stops before the unpause',
      );

      const unmarked = edit(load('crds-capi.yaml', 'capi-paused-class.yaml'), 'ClusterClass', 'quick-start', (c) => {
        delete c.metadata.annotations;
      });
      assert.deepEqual((await runObjects(rule, unmarked)).findings, []);
    });
  });

  describe('ClusterClasses in another namespace', () => {
    it('v1beta1 spec.topology.class with classNamespace and v1beta2 classRef with a namespace name the paused ClusterClass', async () => {
      const { findings } = await runObjects(rule, load('crds-capi.yaml', 'capi-paused-class-namespace.yaml'));
      assert.deepEqual(
        findings.map((f) => [f.object.name, f.severity, f.message.match(/together with its ClusterClass \S+/)?.[0]]),
        [
          ['edge-a', 'warning', 'together with its ClusterClass classes/edge-v1'],
          ['edge-b', 'warning', 'together with its ClusterClass classes/edge-v2'],
        ],
      );
    });
  });

  describe('healthy', () => {
    it('an intentionally paused Cluster, the move label, block-move on a running Cluster, a move in progress: silent', async () => {
      const { result, findings } = await runObjects(rule, load('crds-capi.yaml', 'capi-healthy.yaml'));
      assert.equal(result.status, 'pass');
      assert.deepEqual(findings, []);
    });

    it('a block-move seen during the first minutes of a pause is a move waiting, not stale', async () => {
      const objects = edit(load('crds-capi.yaml', 'capi-block-move.yaml'), 'Cluster', 'prod-c', (c) => {
        c.status = {
          v1beta2: { conditions: [{ type: 'Paused', status: 'True', reason: 'Paused', lastTransitionTime: '2026-11-22T11:59:00Z' }] },
        };
      });
      assert.deepEqual((await runObjects(rule, objects)).findings, []);
    });
  });
});

/** Machine m-<i> of Cluster fleet/prod-x, left deleting by a move, owned by the machines `owners`. */
function movedMachine(i: number, owners: number[]): KubeObject {
  const name = (n: number) => `m-${String(n).padStart(5, '0')}`;
  return {
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'Machine',
    metadata: {
      name: name(i),
      namespace: 'fleet',
      uid: `uid-${name(i)}`,
      resourceVersion: String(1000 + i),
      labels: { 'cluster.x-k8s.io/cluster-name': 'prod-x' },
      annotations: { 'clusterctl.cluster.x-k8s.io/delete-for-move': '' },
      deletionTimestamp: '2026-11-22T11:00:00Z',
      finalizers: ['machine.cluster.x-k8s.io'],
      ownerReferences: owners.map((o) => ({
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Machine',
        name: name(o),
        uid: `uid-${name(o)}`,
      })),
    },
  };
}
