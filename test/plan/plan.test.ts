import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyJsonPatch, applyMergePatch, expectationsOf, PatchConflict } from '../../src/plan/patch.ts';
import { isGate, needsOwnConfirmation, planStop, writesAt } from '../../src/plan/stop.ts';
import { stepKey } from '../../src/plan/shared.ts';
import { checkpoint, deleteObject, jsonPatch, manual, mergePatch, removeFinalizers } from '../../src/plan/builder.ts';
import { refinesOf, relateFindings } from '../../src/engine/related.ts';
import { fingerprintOf, type Finding } from '../../src/engine/finding.ts';
import type { ActionTarget, RemediationStep } from '../../src/plan/actions.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { defineRule } from '../../src/engine/rule.ts';

const target: ActionTarget = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  namespace: 'ns',
  name: 'cm',
  uid: 'u1',
  resource: 'configmaps',
  namespaced: true,
  resourceVersion: '7',
};
const obj = (extra: Partial<KubeObject> = {}): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cm', namespace: 'ns', uid: 'u1', resourceVersion: '7', finalizers: ['a', 'b', 'c'] },
    ...extra,
  }) as KubeObject;
const withCommand = (s: ReturnType<typeof manual>): RemediationStep => ({ ...s, command: s.command ?? '' });

describe('client-side patches (server dry runs chain through them)', () => {
  it('applies RFC 6902 add/replace/remove/test, and a failed test or a missing path is a conflict', () => {
    const doc = { spec: { paused: true, list: [1, 2] } };
    assert.deepEqual(
      applyJsonPatch(doc, [
        { op: 'test', path: '/spec/paused', value: true },
        { op: 'replace', path: '/spec/paused', value: false },
        { op: 'add', path: '/spec/list/-', value: 3 },
        { op: 'remove', path: '/spec/list/0' },
        { op: 'add', path: '/spec/new', value: 'x' },
      ]),
      { spec: { paused: false, list: [2, 3], new: 'x' } },
    );
    assert.deepEqual(doc, { spec: { paused: true, list: [1, 2] } }, 'the input is not changed');
    assert.throws(() => applyJsonPatch(doc, [{ op: 'test', path: '/spec/paused', value: false }]), PatchConflict);
    assert.throws(() => applyJsonPatch(doc, [{ op: 'remove', path: '/spec/absent' }]), PatchConflict);
    assert.throws(() => applyJsonPatch(doc, [{ op: 'replace', path: '/spec/list/5', value: 1 }]), PatchConflict);
  });

  it('applies RFC 7386 merge patches (null removes)', () => {
    assert.deepEqual(applyMergePatch({ a: { b: 1, c: 2 }, d: [1] }, { a: { b: null, e: 3 }, d: [2] }), { a: { c: 2, e: 3 }, d: [2] });
  });
});

describe('post-conditions derived from the writes', () => {
  it('a finalizer removal holds while the finalizer stays gone, wherever the others moved, and once the object is gone', () => {
    const step = removeFinalizers('rm b', target, obj(), ['b'], { risk: 'destructive', reversible: false })!;
    assert.equal(step.action.type, 'json-patch');
    const [e] = expectationsOf(step.action as never, 'u1');
    assert.equal(e!.holds(obj({ metadata: { name: 'cm', uid: 'u1', finalizers: ['c', 'a'] } })), true);
    assert.equal(e!.holds(obj({ metadata: { name: 'cm', uid: 'u1', finalizers: ['b'] } })), false);
    // Removing the last finalizer of an object being deleted deletes it: gone is what the write was for.
    assert.equal(e!.holds(undefined), true, 'gone: the finalizer is gone with it');
    assert.equal(e!.holds(obj({ metadata: { name: 'cm', uid: 'u2', finalizers: ['b'] } })), true, 'another object of that name');
  });

  it('a delete holds once the object is gone, deleting, or replaced by another uid', () => {
    const [e] = expectationsOf(deleteObject('del', target, { risk: 'destructive', reversible: true })!.action as never, 'u1');
    assert.equal(e!.holds(undefined), true);
    assert.equal(e!.holds(obj({ metadata: { name: 'cm', uid: 'u2' } })), true);
    assert.equal(e!.holds(obj({ metadata: { name: 'cm', uid: 'u1', deletionTimestamp: '2026-01-01T00:00:00Z' } })), true);
    assert.equal(e!.holds(obj()), false);
  });

  it('a merge patch holds while its values are set, ignoring its resourceVersion', () => {
    const es = expectationsOf(
      mergePatch('bump', target, { metadata: { resourceVersion: '7' }, spec: { gen: 2, gone: null } }, { risk: 'safe', reversible: true })
        .action as never,
      'u1',
    );
    assert.deepEqual(
      es.map((e) => e.describe),
      ['/spec/gen is 2', '/spec/gone is unset'],
    );
    assert.equal(
      es.every((e) => e.holds(obj({ spec: { gen: 2 } } as never))),
      true,
    );
    assert.equal(
      es.every((e) => e.holds(obj({ spec: { gen: 3 } } as never))),
      false,
    );
  });
});

