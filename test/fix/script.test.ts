import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Finding } from '../../src/engine/finding.ts';
import type { ActionTarget, RemediationStep } from '../../src/plan/actions.ts';
import { pinAction } from '../../src/plan/pin.ts';
import { kubectlCommand } from '../../src/plan/command.ts';
import { renderScript } from '../../src/fix/script.ts';

const target: ActionTarget = {
  apiVersion: 'harvesterhci.io/v1beta1',
  kind: 'Addon',
  namespace: 'cattle-logging-system',
  name: 'rancher-logging',
  uid: 'u-1',
  resource: 'addons.harvesterhci.io',
  namespaced: true,
  resourceVersion: '100',
};

function step(partial: Partial<RemediationStep> & Pick<RemediationStep, 'action'>): RemediationStep {
  const s = { title: 'a step', risk: 'safe' as const, reversible: true, ...partial };
  return { ...s, command: kubectlCommand(s.action) };
}

const finding: Finding = {
  rule: 'harvester/addon-stuck-enabling',
  severity: 'error',
  reason: 'found',
  fingerprint: '0123456789abcdef',
  message: "it's stuck",
  object: { apiVersion: target.apiVersion, kind: target.kind, namespace: target.namespace!, name: target.name, uid: target.uid! },
  evidence: {},
  remediation: {
    summary: 's',
    steps: [
      step({
        title: 'status to done',
        action: {
          type: 'json-patch',
          target,
          subresource: 'status',
          patch: [
            { op: 'test', path: '/metadata/resourceVersion', value: '100' },
            { op: 'test', path: '/status/status', value: 'AddonEnabling' },
            { op: 'replace', path: '/status/status', value: 'AddonDeploySuccessful' },
          ],
        },
      }),
      step({ title: 'annotate', action: { type: 'merge-patch', target, patch: { metadata: { annotations: { a: "it's" } } } } }),
      step({ title: 'look at it', action: { type: 'manual', instructions: 'kubectl get addons -A' } }),
      step({
        title: 'delete it',
        risk: 'destructive',
        reversible: false,
        action: { type: 'delete', target, preconditions: { uid: 'u-1', resourceVersion: '100' } },
      }),
    ],
  },
};

test('pinAction sets or removes the resourceVersion precondition of each action type', () => {
  const patch = finding.remediation!.steps[0]!.action;
  assert.equal(patch.type, 'json-patch');
  const pinned = pinAction(patch, '555');
  assert.deepEqual(pinned.type === 'json-patch' && pinned.patch.filter((op) => op.path === '/metadata/resourceVersion'), [
    { op: 'test', path: '/metadata/resourceVersion', value: '555' },
  ]);
  const unpinned = pinAction(patch, undefined);
  assert.equal(unpinned.type === 'json-patch' && unpinned.patch.some((op) => op.path === '/metadata/resourceVersion'), false);
  assert.equal(unpinned.type === 'json-patch' && unpinned.patch.length, 2, 'value tests stay');
  const merge = pinAction(finding.remediation!.steps[1]!.action as Extract<RemediationStep['action'], { type: 'merge-patch' }>, '7');
  assert.deepEqual(merge.patch, { metadata: { annotations: { a: "it's" }, resourceVersion: '7' } });
});

const live = { type: 'live' as const, context: 'prod', cluster: 'c', user: 'u', server: 'https://x' };
const noConnection = { kubeconfig: [], flags: [], notes: [] };

