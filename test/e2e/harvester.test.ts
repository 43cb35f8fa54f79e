// End to end: the two Harvester rules and the `--fix` acceptance of the stuck addon against a real kube-apiserver
// (test/harness), through the built CLI. No Harvester, helm-controller or Job controller runs here: every object,
// and every status a controller would write, is written by this file, through the same endpoints those controllers
// use (Job and Addon status through their status subresources; the Upgrade, which has none, through the main
// resource). The CRDs in test/harness/crds/ keep upstream's difference: addons.harvesterhci.io HAS a status
// subresource, upgrades.harvesterhci.io has NONE, which is the root of harvester/upgrade-status-wiped.
//
// The API server sets creationTimestamp itself (it cannot be backdated). To get "the install Job was created before
// InProgress" the Addon's InProgress time is set LATER than the Job's real creationTimestamp, and the scans pass
// `--now` (a clock in the future) so the rules' age thresholds are met.
//
// Run: ./node_modules/.bin/tsc -p tsconfig.build.json && ./node_modules/.bin/node --test \
//        --test-global-setup=test/harness/global-setup.ts test/e2e/harvester.test.ts
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { adminKubeConfig, rawRequest, uniqueName } from '../harness/env.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { create, createNamespace, doctor, ensure, parseReport, raw, readAudit, type JsonReport } from './kube.ts';
import { tempDir } from '../temp.ts';
import { addonPath, addonSpec, buildAddon, cond, enabling, plus, seconds, SERVER_VERSION_SETTING } from './harvester-objects.ts';

const kc = adminKubeConfig();
const SYSTEM = 'harvester-system';
const GROUP = '/apis/harvesterhci.io/v1beta1';
const MERGE = 'application/merge-patch+json';
const JSON_PATCH = 'application/json-patch+json';

type Json = Record<string, unknown>;
type Finding = JsonReport['findings'][number];

/** A request whose status the test asserts (kube.ts `raw` throws on >= 300). */
async function req(method: string, path: string, body?: unknown, contentType?: string) {
  const res = await rawRequest(kc, method, path, {
    ...(body !== undefined ? { body } : {}),
    ...(contentType ? { headers: { 'Content-Type': contentType } } : {}),
  });
  return { status: res.status, body: res.json as KubeObject & Json & { reason?: string; message?: string } };
}

