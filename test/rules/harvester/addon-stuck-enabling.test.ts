import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import rule from '../../../rules/harvester/addon-stuck-enabling.ts';
import type { Finding } from '../../../src/engine/finding.ts';
import { evidenceAt, loadFixtures, onlyFinding, runRule } from '../../rule-tester.ts';

const DIR = 'harvester/addon-stuck-enabling';
const NOW = '2026-01-20T12:00:00Z';
const CRDS = `${DIR}/crds.yaml`;
const V14 = `${DIR}/settings-v1.4.yaml`;
const V17 = `${DIR}/settings-v1.7.yaml`;
const f = (name: string) => `${DIR}/${name}.yaml`;

async function run(files: string[], options: { minAgeMs?: number; namespace?: string } = {}) {
  return runRule(rule, files, { now: NOW, ...options });
}

const load = loadFixtures;
const only = onlyFinding;
const ev = evidenceAt;

describe('harvester/addon-stuck-enabling', () => {
  describe('stale job timestamp (harvester/harvester#7376)', () => {
    it('reports the Addon as an error with a safe status-subresource patch', async () => {
      const { result, findings } = await run([CRDS, V14, f('stale-job')]);
      assert.equal(result.status, 'fail');
      const finding = only(findings);
      assert.equal(finding.rule, 'harvester/addon-stuck-enabling');
      assert.equal(finding.severity, 'error');
      assert.deepEqual(finding.object, {
        apiVersion: 'harvesterhci.io/v1beta1',
        kind: 'Addon',
        namespace: 'harvester-system',
        name: 'harvester-vm-dhcp-controller',
        uid: '6a0c5d2e-91b4-4f7e-8d0a-3c2b1e4f5a60',
      });
      assert.match(
        finding.message,
        /^Addon has been AddonEnabling for 2h40m: install Job helm-install-harvester-vm-dhcp-controller succeeded but was created 15s before InProgress, so the controller never advances/,
      );
      assert.match(finding.message, /apply-manifests Job fails/);
      assert.match(
        finding.message,
        /pod helm-install-harvester-vm-dhcp-controller-r6lf5 started 15s before it was created \(clock skew\)$/,
      );
      assert.doesNotMatch(finding.message, /\.$/);

      assert.equal(ev(finding, 'classification'), 'stale-job-timestamp');
      assert.deepEqual(ev(finding, 'inProgress'), {
        field: 'status.conditions[type=InProgress].lastUpdateTime',
        value: '2026-01-20T09:19:56Z',
        age: { seconds: 9604, human: '2h40m' },
      });
      assert.equal(ev(finding, 'thresholdSeconds'), 900);
      assert.equal(ev(finding, 'job', 'createdBeforeInProgressSeconds'), 15);
      assert.equal(ev(finding, 'job', 'succeeded'), 1);
      assert.equal(ev(finding, 'job', 'complete'), true);
      assert.equal(ev(finding, 'helmChart', 'ownedByAddon'), true);
      assert.equal(ev(finding, 'helmChart', 'specMatchesAddon'), true);
      assert.equal(ev(finding, 'helmChart', 'jobName'), 'helm-install-harvester-vm-dhcp-controller');
      assert.equal(ev(finding, 'clockSkew', 'seconds'), 15);
      assert.equal(ev(finding, 'clockSkew', 'pod'), 'helm-install-harvester-vm-dhcp-controller-r6lf5');
      assert.deepEqual(ev(finding, 'blocksUpgrades', 'harvesterVersion'), {
        value: 'v1.4.0',
        source: 'settings.harvesterhci.io/server-version',
      });
      assert.equal(ev(finding, 'blocksUpgrades', 'how'), 'apply-manifests-job-fails');
      assert.match(
        String(ev(finding, 'blocksUpgrades', 'error')),
        /cannot perform operation, as an existing operation is in progress on addon harvester-vm-dhcp-controller$/,
      );
      assert.equal(ev(finding, 'upgradeInSystemServicesPhase'), null);
      const pods = ev(finding, 'pods') as Record<string, unknown>[];
      assert.equal(pods.length, 1);
      assert.equal(pods[0]!.startedBeforeCreatedSeconds, 15);

      const steps = finding.remediation!.steps;
      assert.deepEqual(
        steps.map((s) => [s.action.type, s.risk]),
        [
          ['manual', 'safe'],
          ['json-patch', 'safe'],
          ['manual', 'safe'],
        ],
      );
      assert.match(steps[0]!.title, /Fix time synchronisation first/);
      const patch = steps[1]!;
      assert.equal(patch.reversible, true);
      assert.ok(patch.action.type === 'json-patch');
      assert.equal(patch.action.subresource, 'status');
      assert.equal(patch.action.target.resource, 'addons.harvesterhci.io');
      assert.equal(patch.action.target.name, 'harvester-vm-dhcp-controller');
      const now = '2026-01-20T12:00:00Z';
      const cond = (type: string, status: string) => ({
        type,
        status,
        lastUpdateTime: now,
        lastTransitionTime: now,
        reason: '',
        message: '',
      });
      assert.deepEqual(patch.action.patch, [
        { op: 'test', path: '/status/status', value: 'AddonEnabling' },
        { op: 'test', path: '/status/conditions/1/type', value: 'InProgress' },
        { op: 'test', path: '/status/conditions/1/status', value: 'True' },
        { op: 'replace', path: '/status/status', value: 'AddonDeploySuccessful' },
        {
          op: 'replace',
          path: '/status/conditions',
          value: [cond('Completed', 'True'), cond('InProgress', 'False'), cond('OperationFailed', 'False')],
        },
      ]);
      assert.match(
        patch.command,
        /^kubectl patch addons\.harvesterhci\.io harvester-vm-dhcp-controller -n harvester-system --subresource=status --type=json -p /,
      );
      assert.match(finding.remediation!.summary, /status subresource/);
    });

    it('stays silent for the healthy twin (Job newer than InProgress, addon deployed)', async () => {
      const { result, findings } = await run([CRDS, V14, f('stale-job-healthy')]);
      assert.equal(result.status, 'pass');
      assert.deepEqual(findings, []);
    });

    it('says the Upgrade is refused on v1.7+', async () => {
      const finding = only((await run([CRDS, V17, f('stale-job')])).findings);
      assert.equal(ev(finding, 'blocksUpgrades', 'how'), 'upgrade-refused');
      assert.equal(
        ev(finding, 'blocksUpgrades', 'error'),
        'addon harvester-system/harvester-vm-dhcp-controller is enabled but still on status AddonEnabling, please wait for it to be ready or fix it',
      );
      assert.match(finding.message, /creating a Harvester Upgrade is refused \(v1\.7\+\)/);
    });

    it('says both ways when the server-version Setting is missing', async () => {
      const finding = only((await run([CRDS, f('stale-job')])).findings);
      assert.equal(ev(finding, 'blocksUpgrades', 'how'), 'unknown');
      assert.deepEqual(ev(finding, 'blocksUpgrades', 'harvesterVersion'), {
        unavailable: 'settings.harvesterhci.io/server-version not found',
      });
      assert.match(finding.message, /version unknown/);
    });

    it('compares at second precision with 1 s tolerance', async () => {
      const objects = (jobCreated: string, inProgress = '2026-01-20T09:19:56Z') =>
        load(CRDS, V14, f('stale-job')).map((o) => {
          if (o.kind === 'Job') o.metadata.creationTimestamp = jobCreated;
          if (o.kind === 'Addon')
            (o.status as { conditions: { type: string; lastUpdateTime: string }[] }).conditions[1]!.lastUpdateTime = inProgress;
          return o;
        });
      const oneSecond = only((await runRule(rule, objects('2026-01-20T09:19:55Z'), { now: NOW })).findings);
      assert.equal(ev(oneSecond, 'classification'), 'stale-job-timestamp');
      assert.equal(ev(oneSecond, 'job', 'createdBeforeInProgressSeconds'), 1);
      const sameSecond = only((await runRule(rule, objects('2026-01-20T09:19:56Z', '2026-01-20T09:19:56.900Z'), { now: NOW })).findings);
      assert.equal(ev(sameSecond, 'classification'), 'job-current-not-advanced');
      assert.equal(sameSecond.severity, 'warning');
      assert.ok(sameSecond.remediation!.steps.every((s) => s.action.type === 'manual'));
    });

    it('gives the clock-skew hint only when startTime is at least 2 s before creationTimestamp', async () => {
      const objects = load(CRDS, V14, f('stale-job')).map((o) => {
        if (o.kind === 'Pod') (o.status as { startTime: string }).startTime = '2026-01-20T09:19:40Z';
        return o;
      });
      const finding = only((await runRule(rule, objects, { now: NOW })).findings);
      assert.equal(ev(finding, 'clockSkew'), undefined);
      assert.doesNotMatch(finding.message, /clock skew/);
      assert.deepEqual(
        finding.remediation!.steps.map((s) => s.action.type),
        ['json-patch', 'manual'],
      );
    });

    it('plans unblock + disable + re-enable when the stale Job failed', async () => {
      const finding = only((await run([CRDS, V14, f('stale-job-failed')])).findings);
      assert.equal(finding.severity, 'error');
      assert.match(finding.message, /install Job helm-install-vm-import-controller failed but was created 3598s before InProgress/);
      assert.match(finding.remediation!.summary, /^The install Job failed: unblock the webhook/);
      assertReEnablePlan(finding, '51002');
    });

    it('in a kubectl doctor dump, compares the redacted values by length and hash, as the controller compares the text', async () => {
      const live = only((await run([CRDS, V14, f('stale-job')])).findings);
      // The same values (the Addon's, or its default values annotation when they are empty): the same finding and
      // the same safe plan as live; no marker reaches the finding.
      for (const dumped of ['dumped-stale-job', 'dumped-stale-job-defaults']) {
        const { result, findings } = await run([CRDS, V14, f(dumped)]);
        const finding = only(findings);
        assert.equal(result.status, 'fail', dumped);
        assert.equal(result.incomplete, false, dumped);
        assert.deepEqual([finding.message, finding.evidence, finding.remediation], [live.message, live.evidence, live.remediation], dumped);
        assert.doesNotMatch(JSON.stringify(finding), /\(redacted\)/);
      }
      // Different values are two different markers: the HelmChart does not match, so no safe finish.
      const mismatch = only((await run([CRDS, V14, f('dumped-values-mismatch')])).findings);
      assert.deepEqual(ev(mismatch, 'helmChart', 'mismatchedFields'), ['spec.valuesContent']);
      assert.match(mismatch.remediation!.summary, /HelmChart differs from the Addon \(spec\.valuesContent\)/);
    });

    it('plans unblock + disable + re-enable when the HelmChart does not match the Addon (AddonUpdating)', async () => {
      const finding = only((await run([CRDS, V14, f('stale-version-mismatch')])).findings);
      assert.equal(finding.severity, 'error');
      assert.match(finding.message, /^Addon has been AddonUpdating for 2h40m: install Job .* succeeded/);
      assert.deepEqual(ev(finding, 'helmChart', 'mismatchedFields'), ['spec.version']);
      assert.match(finding.remediation!.summary, /HelmChart differs from the Addon \(spec\.version\)/);
      // This fixture also has the clock-skew tell: the re-enable waits behind the clock-fix checkpoint.
      assert.ok(ev(finding, 'clockSkew'));
      assertReEnablePlan(finding, '48213', [
        ['manual', 'safe'],
        ['checkpoint', 'safe'],
      ]);
    });

    it('puts the re-enable behind a clock-fix checkpoint when the stale Job failed and the clocks are skewed', async () => {
      // stale-job has the skew tell (pod started 15 s before it was created); make its Job fail instead of succeed.
      const objects = load(CRDS, V14, f('stale-job')).map((o) => {
        if (o.kind === 'Job') Object.assign(o.status as object, { succeeded: 0, failed: 1 });
        return o;
      });
      const finding = only((await runRule(rule, objects, { now: NOW })).findings);
      assert.equal(ev(finding, 'clockSkew', 'seconds'), 15);
      assert.match(finding.message, /failed but was created 15s before InProgress/);
      assertReEnablePlan(finding, '48213', [
        ['manual', 'safe'],
        ['checkpoint', 'safe'],
      ]);
      const [fixClocks, wait] = finding.remediation!.steps;
      assert.match(fixClocks!.title, /^Fix time synchronisation first/);
      assert.ok(wait!.action.type === 'checkpoint');
      assert.match(wait!.action.instructions, /^go on only after every node's clock agrees with the control plane/);
    });

    it('offers no change while an Upgrade is upgrading system services', async () => {
      const finding = only((await run([CRDS, V14, f('stale-job'), f('upgrade-system-services')])).findings);
      assert.equal(finding.severity, 'error');
      assert.deepEqual(ev(finding, 'upgradeInSystemServicesPhase'), {
        name: 'hvst-upgrade-q8m4d',
        namespace: 'harvester-system',
        state: 'UpgradingSystemServices',
      });
      const steps = finding.remediation!.steps;
      assert.equal(steps.length, 1);
      assert.equal(steps[0]!.action.type, 'manual');
      assert.match(steps[0]!.title, /Wait until Upgrade hvst-upgrade-q8m4d leaves the UpgradingSystemServices phase/);
    });

    it('honours --min-age: a longer threshold silences it', async () => {
      const { findings } = await run([CRDS, V14, f('stale-job')], { minAgeMs: 3 * 3600_000 });
      assert.deepEqual(findings, []);
    });

    it('looks only at the scanned namespace with -n', async () => {
      assert.deepEqual((await run([CRDS, V14, f('stale-job')], { namespace: 'cattle-logging-system' })).findings, []);
      assert.equal((await run([CRDS, V14, f('stale-job')], { namespace: 'harvester-system' })).findings.length, 1);
    });

    it('ignores disabled addons', async () => {
      const objects = load(CRDS, V14, f('stale-job')).map((o) => {
        if (o.kind === 'Addon') (o.spec as { enabled: boolean }).enabled = false;
        return o;
      });
      assert.deepEqual((await runRule(rule, objects, { now: NOW })).findings, []);
    });
  });

  describe('install Job still running', () => {
    it('stays silent for an addon installing for 5 minutes', async () => {
      const { result, findings, heldBack } = await run([CRDS, V14, f('installing')]);
      assert.equal(result.status, 'pass');
      assert.deepEqual(findings, []);
      // Not silent about it: held back, so the summary can say so.
      assert.deepEqual(
        heldBack.map((h) => [h.rule, h.object.kind, h.reason]),
        [['harvester/addon-stuck-enabling', 'Addon', 'AddonEnabling for 5m, reported after 15m']],
      );
    });

    it('reports it with --min-age 1m as a running Job, without image-pull claims', async () => {
      const finding = only((await run([CRDS, V14, f('installing')], { minAgeMs: 60_000 })).findings);
      assert.equal(finding.severity, 'warning');
      assert.equal(ev(finding, 'classification'), 'job-running');
      assert.equal(ev(finding, 'thresholdSeconds'), 60);
      assert.equal(
        finding.message,
        'Addon has been AddonEnabling for 5m while its install Job helm-install-rancher-logging is still running',
      );
      assert.deepEqual(
        finding.remediation!.steps.map((s) => [s.action.type, s.risk]),
        [['manual', 'safe']],
      );
      assert.match(finding.remediation!.steps[0]!.command, /kubectl -n cattle-logging-system logs job\/helm-install-rancher-logging/);
    });

    it('reports image pull errors as missing air-gapped images', async () => {
      const finding = only((await run([CRDS, V14, f('image-pull')])).findings);
      assert.equal(finding.severity, 'warning');
      assert.equal(finding.object.name, 'rancher-logging');
      assert.equal(ev(finding, 'classification'), 'job-running');
      assert.match(
        finding.message,
        /^Addon has been AddonEnabling for 2h5m while its install Job helm-install-rancher-logging is still running; pod helm-install-rancher-logging-9xk2p cannot pull rancher\/klipper-helm:v0\.9\.3-build20241008 \(ImagePullBackOff\): images missing from the air-gapped registry$/,
      );
      const pods = ev(finding, 'pods') as { imagePullErrors: { reason: string; image: string }[] }[];
      assert.deepEqual(
        pods[0]!.imagePullErrors.map((e) => [e.reason, e.image]),
        [['ImagePullBackOff', 'rancher/klipper-helm:v0.9.3-build20241008']],
      );
      assert.equal(ev(finding, 'job', 'active'), 1);
      assert.ok(finding.remediation!.steps.length >= 2);
      assert.ok(finding.remediation!.steps.every((s) => s.action.type === 'manual' && s.risk === 'safe'));
    });
  });

  describe('failed addon (OperationFailed=True)', () => {
    it('stays silent', async () => {
      const { result, findings } = await run([CRDS, V14, f('failed')]);
      assert.equal(result.status, 'pass');
      assert.deepEqual(findings, []);
    });

    it('stays silent even if InProgress were still True, and is reported once OperationFailed is False', async () => {
      const variant = (operationFailed: string) =>
        load(CRDS, V14, f('failed')).map((o) => {
          if (o.kind === 'Addon') {
            const conditions = (o.status as { conditions: { type: string; status: string }[] }).conditions;
            conditions[1]!.status = 'True';
            conditions[2]!.status = operationFailed;
          }
          return o;
        });
      assert.deepEqual((await runRule(rule, variant('True'), { now: NOW })).findings, []);
      const finding = only((await runRule(rule, variant('False'), { now: NOW })).findings);
      assert.equal(ev(finding, 'classification'), 'stale-job-timestamp');
    });
  });

  describe('job missing, HelmChart missing or not owned', () => {
    it('reports a missing Job with the unblock + disable + re-enable plan', async () => {
      const finding = only((await run([CRDS, V14, f('job-missing')])).findings);
      assert.equal(finding.severity, 'warning');
      assert.equal(ev(finding, 'classification'), 'job-missing');
      assert.deepEqual(ev(finding, 'job'), { name: 'helm-install-pcidevices-controller', found: false });
      assert.equal(
        finding.message,
        'Addon has been AddonEnabling for 3h but its install Job helm-install-pcidevices-controller no longer exists, so the controller waits for it forever',
      );
      assertReEnablePlan(finding, '60110');
    });

    it('reports an empty status.jobName: check helm-controller, then a checkpoint before the re-enable plan', async () => {
      const objects = load(CRDS, V14, f('job-missing')).map((o) => {
        if (o.kind === 'HelmChart') (o.status as { jobName: string }).jobName = '';
        return o;
      });
      const finding = only((await runRule(rule, objects, { now: NOW })).findings);
      assert.equal(ev(finding, 'classification'), 'job-name-empty');
      assert.equal(
        finding.message,
        'Addon has been AddonEnabling for 3h but HelmChart pcidevices-controller has no status.jobName, so the controller waits for a Job forever',
      );
      assertReEnablePlan(finding, '60110', [
        ['manual', 'safe'],
        ['checkpoint', 'safe'],
      ]);
      const [check, wait] = finding.remediation!.steps;
      assert.match(check!.title, /^Check that helm-controller runs/);
      assert.ok(wait!.action.type === 'checkpoint');
      assert.match(
        wait!.action.instructions,
        /go on only if it runs and HelmChart harvester-system\/pcidevices-controller still has no status\.jobName/,
      );
    });

    it('reports a missing HelmChart and points at the harvester controller', async () => {
      const finding = only((await run([CRDS, V14, f('helmchart-missing')])).findings);
      assert.equal(finding.severity, 'warning');
      assert.equal(ev(finding, 'classification'), 'helmchart-missing');
      assert.match(finding.message, /HelmChart harvester-system\/harvester-seeder does not exist/);
      assert.deepEqual(
        finding.remediation!.steps.map((s) => s.action.type),
        ['manual'],
      );
    });

    it('reports a HelmChart owned by another Addon uid and offers its deletion as destructive', async () => {
      const finding = only((await run([CRDS, V14, f('helmchart-not-owned')])).findings);
      assert.equal(finding.severity, 'warning');
      assert.equal(ev(finding, 'classification'), 'helmchart-not-owned');
      assert.equal(ev(finding, 'helmChart', 'ownedByAddon'), false);
      assert.match(finding.message, /HelmChart rancher-vcluster is owned by another Addon uid 0f0e0d0c-0b0a-4908-8706-050403020100/);
      const steps = finding.remediation!.steps;
      assert.deepEqual(
        steps.map((s) => [s.action.type, s.risk, s.reversible]),
        [
          ['manual', 'safe', true],
          ['delete', 'destructive', false],
        ],
      );
      const del = steps[1]!.action;
      assert.ok(del.type === 'delete');
      assert.equal(del.target.resource, 'helmcharts.helm.cattle.io');
      assert.deepEqual(del.preconditions, { uid: 'a2b3c4d5-e6f7-4081-9293-a4b5c6d7e8f9', resourceVersion: '40010' });
    });
  });

  describe('applicability', () => {
    it('is skipped when the Addon API is not served', async () => {
      const { result, findings } = await run([f('no-harvester')]);
      assert.equal(result.status, 'skipped');
      assert.equal(result.reason, 'api not served: addons.harvesterhci.io');
      assert.deepEqual(findings, []);
    });

    it('is skipped when the HelmChart API is not served', async () => {
      const objects = load(CRDS).filter((o) => o.metadata.name === 'addons.harvesterhci.io');
      const { result } = await runRule(rule, objects, { now: NOW });
      assert.equal(result.status, 'skipped');
      assert.equal(result.reason, 'api not served: helmcharts.helm.cattle.io');
    });

    it('declares its reads: pods, settings and upgrades optional', () => {
      assert.equal(rule.meta.reads.addons.resource, 'addons.harvesterhci.io');
      assert.equal(rule.meta.reads.pods.optional, true);
      assert.equal(rule.meta.reads.settings.optional, true);
      assert.equal(rule.meta.reads.upgrades.optional, true);
      assert.ok(rule.meta.explain.references.includes('https://github.com/harvester/harvester/issues/7376'));
    });
  });
});

/** R2's writes and checkpoint, exactly: status-subresource unblock, disable, CHECKPOINT, re-enable. */
const RE_ENABLE: [string, string][] = [
  ['json-patch', 'disruptive'],
  ['json-patch', 'disruptive'],
  ['checkpoint', 'safe'],
  ['json-patch', 'disruptive'],
];

/**
 * R2: status-subresource unblock, then disable, then a checkpoint (the controller must uninstall first: --fix stops
 * there), then re-enable; never a main-resource write while InProgress=True. `before` are the steps in front of it.
 */
function assertReEnablePlan(finding: Finding, resourceVersion: string, before: [string, string][] = []): void {
  const all = finding.remediation!.steps;
  assert.deepEqual(
    all.map((s) => [s.action.type, s.risk]),
    [...before, ...RE_ENABLE],
  );
  const steps = all.slice(before.length);
  const [unblock, disable, wait, enable] = steps.map((s) => s.action);
  assert.ok(
    unblock?.type === 'json-patch' && disable?.type === 'json-patch' && wait?.type === 'checkpoint' && enable?.type === 'json-patch',
  );
  assert.equal(unblock.subresource, 'status');
  // The resourceVersion precondition is pinned from the target when the step runs, not hand-written in the patch.
  assert.equal(unblock.target.resourceVersion, resourceVersion);
  assert.ok(!unblock.patch.some((op) => op.path === '/metadata/resourceVersion'));
  assert.deepEqual(unblock.patch.at(-1), { op: 'replace', path: '/status/conditions/1/status', value: 'False' });
  assert.equal(disable.subresource, undefined);
  assert.ok(disable.patch.some((op) => op.op === 'test' && op.path === '/status/conditions/1/status' && op.value === 'False'));
  assert.deepEqual(disable.patch.at(-1), { op: 'replace', path: '/spec/enabled', value: false });
  assert.match(steps[2]!.title, /^Checkpoint: wait until Addon .+ is AddonDisabled$/);
  assert.match(wait.instructions, /when status\.status is AddonDisabled .*run the next step by hand/);
  assert.ok(enable.patch.some((op) => op.op === 'test' && op.path === '/status/status' && op.value === 'AddonDisabled'));
  assert.deepEqual(enable.patch.at(-1), { op: 'replace', path: '/spec/enabled', value: true });
}
