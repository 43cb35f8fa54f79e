import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import rule from '../../../rules/admission/webhook-backend-unavailable.ts';
import type { Finding } from '../../../src/engine/finding.ts';
import { evidenceAt, loadFixtures, onlyFinding, ruleTester, runRule } from '../../rule-tester.ts';
import { runObjects } from '../core/deletion-helpers.ts';

const DIR = 'admission/webhook-backend-unavailable';

ruleTester(rule, {
  valid: [
    {
      name: 'a backend with a ready endpoint, failurePolicy Ignore, a url webhook, an ExternalName Service, a configuration 2 minutes old',
      fixtures: [`${DIR}/healthy.yaml`],
    },
  ],
  invalid: [
    {
      name: "Rancher uninstalled: its validating configuration blocks namespaces (critical), its mutating one Rancher's clusters",
      fixtures: [`${DIR}/broken-rancher-uninstalled.yaml`],
      findings: [
        { reason: 'service-not-found', object: 'ValidatingWebhookConfiguration/rancher.cattle.io', severity: 'critical' },
        { reason: 'service-not-found', object: 'MutatingWebhookConfiguration/rancher.cattle.io', severity: 'error' },
      ],
    },
    {
      name: 'vela-core scaled to zero: no ready endpoint',
      fixtures: [`${DIR}/broken-no-endpoints.yaml`],
      findings: [
        { reason: 'no-ready-endpoints', object: 'ValidatingWebhookConfiguration/kubevela-vela-core-admission', severity: 'error' },
      ],
    },
    {
      name: 'a Service without the port the webhook calls',
      fixtures: [`${DIR}/broken-service-port.yaml`],
      findings: [{ reason: 'service-port-missing', object: 'ValidatingWebhookConfiguration/harvester-validator', severity: 'error' }],
    },
    {
      name: '--min-age 0s reports the configuration installed 2 minutes ago',
      fixtures: [`${DIR}/healthy.yaml`],
      minAgeMs: 0,
      findings: [{ reason: 'service-not-found', object: 'ValidatingWebhookConfiguration/just-installed', severity: 'error' }],
    },
  ],
});

function plan(f: Finding) {
  return f.remediation!.steps.map((s) => [s.action.type, s.risk, s.reversible, s.action.type === 'manual' ? (s.action.role ?? '') : '']);
}

function patchOf(f: Finding): unknown {
  const step = f.remediation!.steps.find((s) => s.action.type === 'json-patch')!;
  return step.action.type === 'json-patch' && step.action.patch;
}

