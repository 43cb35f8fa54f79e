// admission/webhook-backend-unavailable on a real API server: a webhook with failurePolicy Fail whose Service does
// not exist really refuses writes (the API server's own error), the doctor finds it, --fix warns that another plan's
// write would be refused, sets Ignore first, the same write then succeeds, and restore brings Fail back.
// The webhook only selects namespaces labelled for this test, so the other tests sharing the server are not touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rawRequest, adminKubeConfig, uniqueName } from '../harness/env.ts';
import { tempDir } from '../temp.ts';
import { create, createNamespace, doctor, namespaceCondition, parseReport, raw, writeTerminating } from './kube.ts';

const VWC_PATH = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';
const RULES = 'admission/webhook-backend-unavailable,helm/release-stuck-pending';

async function createConfigMap(ns: string, name: string) {
  return rawRequest(adminKubeConfig(), 'POST', `/api/v1/namespaces/${ns}/configmaps`, {
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } },
  });
}

/**
 * ValidatingWebhookConfiguration `vwc`: one webhook, failurePolicy Fail, calling Service `ns`/gone-webhook, which does
 * not exist, on `operations` of ConfigMaps in the namespaces labelled for `vwc` only.
 */
async function createDeadWebhook(vwc: string, ns: string, webhook: string, operations: string[]): Promise<void> {
  await raw('POST', VWC_PATH, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: vwc },
    webhooks: [
      {
        name: webhook,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        timeoutSeconds: 2,
        clientConfig: { service: { namespace: ns, name: 'gone-webhook', path: '/validate' } },
        namespaceSelector: { matchLabels: { 'e2e.kubectl-doctor.io/dead-webhook': vwc } },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations, resources: ['configmaps'] }],
      },
    ],
  });
}

