import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Finding } from '../../src/engine/finding.ts';
import type { ActionTarget, RemediationStep } from '../../src/plan/actions.ts';
import { pinAction } from '../../src/fix/execute.ts';
import { kubectlCommand } from '../../src/fix/kubectl-command.ts';
import { renderScript } from '../../src/fix/script.ts';

const target: ActionTarget = {
  apiVersion: 'harvesterhci.io/v1beta1', kind: 'Addon', namespace: 'cattle-logging-system', name: "rancher-logging",
  uid: 'u-1', resource: 'addons.harvesterhci.io', namespaced: true, resourceVersion: '100',
};

function step(partial: Partial<RemediationStep> & Pick<RemediationStep, 'action'>): RemediationStep {
  const s = { title: 'a step', risk: 'safe' as const, reversible: true, ...partial };
  return { ...s, command: kubectlCommand(s.action) };
}

const finding: Finding = {
  rule: 'harvester/addon-stuck-enabling', severity: 'error', fingerprint: '0123456789abcdef', message: "it's stuck",
  object: { apiVersion: target.apiVersion, kind: target.kind, namespace: target.namespace!, name: target.name, uid: target.uid! },
  evidence: {},
  remediation: {
    summary: 's',
    steps: [
      step({ title: 'status to done', action: { type: 'json-patch', target, subresource: 'status', patch: [{ op: 'test', path: '/metadata/resourceVersion', value: '100' }, { op: 'test', path: '/status/status', value: 'AddonEnabling' }, { op: 'replace', path: '/status/status', value: 'AddonDeploySuccessful' }] } }),
      step({ title: 'annotate', action: { type: 'merge-patch', target, patch: { metadata: { annotations: { a: "it's" } } } } }),
      step({ title: 'look at it', action: { type: 'manual', instructions: 'kubectl get addons -A' } }),
      step({ title: 'delete it', risk: 'destructive', reversible: false, action: { type: 'delete', target, preconditions: { uid: 'u-1', resourceVersion: '100' } } }),
    ],
  },
};

test('pinAction sets or removes the resourceVersion precondition of each action type', () => {
  const patch = finding.remediation!.steps[0]!.action;
  assert.equal(patch.type, 'json-patch');
  const pinned = pinAction(patch, '555');
  assert.deepEqual(pinned.type === 'json-patch' && pinned.patch.filter((op) => op.path === '/metadata/resourceVersion'), [{ op: 'test', path: '/metadata/resourceVersion', value: '555' }]);
  const unpinned = pinAction(patch, undefined);
  assert.equal(unpinned.type === 'json-patch' && unpinned.patch.some((op) => op.path === '/metadata/resourceVersion'), false);
  assert.equal(unpinned.type === 'json-patch' && unpinned.patch.length, 2, 'value tests stay');
  const merge = pinAction(finding.remediation!.steps[1]!.action as Extract<RemediationStep['action'], { type: 'merge-patch' }>, '7');
  assert.deepEqual(merge.patch, { metadata: { annotations: { a: "it's" }, resourceVersion: '7' } });
});

test('-o script is valid bash, keeps preconditions, and comments out steps above --allow', () => {
  const script = renderScript([finding], { allow: 'safe', source: { type: 'live', context: 'prod', cluster: 'c', user: 'u', server: 'https://x' }, generatedAt: new Date(0), kubectlArgs: ['--context', 'prod'] });
  const check = spawnSync('bash', ['-n'], { input: script });
  assert.equal(check.status, 0, check.stderr.toString());
  assert.match(script, /^set -euo pipefail$/m);
  assert.match(script, /^kubectl\(\) \{ command kubectl --context prod "\$@"; \}$/m);
  // The first write to the object tests the scanned resourceVersion; the second (same object) tests only values.
  assert.match(script, /^kubectl patch addons\.harvesterhci\.io rancher-logging -n cattle-logging-system --subresource=status --type=json -p '\[\{"op":"test","path":"\/metadata\/resourceVersion","value":"100"\}/m);
  assert.match(script, /^kubectl patch addons\.harvesterhci\.io rancher-logging -n cattle-logging-system --type=merge -p '\{"metadata":\{"annotations":\{"a":"it'\\''s"\}\}\}'$/m);
  assert.match(script, /^#   kubectl get addons -A$/m);
  assert.match(script, /^#   skipped \(needs --allow=destructive\):$/m);
  assert.doesNotMatch(script, /^kubectl delete/m);
  const allowed = renderScript([finding], { allow: 'destructive', source: { type: 'snapshot', paths: ['/d'] }, generatedAt: new Date(0), kubectlArgs: [] });
  assert.equal(spawnSync('bash', ['-n'], { input: allowed }).status, 0);
  assert.match(allowed, /^\[ "\$\(kubectl get addons\.harvesterhci\.io rancher-logging -n cattle-logging-system -o jsonpath='\{\.metadata\.uid\}'\)" = u-1 \] \|\| \{/m);
  assert.match(allowed, /^kubectl delete addons\.harvesterhci\.io rancher-logging -n cattle-logging-system$/m);
});
