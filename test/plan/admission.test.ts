import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import webhookRule from '../../rules/admission/webhook-backend-unavailable.ts';
import helmRule from '../../rules/helm/release-stuck-pending.ts';
import { SnapshotSource } from '../../src/cluster/snapshot.ts';
import { runScan } from '../../src/engine/scan.ts';
import type { ActionTarget, WriteAction } from '../../src/plan/actions.ts';
import { intercepts, interceptedWrites, requestOf, webhooksFirst, type InterceptSpec } from '../../src/plan/admission.ts';
import { renderPlan } from '../../src/fix/render.ts';
import { renderScript } from '../../src/fix/script.ts';
import { FIXTURES } from '../rule-tester.ts';

const target = (over: Partial<ActionTarget>): ActionTarget => ({
  apiVersion: 'v1',
  kind: 'Secret',
  namespace: 'apps',
  name: 's',
  resource: 'secrets',
  namespaced: true,
  ...over,
});
const patch = (t: ActionTarget, subresource?: 'status'): WriteAction => ({
  type: 'json-patch',
  target: t,
  patch: [],
  ...(subresource ? { subresource } : {}),
});

describe('what the API server sends to a webhook (rules.go, namespace/matcher.go, webhook.go)', () => {
  const spec = (over: Partial<InterceptSpec> = {}): InterceptSpec => ({
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE', 'DELETE'], resources: ['secrets'], scope: 'Namespaced' }],
    matchPolicy: 'Equivalent',
    namespaces: 'all',
    ...over,
  });

  it('a patch is an UPDATE, a delete a DELETE, a namespace finalize an UPDATE of namespaces/finalize in its own namespace', () => {
    assert.deepEqual(requestOf(patch(target({}))), {
      group: '',
      version: 'v1',
      resource: 'secrets',
      namespace: 'apps',
      subresource: '',
      operation: 'UPDATE',
    });
    const ns = target({ kind: 'Namespace', name: 'gone', namespace: undefined, resource: 'namespaces', namespaced: false });
    assert.deepEqual(requestOf({ type: 'finalize-namespace', target: ns, body: {} }), {
      group: '',
      version: 'v1',
      resource: 'namespaces',
      namespace: 'gone',
      subresource: 'finalize',
      operation: 'UPDATE',
    });
    const app = target({ apiVersion: 'core.oam.dev/v1beta1', resource: 'applications.core.oam.dev' });
    assert.deepEqual(requestOf({ type: 'delete', target: app, preconditions: { uid: 'u', resourceVersion: '1' } }), {
      group: 'core.oam.dev',
      version: 'v1beta1',
      resource: 'applications',
      namespace: 'apps',
      subresource: '',
      operation: 'DELETE',
    });
  });

  it('matches operation, group, version, resource with its subresource, and scope', () => {
    const req = requestOf(patch(target({})));
    assert.deepEqual(intercepts(spec(), req), { intercepted: 'yes' });
    assert.deepEqual(intercepts(spec(), requestOf(patch(target({}), 'status'))), { intercepted: 'no' }, 'secrets/status is not secrets');
    const all = spec({ rules: [{ apiGroups: ['*'], apiVersions: ['*'], operations: ['*'], resources: ['*/*'] }] });
    assert.deepEqual(intercepts(all, requestOf(patch(target({}), 'status'))), { intercepted: 'yes' });
    const cluster = spec({ rules: [{ ...spec().rules[0]!, scope: 'Cluster' }] });
    assert.deepEqual(intercepts(cluster, req), { intercepted: 'no' });
    const create = spec({ rules: [{ ...spec().rules[0]!, operations: ['CREATE'] }] });
    assert.deepEqual(intercepts(create, req), { intercepted: 'no' });
  });

  it('the namespaceSelector: selected, left out, unknown; never for cluster-scoped objects other than namespaces', () => {
    const req = requestOf(patch(target({})));
    assert.deepEqual(intercepts(spec({ namespaces: { only: ['apps'] } }), req), { intercepted: 'yes' });
    assert.deepEqual(intercepts(spec({ namespaces: { only: ['other'] } }), req), { intercepted: 'no' });
    assert.deepEqual(intercepts(spec({ namespaces: { allBut: ['apps'] } }), req), { intercepted: 'no' });
    assert.equal(intercepts(spec({ namespaces: { unknown: 'namespaces not read' } }), req).intercepted, 'maybe');
    const crd = target({
      apiVersion: 'apiextensions.k8s.io/v1',
      resource: 'customresourcedefinitions.apiextensions.k8s.io',
      namespaced: false,
      namespace: undefined,
    });
    const crds = spec({ rules: [{ apiGroups: ['*'], apiVersions: ['*'], operations: ['*'], resources: ['*'] }], namespaces: { only: [] } });
    assert.deepEqual(intercepts(crds, requestOf(patch(crd))), { intercepted: 'yes' });
  });

  it('objectSelector, matchConditions and an Equivalent version match are a maybe, with the reason', () => {
    const req = requestOf(patch(target({})));
    const selective = intercepts(spec({ objectSelector: { matchLabels: { a: 'b' } }, matchConditions: ['skip-system'] }), req);
    assert.deepEqual(selective, {
      intercepted: 'maybe',
      why: 'its objectSelector depends on the labels of the object; its matchConditions (skip-system) are not evaluated here',
    });
    const v2 = spec({ rules: [{ ...spec().rules[0]!, apiVersions: ['v2'] }] });
    assert.equal(intercepts(v2, req).intercepted, 'maybe');
    assert.equal(intercepts({ ...v2, matchPolicy: 'Exact' }, req).intercepted, 'no');
  });

  it('webhook configurations are never sent to webhooks: fixing one cannot deadlock', () => {
    const all = spec({ rules: [{ apiGroups: ['*'], apiVersions: ['*'], operations: ['*'], resources: ['*'] }] });
    const vwc = target({
      apiVersion: 'admissionregistration.k8s.io/v1',
      resource: 'validatingwebhookconfigurations.admissionregistration.k8s.io',
      namespaced: false,
      namespace: undefined,
    });
    assert.deepEqual(intercepts(all, requestOf(patch(vwc))), { intercepted: 'no' });
  });
});

