// End to end: core/crd-stored-version-not-served against a real kube-apiserver (test/harness), through the CLI.
// The state is made the way products make it: a CRD created with v1alpha1 as its storage version, objects written,
// then v1 made the storage version (the API server appends v1 to status.storedVersions and keeps v1alpha1), then
// v1alpha1 no longer served. The "upgrade" is the next CRD manifest, which drops v1alpha1 from spec.versions.
// Run: ./node_modules/.bin/node --test --test-global-setup=test/harness/global-setup.ts test/e2e/crd-stored-version.test.ts
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { e2e, kubectlDir, kubectlEnv, rawRequest, adminKubeConfig, uniqueName } from '../harness/env.ts';
import { doctorCommand, onTerminal } from '../cli/pty.ts';
import { createNamespace, doctor, parseReport, raw } from './kube.ts';
import { tempDir } from '../temp.ts';

const RULE = 'core/crd-stored-version-not-served';
const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const schema = { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } };

interface Crd {
  metadata: { name: string; labels?: Record<string, string>; resourceVersion?: string };
  spec: { group: string; versions: { name: string; served: boolean; storage: boolean }[] } & Record<string, unknown>;
  status?: { storedVersions?: string[] };
}

const kindOf = (plural: string) => plural[0]!.toUpperCase() + plural.slice(1, -1);

function crdOf(group: string, plural: string, label: string, versions: [name: string, served: boolean, storage: boolean][]) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}`, labels: { 'e2e-crd': label } },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular: plural.slice(0, -1), kind: kindOf(plural), listKind: `${kindOf(plural)}List` },
      versions: versions.map(([name, served, storage]) => ({ name, served, storage, schema })),
    },
  };
}

/** A whole-object PUT of the CRD with new versions: what kubectl apply / helm upgrade of a new manifest sends. */
async function putVersions(name: string, versions: [string, boolean, boolean][]) {
  const current = (await raw('GET', `${CRDS}/${name}`)) as unknown as Crd;
  current.spec.versions = versions.map(([n, served, storage]) => ({ name: n, served, storage, schema }));
  return rawRequest(adminKubeConfig(), 'PUT', `${CRDS}/${name}`, { body: current });
}

/** Lists of a version answer only once the CRD is established and its storage initialised. */
async function waitListable(path: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await rawRequest(adminKubeConfig(), 'GET', path)).status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${path} never listable`);
}