async function get(path: string): Promise<KubeObject & Json> {
  const res = await req('GET', path);
  assert.equal(res.status, 200, `GET ${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

const upgradePath = (name: string) => `${GROUP}/namespaces/${SYSTEM}/upgrades/${name}`;

async function scan(args: string[]): Promise<{ code: number | null; report: JsonReport; stderr: string }> {
  const result = await doctor([...args, '-o', 'json']);
  return { code: result.code, report: parseReport(result), stderr: result.stderr };
}

const mine = (report: JsonReport, ns: string, rule?: string): Finding[] =>
  report.findings.filter((f) => f.object.namespace === ns && (!rule || f.rule === rule));

const ev = (f: Finding, ...path: string[]): unknown => path.reduce<unknown>((cur, key) => (cur as Json | undefined)?.[key], f.evidence);

let VERSION = '';

const managedFields = (obj: KubeObject) =>
  (obj.metadata as { managedFields?: { manager: string; operation: string; subresource?: string }[] }).managedFields ?? [];

before(async () => {
  await ensure({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: SYSTEM } });
  await ensure(SERVER_VERSION_SETTING);
  VERSION = String((await get(`${GROUP}/settings/server-version`)).value);
  assert.match(VERSION, /^v\d+\.\d+/);
});

describe('harvester/addon-stuck-enabling against a real API server', () => {
  const ns = uniqueName('hv-addon');
  let stuck: { addon: KubeObject; jobCreated: string };
  let inProgress: string;
  let now: string;

  before(async () => {
    await createNamespace(ns);
    // The #7376 state: the install Job completed, but it was created 60 s BEFORE InProgress (a HelmChart that
    // already existed, or a harvester node clock ahead of the apiserver), so the controller never counts it.
    stuck = await buildAddon(ns, 'vm-dhcp', { job: 'succeeded', status: (jobCreated) => enabling(seconds(plus(jobCreated, 60))) });
    inProgress = seconds(plus(stuck.jobCreated, 60));
    now = seconds(plus(inProgress, 3600));
    // Healthy twins: an install running for 5 minutes (at --now), and a failed install (OperationFailed=True).
    await buildAddon(ns, 'installing', { job: 'running', status: () => enabling(seconds(plus(now, -300))) });
    await buildAddon(ns, 'failed', {
      job: 'failed',
      status: () => ({
        status: 'AddonEnabling',
        conditions: [
          cond('Completed', 'False', inProgress),
          cond('InProgress', 'False', inProgress),
          cond('OperationFailed', 'True', inProgress, { reason: 'Error', message: 'addon deployment job helm-install-failed failed' }),
        ],
      }),
    });
  });

  it('reports the stuck Addon with its evidence and the Harvester version; the twins stay silent', async () => {
    const { code, report, stderr } = await scan(['-n', ns, '--rules', 'harvester/*', '--now', now]);
    assert.equal(code, 1, stderr);
    const findings = mine(report, ns);
    assert.deepEqual(
      findings.map((f) => [f.rule, f.object.kind, f.object.name]),
      [['harvester/addon-stuck-enabling', 'Addon', 'vm-dhcp']],
    );
    const f = findings[0]!;
    assert.equal(f.severity, 'error');
    assert.equal(f.object.uid, stuck.addon.metadata.uid);
    assert.match(
      f.message,
      /^Addon has been AddonEnabling for 1h: install Job helm-install-vm-dhcp succeeded but was created 60s before InProgress, so the controller never advances; /,
    );
    assert.equal(ev(f, 'classification'), 'stale-job-timestamp');
    assert.deepEqual(ev(f, 'inProgress'), {
      field: 'status.conditions[type=InProgress].lastUpdateTime',
      value: inProgress,
      age: { seconds: 3600, human: '1h' },
    });
    assert.deepEqual(ev(f, 'job'), {
      name: 'helm-install-vm-dhcp',
      creationTimestamp: stuck.jobCreated,
      completionTime: stuck.jobCreated,
      complete: true,
      active: 0,
      succeeded: 1,
      failed: 0,
      createdBeforeInProgressSeconds: 60,
    });
    assert.equal(ev(f, 'helmChart', 'ownedByAddon'), true);
    assert.equal(ev(f, 'helmChart', 'specMatchesAddon'), true);
    assert.equal(ev(f, 'helmChart', 'jobName'), 'helm-install-vm-dhcp');
    assert.deepEqual(ev(f, 'blocksUpgrades', 'harvesterVersion'), { value: VERSION, source: 'settings.harvesterhci.io/server-version' });
    assert.deepEqual(ev(f, 'pods'), []);
    assert.equal(ev(f, 'upgradeInSystemServicesPhase'), null);
    // The plan: one safe write through the status subresource, then a manual check.
    const steps = f.remediation!.steps;
    assert.deepEqual(
      steps.map((s) => [s.action.type, s.risk]),
      [
        ['json-patch', 'safe'],
        ['manual', 'safe'],
      ],
    );
    assert.equal((steps[0]!.action as { subresource?: string }).subresource, 'status');

    // Not silent by construction: without the age threshold the running install is seen (job-running), while the
    // failed one stays silent because OperationFailed=True (not this bug, and the webhook does not block it).
    const all = await scan(['-n', ns, '--rules', 'harvester/addon-stuck-enabling', '--now', now, '--min-age', '0s']);
    assert.deepEqual(
      mine(all.report, ns)
        .map((x) => [x.object.name, ev(x, 'classification')])
        .sort(),
      [
        ['installing', 'job-running'],
        ['vm-dhcp', 'stale-job-timestamp'],
      ],
    );
  });

  it('the API facts the plan relies on: /status takes a JSON patch with test ops; the main resource ignores .status', async () => {
    const name = 'facts';
    const { addon } = await buildAddon(ns, name, { job: false, status: () => enabling(inProgress) });
    const rv = addon.metadata.resourceVersion!;

    // Observed: creating an Addon with a .status drops it (status subresource): the object starts without status.
    const dropped = await create({
      apiVersion: 'harvesterhci.io/v1beta1',
      kind: 'Addon',
      metadata: { name: 'created-with-status', namespace: ns },
      spec: addonSpec('x'),
      status: enabling(inProgress),
    } as never);
    assert.equal((dropped as Json).status, undefined);

    // Observed: a main-resource merge patch that sets .status answers 200 but leaves status as it was (and the
    // resourceVersion too: nothing changed).
    const main = await req('PATCH', addonPath(ns, name), { status: { status: 'AddonDeploySuccessful' } }, MERGE);
    assert.equal(main.status, 200);
    assert.equal((main.body.status as Json).status, 'AddonEnabling');
    assert.equal(main.body.metadata.resourceVersion, rv);

    // Observed: a JSON patch whose test op fails is refused with 422 reason Invalid, the generic message "the server
    // rejected our request due to an error in our request" and empty details (it does not say which test failed:
    // the fix executor's own re-check before writing is what names the stale value), and changes nothing.
    const staleRv = await req(
      'PATCH',
      `${addonPath(ns, name)}/status`,
      [
        { op: 'test', path: '/metadata/resourceVersion', value: `${rv}0` },
        { op: 'replace', path: '/status/status', value: 'AddonDeploySuccessful' },
      ],
      JSON_PATCH,
    );
    assert.equal(staleRv.status, 422, JSON.stringify(staleRv.body));
    assert.equal(staleRv.body.reason, 'Invalid');
    assert.equal(staleRv.body.message, 'the server rejected our request due to an error in our request');
    assert.deepEqual(staleRv.body.details, {});
    const staleStatus = await req(
      'PATCH',
      `${addonPath(ns, name)}/status`,
      [
        { op: 'test', path: '/status/conditions/1/status', value: 'False' },
        { op: 'replace', path: '/status/status', value: 'AddonDeploySuccessful' },
      ],
      JSON_PATCH,
    );
    assert.equal(staleStatus.status, 422);
    assert.equal((await get(addonPath(ns, name))).metadata.resourceVersion, rv);

    // Observed: the same patch with matching tests is applied through /status (200), status changes, spec does not,
    // and metadata.generation stays 1 (a status write is not a spec change).
    const ok = await req(
      'PATCH',
      `${addonPath(ns, name)}/status`,
      [
        { op: 'test', path: '/metadata/resourceVersion', value: rv },
        { op: 'test', path: '/status/status', value: 'AddonEnabling' },
        { op: 'test', path: '/status/conditions/1/type', value: 'InProgress' },
        { op: 'test', path: '/status/conditions/1/status', value: 'True' },
        { op: 'replace', path: '/status/conditions/1/status', value: 'False' },
      ],
      JSON_PATCH,
    );
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.notEqual(ok.body.metadata.resourceVersion, rv);
    assert.equal(((ok.body.status as Json).conditions as Json[])[1]!.status, 'False');
    assert.deepEqual(ok.body.spec, addonSpec(name));
    assert.equal(ok.body.metadata.generation, 1);

    // Observed: on the MAIN resource a JSON patch's test ops see the stored status (the disable step of the re-enable
    // plan tests InProgress=False there), while a spec change through /status is dropped.
    const testOnMain = await req(
      'PATCH',
      addonPath(ns, name),
      [
        { op: 'test', path: '/status/conditions/1/status', value: 'True' },
        { op: 'replace', path: '/spec/enabled', value: false },
      ],
      JSON_PATCH,
    );
    assert.equal(testOnMain.status, 422);
    const specViaStatus = await req('PATCH', `${addonPath(ns, name)}/status`, { spec: { enabled: false } }, MERGE);
    assert.equal(specViaStatus.status, 200);
    assert.equal((specViaStatus.body.spec as Json).enabled, true);
  });

  it('--fix --yes marks the stuck Addon deployed through /status only; a rescan is clean; restore puts it back', async () => {
    const fixNs = uniqueName('hv-fix');
    await createNamespace(fixNs);
    const built = await buildAddon(fixNs, 'rancher-logging', {
      job: 'succeeded',
      status: (jobCreated) => enabling(seconds(plus(jobCreated, 60))),
    });
    const fixNow = seconds(plus(built.jobCreated, 60 + 3600));
    const before = await get(addonPath(fixNs, 'rancher-logging'));
    const backupDir = join(tempDir('harvester'), 'run');
    const common = ['-n', fixNs, '--rules', 'harvester/*', '--now', fixNow];

    // A server dry run first: validated step by step, nothing stored, and it exits as the real run does.
    const dry = await scan([...common, '--fix', '--yes', '--dry-run=server']);
    assert.equal((await get(addonPath(fixNs, 'rancher-logging'))).metadata.resourceVersion, before.metadata.resourceVersion);
    const fix = await scan([...common, '--fix', '--yes', '--backup-dir', backupDir]);
    assert.equal(fix.code, 0, `${fix.stderr}\n${JSON.stringify(fix.report.fix)}`);
    assert.equal(dry.code, fix.code, `${dry.stderr}\n${JSON.stringify(dry.report.fix)}`);
    assert.deepEqual(
      fix.report.fix!.results.map((r) => [r.rule, r.outcome, r.steps.map((s) => s.status)]),
      [['harvester/addon-stuck-enabling', 'fixed', ['applied', 'manual']]],
    );
    assert.equal(fix.report.fix!.backupDir, backupDir);

    // The Addon as the controller would have left it: AddonDeploySuccessful with consistent conditions.
    const after = await get(addonPath(fixNs, 'rancher-logging'));
    assert.deepEqual(after.status, {
      status: 'AddonDeploySuccessful',
      conditions: [cond('Completed', 'True', fixNow), cond('InProgress', 'False', fixNow), cond('OperationFailed', 'False', fixNow)],
    });
    assert.deepEqual(after.spec, before.spec);
    assert.equal(after.metadata.generation, before.metadata.generation);

    // Never the main resource: the API server records kubectl-doctor as a manager of the status subresource only,
    // and every audit entry names the status subresource.
    const doctorFields = managedFields(after).filter((m) => m.manager === 'kubectl-doctor');
    assert.deepEqual(
      doctorFields.map((m) => [m.operation, m.subresource]),
      [['Update', 'status']],
    );
    const entries = readAudit(backupDir);
    assert.equal(entries[0]!.result, 'intent', 'write-ahead: the intent comes first');
    const audit = entries.filter((e) => e.result !== 'intent');
    assert.deepEqual(
      audit.map((e) => [e.action, e.subresource, e.result, e.object.name]),
      [['json-patch', 'status', 'applied', 'rancher-logging']],
    );
    assert.equal(audit[0]!.resourceVersionBefore, before.metadata.resourceVersion);
    assert.equal(audit[0]!.resourceVersionAfter, after.metadata.resourceVersion);

    // The backup: the Addon as it was, readable by the owner only.
    const backup = join(backupDir, String(audit[0]!.backup));
    assert.ok(existsSync(backup), backup);
    assert.equal(statSync(backup).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(backupDir).sort(), ['001-addon-' + fixNs + '-rancher-logging.json', 'audit.jsonl']);
    const saved = JSON.parse(readFileSync(backup, 'utf8')) as Json;
    assert.deepEqual(saved.status, before.status);

    // A rescan is clean.
    const rescan = await scan(common);
    assert.equal(rescan.code, 0, rescan.stderr);
    assert.deepEqual(mine(rescan.report, fixNs), []);

    // restore: the status goes back through the status subresource, and the finding with it.
    const restore = await doctor(['restore', backupDir, '--yes']);
    assert.equal(restore.code, 0, `${restore.stdout}\n${restore.stderr}`);
    assert.match(restore.stdout, new RegExp(`restored Addon ${fixNs}/rancher-logging`));
    const restored = await get(addonPath(fixNs, 'rancher-logging'));
    assert.deepEqual(restored.status, before.status);
    assert.deepEqual(
      managedFields(restored)
        .filter((m) => m.manager === 'kubectl-doctor')
        .map((m) => m.subresource),
      ['status'],
    );
    const again = await scan(common);
    assert.equal(again.code, 1);
    assert.deepEqual(
      mine(again.report, fixNs).map((x) => [x.object.name, ev(x, 'classification')]),
      [['rancher-logging', 'stale-job-timestamp']],
    );
  });

  let reEnable: { code: number | null; report: JsonReport } | undefined;

  it('the re-enable plan on the real server: --allow=disruptive unblocks and disables, then stops at the checkpoint', async () => {
    const rNs = uniqueName('hv-reenable');
    await createNamespace(rNs);
    // job-missing: HelmChart.status.jobName names a Job that does not exist.
    const { addon } = await buildAddon(rNs, 'pcidevices', { job: false, status: () => enabling(inProgress) });
    const backupDir = join(tempDir('harvester'), 'run');
    // The issue this guards: step 2 tests InProgress=False, which step 1 sets. A server dry run carries step 1's
    // would-be object forward, so it passes exactly where the real run does.
    const args = ['-n', rNs, '--rules', 'harvester/addon-stuck-enabling', '--now', now, '--fix', '--yes', '--allow', 'disruptive'];
    const dry = await scan([...args, '--dry-run=server', '-vv']);
    assert.deepEqual(
      dry.report.fix!.results[0]!.steps.map((s) => s.status),
      ['dry-run', 'dry-run', 'not-run', 'not-run'],
      dry.stderr,
    );
    assert.match(dry.stderr, /PATCH \/apis\/harvesterhci\.io\/v1beta1\/namespaces\/[^/]+\/addons\/pcidevices\/status\?dryRun=All/);
    assert.match(dry.stderr, /PUT \/apis\/harvesterhci\.io\/v1beta1\/namespaces\/[^/]+\/addons\/pcidevices\?dryRun=All/);
    assert.equal((await get(addonPath(rNs, 'pcidevices'))).metadata.resourceVersion, addon.metadata.resourceVersion, 'nothing stored');
    const fix = await scan([...args, '--backup-dir', backupDir]);
    assert.equal(dry.code, fix.code, 'the dry run exits as the real run');
    reEnable = fix;
    const results = fix.report.fix!.results;
    assert.equal(results.length, 1, JSON.stringify(results));
    assert.deepEqual(
      results[0]!.steps.map((s) => s.status),
      ['applied', 'applied', 'not-run', 'not-run'],
    );
    assert.match(results[0]!.stopped ?? '', /^checkpoint: the controller sets AddonDisabling/);

    const after = await get(addonPath(rNs, 'pcidevices'));
    assert.equal((after.spec as Json).enabled, false);
    assert.equal((after.status as Json).status, 'AddonEnabling');
    assert.deepEqual(
      ((after.status as Json).conditions as Json[]).map((c) => [c.type, c.status]),
      [
        ['Completed', 'False'],
        ['InProgress', 'False'],
        ['OperationFailed', 'False'],
      ],
    );
    const entries = readAudit(backupDir);
    assert.equal(entries[0]!.result, 'intent', 'write-ahead: the intent comes first');
    const audit = entries.filter((e) => e.result !== 'intent');
    // The unblock goes through /status, the disable through the main resource (allowed once InProgress is False).
    assert.deepEqual(
      audit.map((e) => [e.subresource ?? 'main', e.result]),
      [
        ['status', 'applied'],
        ['main', 'applied'],
      ],
    );
    assert.equal(audit[0]!.resourceVersionBefore, addon.metadata.resourceVersion);
    assert.equal(audit[1]!.resourceVersionBefore, audit[0]!.resourceVersionAfter);
  });

  // Observed: outcome "fixed" and exit 0. src/cli/fix.ts says "pending" only when the rescan still finds the finding,
  // and a DISABLED Addon is not reported, although the plan stopped at its checkpoint with the re-enable still owed.
  // For the ladders of other rules (core/namespace-stuck-terminating) "gone after the first rung" rightly means fixed:
  // the steps after their checkpoint are an escalation. Here they are a continuation after a wait, which a plan cannot
  // say yet (see the report of tracker issue 7).
  it('the re-enable still owed after the checkpoint is reported pending, not fixed', () => {
    assert.ok(reEnable, 'the previous test ran');
    const result = reEnable.report.fix!.results[0]!;
    assert.match(result.stopped ?? '', /^checkpoint: /);
    assert.equal(result.outcome, 'pending');
    assert.equal(reEnable.code, 1);
  });
});

describe('harvester/upgrade-status-wiped against a real API server', () => {
  const wiped = uniqueName('hvst-upgrade');
  const completed = uniqueName('hvst-upgrade');
  const fresh = uniqueName('hvst-upgrade');
  const node = uniqueName('harvester-node');

  /** A completed upgrade as the controller leaves it (status written with the object: there is no /status). */
  function completedUpgrade(name: string): Json {
    const t = seconds(new Date());
    const conditions = ['Completed', 'LogReady', 'ImageReady', 'RepoReady', 'NodesPrepared', 'SystemServicesUpgraded', 'NodesUpgraded'].map(
      (type) => ({ type, status: 'True', lastUpdateTime: t }),
    );
    return {
      apiVersion: 'harvesterhci.io/v1beta1',
      kind: 'Upgrade',
      metadata: {
        name,
        namespace: SYSTEM,
        labels: { 'harvesterhci.io/latestUpgrade': 'true', 'harvesterhci.io/upgradeState': 'Succeeded' },
        annotations: { 'harvesterhci.io/image-cleanup-plan-completed': 'true' },
      },
      spec: { image: '', logEnabled: true, version: VERSION },
      status: {
        conditions,
        previousVersion: 'v1.4.1',
        imageID: `${SYSTEM}/${name}`,
        nodeStatuses: { [node]: { state: 'Succeeded' } },
        upgradeLog: '',
      },
    };
  }

  before(async () => {
    // One node, upgraded: osImage "Harvester <version>" (the completion evidence reads every Node).
    await create({ apiVersion: 'v1', kind: 'Node', metadata: { name: node } } as never);
    await raw('PATCH', `/api/v1/nodes/${node}/status`, { status: { nodeInfo: { osImage: `Harvester ${VERSION}` } } }, MERGE);
  });

  it('the API facts: without a status subresource, .status is kept on create, erased by a PUT without it, and /status is 404', async () => {
    const created = await create(completedUpgrade(wiped) as never);
    // Observed: created WITH its status (no status subresource: create keeps .status).
    assert.equal(((created as Json).status as { conditions: Json[] }).conditions.length, 7);

    // Observed: PATCH /status answers 404 (the subresource does not exist), nothing changes.
    const sub = await req('PATCH', `${upgradePath(wiped)}/status`, { status: {} }, MERGE);
    assert.equal(sub.status, 404, JSON.stringify(sub.body));
    assert.equal(sub.body.reason, 'NotFound');

    // The Harvester UI extension 1.0.2-1.0.4 "Dismiss": it PUTs the object it holds with the read-message label and
    // without .status. Observed: 200, and the stored object has no status any more; labels and annotations survive.
    const current = await get(upgradePath(wiped));
    const { status: _dropped, ...withoutStatus } = current;
    const dismissed = {
      ...withoutStatus,
      metadata: { ...current.metadata, labels: { ...current.metadata.labels, 'harvesterhci.io/read-message': 'true' } },
    };
    const put = await req('PUT', upgradePath(wiped), dismissed);
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.status, undefined);
    const after = await get(upgradePath(wiped));
    assert.equal(after.status, undefined);
    assert.notEqual(after.metadata.resourceVersion, current.metadata.resourceVersion);
    assert.equal(after.metadata.labels?.['harvesterhci.io/upgradeState'], 'Succeeded');
    assert.equal(after.metadata.annotations?.['harvesterhci.io/image-cleanup-plan-completed'], 'true');

    // The documented, safe dismiss is a label-only patch. Observed: status survives it.
    await create(completedUpgrade(completed) as never);
    const label = await req('PATCH', upgradePath(completed), { metadata: { labels: { 'harvesterhci.io/read-message': 'true' } } }, MERGE);
    assert.equal(label.status, 200);
    assert.equal((label.body.status as { conditions: Json[] }).conditions[0]!.status, 'True');

    // A brand-new Upgrade, before any controller initialised it: empty status.
    await create({
      apiVersion: 'harvesterhci.io/v1beta1',
      kind: 'Upgrade',
      metadata: { name: fresh, namespace: SYSTEM },
      spec: { image: '', logEnabled: true, version: VERSION },
    } as never);
  });

  it('reports the wiped Upgrade with its evidence and the Harvester version; completed and fresh Upgrades stay silent', async () => {
    const names = new Set([wiped, completed, fresh]);
    const ours = (r: JsonReport) =>
      r.findings.filter((f) => f.rule === 'harvester/upgrade-status-wiped' && f.object.namespace === SYSTEM && names.has(f.object.name));

    // Now: everything of ours is younger than the 2-minute threshold, so nothing is reported yet.
    const young = await scan(['-n', SYSTEM, '--rules', 'harvester/*']);
    assert.deepEqual(ours(young.report), []);

    // An hour later: the wiped one is reported, the completed one is still silent, and the fresh one (still empty an
    // hour later) is reported too, which proves its silence above came from its age, not from blindness.
    const later = seconds(new Date(Date.now() + 3600_000));
    const { report } = await scan(['-n', SYSTEM, '--rules', 'harvester/*', '--now', later]);
    const found = ours(report);
    assert.deepEqual(
      found.map((f) => [f.object.name, f.severity, ev(f, 'confidence')]).sort(),
      [
        [wiped, 'error', 'high'],
        [fresh, 'warning', 'status-empty-only'],
      ].sort(),
    );
    const f = found.find((x) => x.object.name === wiped)!;
    assert.equal(
      f.message,
      `Upgrade to ${VERSION} had completed but its status was wiped (dismissed, image-cleanup-completed); its status is empty and the controller has not re-initialised it`,
    );
    assert.deepEqual(
      (ev(f, 'tells') as Json[]).map((t) => t.tell),
      ['dismissed', 'image-cleanup-completed'],
    );
    assert.equal(ev(f, 'status', 'empty'), true);
    assert.equal(ev(f, 'status', 'completed'), null);
    assert.deepEqual(ev(f, 'phase'), { label: 'metadata.labels["harvesterhci.io/upgradeState"]', value: 'Succeeded' });
    assert.equal(ev(f, 'blocksNewUpgrade'), false);
    assert.equal(ev(f, 'hiddenInUi'), true);
    assert.deepEqual(ev(f, 'harvesterVersion'), { value: VERSION, source: 'settings.harvesterhci.io/server-version' });
    assert.deepEqual(ev(f, 'completion', 'serverVersion'), { value: VERSION, equalsSpecVersion: true });
    assert.deepEqual(
      (ev(f, 'completion', 'nodes') as Json[]).find((n) => n.name === node),
      { name: node, osImage: `Harvester ${VERSION}`, osImageMatches: true, pendingOSImage: null },
    );
    assert.deepEqual(ev(f, 'actionBlockedBy'), []);
    // The documented stop procedure; the delete is destructive, so a plain --fix would not run it.
    assert.deepEqual(
      f.remediation!.steps.map((s) => [s.action.type, s.risk]),
      [
        ['manual', 'safe'],
        ['delete', 'destructive'],
        ['manual', 'safe'],
        ['manual', 'safe'],
      ],
    );
  });

  it('--fix --allow=destructive --dry-run=server: the precondition-pinned delete is accepted and nothing is deleted', async () => {
    const later = seconds(new Date(Date.now() + 3600_000));
    const before = await get(upgradePath(wiped));
    const { report } = await scan([
      '-n',
      SYSTEM,
      '--rules',
      'harvester/upgrade-status-wiped',
      '--now',
      later,
      '--fix',
      '--yes',
      '--allow',
      'destructive',
      '--dry-run',
      'server',
    ]);
    const result = report.fix!.results.find((r) => (r as { object?: { name?: string } }).object?.name === wiped);
    assert.ok(result, JSON.stringify(report.fix));
    assert.equal(result.outcome, 'dry-run');
    assert.deepEqual(
      result.steps.map((s) => s.status),
      ['manual', 'dry-run', 'manual', 'manual'],
    );
    const after = await get(upgradePath(wiped));
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion);
    assert.equal(after.metadata.deletionTimestamp, undefined);
  });
});
