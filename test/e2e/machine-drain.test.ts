// End to end: cluster-api/machine-drain-blocked against a real kube-apiserver (test/harness) with Cluster API's
// CRDs (v1beta2 storage, v1beta1 served). No Cluster API controller runs: the conditions are written through the
// status subresource the way capi-controller-manager writes them (internal/controllers/machine, v1.10 and v1.11),
// and DELETE leaves the Machine deleting on its machine.cluster.x-k8s.io finalizer, as the controller's does while it
// drains. What only the real controller can prove (the drain itself, the MachineSet/MachineDeployment copying the
// timeout, the conversion between v1beta1 nodeDrainTimeout and v1beta2 nodeDrainTimeoutSeconds, the drain ending once
// the timeout is exceeded) is proven in test/e2e/capi-controller.test.ts.
// Run: ./node_modules/.bin/node --test --test-global-setup=test/harness/global-setup.ts test/e2e/machine-drain.test.ts
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { uniqueName } from '../harness/env.ts';
import { createNamespace, doctor, parseReport, raw } from './kube.ts';
import { tempDir } from '../temp.ts';

const RULE = 'cluster-api/machine-drain-blocked';
const FINALIZER = 'machine.cluster.x-k8s.io';
const base = (version: string, ns: string, plural: string) => `/apis/cluster.x-k8s.io/${version}/namespaces/${ns}/${plural}`;
const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');

interface Obj {
  metadata: { uid: string; name: string; annotations?: Record<string, string>; deletionTimestamp?: string };
  spec: Record<string, unknown>;
}