describe('the builder pins preconditions itself', () => {
  it('drops hand-written resourceVersion tests; the target carries the version the executor pins', () => {
    const step = jsonPatch(
      't',
      target,
      [
        { op: 'test', path: '/metadata/resourceVersion', value: '1' },
        { op: 'replace', path: '/spec/x', value: 1 },
      ],
      { risk: 'safe', reversible: true },
    );
    assert.deepEqual((step.action as { patch: unknown }).patch, [{ op: 'replace', path: '/spec/x', value: 1 }]);
    assert.equal(
      deleteObject('d', { ...target, uid: undefined }, { risk: 'destructive', reversible: false }),
      undefined,
      'no uid, no delete',
    );
  });

  it('the same write is the same step whatever resourceVersion it was pinned to', () => {
    const a = mergePatch('a', target, { metadata: { resourceVersion: '7' }, spec: { g: 1 } }, { risk: 'safe', reversible: true });
    const b = mergePatch(
      'b',
      { ...target, resourceVersion: '9' },
      { spec: { g: 1 }, metadata: { resourceVersion: '9' } },
      { risk: 'safe', reversible: true },
    );
    assert.equal(stepKey(a.action), stepKey(b.action));
    assert.notEqual(stepKey(a.action), stepKey(mergePatch('c', target, { spec: { g: 2 } }, { risk: 'safe', reversible: true }).action));
  });
});

describe('where --fix stops and what it asks', () => {
  const steps = [
    manual('check the target', 'kubectl get x'),
    jsonPatch('safe write', target, [{ op: 'add', path: '/a', value: 1 }], { risk: 'safe', reversible: true }),
    jsonPatch('one-way', target, [{ op: 'add', path: '/b', value: 1 }], { risk: 'disruptive', reversible: false }),
    checkpoint('wait', 'wait a minute'),
    deleteObject('delete', target, { risk: 'destructive', reversible: false })!,
    manual('verify', 'look'),
  ].map(withCommand);

  it('a manual step before a runnable write is a gate; one after the last runnable write is not', () => {
    assert.equal(isGate(steps, 0, 'safe'), true);
    assert.equal(isGate(steps, 5, 'destructive'), false);
    assert.equal(isGate([steps[0]!, steps[4]!], 0, 'safe'), false, 'nothing runnable after it at --allow=safe');
  });

  it('stops at the checkpoint or the first write above --allow; destructive and one-way steps need their own yes', () => {
    assert.deepEqual(planStop(steps, 'safe'), { index: 2, kind: 'risk', risk: 'disruptive' });
    assert.deepEqual(planStop(steps, 'destructive'), { index: 3, kind: 'checkpoint', instructions: 'wait a minute', owed: false });
    assert.deepEqual(steps.map(needsOwnConfirmation), [false, false, true, false, true, false]);
    assert.equal(writesAt([steps[0]!, steps[3]!, steps[4]!], 'destructive'), false, 'nothing to ask about');
  });
});