describe('core/crd-stored-version-not-served on a real API server', () => {
  const label = uniqueName('e2e');
  const group = `${label}.doctor.test`;
  const ns = uniqueName('e2e-crd');
  const name = `gadgets.${group}`;
  const objectsPath = (plural: string, version: string) => `/apis/${group}/${version}/namespaces/${ns}/${plural}`;

  /** Creates the CRD at v1alpha1, writes `count` objects (stored as v1alpha1), then makes v1 the storage version. */
  async function stored(plural: string, count: number, servedAfter: boolean): Promise<void> {
    await raw('POST', CRDS, crdOf(group, plural, label, [['v1alpha1', true, true]]));
    await waitListable(objectsPath(plural, 'v1alpha1'));
    for (let i = 0; i < count; i++) {
      await raw('POST', objectsPath(plural, 'v1alpha1'), {
        apiVersion: `${group}/v1alpha1`,
        kind: kindOf(plural),
        metadata: { name: `old-${i}` },
        spec: { size: i },
      });
    }
    const put = await putVersions(`${plural}.${group}`, [
      ['v1alpha1', true, false],
      ['v1', true, true],
    ]);
    assert.equal(put.status, 200, put.body);
    await waitListable(objectsPath(plural, 'v1'));
    await raw('POST', objectsPath(plural, 'v1'), { apiVersion: `${group}/v1`, kind: kindOf(plural), metadata: { name: 'new' } });
    if (!servedAfter) {
      const stop = await putVersions(`${plural}.${group}`, [
        ['v1alpha1', false, false],
        ['v1', true, true],
      ]);
      assert.equal(stop.status, 200, stop.body);
    }
  }

  const scan = (...args: string[]) => doctor(['--rules', RULE, '-l', `e2e-crd=${label}`, ...args]);

  after(async () => {
    // No leftovers for the other tests' cluster-wide scans: storedVersions made valid, then the CRDs (and with them
    // their objects) deleted.
    await raw(
      'PATCH',
      `${CRDS}/sprockets.${group}/status`,
      [{ op: 'replace', path: '/status/storedVersions', value: ['v1alpha1', 'v1'] }],
      'application/json-patch+json',
    );
    for (const plural of ['gadgets', 'sprockets', 'doohickeys']) await raw('DELETE', `${CRDS}/${plural}.${group}`);
  });

  before(async () => {
    await createNamespace(ns);
    await stored('gadgets', 2, false); // the broken one: v1alpha1 stored, not served
    await stored('sprockets', 1, true); // the look-alike: v1alpha1 stored and still served
    await stored('doohickeys', 2, false); // for the counter-proof: cleaned without a migration
  });

  it('the API server keeps v1alpha1 in storedVersions and refuses the upgrade that drops it, with the message the rule quotes', async () => {
    const crd = (await raw('GET', `${CRDS}/${name}`)) as unknown as Crd;
    assert.deepEqual(crd.status?.storedVersions, ['v1alpha1', 'v1']);
    const upgrade = await putVersions(name, [['v1', true, true]]);
    assert.equal(upgrade.status, 422, upgrade.body);
    // Kubernetes 1.33+ wording (the harness runs e2e().kubernetesVersion); <= 1.32 says "must appear in spec.versions".
    assert.match(
      String((upgrade.json as { message?: string }).message),
      /status\.storedVersions\[0\]: Invalid value: "v1alpha1": (must appear in spec\.versions|missing from spec\.versions; v1alpha1 was previously a storage version, and must remain in spec\.versions until a storage migration ensures no data remains persisted in v1alpha1 and removes v1alpha1 from status\.storedVersions)/,
    );
  });

  it('the doctor reports the CRD whose stored version is no longer served, with its object count; the served look-alike is silent', async () => {
    const result = await scan('-o', 'json');
    assert.equal(result.code, 1, result.stderr);
    const report = parseReport(result);
    const mine = report.findings.map((f) => [f.object.name, (f as unknown as { reason: string }).reason, f.severity]);
    assert.deepEqual(mine.sort(), [
      [`doohickeys.${group}`, 'not-served', 'warning'],
      [name, 'not-served', 'warning'],
    ]);
    const f = report.findings.find((x) => x.object.name === name)!;
    assert.equal(f.evidence.objects, 3);
    assert.deepEqual(f.evidence.storedVersions, ['v1alpha1', 'v1']);
    assert.deepEqual(f.evidence.staleVersions, [{ version: 'v1alpha1', index: 0, state: 'not-served' }]);
  });

  it('--fix --yes stops at the migration, which only a person can confirm: storedVersions is untouched', async () => {
    const result = await scan('--fix', '--yes', '--allow', 'destructive', '--backup-dir', tempDir('crd-yes'), '-o', 'json');
    assert.equal(result.code, 1, result.stderr);
    const fixes = parseReport(result).fix!.results;
    assert.ok(fixes.every((r) => r.outcome === 'not-attempted'));
    assert.match(fixes[0]!.stopped ?? '', /^step 1 is by hand: Migrate every /);
    assert.deepEqual(((await raw('GET', `${CRDS}/${name}`)) as unknown as Crd).status?.storedVersions, ['v1alpha1', 'v1']);
  });

  it("after the finding's own migration command, --fix confirmed on a terminal leaves storedVersions [v1]; the upgrade then applies and every object reads", async () => {
    const report = parseReport(await scan('-o', 'json'));
    const f = report.findings.find((x) => x.object.name === name)!;
    const migrate = (f.remediation!.steps[0] as unknown as { command: string }).command;
    assert.equal(migrate, `kubectl get gadgets.v1.${group} -A -o json | kubectl replace -f -`);
    const PATH = [kubectlDir(), process.env.PATH].filter(Boolean).join(':');
    const run = spawnSync('bash', ['-c', migrate], { env: { ...kubectlEnv(), PATH }, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /replaced/);

    const backupDir = tempDir('crd-fix');
    const { kubeconfigPath, adminContext } = e2e();
    const args = ['--kubeconfig', kubeconfigPath, '--context', adminContext, '--rules', RULE, '-l', `e2e-crd=${label}`];
    // Only the migrated CRD is answered yes; the counter-proof CRD's finding is declined.
    const pty = onTerminal(doctorCommand([...args, '--fix', '--allow', 'destructive', '--backup-dir', backupDir]));
    const questions: string[] = [];
    let at = 0;
    for (;;) {
      const next = await Promise.race([pty.waitFor(/\[y\]es\/[^\n]*: $/, at).catch(() => -1), pty.exited.then(() => -1)]);
      if (next < 0) break;
      const shown = pty.screen().slice(at, next);
      questions.push(shown.replace(/\s+/g, ' '));
      at = next;
      // The question is about the object named last on screen (a long prompt wraps over lines).
      const about = [...shown.matchAll(/doohickey|gadget/gi)].at(-1)?.[0].toLowerCase();
      pty.type(about === 'doohickey' ? 'n\r' : 'y\r');
    }
    assert.equal(await pty.exited, 1, pty.screen()); // the declined finding remains
    assert.ok(
      questions.some((q) => new RegExp(`Step 1 is by hand: Migrate every Gadget .*Is it done\\?`).test(q)),
      questions.join('\n'),
    );
    assert.ok(
      questions.some((q) => /Step 2 \(destructive\) on CustomResourceDefinition .*gadgets/.test(q)),
      questions.join('\n'),
    );
    assert.deepEqual(((await raw('GET', `${CRDS}/${name}`)) as unknown as Crd).status?.storedVersions, ['v1']);

    const upgrade = await putVersions(name, [['v1', true, true]]);
    assert.equal(upgrade.status, 200, upgrade.body);
    await waitListable(objectsPath('gadgets', 'v1'));
    const list = (await raw('GET', objectsPath('gadgets', 'v1'))) as unknown as { items: { metadata: { name: string } }[] };
    assert.deepEqual(list.items.map((i) => i.metadata.name).sort(), ['new', 'old-0', 'old-1']);
    const rescan = parseReport(await scan('-o', 'json'));
    assert.deepEqual(
      rescan.findings.map((x) => x.object.name),
      [`doohickeys.${group}`],
      JSON.stringify(rescan.rules),
    );
  });

  it('counter-proof: storedVersions cleaned without the migration, the objects still stored as v1alpha1 become unreadable once it leaves spec.versions', async () => {
    const doohickeys = `doohickeys.${group}`;
    await raw(
      'PATCH',
      `${CRDS}/${doohickeys}/status`,
      [{ op: 'replace', path: '/status/storedVersions', value: ['v1'] }],
      'application/json-patch+json',
    );
    const upgrade = await putVersions(doohickeys, [['v1', true, true]]);
    assert.equal(upgrade.status, 200, upgrade.body);
    let list = await rawRequest(adminKubeConfig(), 'GET', objectsPath('doohickeys', 'v1'));
    // The API server applies a CRD update to its storage as its CRD informer sees it: until then the old storage still
    // answers (200), then it re-initialises for a moment (429), as on any cluster.
    for (let i = 0; i < 100 && (list.status === 429 || list.status === 200); i++) {
      await new Promise((r) => setTimeout(r, 100));
      list = await rawRequest(adminKubeConfig(), 'GET', objectsPath('doohickeys', 'v1'));
    }
    assert.notEqual(list.status, 200, 'a list that reads objects stored in a removed version fails');
    assert.match(list.body, /invalid group\/version: [^"]*\/v1alpha1/);
    // Declaring v1alpha1 again (not served) makes them readable: the state the other tests' scans must not see.
    const back = await putVersions(doohickeys, [
      ['v1alpha1', false, false],
      ['v1', true, true],
    ]);
    assert.equal(back.status, 200, back.body);
    await waitListable(objectsPath('doohickeys', 'v1'));
  });

  it('a stored version missing from spec.versions (a /status write) is accepted by the status subresource, then every CRD update is refused; the doctor reports it as an error', async () => {
    const sprockets = `sprockets.${group}`;
    await raw(
      'PATCH',
      `${CRDS}/${sprockets}/status`,
      [{ op: 'add', path: '/status/storedVersions/-', value: 'v0' }],
      'application/json-patch+json',
    );
    const crd = (await raw('GET', `${CRDS}/${sprockets}`)) as unknown as Crd;
    assert.deepEqual(crd.status?.storedVersions, ['v1alpha1', 'v1', 'v0']);
    crd.metadata.labels = { ...crd.metadata.labels, touched: 'yes' };
    const update = await rawRequest(adminKubeConfig(), 'PUT', `${CRDS}/${sprockets}`, { body: crd });
    assert.equal(update.status, 422, 'even a label change is refused');
    assert.match(update.body, /status\.storedVersions\[2\]: Invalid value: \\?"v0\\?"/);
    const f = parseReport(await scan('-o', 'json')).findings.find((x) => x.object.name === sprockets)!;
    assert.deepEqual([(f as unknown as { reason: string }).reason, f.severity], ['missing-from-spec', 'error']);
  });
});
