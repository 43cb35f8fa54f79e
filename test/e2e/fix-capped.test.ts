// --fix of a plan the stuck-object cap cut (rules/core/stuck-objects.ts MAX_LISTED), against a real API server:
// a namespace stuck Terminating over more stuck objects than one plan takes. No controller-manager runs in the
// harness, so the namespace stays Terminating and nothing but --fix removes a finalizer.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { uniqueName } from '../harness/env.ts';
import { MAX_LISTED } from '../../rules/core/stuck-objects.ts';
import { assertValidReport } from '../cli/run-cli.ts';
import { tempDir } from '../temp.ts';
import { create, createNamespace, doctor, inParallel, parseReport, raw, readAudit, remove, schemalessCrd } from './kube.ts';
import { compareStrings } from '../../src/util/collections.ts';

const STUCK = 70;
const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

describe('--fix of a namespace with more stuck objects than one plan takes', () => {
  const ns = uniqueName('e2e-caps');
  // A provider that left its CRD behind: the CRD carries cluster.x-k8s.io/provider and no Deployment does, which
  // proves the finalizer's owner absent (finalizer-owners.ts #fromCrds), so the plan removes it object by object.
  // Its own group per run: no other test's finalizer resolves to it.
  const group = `${ns}.doctor.test`;
  const finalizer = `${group}/cleanup`;
  const crd = `widgets.${group}`;
  const names = Array.from({ length: STUCK }, (_, i) => `cm-${String(i).padStart(2, '0')}`);
  const backups = tempDir('caps');
  const fix = (run: string) =>
    doctor([
      '-n',
      ns,
      '--rules',
      'core/stuck-deletion,core/namespace-stuck-terminating',
      '--min-age',
      '0s',
      '--fix',
      '--yes',
      '--allow=destructive',
      '--backup-dir',
      join(backups, run),
      '-o',
      'json',
    ]);
  /** The ConfigMaps left in the namespace, by name, with their finalizers and deletionTimestamp. */
  const left = async () => {
    const list = (await raw('GET', `/api/v1/namespaces/${ns}/configmaps`)) as unknown as {
      items: { metadata: { name: string; finalizers?: string[]; deletionTimestamp?: string } }[];
    };
    return new Map(list.items.map((i) => [i.metadata.name, i.metadata]));
  };

  before(async () => {
    await create(
      schemalessCrd(
        group,
        { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        { 'cluster.x-k8s.io/provider': `infrastructure-${ns}` },
      ),
    );
    await createNamespace(ns);
    await inParallel(names, 8, (name) =>
      create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, finalizers: [finalizer] } }),
    );
    await inParallel(names, 8, (name) => remove({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } }));
    await remove({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  });

  after(async () => {
    // The namespace controller's part, which the harness lacks, should a run above have failed before it.
    for (const [name] of await left().catch(() => new Map())) {
      await raw('PATCH', `/api/v1/namespaces/${ns}/configmaps/${name}`, { metadata: { finalizers: null } }, 'application/merge-patch+json');
    }
    await raw('PUT', `/api/v1/namespaces/${ns}/finalize`, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns },
      spec: { finalizers: [] },
    }).catch(() => undefined);
    await raw('DELETE', `${CRDS}/${crd}`);
  });

  it('the first run changes exactly the objects its plan names, says how many are left, and the second finishes', async () => {
    // The plan's order is the rule's: oldest deletion first, then by name (stuck-objects.ts deletingObjects).
    const stuck = await left();
    assert.equal(stuck.size, STUCK);
    const order = [...stuck.values()]
      .sort((a, b) => compareStrings(a.deletionTimestamp!, b.deletionTimestamp!) || compareStrings(a.name, b.name))
      .map((m) => m.name);
    const planned = order.slice(0, MAX_LISTED);

    const first = await fix('first');
    const report = parseReport(first);
    assertValidReport(report);
    assert.equal(first.code, 1, `work remains, so the run does not exit 0:\n${first.stderr}`);
    const lead = report.findings.find((f) => f.rule === 'core/namespace-stuck-terminating')!;
    const steps = lead.remediation!.steps as { title: string; action: { type: string; target?: { name: string }; role?: string } }[];
    const removals = steps.filter((s) => s.action.type === 'json-patch').map((s) => s.action.target!.name);
    assert.deepEqual(removals, planned, 'the plan names the first MAX_LISTED by its order');

    // What the server says: exactly those are gone; the others keep their finalizer.
    const after1 = await left();
    assert.deepEqual([...after1.keys()].sort(), order.slice(MAX_LISTED).sort());
    for (const [name, m] of after1) assert.deepEqual(m.finalizers, [finalizer], name);

    // What the run says happened matches: one write per planned object, all applied; the plan waits at its checkpoint.
    assert.deepEqual(
      report.fix!.results.map((r) => [r.rule, r.outcome]),
      [['core/namespace-stuck-terminating', 'pending']],
    );
    // The reinstall (by hand, or instead), the removals, the aside, then the checkpoint and the /finalize behind it.
    assert.deepEqual(
      report.fix!.results[0]!.steps.map((s) => s.status),
      ['manual', ...planned.map(() => 'applied'), 'manual', 'not-run', 'not-run'],
    );
    const audit = readAudit(join(backups, 'first'));
    assert.deepEqual(
      audit.filter((a) => a.result === 'applied').map((a) => a.object.name),
      planned,
    );

    // The output says how many are left unplanned and that the next run plans them: in the plan, and in the end.
    const more = `${STUCK - MAX_LISTED} more stuck objects are not in this plan`;
    const aside = steps.find((s) => s.action.type === 'manual' && s.action.role === 'aside');
    assert.match(aside?.title ?? '', new RegExp(`^${more}`));
    assert.match(first.stderr, new RegExp(`${more}[^\\n]*\\n[^\\n]*run kubectl doctor again: it plans the next ones`));
    // Pending on both: the checkpoint it stopped at, and the objects it left to the next run (remediation.leftTo).
    const next = `another run of kubectl doctor: ${more}; once the steps above are done, it plans the next ones`;
    assert.equal((lead.remediation as { leftTo?: string }).leftTo, next);
    assert.match(report.fix!.results[0]!.waitingFor ?? '', new RegExp(`^checkpoint: .*; and ${next}$`));
    assert.match(
      first.stderr,
      new RegExp(
        `\\npending: Namespace ${ns} \\(core/namespace-stuck-terminating\\): waiting for checkpoint: [^\\n]*; and ${next}\\nFix: 1 pending\\.`,
      ),
    );

    // restore: a finalizer removal on an object being deleted cannot be undone (the object is gone); it says so per
    // object and changes nothing.
    const restored = await doctor(['restore', join(backups, 'first'), '--yes']);
    assert.equal(restored.code, 0, restored.stdout + restored.stderr);
    assert.equal((restored.stdout.match(/^skip: ConfigMap .*cannot be undone$/gm) ?? []).length, MAX_LISTED, restored.stdout);
    assert.match(restored.stdout, /^Nothing to restore\.$/m);
    assert.deepEqual([...(await left()).keys()].sort(), order.slice(MAX_LISTED).sort());

    // The second run plans and removes the rest; nothing is left out of its plan.
    const second = await fix('second');
    const report2 = parseReport(second);
    assertValidReport(report2);
    assert.equal((await left()).size, 0, second.stderr);
    assert.deepEqual(
      readAudit(join(backups, 'second'))
        .filter((a) => a.result === 'applied')
        .map((a) => a.object.name),
      order.slice(MAX_LISTED),
    );
    assert.doesNotMatch(second.stderr, /not in this plan/);
    // What is left is the namespace controller's part (it runs no more here): the namespace, with no content.
    assert.deepEqual(
      report2.fix!.results.map((r) => [r.rule, r.outcome]),
      [['core/namespace-stuck-terminating', 'pending']],
    );
    assert.match(report2.fix!.results[0]!.waitingFor ?? '', /^checkpoint: give them a few minutes/);
    assert.equal(second.code, 1, second.stderr);
  });

  it('once the namespace controller has finished the namespace, a third run finds nothing', async () => {
    // What the namespace controller does once no content remains (pkg/controller/namespace/deletion): remove its
    // finalizer through /finalize. The harness runs no controller-manager, so the test does it.
    await raw('PUT', `/api/v1/namespaces/${ns}/finalize`, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns },
      spec: { finalizers: [] },
    });
    const third = await fix('third');
    const report = parseReport(third);
    assert.deepEqual(report.findings, [], third.stderr);
    assert.equal(third.code, 0, third.stderr);
  });
});