describe('cluster-api/machine-drain-blocked on a real API server', () => {
  const ns = uniqueName('e2e-drain');
  const v2 = (plural: string) => base('v1beta2', ns, plural);
  const v1 = (plural: string) => base('v1beta1', ns, plural);
  const machines: { version: string; name: string }[] = [];

  /** The Deleting condition of CAPI v1.11 while a PodDisruptionBudget refuses the eviction of shop/db-0. */
  const pdbMessage = (start: string) =>
    `Drain not completed yet (started at ${start}):\n* Pod shop/db-0: cannot evict pod as it would violate the pod's disruption budget. The disruption budget db needs 1 healthy pods and has 1 currently`;

  async function machine(version: 'v1beta1' | 'v1beta2', name: string, extra: { spec?: object; ownerReferences?: object[] } = {}) {
    const created = (await raw('POST', base(version, ns, 'machines'), {
      apiVersion: `cluster.x-k8s.io/${version}`,
      kind: 'Machine',
      metadata: {
        name,
        finalizers: [FINALIZER],
        labels: { 'cluster.x-k8s.io/cluster-name': 'prod' },
        ...(extra.ownerReferences ? { ownerReferences: extra.ownerReferences } : {}),
      },
      spec: { clusterName: 'prod', ...extra.spec },
    })) as unknown as Obj;
    machines.push({ version, name });
    return created;
  }

  /** What the Machine controller writes when it starts draining (v1.11, v1beta2 API). */
  async function drainingV1beta2(name: string, startedMinutesAgo: number) {
    const start = ago(startedMinutesAgo);
    await raw(
      'PATCH',
      `${v2('machines')}/${name}/status`,
      {
        status: {
          nodeRef: { name },
          deletion: { nodeDrainStartTime: start },
          conditions: [{ type: 'Deleting', status: 'True', reason: 'DrainingNode', message: pdbMessage(start), lastTransitionTime: start }],
          deprecated: {
            v1beta1: {
              conditions: [
                {
                  type: 'DrainingSucceeded',
                  status: 'False',
                  severity: 'Info',
                  reason: 'Draining',
                  message: pdbMessage(start),
                  lastTransitionTime: start,
                },
              ],
            },
          },
        },
      },
      'application/merge-patch+json',
    );
  }

  before(async () => {
    await createNamespace(ns);
    const md = (await raw('POST', v2('machinedeployments'), {
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'MachineDeployment',
      metadata: { name: 'prod-md-0' },
      spec: { clusterName: 'prod', replicas: 1, template: { spec: { clusterName: 'prod' } } },
    })) as unknown as Obj;
    const ms = (await raw('POST', v2('machinesets'), {
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'MachineSet',
      metadata: {
        name: 'prod-md-0-7d9f8',
        ownerReferences: [
          { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'MachineDeployment', name: 'prod-md-0', uid: md.metadata.uid, controller: true },
        ],
      },
      spec: { clusterName: 'prod', replicas: 1, template: { spec: { clusterName: 'prod' } } },
    })) as unknown as Obj;
    const ownedByMs = [
      { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'MachineSet', name: 'prod-md-0-7d9f8', uid: ms.metadata.uid, controller: true },
    ];

    // Broken: a MachineDeployment's Machine blocked by a PDB for 40 minutes (v1.11).
    await machine('v1beta2', 'prod-md-0-7d9f8-x2k4p', { ownerReferences: ownedByMs });
    await drainingV1beta2('prod-md-0-7d9f8-x2k4p', 40);
    // Broken: a standalone Machine read and written through the v1beta1 API (v1.10: conditions + status.v1beta2).
    await machine('v1beta1', 'edge-worker-1');
    const start = ago(30);
    const terminating = `Drain not completed yet (started at ${start}):\n* Pod apps/api-0: deletionTimestamp set, but still not removed from the Node`;
    await raw(
      'PATCH',
      `${v1('machines')}/edge-worker-1/status`,
      {
        status: {
          nodeRef: { apiVersion: 'v1', kind: 'Node', name: 'edge-worker-1' },
          deletion: { nodeDrainStartTime: start },
          conditions: [
            {
              type: 'DrainingSucceeded',
              status: 'False',
              severity: 'Info',
              reason: 'Draining',
              message: terminating,
              lastTransitionTime: start,
            },
          ],
          v1beta2: {
            conditions: [{ type: 'Deleting', status: 'True', reason: 'DrainingNode', message: terminating, lastTransitionTime: start }],
          },
        },
      },
      'application/merge-patch+json',
    );
    // Look-alikes: draining for a minute; draining for 40 minutes with a drain timeout.
    await machine('v1beta2', 'young');
    await drainingV1beta2('young', 1);
    await machine('v1beta2', 'with-timeout', { spec: { deletion: { nodeDrainTimeoutSeconds: 3600 } } });
    await drainingV1beta2('with-timeout', 40);

    for (const m of machines) await raw('DELETE', `${base(m.version, ns, 'machines')}/${m.name}`);
  });

  after(async () => {
    // Let the Machines go, so no other test's scan sees them deleting.
    for (const m of machines) {
      await raw(
        'PATCH',
        `${base(m.version, ns, 'machines')}/${m.name}`,
        { metadata: { finalizers: null } },
        'application/merge-patch+json',
      );
    }
  });

  it('finds the two blocked drains from their conditions (v1beta2 and v1beta1 APIs); the young drain and the one with a timeout are silent', async () => {
    const result = await doctor(['-n', ns, '--rules', RULE, '-o', 'json']);
    assert.equal(result.code, 1, result.stderr);
    const report = parseReport(result);
    const found = report.findings.map((f) => [f.object.name, (f as unknown as { reason: string }).reason, f.severity]);
    assert.deepEqual(found.sort(), [
      ['edge-worker-1', 'pods-not-terminating', 'error'],
      ['prod-md-0-7d9f8-x2k4p', 'pdb-blocks-eviction', 'error'],
    ]);
    const pdb = report.findings.find((f) => f.object.name === 'prod-md-0-7d9f8-x2k4p')!;
    assert.match(
      pdb.message,
      /^draining Node prod-md-0-7d9f8-x2k4p for 40m\d*s? with no nodeDrainTimeout: Pod shop\/db-0 cannot be evicted, PodDisruptionBudget db allows no disruption/,
    );
    assert.equal(pdb.evidence.timeoutBelongsOn, `MachineDeployment/${ns}/prod-md-0 (spec.template.spec.deletion.nodeDrainTimeoutSeconds)`);
    assert.match(String(pdb.evidence.podsLiveIn), new RegExp(`Secret ${ns}/prod-kubeconfig, key value`));
  });

  it('with core/stuck-deletion (past its 15 minutes), the drain finding leads and the stuck-deletion one on the Machine defers', async () => {
    const later = new Date(Date.now() + 20 * 60_000).toISOString();
    const report = parseReport(await doctor(['-n', ns, '--rules', `${RULE},core/stuck-deletion`, '--now', later, '-o', 'json']));
    const drain = report.findings.find((f) => f.rule === RULE && f.object.name === 'prod-md-0-7d9f8-x2k4p') as unknown as {
      fingerprint: string;
    };
    const stuck = report.findings.find((f) => f.rule === 'core/stuck-deletion' && f.object.name === 'prod-md-0-7d9f8-x2k4p') as unknown as {
      related?: { ledBy?: string };
      remediation?: unknown;
    };
    assert.deepEqual(stuck.related, { ledBy: drain.fingerprint });
    assert.equal(stuck.remediation, undefined);
  });

  it('--fix --allow=disruptive sets the drain timeout where Cluster API keeps it and stops at the checkpoint: no annotation', async () => {
    const result = await doctor([
      '-n',
      ns,
      '--rules',
      RULE,
      '--fix',
      '--yes',
      '--allow',
      'disruptive',
      '--timeout',
      '0s',
      '--backup-dir',
      tempDir('drain-fix'),
      '-o',
      'json',
    ]);
    const fix = parseReport(result).fix!.results;
    // The MachineDeployment's template carries the timeout (the controllers copy it to the MachineSet and the Machine).
    const md = (await raw('GET', `${v2('machinedeployments')}/prod-md-0`)) as unknown as Obj;
    assert.deepEqual((md.spec.template as { spec: { deletion?: unknown } }).spec.deletion, { nodeDrainTimeoutSeconds: 600 });
    // The standalone Machine carries it itself, in the shape of the version the scan read it in: v1beta2, the
    // preferred one (CAPI's conversion webhook maps it to v1beta1's nodeDrainTimeout, capi-controller.test.ts shows it;
    // the test CRD here has no webhook).
    const edge = (await raw('GET', `${v2('machines')}/edge-worker-1`)) as unknown as Obj;
    assert.deepEqual(edge.spec.deletion, { nodeDrainTimeoutSeconds: 600 });
    for (const name of ['prod-md-0-7d9f8-x2k4p', 'edge-worker-1']) {
      const m = (await raw('GET', `${v2('machines')}/${name}`)) as unknown as Obj;
      assert.equal(
        m.metadata.annotations?.['machine.cluster.x-k8s.io/exclude-node-draining'],
        undefined,
        `${name}: the destructive rung is behind the checkpoint`,
      );
    }
    // The standalone Machine now has its timeout: the finding is gone, but the drain is over only once the Machine is,
    // and no controller runs here to delete it: pending (the real controller does: test/e2e/capi-controller.test.ts).
    // The MachineDeployment's Machine waits for the controllers to copy the timeout down: pending, every write holding.
    const rescan = parseReport(await doctor(['-n', ns, '--rules', RULE, '-o', 'json']));
    assert.deepEqual(
      rescan.findings.map((f) => f.object.name),
      ['prod-md-0-7d9f8-x2k4p'],
    );
    assert.deepEqual(
      fix.map((r) => [r.object.name, r.outcome]).sort(),
      [
        ['edge-worker-1', 'pending'],
        ['prod-md-0-7d9f8-x2k4p', 'pending'],
      ],
      JSON.stringify(fix),
    );
    assert.match(fix.find((r) => r.object.name === 'edge-worker-1')!.waitingFor ?? '', /Machine .*\/edge-worker-1 still there$/);
  });

  it("the controllers' copy of the timeout down to the Machine (done here by hand) ends the finding", async () => {
    await raw(
      'PATCH',
      `${v2('machines')}/prod-md-0-7d9f8-x2k4p`,
      { spec: { deletion: { nodeDrainTimeoutSeconds: 600 } } },
      'application/merge-patch+json',
    );
    const rescan = parseReport(await doctor(['-n', ns, '--rules', RULE, '-o', 'json']));
    assert.deepEqual(rescan.findings, []);
  });
});