describe('admission/webhook-backend-unavailable', () => {
  it('Rancher uninstalled: both webhooks to Ignore in one patch testing index and name, then delete (proven)', async () => {
    const { findings } = await runRule(rule, [`${DIR}/broken-rancher-uninstalled.yaml`]);
    const f = findings.find((x) => x.object.kind === 'ValidatingWebhookConfiguration')!;
    assert.equal(
      f.message,
      'ValidatingWebhookConfiguration rancher.cattle.io: 2 webhooks with failurePolicy Fail call Service cattle-system/rancher-webhook, which does not exist, so the API server refuses every write it intercepts (CREATE/UPDATE namespaces; UPDATE/DELETE secrets)',
    );
    assert.deepEqual(patchOf(f), [
      { op: 'test', path: '/webhooks/0/name', value: 'rancher.cattle.io.namespaces' },
      { op: 'test', path: '/webhooks/0/failurePolicy', value: 'Fail' },
      { op: 'replace', path: '/webhooks/0/failurePolicy', value: 'Ignore' },
      { op: 'test', path: '/webhooks/1/name', value: 'rancher.cattle.io.secrets' },
      { op: 'test', path: '/webhooks/1/failurePolicy', value: 'Fail' },
      { op: 'replace', path: '/webhooks/1/failurePolicy', value: 'Ignore' },
    ]);
    assert.deepEqual(plan(f), [
      ['manual', 'safe', true, 'alternative'],
      ['json-patch', 'disruptive', true, ''],
      ['delete', 'destructive', true, ''],
    ]);
    assert.equal(
      f.remediation!.steps[1]!.command,
      `kubectl patch validatingwebhookconfigurations.admissionregistration.k8s.io rancher.cattle.io --type=json -p '[{"op":"test","path":"/metadata/resourceVersion","value":"40011"},${JSON.stringify(patchOf(f)).slice(1)}'`,
    );
    assert.match(
      f.remediation!.steps[2]!.title,
      /^Delete ValidatingWebhookConfiguration rancher\.cattle\.io: the Helm release cattle-system\/rancher-webhook that created it has no revision left \(uninstalled\), and its backend's namespace cattle-system no longer exists/,
    );
    assert.deepEqual(evidenceAt(f, 'installed'), {
      helmRelease: { release: 'rancher-webhook', namespace: 'cattle-system', installed: false },
      backendNamespace: { name: 'cattle-system', exists: false },
    });
    assert.equal(evidenceAt(f, 'backend'), 'none: Service cattle-system/rancher-webhook does not exist');
    const webhooks = evidenceAt(f, 'webhooks') as { name: string; problem: string; intercepts: { namespaces: unknown } }[];
    assert.deepEqual(
      webhooks.map((w) => [w.name, w.problem, w.intercepts.namespaces]),
      [
        ['rancher.cattle.io.namespaces', 'Service cattle-system/rancher-webhook not found', { allBut: ['kube-system'] }],
        ['rancher.cattle.io.secrets', 'Service cattle-system/rancher-webhook not found', 'all'],
      ],
    );
  });

  it('a default failurePolicy (unset) is Fail: the patch adds Ignore; an installed owner means no delete; the backend Deployment is named', async () => {
    const f = onlyFinding((await runRule(rule, [`${DIR}/broken-no-endpoints.yaml`])).findings);
    assert.equal(
      f.message,
      'ValidatingWebhookConfiguration kubevela-vela-core-admission: webhook validating.core.oam.dev.v1beta1.applications with failurePolicy Fail calls Service vela-system/vela-core-webhook, which has no ready endpoint, so the API server refuses every write it intercepts (CREATE/UPDATE applications.core.oam.dev)',
    );
    assert.deepEqual(patchOf(f), [
      { op: 'test', path: '/webhooks/0/name', value: 'validating.core.oam.dev.v1beta1.applications' },
      { op: 'add', path: '/webhooks/0/failurePolicy', value: 'Ignore' },
    ]);
    assert.deepEqual(plan(f), [
      ['manual', 'safe', true, 'alternative'],
      ['json-patch', 'disruptive', true, ''],
    ]);
    const [webhook] = evidenceAt(f, 'webhooks') as Record<string, unknown>[];
    assert.deepEqual(webhook, {
      name: 'validating.core.oam.dev.v1beta1.applications',
      index: 0,
      failurePolicy: 'Fail (default)',
      service: 'vela-system/vela-core-webhook',
      port: 443,
      problem: 'Service vela-system/vela-core-webhook has no ready endpoint',
      endpointSlices: [{ name: 'vela-core-webhook-x7k2p', endpoints: 1, ready: 0 }],
      intercepts: {
        rules: [{ apiGroups: ['core.oam.dev'], apiVersions: ['v1beta1'], operations: ['CREATE', 'UPDATE'], resources: ['applications'] }],
        matchPolicy: 'Equivalent',
        namespaces: 'all',
      },
    });
    assert.deepEqual(evidenceAt(f, 'deadFor'), { seconds: 3600, human: '1h' }, 'since the slice last changed');
    assert.deepEqual(evidenceAt(f, 'backend'), [{ deployment: 'vela-system/kubevela-vela-core', replicas: 0, readyReplicas: 0 }]);
    assert.equal(evidenceAt(f, 'provenUninstalled'), false);
    assert.equal(
      f.remediation!.steps[0]!.command,
      'kubectl -n vela-system get service vela-core-webhook && kubectl -n vela-system get endpointslices -l kubernetes.io/service-name=vela-core-webhook && kubectl -n vela-system get deployments,pods',
    );
  });

  it('young: held back, saying for how long its backend has been dead', async () => {
    const { heldBack } = await runRule(rule, [`${DIR}/healthy.yaml`]);
    assert.deepEqual(
      heldBack.map((h) => [h.object.name, h.reason]),
      [['just-installed', '1 webhook(s) calling a dead backend for 2m, reported after 10m']],
    );
  });

  it('Services or EndpointSlices that cannot be read are unknown, not missing: silent, and the rule says it is partial', async () => {
    const refusals: Record<string, string>[] = [
      { services: 'forbidden: list services' },
      { 'endpointslices.discovery.k8s.io': 'forbidden: list endpointslices' },
    ];
    for (const refuse of refusals) {
      const objects = loadFixtures(`${DIR}/broken-no-endpoints.yaml`);
      const { result, findings } = await runObjects(rule, objects, { refuse });
      assert.deepEqual(findings, [], JSON.stringify(refuse));
      assert.equal(result.status, 'partial');
    }
  });

  it('-n still reads Services in every namespace: a webhook whose Service lives elsewhere is judged on it', async () => {
    const healthy = await runRule(rule, [`${DIR}/healthy.yaml`], { namespace: 'apps' });
    assert.deepEqual(healthy.findings, []);
    const broken = await runRule(rule, [`${DIR}/broken-no-endpoints.yaml`], { namespace: 'apps' });
    assert.equal(onlyFinding(broken.findings).reason, 'no-ready-endpoints');
  });

  it('a configuration where some webhooks still work is never deleted, even with its owner uninstalled', async () => {
    const objects = loadFixtures(`${DIR}/broken-rancher-uninstalled.yaml`, `${DIR}/healthy.yaml`).map((o) =>
      o.kind === 'ValidatingWebhookConfiguration' && o.metadata.name === 'rancher.cattle.io'
        ? {
            ...o,
            webhooks: [
              ...(o.webhooks as unknown[]),
              {
                name: 'rancher.cattle.io.still-served',
                failurePolicy: 'Fail',
                clientConfig: { service: { namespace: 'cert-manager', name: 'cert-manager-webhook' } },
                rules: [{ apiGroups: ['x.io'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['widgets'] }],
              },
            ],
          }
        : o,
    );
    const f = (await runRule(rule, objects)).findings.find((x) => x.object.kind === 'ValidatingWebhookConfiguration')!;
    assert.equal(evidenceAt(f, 'webhooksTotal'), 3);
    assert.deepEqual(
      plan(f).map((s) => s[0]),
      ['manual', 'json-patch'],
    );
  });

  it('cluster values reach commands quoted', async () => {
    const objects = loadFixtures(`${DIR}/broken-no-endpoints.yaml`).map((o) =>
      o.kind === 'Service'
        ? { ...o, metadata: { ...o.metadata, name: "svc';touch /tmp/pwn;'" } }
        : o.kind === 'ValidatingWebhookConfiguration'
          ? {
              ...o,
              webhooks: (o.webhooks as { clientConfig: { service: object } }[]).map((w) => ({
                ...w,
                clientConfig: { service: { ...w.clientConfig.service, name: "svc';touch /tmp/pwn;'" } },
              })),
            }
          : o,
    );
    const f = (await runRule(rule, objects)).findings[0]!;
    assert.match(f.remediation!.steps[0]!.command, /get service 'svc'\\'';touch \/tmp\/pwn;'\\''' &&/);
  });
});