test('a dead webhook with failurePolicy Fail blocks writes; --fix sets Ignore (warning about the write it would refuse) and restore brings Fail back', async () => {
  const ns = uniqueName('e2e-webhook');
  const vwc = uniqueName('e2e-dead-webhook');
  await create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'e2e.kubectl-doctor.io/dead-webhook': vwc } } });
  // A Helm release stored in ConfigMaps (HELM_DRIVER=configmap) left pending-upgrade: its plan deletes a ConfigMap
  // in this namespace, a write the webhook will refuse. Made before the webhook exists, as in real life.
  const record = (version: number, status: string) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `sh.helm.release.v1.web.v${version}`,
      namespace: ns,
      labels: { owner: 'helm', name: 'web', status, version: String(version) },
    },
    data: { release: 'H4sI' },
  });
  await create(record(1, 'deployed'));
  await create(record(2, 'pending-upgrade'));
  try {
    await createDeadWebhook(vwc, ns, 'deny.e2e.kubectl-doctor.io', ['CREATE', 'UPDATE', 'DELETE']);

    // The API server itself refuses the write, with the error users see.
    const blocked = await createConfigMap(ns, 'blocked');
    assert.equal(blocked.status, 500, blocked.body);
    assert.match(blocked.body, /failed calling webhook \\?"deny\.e2e\.kubectl-doctor\.io\\?"/);
    assert.match(blocked.body, /service \\?"gone-webhook\\?" not found/);

    // Young: held back without --min-age; reported with it.
    const young = parseReport(await doctor(['-n', ns, '--rules', RULES, '-o', 'json']));
    assert.equal(young.findings.filter((f) => f.object.name === vwc).length, 0);
    const report = parseReport(await doctor(['-n', ns, '--rules', RULES, '--min-age', '0s', '-o', 'json']));
    const finding = report.findings.find((f) => f.object.name === vwc);
    assert.ok(finding, JSON.stringify(report.findings.map((f) => f.object)));
    assert.equal((finding as { reason?: string }).reason, 'service-not-found');
    assert.equal(finding.severity, 'error');
    const [webhook] = finding.evidence.webhooks as { intercepts: { namespaces: unknown }; problem: string }[];
    assert.deepEqual(webhook!.intercepts.namespaces, { only: [ns] }, "the namespaceSelector evaluated over the live namespaces' labels");
    assert.equal(webhook!.problem, `Service ${ns}/gone-webhook not found`);
    assert.deepEqual(finding.evidence.installed, { backendNamespace: { name: ns, exists: true } });
    assert.deepEqual(
      finding.remediation!.steps.map((s) => [s.action.type, s.risk]),
      [
        ['manual', 'safe'],
        ['json-patch', 'disruptive'],
      ],
      'its owner is not proven uninstalled: no delete',
    );

    // -o script: the webhook's plan first, the refused write named in a comment.
    const script = await doctor(['-n', ns, '--rules', RULES, '--min-age', '0s', '-o', 'script', '--allow=disruptive']);
    assert.match(
      script.stdout,
      new RegExp(`^# \\[1\\] error admission/webhook-backend-unavailable ValidatingWebhookConfiguration ${vwc}$`, 'm'),
    );
    assert.match(
      script.stdout,
      new RegExp(
        `^# warning: step 3 \\(DELETE configmaps ${ns}/sh\\.helm\\.release\\.v1\\.web\\.v2\\) will be refused: webhook deny\\.e2e\\.kubectl-doctor\\.io`,
        'm',
      ),
    );

    // --fix with --yes: the webhook's plan runs first (Ignore is disruptive, within --allow). The Helm plan (its delete
    // needs --allow=destructive to be shown at all) starts with a gate --yes cannot confirm: it is shown, with the
    // warning, and not run.
    const backupDir = join(tempDir('webhook-backup'), 'run');
    const fixed = await doctor([
      '-n',
      ns,
      '--rules',
      RULES,
      '--min-age',
      '0s',
      '--fix',
      '--yes',
      '--allow=destructive',
      '--backup-dir',
      backupDir,
    ]);
    assert.match(fixed.stdout, /^\[1\/2\] ERROR {2}admission\/webhook-backend-unavailable/m, fixed.stdout);
    assert.match(
      fixed.stdout,
      new RegExp(
        `^ {4}warning: step 3 \\(DELETE configmaps ${ns}/sh\\.helm\\.release\\.v1\\.web\\.v2\\) will be refused: webhook deny\\.e2e\\.kubectl-doctor\\.io of ValidatingWebhookConfiguration ${vwc}`,
        'm',
      ),
      fixed.stdout,
    );
    assert.match(fixed.stdout, /Fix: 1 fixed, 1 not-attempted\./, fixed.stdout);
    const patched = await raw('GET', `${VWC_PATH}/${vwc}`);
    assert.equal((patched as unknown as { webhooks: { failurePolicy: string }[] }).webhooks[0]!.failurePolicy, 'Ignore');

    // The same write now goes through; the doctor is silent about the webhook.
    const passed = await createConfigMap(ns, 'passes');
    assert.equal(passed.status, 201, passed.body);
    const after = parseReport(await doctor(['-n', ns, '--rules', RULES, '--min-age', '0s', '-o', 'json']));
    assert.equal(after.findings.filter((f) => f.object.name === vwc).length, 0);

    // restore puts failurePolicy Fail back, and the API server refuses again.
    const restored = await doctor(['restore', backupDir, '--yes']);
    assert.equal(restored.code, 0, restored.stdout + restored.stderr);
    const back = await raw('GET', `${VWC_PATH}/${vwc}`);
    assert.equal((back as unknown as { webhooks: { failurePolicy: string }[] }).webhooks[0]!.failurePolicy, 'Fail');
    assert.equal((await createConfigMap(ns, 'blocked-again')).status, 500);
  } finally {
    // Never leave a Fail webhook on the shared server.
    await rawRequest(adminKubeConfig(), 'DELETE', `${VWC_PATH}/${vwc}`);
    await rawRequest(adminKubeConfig(), 'DELETE', `/api/v1/namespaces/${ns}`);
  }
});