describe('--fix and -o script warn about writes a dead webhook refuses', async () => {
  // Rancher's leftover webhooks refuse UPDATE/DELETE of Secrets; a stuck Helm release's plan deletes one in apps.
  const scan = await runScan(
    SnapshotSource.fromPaths(
      [
        join(FIXTURES, 'admission/webhook-backend-unavailable/broken-rancher-uninstalled.yaml'),
        join(FIXTURES, 'helm/release-stuck-pending/broken-pending-upgrade.yaml'),
      ],
      { complete: true },
    ),
    { rules: [helmRule, webhookRule], now: new Date('2026-11-22T12:00:00Z'), concurrency: 2 },
  );
  const helm = scan.findings.find((f) => f.rule === 'helm/release-stuck-pending')!;
  const warnings = interceptedWrites(scan.findings);

  it('names the step, the write, the webhook and the finding to fix first; none on the webhooks’ own plans', () => {
    assert.deepEqual(warnings.get(helm.fingerprint), [
      'step 3 (DELETE secrets apps/sh.helm.release.v1.web.v3) will be refused: webhook rancher.cattle.io.secrets of ValidatingWebhookConfiguration rancher.cattle.io intercepts it with failurePolicy Fail and its backend is down (Service cattle-system/rancher-webhook not found); fix that finding (admission/webhook-backend-unavailable) first',
    ]);
    assert.equal(warnings.size, 1, 'patching or deleting the configurations themselves is never intercepted');
  });

  it('the plan --fix shows ends with the warning, right before its question', () => {
    const text = renderPlan(helm, '[3/3]', 'destructive', { gates: true, warnings: warnings.get(helm.fingerprint) });
    assert.match(
      text.split('\n').at(-1)!,
      /^ {4}warning: step 3 \(DELETE secrets apps\/sh\.helm\.release\.v1\.web\.v3\) will be refused: webhook rancher\.cattle\.io\.secrets/,
    );
  });

  it('the script puts the dead webhooks first and the warning as a comment of the finding it concerns', () => {
    const script = renderScript(scan.findings, {
      allow: 'destructive',
      source: { type: 'snapshot', paths: ['/d'] },
      generatedAt: new Date(0),
      connection: { kubeconfig: [], flags: [], notes: [] },
    });
    assert.equal(spawnSync('bash', ['-n'], { input: script }).status, 0);
    const order = [...script.matchAll(/^# \[(\d)\] \w+ (\S+) (\S+)/gm)].map((m) => [m[1], m[2], m[3]]);
    assert.deepEqual(
      order.map((o) => o[1]),
      ['admission/webhook-backend-unavailable', 'admission/webhook-backend-unavailable', 'helm/release-stuck-pending'],
    );
    assert.match(
      script,
      /^# \[3\] error helm\/release-stuck-pending Secret apps\/sh\.helm\.release\.v1\.web\.v3\n(# .*\n)*# warning: step 3 \(DELETE secrets apps\/sh\.helm\.release\.v1\.web\.v3\) will be refused/m,
    );
    assert.deepEqual(
      webhooksFirst(scan.findings).map((f) => f.rule),
      order.map((o) => o[1]),
    );
  });
});
