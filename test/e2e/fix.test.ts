// --fix, --dry-run, -o script and restore against a real API server. The rule here is a test rule (a labelled
// ConfigMap with a safe, reversible relabel step and a destructive delete step), run through the real CLI code
// path in-process (main() with { rules }), so the executor's behaviour is tested apart from any product rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import { runScan } from '../../src/engine/scan.ts';
import { ApiClient } from '../../src/cluster/http.ts';
import { LiveSource } from '../../src/cluster/live.ts';
import { loadKubeConfig } from '../../src/cluster/kubeconfig.ts';
import { FixExecutor, requestOf } from '../../src/fix/execute.ts';
import { ObjectClient } from '../../src/fix/object-client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { e2e, kubectlDir, uniqueName } from '../harness/env.ts';
import { create, createNamespace, doctor, exists, read, raw, readAudit } from './kube.ts';
import { assertValidReport, runMain } from '../cli/run-cli.ts';
import { LABEL, labelled } from './labelled-rule.ts';
import { tempDir } from '../temp.ts';

async function brokenConfigMap(ns: string, name = 'cm'): Promise<KubeObject> {
  return create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns, labels: { [LABEL]: 'broken' } },
    data: { keep: 'me' },
  });
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const { kubeconfigPath, adminContext } = e2e();
  return runMain(['--kubeconfig', kubeconfigPath, '--context', adminContext, ...args], [labelled], {
    env: { HOME: tempDir('home'), ...env },
  });
}

const cm = (ns: string, name = 'cm') => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });

test('--fix --yes runs the safe step, backs up first (0600), stops before the destructive one, and restore puts it back', async () => {
  const ns = uniqueName('e2e-fix');
  await createNamespace(ns);
  const before = await brokenConfigMap(ns);
  const backupDir = join(tempDir('backup'), 'run');
  const r = await cli(['-n', ns, '--fix', '--yes', '--backup-dir', backupDir, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assertValidReport(report);
  assert.deepEqual(
    report.fix.results.map((x: { outcome: string; stopped: string }) => [x.outcome, x.stopped]),
    [['fixed', 'step 2 is destructive: pass --allow=destructive to run it']],
  );
  assert.deepEqual(
    report.fix.results[0].steps.map((s: { status: string }) => s.status),
    ['applied', 'not-run', 'not-run'],
  );

  const after = await read(cm(ns));
  assert.equal(after.metadata.labels?.[LABEL], 'fixed');
  assert.equal((after as { data?: Record<string, string> }).data?.keep, 'me');

  assert.equal(statSync(backupDir).mode & 0o777, 0o700);
  const files = readdirSync(backupDir).sort();
  assert.deepEqual(files.map((f) => f.replace(/^\d+-/, '')).sort(), ['audit.jsonl', `configmap-${ns}-cm.json`]);
  for (const f of files) assert.equal(statSync(join(backupDir, f)).mode & 0o777, 0o600, f);
  const saved = JSON.parse(
    readFileSync(
      join(
        backupDir,
        files.find((f) => f.endsWith('.json'))!,
      ),
      'utf8',
    ),
  ) as KubeObject;
  assert.equal(saved.metadata.labels?.[LABEL], 'broken', 'the backup is the object before the write');
  assert.equal(saved.metadata.resourceVersion, before.metadata.resourceVersion);
  const audit = readAudit(backupDir);
  // Write-ahead: the intent (with the backup's checksum) is logged before the request, the result after it.
  assert.deepEqual(
    audit.map((a) => [a.result, a.step, a.user, a.context, a.resourceVersionBefore]),
    [
      ['intent', 'relabel', 'admin', 'admin', before.metadata.resourceVersion],
      ['applied', 'relabel', 'admin', 'admin', before.metadata.resourceVersion],
    ],
  );
  assert.match(audit[0]!.backupSha256 ?? '', /^[0-9a-f]{64}$/);
  assert.equal(audit[0]!.backup, audit[1]!.backup);

  const restored = await cli(['restore', backupDir, '--yes']);
  assert.equal(restored.code, 0, restored.stdout + restored.stderr);
  assert.match(restored.stdout, new RegExp(`restored ConfigMap ${ns}/cm`));
  // It shows what it puts back before it does.
  assert.match(restored.stdout, /\/metadata\/labels\/e2e\.kubectl-doctor\.io\/state: "fixed" -> "broken"/);
  assert.equal((await read(cm(ns))).metadata.labels?.[LABEL], 'broken');

  // A second restore would overwrite a change made after the fix (the restore itself): it refuses.
  const again = await cli(['restore', backupDir, '--yes']);
  assert.equal(again.code, 4);
  assert.match(again.stdout, /refused .*changed after the fix/);
});

test('without --allow=destructive a destructive step never runs; with it, it does', async () => {
  const ns = uniqueName('e2e-allow');
  await createNamespace(ns);
  await brokenConfigMap(ns);
  const home = tempDir('home');
  for (const allow of ['safe', 'disruptive']) {
    await cli(['-n', ns, '--fix', '--yes', `--allow=${allow}`], { HOME: home });
    assert.ok(await exists(cm(ns)), `--allow=${allow} must not delete`);
    await raw(
      'PATCH',
      `/api/v1/namespaces/${ns}/configmaps/cm`,
      { metadata: { labels: { [LABEL]: 'broken' } } },
      'application/merge-patch+json',
    );
  }
  const r = await cli(['-n', ns, '--fix', '--yes', '--allow=destructive'], { HOME: home });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(await exists(cm(ns)), false);
  assert.ok(existsSync(join(home, '.kube', 'doctor', 'backups')), 'default backup dir under ~/.kube/doctor/backups');
});

test('--dry-run=server validates every write and persists nothing; --dry-run=client sends no write at all', async () => {
  const ns = uniqueName('e2e-dry');
  await createNamespace(ns);
  const before = await brokenConfigMap(ns);
  const backupDir = join(tempDir('dry'), 'run');

  const server = await cli(['-n', ns, '--fix', '--yes', '--allow=destructive', '--dry-run=server', '--backup-dir', backupDir, '-vv']);
  assert.equal(server.code, 0, server.stdout + server.stderr);
  assert.match(server.stderr, /PATCH \/api\/v1\/namespaces\/[^/]+\/configmaps\/cm\?dryRun=All&fieldManager=kubectl-doctor 200/);
  assert.match(server.stderr, /DELETE \/api\/v1\/namespaces\/[^/]+\/configmaps\/cm\?dryRun=All&fieldManager=kubectl-doctor 200/);
  const still = await read(cm(ns));
  assert.equal(still.metadata.resourceVersion, before.metadata.resourceVersion);
  assert.equal(existsSync(backupDir), false, 'a dry run writes no backups');

  const client = await cli(['-n', ns, '--fix', '--yes', '--allow=destructive', '--dry-run=client', '--backup-dir', backupDir, '-vv']);
  assert.equal(client.code, 0, client.stdout + client.stderr);
  assert.doesNotMatch(client.stderr, /doctor: (PATCH|PUT|POST|DELETE) /);
  assert.equal((await read(cm(ns))).metadata.resourceVersion, before.metadata.resourceVersion);
});

test('a change between scan and apply makes the step refuse, and the other change is kept', async () => {
  const ns = uniqueName('e2e-race');
  await createNamespace(ns);
  await brokenConfigMap(ns);
  const loaded = loadKubeConfig({ kubeconfig: e2e().kubeconfigPath, context: e2e().adminContext }, {});
  const client = new ApiClient(loaded.kubeConfig, loaded.server, { timeoutMs: 30_000 });
  try {
    const info = { type: 'live' as const, context: 'admin', cluster: 'test', user: 'admin', server: loaded.server };
    const scan = await runScan(new LiveSource(client, { info, chunkSize: 500, concurrency: 4 }), {
      rules: [labelled],
      now: new Date(),
      namespace: ns,
      concurrency: 4,
    });
    const finding = scan.findings[0]!;
    // Someone else changes the object after the scan.
    await raw(
      'PATCH',
      `/api/v1/namespaces/${ns}/configmaps/cm`,
      { data: { keep: 'changed by someone else' } },
      'application/merge-patch+json',
    );
    const objects = new ObjectClient(client);
    const fix = await new FixExecutor(objects, {
      allow: 'destructive',
      dryRun: 'none',
      backups: undefined,
      actor: { user: 'a', context: 'c', server: 's' },
      now: () => new Date(),
      gates: { manualDone: async () => true, destructive: async () => true },
    }).run(finding);
    assert.equal(fix.failed, true);
    assert.deepEqual(
      fix.steps.map((s) => s.status),
      ['refused', 'not-run', 'not-run'],
    );
    assert.match(fix.steps[0]!.message!, /changed since the scan \(resourceVersion \d+, now \d+\)/);
    const now = await read(cm(ns));
    assert.equal((now as { data?: Record<string, string> }).data?.keep, 'changed by someone else');
    assert.equal(now.metadata.labels?.[LABEL], 'broken');

    // The API server enforces the pinned precondition itself, should the object move between our read and write.
    const step = finding.remediation!.steps[0]!.action;
    assert.equal(step.type, 'json-patch');
    const scanned = step.type === 'json-patch' ? step.target.resourceVersion : undefined;
    const stale = { ...now, metadata: { ...now.metadata, resourceVersion: scanned } };
    const request = requestOf(step as never, stale);
    const res = await objects.write(request.method, request.path, request.body, { contentType: request.contentType!, dryRun: false });
    assert.ok(res.status === 409 || res.status === 422, `expected a conflict, got ${res.status} ${res.text}`);
    assert.equal((await read(cm(ns))).metadata.labels?.[LABEL], 'broken', 'nothing written');
    const del = requestOf(finding.remediation!.steps[1]!.action as never, stale);
    const delRes = await objects.write(del.method, del.path, del.body, { dryRun: false });
    assert.equal(delRes.status, 409, `delete with a stale resourceVersion precondition: ${delRes.text}`);
    assert.ok(await exists(cm(ns)));
  } finally {
    await client.close();
  }
});

test('-o script runs under bash -n, and executed against the server gives the same end state as --fix --yes', async (t) => {
  const path = [kubectlDir(), process.env.PATH].filter(Boolean).join(':');
  const kubectl = spawnSync('bash', ['-c', 'command -v kubectl'], { env: { PATH: path } })
    .stdout.toString()
    .trim();
  if (!kubectl) return t.skip('no kubectl to run the script with (external cluster and none on PATH)');
  const ns = uniqueName('e2e-script');
  await createNamespace(ns);
  await brokenConfigMap(ns, 'by-script');
  await brokenConfigMap(ns, 'by-fix');
  const script = await cli(['-n', ns, '-o', 'script', '--allow=destructive', '--rules', 'e2e/*']);
  assert.equal(script.code, 1);
  assert.equal(spawnSync('bash', ['-n'], { input: script.stdout }).status, 0);
  // Keep only the by-script finding's part, so the two halves are compared object for object.
  const text = script.stdout
    .split(/\n(?=# \[\d+\])/)
    .filter((part) => !part.includes('ConfigMap ' + ns + '/by-fix'))
    .join('\n');
  const run = spawnSync('bash', ['-c', text], { env: { ...process.env, PATH: path, KUBECONFIG: e2e().kubeconfigPath }, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const fix = await cli(['-n', ns, '--fix', '--yes', '--allow=destructive']);
  assert.equal(fix.code, 0, fix.stdout + fix.stderr);
  assert.equal(await exists(cm(ns, 'by-script')), false);
  assert.equal(await exists(cm(ns, 'by-fix')), false);
});

test('on a terminal --fix asks per finding: no leaves it, yes applies it; without a terminal and --yes nothing changes', async () => {
  const ns = uniqueName('e2e-ask');
  await createNamespace(ns);
  await brokenConfigMap(ns, 'a');
  await brokenConfigMap(ns, 'b');
  const { PassThrough } = await import('node:stream');
  const stdin = Object.assign(new PassThrough(), { isTTY: true });
  let out = '';
  const stdout = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
  stdout.on('data', (d) => {
    out += d;
  });
  stdin.write('n\ny\n');
  const { kubeconfigPath, adminContext } = e2e();
  const code = await main(
    ['--kubeconfig', kubeconfigPath, '--context', adminContext, '-n', ns, '--fix', '--backup-dir', join(tempDir('ask'), 'run')],
    {
      stdout,
      stderr: { write: () => undefined },
      env: { HOME: tempDir('home') },
      stdin,
    },
    { rules: [labelled] },
  );
  assert.equal(code, 1, 'a declined finding remains');
  assert.match(out, new RegExp(`Apply this plan to ConfigMap ${ns}/a\\? \\[y\\]es/\\[n\\]o/\\[a\\]ll/\\[q\\]uit`));
  assert.equal((await read(cm(ns, 'a'))).metadata.labels?.[LABEL], 'broken', 'declined');
  assert.equal((await read(cm(ns, 'b'))).metadata.labels?.[LABEL], 'fixed', 'accepted');

  const noTty = await cli(['-n', ns, '--fix']);
  assert.equal(noTty.code, 1);
  assert.match(noTty.stdout, /No changes made: there is no terminal to confirm on/);
  assert.equal((await read(cm(ns, 'a'))).metadata.labels?.[LABEL], 'broken');
});

test('a bare --dry-run means client, on --fix and on restore: no object changes (every resourceVersion compared)', async () => {
  const ns = uniqueName('e2e-bare');
  await createNamespace(ns);
  await brokenConfigMap(ns, 'a');
  await brokenConfigMap(ns, 'b');
  const versions = async () => {
    const list = (await raw('GET', `/api/v1/namespaces/${ns}/configmaps`)) as unknown as { items: KubeObject[] };
    const nsObj = await raw('GET', `/api/v1/namespaces/${ns}`);
    return [nsObj, ...list.items].map((o) => `${o.kind ?? 'ConfigMap'}/${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
  };
  const before = await versions();
  const backupDir = join(tempDir('bare'), 'run');
  const dry = await cli(['-n', ns, '--fix', '--yes', '--allow=destructive', '--backup-dir', backupDir, '--dry-run']);
  assert.equal(dry.code, 0, dry.stdout + dry.stderr);
  assert.match(dry.stderr, /--dry-run is deprecated and can be replaced with --dry-run=client/);
  assert.match(dry.stdout, /dry-run +relabel: client dry run: not sent/);
  assert.deepEqual(await versions(), before, 'a bare --dry-run writes nothing');
  assert.equal(existsSync(backupDir), false);

  // A real run, then a bare --dry-run restore: nothing is put back.
  const real = await cli(['-n', ns, '--fix', '--yes', '--backup-dir', backupDir]);
  assert.equal(real.code, 0, real.stdout + real.stderr);
  const fixed = await versions();
  assert.notDeepEqual(fixed, before);
  const restore = await cli(['restore', backupDir, '-y', '--dry-run']);
  assert.equal(restore.code, 0, restore.stdout + restore.stderr);
  assert.match(restore.stdout, /client dry run: not sent/);
  assert.deepEqual(await versions(), fixed, 'a bare --dry-run restore writes nothing');

  const unknown = await cli(['-n', ns, '--fix', '--yes', '--dry-run=maybe']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^error: invalid --dry-run "maybe": use none, server or client$/m);
});

test("the API server's warnings on --fix's writes are printed as kubectl prints them, once, and the write stands; on reads, with -v", async () => {
  // A ValidatingAdmissionPolicy that warns on every ConfigMap update in this namespace only (the binding's Warn
  // action), so no other test's writes see it.
  const ns = uniqueName('e2e-warn');
  await createNamespace(ns);
  await brokenConfigMap(ns);
  const policy = `${ns}-warns`;
  const message = 'doctor test: ConfigMaps here are audited';
  await raw('POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies', {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: policy },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['configmaps'] }] },
      validations: [{ expression: 'false', message }],
    },
  });
  await raw('POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings', {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: policy },
    spec: {
      policyName: policy,
      validationActions: ['Warn'],
      matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } },
    },
  });
  try {
    // The policy takes effect once the API server has seen it: a client's warning sink hears it on a dry-run write.
    const loaded = loadKubeConfig({ kubeconfig: e2e().kubeconfigPath, context: e2e().adminContext });
    const heard: string[] = [];
    const client = new ApiClient(loaded.kubeConfig, loaded.server, { timeoutMs: 30_000, warning: (t) => heard.push(t) });
    try {
      for (let tries = 0; heard.length === 0 && tries < 100; tries++) {
        const res = await client.request('PATCH', `/api/v1/namespaces/${ns}/configmaps/cm`, {
          query: { dryRun: 'All' },
          body: { metadata: { labels: { probe: 'x' } } },
          contentType: 'application/merge-patch+json',
        });
        assert.equal(res.status, 200, res.text);
        if (heard.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await client.close();
    }
    assert.match(heard[0] ?? '', new RegExp(`ValidatingAdmissionPolicy '${policy}' .*${message}`));

    const r = await cli(['-n', ns, '--fix', '--yes', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.split('\n').filter((line) => line.startsWith('Warning: '));
    assert.deepEqual(warnings, [`Warning: ${heard[0]}`], r.stderr);
    assert.equal(JSON.parse(r.stdout).fix.results[0].outcome, 'fixed');
    assert.equal((await read(cm(ns))).metadata.labels?.[LABEL], 'fixed');

    // A scan lists every type, v1 Endpoints too, which kube-apiserver warns is deprecated (since 1.33): on reads the
    // server's warnings are -v diagnostics, not lines on every scan.
    const scan = await doctor(['-n', ns, '--rules', 'core/stuck-deletion', '-o', 'json']);
    assert.doesNotMatch(scan.stderr, /^Warning: /m);
    const verbose = await doctor(['-n', ns, '--rules', 'core/stuck-deletion', '-o', 'json', '-v']);
    assert.match(
      verbose.stderr,
      new RegExp(`^doctor: the API server warns on GET /api/v1/namespaces/${ns}/endpoints: v1 Endpoints is deprecated`, 'm'),
    );
  } finally {
    await raw('DELETE', `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/${policy}`);
    await raw('DELETE', `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${policy}`);
  }
});