describe('findings on one object share one ladder', () => {
  const rule = (id: string, refines: string[] = []) =>
    defineRule({
      meta: {
        id,
        summary: '',
        severity: 'error',
        ecosystem: 'x',
        fixable: 'destructive',
        refines,
        reads: {},
        reasons: { found: '{{message}}' },
        explain: { detects: '', why: '', evidence: '', remediation: [], references: [] },
      },
      check: () => [],
    });
  const object = { apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'Cluster', namespace: 'ns', name: 'c', uid: 'u' };
  const finding = (id: string): Finding => ({
    rule: id,
    severity: 'error',
    object,
    reason: 'found',
    message: id,
    evidence: {},
    fingerprint: fingerprintOf(id, object),
    remediation: { summary: id, steps: [withCommand(manual(id, id))] },
  });

  it('the most specific rule leads with its plan; the ones it refines say see also and carry none', () => {
    const rules = [
      rule('core/stuck-deletion'),
      rule('cluster-api/paused-deletion', ['core/stuck-deletion']),
      rule('cluster-api/interrupted-move', ['cluster-api/paused-deletion']),
    ];
    const out = relateFindings(
      [finding('core/stuck-deletion'), finding('cluster-api/paused-deletion'), finding('cluster-api/interrupted-move')],
      refinesOf(rules),
    );
    const lead = out.find((f) => f.rule === 'cluster-api/interrupted-move')!;
    assert.deepEqual(lead.related?.seeAlso?.length, 2);
    for (const f of out.filter((x) => x !== lead)) {
      assert.equal(f.related?.ledBy, lead.fingerprint);
      assert.equal(f.remediation, undefined);
    }
  });

  it("a finding whose plan writes to another object leads the refined rule's finding on that object", () => {
    const rules = [rule('core/stuck-deletion'), rule('cluster-api/interrupted-move', ['core/stuck-deletion'])];
    const machine = { apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'Machine', namespace: 'ns', name: 'm', uid: 'm' };
    const mTarget: ActionTarget = { ...machine, resource: 'machines.cluster.x-k8s.io', namespaced: true, resourceVersion: '3' };
    const move: Finding = {
      ...finding('cluster-api/interrupted-move'),
      remediation: {
        summary: 's',
        steps: [withCommand(manual('check', 'x')), withCommand(deleteObject('d', mTarget, { risk: 'destructive', reversible: true })!)],
      },
    };
    const onMachine: Finding = {
      ...finding('core/stuck-deletion'),
      object: machine,
      fingerprint: fingerprintOf('core/stuck-deletion', machine),
    };
    const unrelated: Finding = {
      ...finding('core/stuck-deletion'),
      object: { ...machine, name: 'other' },
      fingerprint: fingerprintOf('core/stuck-deletion', { ...machine, name: 'other' }),
    };
    const out = relateFindings([move, onMachine, unrelated], refinesOf(rules));
    assert.equal(out[1]!.related?.ledBy, move.fingerprint);
    assert.equal(out[1]!.remediation, undefined);
    assert.equal(out[2]!.related, undefined, 'an object the plan does not touch stays apart');
  });

  it('a finding leads those that name its object as their cause, in order, however many there are', () => {
    const rules = [rule('core/namespace-stuck-terminating'), rule('core/apiservice-unavailable', ['core/namespace-stuck-terminating'])];
    const apiService = { apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', name: 'v1.metrics.k8s.io', uid: 'a' };
    const lead: Finding = {
      ...finding('core/apiservice-unavailable'),
      object: apiService,
      fingerprint: fingerprintOf('core/apiservice-unavailable', apiService),
    };
    const stuck = Array.from({ length: 5000 }, (_, i): Finding => {
      const ns = { apiVersion: 'v1', kind: 'Namespace', name: `ns-${i}`, uid: `n${i}` };
      return {
        ...finding('core/namespace-stuck-terminating'),
        object: ns,
        fingerprint: fingerprintOf('core/namespace-stuck-terminating', ns),
        ...(i % 2 === 0 ? { causedBy: [apiService] } : {}),
      };
    });
    const out = relateFindings([...stuck, lead], refinesOf(rules));
    assert.deepEqual(
      out.at(-1)!.related?.seeAlso,
      stuck.filter((_, i) => i % 2 === 0).map((f) => f.fingerprint),
    );
    assert.equal(out.filter((f) => f.related?.ledBy === lead.fingerprint).length, 2500);
    assert.equal(out[1]!.related, undefined, 'a namespace not stuck on the APIService stays apart');
  });

  it('between leaders equally specific and severe, the first one found leads', () => {
    const rules = [rule('core/stuck-deletion'), rule('a/x', ['core/stuck-deletion']), rule('b/y', ['core/stuck-deletion'])];
    const [x, y, stuck] = [finding('a/x'), finding('b/y'), finding('core/stuck-deletion')];
    assert.equal(relateFindings([x, y, stuck], refinesOf(rules))[2]!.related?.ledBy, x.fingerprint);
    assert.equal(relateFindings([y, stuck, x], refinesOf(rules))[1]!.related?.ledBy, y.fingerprint);
  });

  it('findings on one object from unrelated rules stay apart', () => {
    const out = relateFindings([finding('a/x'), finding('b/y')], refinesOf([rule('a/x'), rule('b/y')]));
    assert.equal(
      out.every((f) => f.related === undefined && f.remediation !== undefined),
      true,
    );
  });
});