test('a webhook with failurePolicy Ignore and one whose Service has ready endpoints are silent', async () => {
  const ns = uniqueName('e2e-webhook-ok');
  await createNamespace(ns);
  const vwc = uniqueName('e2e-ok-webhook');
  await create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'served', namespace: ns },
    spec: { ports: [{ name: 'https', port: 443 }] },
  });
  await create({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'served-1', namespace: ns, labels: { 'kubernetes.io/service-name': 'served' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.0.0.9'], conditions: { ready: true } }],
    ports: [{ name: 'https', port: 9443 }],
  });
  const hook = (name: string, service: string, failurePolicy: string) => ({
    name,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy,
    clientConfig: { service: { namespace: ns, name: service } },
    // Selects nothing on this server: silence must come from the rule, and no write of another test is affected.
    namespaceSelector: { matchLabels: { 'e2e.kubectl-doctor.io/never': 'true' } },
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }],
  });
  try {
    await raw('POST', VWC_PATH, {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: vwc },
      webhooks: [hook('ignore.e2e.kubectl-doctor.io', 'gone', 'Ignore'), hook('served.e2e.kubectl-doctor.io', 'served', 'Fail')],
    });
    const report = parseReport(await doctor(['--rules', 'admission/webhook-backend-unavailable', '--min-age', '0s', '-o', 'json']));
    assert.deepEqual(
      report.findings.filter((f) => f.object.name === vwc),
      [],
    );
    assert.equal(report.rules[0]!.status === 'error', false, JSON.stringify(report.rules));
  } finally {
    await rawRequest(adminKubeConfig(), 'DELETE', `${VWC_PATH}/${vwc}`);
  }
});

test('a namespace whose content deletion the dead webhook refuses: the namespace finding names it, and the webhook finding leads', async () => {
  const ns = uniqueName('e2e-webhook-ns');
  const vwc = uniqueName('e2e-dead-webhook');
  await create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'e2e.kubectl-doctor.io/dead-webhook': vwc } } });
  await create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'content', namespace: ns } });
  try {
    await createDeadWebhook(vwc, ns, 'deny-deletes.e2e.kubectl-doctor.io', ['DELETE']);
    // The namespace controller's delete of the content, as it would send it: the API server's own refusal.
    const refused = await rawRequest(adminKubeConfig(), 'DELETE', `/api/v1/namespaces/${ns}/configmaps`);
    assert.equal(refused.status, 500, refused.body);
    const error = (refused.json as { message: string }).message;
    assert.match(error, /failed calling webhook "deny-deletes\.e2e\.kubectl-doctor\.io"/);
    // No controller-manager runs here: the namespace stays Terminating, and its condition is written as the
    // namespace controller writes it (pkg/controller/namespace/deletion: "Failed to delete all resource types, ...").
    await raw('DELETE', `/api/v1/namespaces/${ns}`);
    await writeTerminating(ns, [
      namespaceCondition(
        'NamespaceDeletionContentFailure',
        'True',
        'ContentDeletionFailed',
        `Failed to delete all resource types, 1 remaining: ${error}`,
      ),
    ]);
    const report = parseReport(
      await doctor(['--rules', 'core/namespace-stuck-terminating,admission/webhook-backend-unavailable', '--min-age', '0s', '-o', 'json']),
    );
    type Related = { fingerprint: string; related?: { ledBy?: string; seeAlso?: string[] }; causedBy?: { kind: string; name: string }[] };
    const webhook = report.findings.find((f) => f.object.name === vwc) as (JsonFinding & Related) | undefined;
    const namespace = report.findings.find((f) => f.object.kind === 'Namespace' && f.object.name === ns) as
      (JsonFinding & Related) | undefined;
    assert.ok(webhook && namespace, JSON.stringify(report.findings.map((f) => f.object)));
    assert.equal(namespace.reason, 'content-delete-failed');
    assert.deepEqual(
      namespace.causedBy?.map((c) => `${c.kind}/${c.name}`),
      [`ValidatingWebhookConfiguration/${vwc}`],
    );
    assert.deepEqual(namespace.related, { ledBy: webhook.fingerprint });
    assert.ok(webhook.related?.seeAlso?.includes(namespace.fingerprint));
  } finally {
    await rawRequest(adminKubeConfig(), 'DELETE', `${VWC_PATH}/${vwc}`);
    // The namespace stays Terminating (no namespace controller here), as the other deletion tests leave theirs.
  }
});

type JsonFinding = ReturnType<typeof parseReport>['findings'][number];
