import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import rule from '../../../rules/harvester/upgrade-status-wiped.ts';
import type { Finding } from '../../../src/engine/finding.ts';
import { evidenceAt, loadFixtures, onlyFinding, runRule } from '../../rule-tester.ts';

const DIR = 'harvester/upgrade-status-wiped';
const NOW = '2026-01-20T12:00:00Z';
const CRDS = `${DIR}/crds.yaml`;
const CLUSTER = `${DIR}/cluster-v1.4.2.yaml`;
const HALF = `${DIR}/cluster-half-upgraded.yaml`;
const f = (name: string) => `${DIR}/${name}.yaml`;

async function run(files: string[], options: { minAgeMs?: number; namespace?: string } = {}) {
  return runRule(rule, files, { now: NOW, ...options });
}

const load = loadFixtures;
const only = onlyFinding;
const ev = evidenceAt;

const actions = (finding: Finding) => finding.remediation!.steps.map((s) => [s.action.type, s.risk, s.reversible]);

describe('harvester/upgrade-status-wiped', () => {
  describe('re-initialised after the UI "Dismiss it" PUT (harvester/harvester#7791)', () => {
    it('reports an error with the documented stop-the-upgrade plan when the evidence is all green', async () => {
      const { result, findings } = await run([CRDS, CLUSTER, f('reinitialised')]);
      assert.equal(result.status, 'fail');
      const finding = only(findings);
      assert.equal(finding.rule, 'harvester/upgrade-status-wiped');
      assert.equal(finding.severity, 'error');
      assert.deepEqual(finding.object, {
        apiVersion: 'harvesterhci.io/v1beta1',
        kind: 'Upgrade',
        namespace: 'harvester-system',
        name: 'hvst-upgrade-7xn6v',
        uid: '44444444-5555-4666-8777-888888888801',
      });
      assert.equal(
        finding.message,
        'Upgrade to v1.4.2 had completed but its status was wiped (dismissed, image-cleanup-completed, same-version-rerun); ' +
          'the controller restarted it from scratch (state PreparingLoggingInfra); new upgrades are refused; the re-run is hidden in the UI',
      );

      assert.deepEqual(ev(finding, 'tells'), [
        { tell: 'dismissed', field: 'metadata.labels["harvesterhci.io/read-message"]', value: 'true' },
        { tell: 'image-cleanup-completed', field: 'metadata.annotations["harvesterhci.io/image-cleanup-plan-completed"]', value: 'true' },
        { tell: 'same-version-rerun', field: 'status.previousVersion', value: 'v1.4.2' },
      ]);
      assert.equal(ev(finding, 'confidence'), 'high');
      assert.deepEqual(ev(finding, 'phase'), { label: 'metadata.labels["harvesterhci.io/upgradeState"]', value: 'PreparingLoggingInfra' });
      assert.equal(ev(finding, 'blocksNewUpgrade'), true);
      assert.equal(ev(finding, 'newUpgradeRefusedWith'), 'cannot proceed until previous upgrade "hvst-upgrade-7xn6v" completes');
      assert.equal(ev(finding, 'hiddenInUi'), true);
      assert.equal(ev(finding, 'nodesUpgrading'), false);
      assert.deepEqual(ev(finding, 'status', 'completed'), { status: 'Unknown', reason: '', message: '' });
      assert.match(String(ev(finding, 'expectedCourse')), /^before v1\.7: .*PreparingLoggingInfra/);
      assert.deepEqual(ev(finding, 'upgrade', 'created'), { seconds: 870300, human: '10d1h' });
      assert.deepEqual(ev(finding, 'completion', 'serverVersion'), { value: 'v1.4.2', equalsSpecVersion: true });
      assert.deepEqual(ev(finding, 'completion', 'nodes'), [
        { name: 'harvester-node-1', osImage: 'Harvester v1.4.2', osImageMatches: true, pendingOSImage: null },
        { name: 'harvester-node-2', osImage: 'Harvester v1.4.2', osImageMatches: true, pendingOSImage: null },
      ]);
      assert.equal(ev(finding, 'completion', 'allNodesOnVersion'), true);
      assert.equal(ev(finding, 'completion', 'noPendingOSImage'), true);
      assert.deepEqual(ev(finding, 'completion', 'capiCluster'), { name: 'fleet-local/local', phase: 'Provisioned' });
      assert.equal(ev(finding, 'completion', 'allGreen'), true);
      assert.deepEqual(ev(finding, 'actionBlockedBy'), []);

      assert.deepEqual(actions(finding), [
        ['manual', 'safe', true],
        ['delete', 'destructive', false],
        ['json-patch', 'safe', true],
        ['json-patch', 'safe', true],
        ['manual', 'safe', true],
      ]);
      const steps = finding.remediation!.steps;
      const del = steps[1]!.action;
      assert.ok(del.type === 'delete');
      assert.equal(del.target.resource, 'upgrades.harvesterhci.io');
      assert.deepEqual(del.preconditions, { uid: '44444444-5555-4666-8777-888888888801', resourceVersion: '99120' });
      assert.equal(steps[1]!.command, 'kubectl delete upgrades.harvesterhci.io hvst-upgrade-7xn6v -n harvester-system');
      const resumed = steps.slice(2, 4).map((s) => s.action);
      assert.deepEqual(
        resumed.map((a) => (a.type === 'json-patch' ? [a.target.resource, a.target.namespace, a.target.name, a.patch] : [])),
        [
          [
            'managedcharts.management.cattle.io',
            'fleet-local',
            'harvester',
            [
              { op: 'test', path: '/spec/paused', value: true },
              { op: 'replace', path: '/spec/paused', value: false },
            ],
          ],
          [
            'managedcharts.management.cattle.io',
            'fleet-local',
            'harvester-crd',
            [
              { op: 'test', path: '/spec/paused', value: true },
              { op: 'replace', path: '/spec/paused', value: false },
            ],
          ],
        ],
      );
      assert.match(steps[4]!.command, /harvesterhci\.io\/upgradeState notin \(Succeeded,Failed\)/);
      assert.match(steps[4]!.command, /upgrade-repo-hvst-upgrade-7xn6v/);
      assert.match(finding.remediation!.summary, /^Stop the restarted upgrade as documented/);
    });

    it('stays silent for the completed twin (status intact, dismissed with a label)', async () => {
      const { result, findings } = await run([CRDS, CLUSTER, f('completed')]);
      assert.equal(result.status, 'pass');
      assert.deepEqual(findings, []);
    });

    it('reports the bare wiped state (no status at all) before the controller re-initialised it', async () => {
      const finding = only((await run([CRDS, CLUSTER, f('wiped-empty')])).findings);
      assert.equal(finding.severity, 'error');
      assert.equal(
        finding.message,
        'Upgrade to v1.4.2 had completed but its status was wiped (dismissed, image-cleanup-completed); its status is empty and the controller has not re-initialised it',
      );
      assert.equal(ev(finding, 'status', 'empty'), true);
      assert.equal(ev(finding, 'blocksNewUpgrade'), false);
      assert.equal(ev(finding, 'newUpgradeRefusedWith'), null);
      assert.ok(finding.remediation!.steps.some((s) => s.action.type === 'delete'));
    });

    it('says v1.7+ fails the re-run after the logReadyTimeout', async () => {
      const objects = load(CRDS, CLUSTER, f('reinitialised')).map((o) => {
        if (o.kind === 'Setting') o.value = 'v1.7.1';
        return o;
      });
      const finding = only((await runRule(rule, objects, { now: NOW })).findings);
      assert.match(String(ev(finding, 'expectedCourse')), /^v1\.7\+: .*Timed out creating upgrade logging infrastructure/);
      assert.deepEqual(ev(finding, 'harvesterVersion'), { value: 'v1.7.1', source: 'settings.harvesterhci.io/server-version' });
    });
  });

  it("stays silent on the same Upgrade once it is being deleted: the deletion is this rule's fix, in progress", async () => {
    const objects = load(CRDS, CLUSTER, f('reinitialised')).map((o) => {
      if (o.kind === 'Upgrade')
        o.metadata = {
          ...o.metadata,
          deletionTimestamp: '2026-01-20T11:59:00Z',
          finalizers: ['wrangler.cattle.io/harvester-upgrade-controller'],
        };
      return o;
    });
    const { result, findings } = await runRule(rule, objects, { now: NOW });
    assert.deepEqual(findings, []);
    assert.equal(result.status, 'pass');
  });

  describe('report only', () => {
    it('never acts while nodes are upgrading', async () => {
      const finding = only((await run([CRDS, CLUSTER, f('nodes-upgrading')])).findings);
      assert.equal(finding.severity, 'error');
      assert.equal(ev(finding, 'nodesUpgrading'), true);
      assert.equal(ev(finding, 'status', 'nodesUpgraded'), 'Unknown');
      assert.match(finding.message, /the controller restarted it from scratch \(state UpgradingNodes\); new upgrades are refused/);
      assert.deepEqual(ev(finding, 'actionBlockedBy'), ['nodes are being upgraded (upgradeState UpgradingNodes, NodesUpgraded Unknown)']);
      assert.deepEqual(actions(finding), [['manual', 'safe', true]]);
      assert.match(finding.remediation!.steps[0]!.title, /^Do not delete or restart the upgrade while nodes are upgrading/);
      assert.match(finding.remediation!.summary, /^Report only: /);
    });

    it('never acts when a node is not on the new version', async () => {
      const finding = only((await run([CRDS, HALF, f('reinitialised')])).findings);
      assert.equal(finding.severity, 'error');
      assert.equal(ev(finding, 'confidence'), 'high');
      assert.equal(ev(finding, 'completion', 'allGreen'), false);
      assert.equal(ev(finding, 'completion', 'allNodesOnVersion'), false);
      assert.equal(ev(finding, 'completion', 'noPendingOSImage'), false);
      assert.deepEqual(ev(finding, 'completion', 'notGreen'), [
        'not every node reports osImage "Harvester v1.4.2": harvester-node-2=Harvester v1.4.1',
        'nodes still have harvesterhci.io/pendingOSImage: harvester-node-2',
      ]);
      assert.deepEqual(actions(finding), [['manual', 'safe', true]]);
      assert.match(finding.remediation!.steps[0]!.title, /^Investigate before acting/);
    });

    it('never acts without the server-version Setting and nodes, and says they were unavailable', async () => {
      const finding = only((await run([CRDS, f('reinitialised')])).findings);
      assert.equal(finding.severity, 'error');
      assert.deepEqual(ev(finding, 'completion', 'serverVersion'), { unavailable: 'settings.harvesterhci.io/server-version not found' });
      assert.deepEqual(ev(finding, 'completion', 'notGreen'), [
        'server-version unknown: settings.harvesterhci.io/server-version not found',
        'no Node objects were found',
      ]);
      assert.ok(!(ev(finding, 'tells') as { tell: string }[]).some((t) => t.tell === 'same-version-rerun'));
      assert.deepEqual(actions(finding), [['manual', 'safe', true]]);
    });

    it('never acts while the CAPI cluster is provisioning (the webhook refuses the delete)', async () => {
      const objects = load(CRDS, CLUSTER, f('reinitialised')).map((o) => {
        if (o.kind === 'Cluster') (o.status as { phase: string }).phase = 'Provisioning';
        return o;
      });
      const finding = only((await runRule(rule, objects, { now: NOW })).findings);
      assert.deepEqual(ev(finding, 'actionBlockedBy'), [
        'cluster fleet-local/local is in phase Provisioning, not Provisioned (the webhook refuses deleting the Upgrade while it is Provisioning)',
      ]);
      assert.ok(!finding.remediation!.steps.some((s) => s.action.type === 'delete'));
    });
  });

  describe('weak tells and fresh upgrades', () => {
    it('reports a same-version re-run without other tells as a low-confidence warning', async () => {
      const finding = only((await run([CRDS, CLUSTER, f('same-version-rerun')])).findings);
      assert.equal(finding.severity, 'warning');
      assert.equal(ev(finding, 'confidence'), 'low');
      assert.deepEqual(
        (ev(finding, 'tells') as { tell: string }[]).map((t) => t.tell),
        ['same-version-rerun'],
      );
      assert.equal(
        finding.message,
        'Upgrade to v1.4.2 looks like a same-version re-run (status.previousVersion = server-version = v1.4.2): its status was probably wiped; ' +
          'the controller restarted it from scratch (state PreparingRepo); new upgrades are refused',
      );
      assert.match(finding.remediation!.summary, /^Unless this is a deliberate same-version upgrade: stop the restarted upgrade/);
      assert.ok(finding.remediation!.steps.some((s) => s.action.type === 'delete' && s.risk === 'destructive'));
    });

    it('stays silent for an ordinary upgrade in progress', async () => {
      const { result, findings } = await run([CRDS, CLUSTER, f('in-progress')]);
      assert.equal(result.status, 'pass');
      assert.deepEqual(findings, []);
    });

    it('stays silent for an Upgrade created seconds ago with an empty status', async () => {
      const { result, findings } = await run([CRDS, CLUSTER, f('fresh')]);
      assert.equal(result.status, 'pass');
      assert.deepEqual(findings, []);
    });

    it('reports the same empty status with --min-age 0s, and when it is old', async () => {
      const finding = only((await run([CRDS, CLUSTER, f('fresh')], { minAgeMs: 0 })).findings);
      assert.equal(finding.severity, 'warning');
      assert.equal(ev(finding, 'confidence'), 'status-empty-only');
      assert.deepEqual(ev(finding, 'tells'), []);
      assert.equal(ev(finding, 'thresholdSeconds'), 0);
      assert.equal(
        finding.message,
        'Upgrade to v1.4.3 has had an empty status for 10s (wiped, and the upgrade controller has not re-initialised it); new upgrades are refused',
      );

      const old = load(CRDS, CLUSTER, f('fresh')).map((o) => {
        if (o.kind === 'Upgrade') o.metadata.creationTimestamp = '2026-01-20T11:50:00Z';
        return o;
      });
      const oldFinding = only((await runRule(rule, old, { now: NOW })).findings);
      assert.match(oldFinding.message, /has had an empty status for 10m/);
      assert.equal(ev(oldFinding, 'thresholdSeconds'), 120);
    });

    it('ignores Upgrades outside harvester-system', async () => {
      const objects = load(CRDS, CLUSTER, f('reinitialised')).map((o) => {
        if (o.kind === 'Upgrade') o.metadata.namespace = 'default';
        return o;
      });
      assert.deepEqual((await runRule(rule, objects, { now: NOW })).findings, []);
    });
  });

  describe('applicability', () => {
    it('is skipped when the Upgrade API is not served', async () => {
      const { result, findings } = await run([f('no-harvester')]);
      assert.equal(result.status, 'skipped');
      assert.equal(result.reason, 'api not served: upgrades.harvesterhci.io');
      assert.deepEqual(findings, []);
    });

    it('falls back to a manual un-pause when ManagedCharts cannot be read', async () => {
      const objects = load(CRDS, CLUSTER, f('reinitialised')).filter(
        (o) => o.kind !== 'ManagedChart' && o.metadata.name !== 'managedcharts.management.cattle.io',
      );
      const { result, findings } = await runRule(rule, objects, { now: NOW });
      assert.equal(result.status, 'fail');
      const steps = only(findings).remediation!.steps;
      assert.deepEqual(
        steps.map((s) => s.action.type),
        ['manual', 'delete', 'manual', 'manual'],
      );
      assert.match(steps[2]!.title, /api not served: managedcharts\.management\.cattle\.io/);
      assert.match(
        steps[2]!.command,
        /for mc in harvester harvester-crd rancher-monitoring-crd rancher-logging-crd; do kubectl -n fleet-local patch managedcharts\.management\.cattle\.io/,
      );
    });

    it('shows the safe label-only dismiss in its explanation', () => {
      assert.ok(
        rule.meta.explain.remediation.some((r) =>
          r.includes(
            'kubectl -n harvester-system label upgrades.harvesterhci.io -l harvesterhci.io/latestUpgrade=true harvesterhci.io/read-message=true',
          ),
        ),
      );
      assert.equal(rule.meta.reads.nodes.optional, true);
      assert.equal(rule.meta.reads.settings.optional, true);
      assert.equal(rule.meta.reads.managedcharts.optional, true);
    });
  });
});