test('-o script is valid bash, keeps preconditions, and comments out steps above --allow', () => {
  const script = renderScript([finding], {
    allow: 'safe',
    source: live,
    generatedAt: new Date(0),
    connection: { kubeconfig: [], flags: ['--context', 'prod'], notes: [] },
  });
  const check = spawnSync('bash', ['-n'], { input: script });
  assert.equal(check.status, 0, check.stderr.toString());
  assert.match(script, /^set -uo pipefail$/m);
  assert.match(script, /^kubectl\(\) \{ command kubectl --context prod "\$@"; \}$/m);
  // The first write to the object tests the scanned resourceVersion; the second (same object) tests only values.
  assert.match(
    script,
    /^  doctor_step 'step 1\/4: status to done'\n  kubectl patch addons\.harvesterhci\.io rancher-logging -n cattle-logging-system --subresource=status --type=json -p '\[\{"op":"test","path":"\/metadata\/resourceVersion","value":"100"\}.*' \$doctor_dry_run \|\| return 1$/m,
  );
  assert.match(
    script,
    /^  kubectl patch addons\.harvesterhci\.io rancher-logging -n cattle-logging-system --type=merge -p '\{"metadata":\{"annotations":\{"a":"it'\\''s"\}\}\}' \$doctor_dry_run \|\| return 1$/m,
  );
  assert.match(script, /^  # step 3\/4 \(by hand: this script does not do it\): look at it\n  #     kubectl get addons -A$/m);
  assert.match(script, /^  #   skipped \(needs --allow=destructive\):$/m);
  assert.doesNotMatch(script, /^\s*kubectl delete/m);
  assert.match(script, /^doctor_run 1 'Addon cattle-logging-system\/rancher-logging' doctor_finding_1$/m);
  const allowed = renderScript([finding], {
    allow: 'destructive',
    source: { type: 'snapshot', paths: ['/d'] },
    generatedAt: new Date(0),
    connection: noConnection,
  });
  assert.equal(spawnSync('bash', ['-n'], { input: allowed }).status, 0);
  assert.doesNotMatch(allowed, /^kubectl\(\)/m, 'nothing to pin for a snapshot');
  assert.match(
    allowed,
    /^  \[ "\$\(kubectl get addons\.harvesterhci\.io rancher-logging -n cattle-logging-system -o 'jsonpath=\{\.metadata\.uid\}'\)" = u-1 \] \|\| \{/m,
  );
  assert.match(
    allowed,
    /^  kubectl delete addons\.harvesterhci\.io rancher-logging -n cattle-logging-system \$doctor_dry_run \|\| return 1$/m,
  );
});

test('skipped steps name their own cause; manual steps after the stop are "then, by hand"; a plan with nothing to run is comments only', () => {
  const steps = finding.remediation!.steps;
  const plan = (...s: RemediationStep[]): Finding => ({ ...finding, remediation: { summary: 's', steps: s } });
  const safeAfter = step({ title: 'safe after', action: { type: 'merge-patch', target, patch: { b: 1 } } });
  const checkpoint = step({ title: 'wait', action: { type: 'checkpoint', instructions: 'wait 5m' } });
  const script = renderScript([plan(steps[3]!, safeAfter, steps[2]!), plan(checkpoint, steps[3]!, safeAfter, steps[2]!)], {
    allow: 'safe',
    source: live,
    generatedAt: new Date(0),
    connection: noConnection,
  });
  assert.equal(spawnSync('bash', ['-n'], { input: script }).status, 0);
  const [first, second] = script.split(/\n(?=# \[\d\])/).slice(1);
  assert.match(first!, /^# step 1\/3 \(destructive, one-way\): delete it\n#   skipped \(needs --allow=destructive\):$/m);
  assert.match(first!, /^# step 2\/3 \(safe, reversible\): safe after\n#   skipped \(after step 1, which needs --allow=destructive\):$/m);
  assert.match(first!, /^# step 3\/3 \(then, by hand, after step 1, which needs --allow=destructive\): look at it$/m);
  assert.doesNotMatch(first!, /doctor_run|^\s*kubectl /m, 'nothing to run: no unit');
  assert.match(second!, /^# step 1\/4 \(checkpoint: this finding stops here\): wait\n#     wait 5m$/m);
  assert.match(second!, /^#   skipped \(needs --allow=destructive; after the checkpoint at step 1\):$/m);
  assert.match(second!, /^#   skipped \(after the checkpoint at step 1\):$/m);
  assert.match(second!, /^# step 4\/4 \(then, by hand, after the checkpoint at step 1\): look at it$/m);
});

test('the kubeconfig the scan read is pinned: one file as --kubeconfig, a KUBECONFIG list as KUBECONFIG', () => {
  const render = (kubeconfig: string[], notes: string[] = []) =>
    renderScript([finding], {
      allow: 'safe',
      source: live,
      generatedAt: new Date(0),
      connection: { kubeconfig, flags: ['--context', 'prod'], notes },
    });
  assert.match(
    render(["/home/a b/it's"]),
    /^kubectl\(\) \{ command kubectl --kubeconfig '\/home\/a b\/it'\\''s' --context prod "\$@"; \}$/m,
  );
  assert.match(render(['/a', '/b']), /^kubectl\(\) \{ KUBECONFIG=\/a:\/b command kubectl --context prod "\$@"; \}$/m);
  assert.match(
    render(['/a'], ['The scan authenticated with --token, not written here']),
    /^# The scan authenticated with --token, not written here\nkubectl\(\)/m,
  );
});

test('DRY_RUN=server adds --dry-run=server to every write (dryRun=All for a raw finalize); another value is refused before any kubectl runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-dryrun-'));
  try {
    writeFileSync(
      join(dir, 'kubectl'),
      // Reads its stdin for `-f -` as kubectl does: a writer racing a reader that exits unread dies of SIGPIPE, and
      // the script's pipefail then fails the step (seen once under load).
      '#!/usr/bin/env bash\nprintf \'%s \' "$@" >> "$KUBECTL_LOG"; echo >> "$KUBECTL_LOG"\ncase " $* " in *" -f - "*) cat > /dev/null;; esac\nif [ "$1" = get ]; then printf u-1/100; fi\n',
    );
    chmodSync(join(dir, 'kubectl'), 0o755);
    const ns: ActionTarget = {
      apiVersion: 'v1',
      kind: 'Namespace',
      name: 'gone',
      uid: 'u-ns',
      resource: 'namespaces',
      namespaced: false,
      resourceVersion: '9',
    };
    const finalize = step({
      title: 'finalize',
      risk: 'destructive',
      action: { type: 'finalize-namespace', target: ns, body: { metadata: { name: 'gone' } } },
    });
    const script = renderScript(
      [{ ...finding, remediation: { summary: 's', steps: [finding.remediation!.steps[3]!, finding.remediation!.steps[0]!, finalize] } }],
      { allow: 'destructive', source: live, generatedAt: new Date(0), connection: noConnection },
    );
    writeFileSync(join(dir, 'fix.sh'), script);
    const run = (dryRun: string) => {
      writeFileSync(join(dir, 'log'), '');
      const r = spawnSync('bash', [join(dir, 'fix.sh')], {
        env: { PATH: `${dir}:${process.env.PATH}`, KUBECTL_LOG: join(dir, 'log'), DRY_RUN: dryRun },
        encoding: 'utf8',
      });
      return {
        ...r,
        log: readFileSync(join(dir, 'log'), 'utf8')
          .split('\n')
          .filter((l) => l !== ''),
      };
    };
    const dry = run('server');
    assert.equal(dry.status, 0, dry.stderr);
    assert.deepEqual(
      dry.log.map((l) => l.split(' ').slice(0, 2).join(' ')),
      ['get addons.harvesterhci.io', 'delete addons.harvesterhci.io', 'patch addons.harvesterhci.io', 'replace --raw'],
    );
    assert.match(dry.log[0]!, /jsonpath=\S+ $/, 'the precondition read is not a dry run');
    assert.match(dry.log[1]!, / --dry-run=server $/);
    assert.match(dry.log[2]!, / --dry-run=server $/);
    assert.equal(dry.log[3], 'replace --raw /api/v1/namespaces/gone/finalize?dryRun=All -f - ');
    assert.match(dry.stderr, /^==> \[1\] step 1\/3: delete it$/m);
    assert.match(dry.stderr, /^==> done: 1 findings \(server dry run: nothing was stored\)$/m);
    const real = run('');
    assert.equal(real.status, 0, real.stderr);
    assert.ok(
      real.log.every((l) => !l.includes('dry')),
      real.log.join('\n'),
    );
    const bad = run('client');
    assert.equal(bad.status, 2);
    assert.deepEqual(bad.log, []);
    assert.equal(
      bad.stderr,
      'error: DRY_RUN=client is not supported: use DRY_RUN=server to validate every write without storing it, or leave it unset\n',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('-o script: a step by hand before a write is confirmed before the write; the same write for two findings is made once', () => {
  const other = { ...target, name: 'gitrepo', kind: 'GitRepo', uid: 'u-2', resource: 'gitrepos.fleet.cattle.io', resourceVersion: '9' };
  const bump = step({ title: 'bump', action: { type: 'merge-patch', target: other, patch: { spec: { forceSyncGeneration: 2 } } } });
  const gated: Finding = {
    ...finding,
    fingerprint: '1111111111111111',
    remediation: {
      summary: 's',
      steps: [step({ title: 'check the target', action: { type: 'manual', instructions: 'kubectl get x' } }), bump],
    },
  };
  const second: Finding = {
    ...finding,
    fingerprint: '2222222222222222',
    object: { ...finding.object, name: 'second' },
    remediation: { summary: 's', steps: [bump] },
  };
  const script = renderScript([gated, second], { allow: 'safe', source: live, generatedAt: new Date(0), connection: noConnection });
  assert.match(
    script,
    /# step 1\/2 \(by hand, before the next steps: asked to confirm\): check the target\n  # +kubectl get x\n  doctor_confirm 'step 1\/2: check the target' \|\| return 1\n/,
  );
  assert.match(script, /# step 1\/1 \(safe\): bump: the same write as \[1\] step 2\/2, made once/);
  assert.equal(script.match(/kubectl patch gitrepos/g)?.length, 1, 'one write');

  const work = mkdtempSync(join(tmpdir(), 'doctor-gate-'));
  try {
    writeFileSync(join(work, 'kubectl'), '#!/bin/sh\necho "$*" >> "$KUBECTL_LOG"\n');
    chmodSync(join(work, 'kubectl'), 0o755);
    writeFileSync(join(work, 'fix.sh'), script);
    const run = (env: Record<string, string>) => {
      writeFileSync(join(work, 'log'), '');
      const r = spawnSync('bash', [join(work, 'fix.sh')], {
        env: { PATH: `${work}:${process.env.PATH}`, KUBECTL_LOG: join(work, 'log'), ...env },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return { ...r, log: readFileSync(join(work, 'log'), 'utf8') };
    };
    const unconfirmed = run({});
    assert.equal(unconfirmed.status, 1);
    assert.match(unconfirmed.stderr, /not confirmed \(no terminal; set CONFIRM_MANUAL=yes once done\)/);
    assert.equal(unconfirmed.log, '', 'nothing written before the step by hand is confirmed');
    const confirmed = run({ CONFIRM_MANUAL: 'yes' });
    assert.equal(confirmed.status, 0, confirmed.stderr);
    assert.equal(confirmed.log.match(/patch gitrepos/g)?.length, 1);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
