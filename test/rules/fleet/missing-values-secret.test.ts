import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import rule from '../../../rules/fleet/missing-values-secret.ts';
import { FIXTURES, runRule } from '../../rule-tester.ts';
import { readSnapshotFile } from '../../../src/cluster/snapshot.ts';
import type { Finding } from '../../../src/engine/finding.ts';
import type { KubeObject } from '../../../src/kube/object.ts';
import { FixExecutor } from '../../../src/fix/execute.ts';

const DIR = 'fleet/missing-values-secret';
const v013 = [`${DIR}/crds.yaml`, `${DIR}/controller-v0.13.yaml`];
const BD_NS = 'cluster-fleet-default-c-abcde-0f1e2d3c4b5a';
const NOW = '2026-01-14T12:00:00Z';

function objects(file: string): KubeObject[] {
  return readSnapshotFile(`${FIXTURES}/${DIR}/${file}`);
}

function steps(f: Finding) {
  return f.remediation?.steps ?? [];
}

describe('fleet/missing-values-secret', () => {
  it('reports a BundleDeployment whose options Secret is gone, with the Bundle condition as evidence (v0.13)', async () => {
    const { result, findings } = await runRule(rule, [...v013, `${DIR}/broken-missing-secret.yaml`], { now: NOW });
    assert.equal(result.status, 'fail');
    assert.equal(findings.length, 1, JSON.stringify(findings.map((f) => f.message)));
    const f = findings[0]!;
    assert.equal(f.rule, 'fleet/missing-values-secret');
    assert.equal(f.severity, 'error');
    assert.deepEqual(f.object, {
      apiVersion: 'fleet.cattle.io/v1alpha1',
      kind: 'BundleDeployment',
      namespace: BD_NS,
      name: 'myrepo-apps-nginx',
      uid: '1a2b3c4d-0000-4000-8000-0000000000e2',
    });
    assert.equal(
      f.message,
      `BundleDeployment ${BD_NS}/myrepo-apps-nginx has valuesHash set but its options Secret ${BD_NS}/myrepo-apps-nginx is missing (age 4h)`,
    );
    const e = f.evidence as Record<string, any>;
    assert.equal(e.valuesHash, '5f2c8e1a');
    assert.equal(e.waitingForValues, false);
    assert.deepEqual(e.optionsSecret, {
      namespace: BD_NS,
      name: 'myrepo-apps-nginx',
      expectedType: 'fleet.cattle.io/bundle-deployment/v1alpha1',
      found: false,
    });
    assert.equal(e.bundle, 'fleet-default/myrepo-apps-nginx');
    assert.match(
      e.bundleReady.message,
      /^targeting error: failed to get options secret for bundledeployment cluster-fleet-default-c-abcde-0f1e2d3c4b5a\/myrepo-apps-nginx/,
    );
    assert.equal(e.gitRepo, 'fleet-default/myrepo');
    assert.equal(e.fleet.version, '0.13.4');
    assert.equal(e.fleet.image, 'rancher/fleet:v0.13.4');
    assert.deepEqual(e.age, { seconds: 14400, human: '4h' });
    assert.deepEqual(e.gracePeriod, { seconds: 300, human: '5m', bundleRollingOut: false });

    const s = steps(f);
    // A ladder: each rung ends at a checkpoint, so --fix (any --allow) takes only the first rung.
    assert.deepEqual(
      s.map((x) => [x.action.type, x.risk, x.reversible]),
      [
        ['merge-patch', 'safe', true],
        ['json-patch', 'safe', true],
        ['manual', 'disruptive', false],
        ['checkpoint', 'safe', true],
        ['json-patch', 'disruptive', false],
        ['merge-patch', 'safe', true],
        ['checkpoint', 'safe', true],
        ['delete', 'destructive', false],
      ],
    );
    assert.deepEqual(s[0]!.action.type === 'merge-patch' && s[0]!.action.patch, {
      metadata: { annotations: { 'doctor.kubectl/poke': '2026-01-14T12:00:00.000Z' } },
    });
    assert.equal(s[0]!.action.type === 'merge-patch' && s[0]!.action.target.resource, 'bundles.fleet.cattle.io');
    assert.deepEqual(s[1]!.action.type === 'json-patch' && s[1]!.action.patch, [
      { op: 'test', path: '/spec/forceSyncGeneration', value: 2 },
      { op: 'replace', path: '/spec/forceSyncGeneration', value: 3 },
    ]);
    assert.equal(s[1]!.action.type === 'json-patch' && s[1]!.action.target.name, 'myrepo');
    assert.match(s[2]!.title, /^Upgrade Fleet 0\.13\.4 to v0\.14\.4 or later/);
    assert.equal(
      s[3]!.action.type === 'checkpoint' && s[3]!.action.instructions,
      'Wait for the fleet-controller to reconcile the Bundle (normally seconds; allow 5m), then run kubectl doctor again. ' +
        "Go on only if Secret cluster-fleet-default-c-abcde-0f1e2d3c4b5a/myrepo-apps-nginx is still missing: the next rung resets the BundleDeployment's values hash (disruptive).",
    );
    // before v0.14.4 the hash reset pauses the BundleDeployment first
    assert.deepEqual(s[4]!.action.type === 'json-patch' && s[4]!.action.patch, [
      { op: 'test', path: '/spec/valuesHash', value: '5f2c8e1a' },
      { op: 'replace', path: '/spec/valuesHash', value: '' },
      { op: 'add', path: '/spec/paused', value: true },
    ]);
    assert.match(s[4]!.title, /Fleet 0\.13\.4: paused first/);
    assert.deepEqual(s[5]!.action.type === 'merge-patch' && s[5]!.action.patch, {
      metadata: { annotations: { 'doctor.kubectl/poke': '2026-01-14T12:00:00.000Z-after-reset' } },
    });
    assert.match(
      s[6]!.action.type === 'checkpoint' ? s[6]!.action.instructions : '',
      /^Wait until the fleet-controller has rewritten BundleDeployment .*Helm-uninstalls the release downstream/,
    );
    assert.deepEqual(s[7]!.action.type === 'delete' && s[7]!.action.preconditions, {
      uid: '1a2b3c4d-0000-4000-8000-0000000000e2',
      resourceVersion: '5120',
    });
    assert.match(s[7]!.title, /Helm-uninstalls release nginx on cluster c-abcde/);
    assert.match(
      s[7]!.command,
      /^kubectl delete bundledeployments\.fleet\.cattle\.io myrepo-apps-nginx -n cluster-fleet-default-c-abcde-0f1e2d3c4b5a$/,
    );
  });

  it('the ladder under --fix: every --allow stops at the first checkpoint, after the safe first rung', async () => {
    const { findings } = await runRule(rule, [...v013, `${DIR}/broken-missing-secret.yaml`], { now: NOW });
    for (const allow of ['safe', 'disruptive', 'destructive'] as const) {
      // The real executor, in a client dry run (it sends nothing, so it needs no object client).
      const executor = new FixExecutor(undefined as never, {
        allow,
        dryRun: 'client',
        backups: undefined,
        actor: { user: '', context: '', server: '' },
        now: () => new Date(NOW),
        gates: { manualDone: async () => false, destructive: async () => 'declined' },
      });
      const fix = await executor.run(findings[0]!);
      assert.deepEqual(
        fix.steps.map((x) => x.status),
        ['dry-run', 'dry-run', 'manual', 'not-run', 'not-run', 'not-run', 'not-run', 'not-run'],
        `--allow=${allow}`,
      );
      assert.match(fix.stopped ?? '', /^checkpoint: Wait for the fleet-controller to reconcile the Bundle/);
    }
  });

  it('uses waitingForValues for the hash reset on v0.14.4+ and suggests no upgrade', async () => {
    const bd = objects('broken-missing-secret.yaml').map((o) =>
      o.kind === 'BundleDeployment' ? { ...o, spec: { ...(o.spec as object), waitingForValues: true } } : o,
    );
    const { findings } = await runRule(rule, [...objects('crds.yaml'), ...objects('controller-v0.15.yaml'), ...bd], { now: NOW });
    assert.equal(findings.length, 1);
    const f = findings[0]!;
    assert.match(f.message, /is missing \(age 4h\), waiting for values$/);
    assert.equal(f.evidence.waitingForValues, true);
    const reset = steps(f).find((x) => x.risk === 'disruptive')!;
    assert.deepEqual(reset.action.type === 'json-patch' && reset.action.patch.at(-1), {
      op: 'add',
      path: '/spec/waitingForValues',
      value: true,
    });
    assert.equal(
      steps(f).some((x) => x.title.startsWith('Upgrade')),
      false,
    );
  });

  it('stays silent while the BundleDeployment is younger than the grace period, unless --min-age says otherwise', async () => {
    const now = '2026-01-14T08:03:00Z'; // 3 minutes after the BundleDeployment was created
    const young = await runRule(rule, [...v013, `${DIR}/broken-missing-secret.yaml`], { now });
    assert.deepEqual(young.findings, []);
    assert.equal(young.result.status, 'pass');
    const forced = await runRule(rule, [...v013, `${DIR}/broken-missing-secret.yaml`], { now, minAgeMs: 60_000 });
    assert.equal(forced.findings.length, 1);
    assert.deepEqual(forced.findings[0]!.evidence.gracePeriod, { seconds: 60, human: '1m', bundleRollingOut: false });
  });

  it('waits 15 minutes while the Bundle is rolling out', async () => {
    const rolling = objects('broken-missing-secret.yaml').map((o) =>
      o.kind === 'Bundle' ? { ...o, status: { ...(o.status as object), observedGeneration: 2 } } : o,
    );
    const input = [...objects('crds.yaml'), ...objects('controller-v0.13.yaml'), ...rolling];
    assert.deepEqual((await runRule(rule, input, { now: '2026-01-14T08:10:00Z' })).findings, []);
    const late = await runRule(rule, input, { now: '2026-01-14T08:20:00Z' });
    assert.equal(late.findings.length, 1);
    assert.deepEqual(late.findings[0]!.evidence.gracePeriod, { seconds: 900, human: '15m', bundleRollingOut: true });
  });

  it('a Bundle behind its generation or with newly created BundleDeployments is rolling out: 15 minutes for both', async () => {
    const input = [...v013, `${DIR}/rolling-out.yaml`];
    assert.deepEqual((await runRule(rule, input, { now: '2026-11-22T12:00:00Z' })).findings, []);
    const late = await runRule(rule, input, { now: '2026-11-22T12:06:00Z' });
    assert.deepEqual(
      late.findings.map((f) => [f.object.name, f.evidence.gracePeriod]),
      [
        ['rolling-generation', { seconds: 900, human: '15m', bundleRollingOut: true }],
        ['rolling-new', { seconds: 900, human: '15m', bundleRollingOut: true }],
      ],
    );
  });

  it('reports a Secret owned by another BundleDeployment uid as a warning, without the hash reset', async () => {
    const { findings } = await runRule(rule, [...v013, `${DIR}/broken-stale-owner.yaml`], { now: NOW });
    assert.equal(findings.length, 1);
    const f = findings[0]!;
    assert.equal(f.severity, 'warning');
    assert.equal(
      f.message,
      'The options Secret of BundleDeployment cluster-fleet-default-c-fghij-5a6b7c8d9e0f/api is owned by another BundleDeployment uid 0ld0ld00-0000-4000-8000-000000000000; garbage collection may delete it',
    );
    const secret = f.evidence.optionsSecret as Record<string, unknown>;
    assert.equal(secret.found, true);
    assert.equal(secret.ownerIsThisBundleDeployment, false);
    assert.deepEqual(secret.owner, { kind: 'BundleDeployment', name: 'api', uid: '0ld0ld00-0000-4000-8000-000000000000' });
    assert.deepEqual(
      steps(f).map((x) => x.action.type),
      ['merge-patch', 'manual'],
    );
  });

  it('reports a Bundle whose values Secret is missing, with fleet apply for a non-GitRepo bundle', async () => {
    const { findings } = await runRule(rule, [...v013, `${DIR}/broken-bundle-values.yaml`], { now: NOW });
    assert.equal(findings.length, 1);
    const f = findings[0]!;
    assert.equal(f.severity, 'error');
    assert.equal(f.object.kind, 'Bundle');
    assert.equal(f.message, 'Bundle fleet-default/monitoring: its values Secret fleet-default/monitoring is missing');
    assert.deepEqual(f.evidence.valuesSecret, {
      namespace: 'fleet-default',
      name: 'monitoring',
      expectedType: 'fleet.cattle.io/bundle-values/v1alpha1',
      found: false,
    });
    assert.deepEqual(
      steps(f).map((x) => [x.action.type, x.risk]),
      [
        ['merge-patch', 'safe'],
        ['manual', 'safe'],
        ['manual', 'disruptive'],
      ],
    );
    assert.match(steps(f)[1]!.command, /^fleet apply -n fleet-default monitoring/);
  });

  it('reports the Bundle condition alone when its BundleDeployment is not there (both capitalisations)', async () => {
    const bundle = objects('broken-missing-secret.yaml')
      .filter((o) => o.kind !== 'BundleDeployment')
      .map((o) => {
        if (o.kind !== 'Bundle') return o;
        const copy = structuredClone(o) as KubeObject & { status: { conditions: { message: string }[] } };
        copy.status.conditions[0]!.message = copy.status.conditions[0]!.message.replace('targeting error', 'Targeting error');
        return copy;
      });
    const { findings } = await runRule(rule, [...objects('crds.yaml'), ...bundle], { now: NOW });
    assert.equal(findings.length, 1);
    const f = findings[0]!;
    assert.equal(f.object.kind, 'Bundle');
    assert.equal(f.severity, 'error');
    assert.equal(
      f.message,
      `Bundle fleet-default/myrepo-apps-nginx: its Ready condition reports a missing options Secret for BundleDeployment ${BD_NS}/myrepo-apps-nginx`,
    );
    assert.match((f.evidence.bundleReady as { message: string }).message, /^Targeting error: /);
    assert.equal(f.evidence.fleet, 'not found (no Deployment labelled app=fleet-controller with a versioned rancher/fleet image)');
  });

  for (const healthy of ['healthy-with-secret.yaml', 'healthy-empty-hash.yaml']) {
    it(`stays silent on ${healthy}`, async () => {
      const { result, findings } = await runRule(rule, [...v013, `${DIR}/${healthy}`], { now: NOW });
      assert.equal(result.status, 'pass');
      assert.deepEqual(findings, []);
    });
  }

  it('stays silent on a BundleDeployment being deleted', async () => {
    const deleting = objects('broken-missing-secret.yaml')
      .filter((o) => o.kind !== 'Bundle')
      .map((o) => (o.kind === 'BundleDeployment' ? { ...o, metadata: { ...o.metadata, deletionTimestamp: '2026-01-14T11:00:00Z' } } : o));
    const { findings } = await runRule(rule, [...objects('crds.yaml'), ...deleting], { now: NOW });
    assert.deepEqual(findings, []);
  });

  it('is skipped when Fleet is not installed', async () => {
    const { result } = await runRule(rule, [`${DIR}/controller-v0.13.yaml`]);
    assert.equal(result.status, 'skipped');
    assert.equal(result.reason, 'api not served: bundledeployments.fleet.cattle.io');
  });
});
