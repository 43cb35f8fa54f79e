import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import rule from '../../../rules/core/apiservice-unavailable.ts';
import namespaceRule from '../../../rules/core/namespace-stuck-terminating.ts';
import { runScan } from '../../../src/engine/scan.ts';
import { SnapshotSource } from '../../../src/cluster/snapshot.ts';
import type { Finding } from '../../../src/engine/finding.ts';
import { evidenceAt, loadFixtures, onlyFinding, ruleTester, runRule } from '../../rule-tester.ts';
import { load, runObjects } from './deletion-helpers.ts';
import { relateFindings } from '../../../src/engine/related.ts';

const DIR = 'core/apiservice-unavailable';

ruleTester(rule, {
  valid: [
    {
      name: 'an available APIService, one unavailable for 2 minutes (held back), a local APIService',
      fixtures: [`${DIR}/healthy.yaml`],
    },
  ],
  invalid: [
    {
      name: 'metrics-server uninstalled, its APIService left: critical while a namespace is Terminating behind it',
      fixtures: [`${DIR}/broken-service-not-found.yaml`],
      findings: [{ reason: 'service-not-found', object: 'APIService/v1beta1.metrics.k8s.io', severity: 'critical' }],
    },
    {
      name: 'a cluster-gateway scaled to zero: no endpoints',
      fixtures: [`${DIR}/broken-no-endpoints.yaml`],
      findings: [{ reason: 'no-endpoints', object: 'APIService/v1alpha1.cluster.core.oam.dev', severity: 'error' }],
    },
    {
      name: 'a failing discovery check, a wrong port, a Service the aggregator could not read',
      fixtures: [`${DIR}/broken-other-reasons.yaml`],
      findings: [
        { reason: 'discovery-check-failed', object: 'APIService/v1beta1.custom.metrics.k8s.io', severity: 'error' },
        { reason: 'service-port', object: 'APIService/v1beta1.external.metrics.k8s.io', severity: 'error' },
        { reason: 'unavailable', object: 'APIService/v1beta1.example.io', severity: 'error' },
      ],
    },
    {
      name: '--min-age 0s reports the APIService unavailable for 2 minutes',
      fixtures: [`${DIR}/healthy.yaml`],
      minAgeMs: 0,
      findings: [{ reason: 'no-endpoints', object: 'APIService/v1beta1.custom.metrics.k8s.io', severity: 'error' }],
    },
  ],
});

function plan(f: Finding) {
  return f.remediation!.steps.map((s) => [s.action.type, s.risk, s.reversible, s.command]);
}

describe('core/apiservice-unavailable', () => {
  it('ServiceNotFound with the Helm release gone: proven uninstalled, so the delete is not gated', async () => {
    const f = onlyFinding((await runRule(rule, [`${DIR}/broken-service-not-found.yaml`])).findings);
    assert.equal(
      f.message,
      'APIService v1beta1.metrics.k8s.io has been unavailable for 4h: its Service kube-system/metrics-server does not exist, so discovery of metrics.k8s.io/v1beta1 fails for every client and no namespace can finish deleting; 1 namespace is Terminating behind it (old-team)',
    );
    assert.deepEqual(f.evidence, {
      name: 'v1beta1.metrics.k8s.io',
      groupVersion: 'metrics.k8s.io/v1beta1',
      status: 'False',
      reason: 'ServiceNotFound',
      message: 'service/metrics-server in "kube-system" is not present',
      since: '2026-11-22T08:00:00Z',
      service: 'kube-system/metrics-server',
      serviceExists: false,
      unavailableFor: { seconds: 14400, human: '4h' },
      threshold: { seconds: 600, human: '10m' },
      terminatingNamespaces: ['old-team'],
      installed: {
        helmRelease: { release: 'metrics-server', namespace: 'kube-system', installed: false },
        backendNamespace: { name: 'kube-system', exists: true },
      },
      provenUninstalled: 'the Helm release kube-system/metrics-server that created it has no revision left (uninstalled)',
    });
    assert.deepEqual(plan(f), [
      ['delete', 'destructive', true, 'kubectl delete apiservices.apiregistration.k8s.io v1beta1.metrics.k8s.io'],
    ]);
    assert.match(
      f.remediation!.steps[0]!.title,
      /^Delete the stale APIService v1beta1\.metrics\.k8s\.io: its Service kube-system\/metrics-server is gone and the Helm release/,
    );
    const del = f.remediation!.steps[0]!.action;
    assert.deepEqual(del.type === 'delete' && del.preconditions, { uid: 'uid-apiservice-metrics', resourceVersion: '88001' });
  });

  it('ServiceNotFound while its Helm release is still installed: not proven, so a person confirms first (a gate)', async () => {
    const objects = [
      ...loadFixtures(`${DIR}/broken-service-not-found.yaml`),
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 'sh.helm.release.v1.metrics-server.v3',
          namespace: 'kube-system',
          labels: { owner: 'helm', name: 'metrics-server', status: 'deployed', version: '3' },
        },
      },
    ];
    const f = onlyFinding((await runRule(rule, objects)).findings);
    assert.deepEqual(evidenceAt(f, 'installed', 'helmRelease'), { release: 'metrics-server', namespace: 'kube-system', installed: true });
    assert.equal(evidenceAt(f, 'provenUninstalled'), false);
    assert.deepEqual(
      plan(f).map((s) => s.slice(0, 2)),
      [
        ['manual', 'safe'],
        ['delete', 'destructive'],
      ],
    );
    assert.match(
      f.remediation!.steps[0]!.title,
      /^Make sure the provider of metrics\.k8s\.io\/v1beta1 was removed on purpose \(not proven/,
    );
  });

  it('a Service that exists is to be restored, never deleted; the backend is named', async () => {
    const f = onlyFinding((await runRule(rule, [`${DIR}/broken-no-endpoints.yaml`])).findings);
    assert.equal(
      f.message,
      'APIService v1alpha1.cluster.core.oam.dev has been unavailable for 1h: its Service vela-system/kubevela-cluster-gateway-service has no ready endpoints (MissingEndpoints), so discovery of cluster.core.oam.dev/v1alpha1 fails for every client and no namespace can finish deleting',
    );
    assert.equal(evidenceAt(f, 'serviceExists'), true);
    assert.deepEqual(evidenceAt(f, 'installed', 'helmRelease'), { release: 'kubevela', namespace: 'vela-system', installed: true });
    assert.deepEqual(plan(f), [
      [
        'manual',
        'safe',
        true,
        'kubectl get apiservice v1alpha1.cluster.core.oam.dev -o yaml && kubectl -n vela-system get service kubevela-cluster-gateway-service && kubectl -n vela-system get endpointslices -l kubernetes.io/service-name=kubevela-cluster-gateway-service',
      ],
    ]);
  });

  it('young: held back with what it is waiting for', async () => {
    const { findings, heldBack } = await runRule(rule, [`${DIR}/healthy.yaml`]);
    assert.deepEqual(findings, []);
    assert.deepEqual(
      heldBack.map((h) => [h.object.name, h.reason]),
      [['v1beta1.custom.metrics.k8s.io', 'Available False (MissingEndpoints) for 2m, reported after 10m']],
    );
  });

  it('-n: an APIService is in scope only in the namespace of its Service', async () => {
    const elsewhere = await runRule(rule, [`${DIR}/broken-no-endpoints.yaml`], { namespace: 'default' });
    assert.deepEqual(elsewhere.findings, []);
    const { findings } = await runRule(rule, [`${DIR}/broken-no-endpoints.yaml`], { namespace: 'vela-system' });
    assert.equal(evidenceAt(onlyFinding(findings), 'serviceExists'), true);
  });

  it('Services that cannot be read are unknown; the aggregator still says ServiceNotFound, and nothing is proven without the namespaces', async () => {
    const { result, findings } = await runObjects(rule, loadFixtures(`${DIR}/broken-service-not-found.yaml`), {
      refuse: { services: 'forbidden: list services', namespaces: 'forbidden: list namespaces', secrets: 'forbidden: list secrets' },
    });
    assert.equal(result.incomplete, true);
    const f = onlyFinding(findings);
    assert.equal(f.reason, 'service-not-found');
    assert.equal(f.severity, 'error', 'no namespace seen Terminating');
    assert.equal(evidenceAt(f, 'serviceExists'), 'unknown');
    assert.equal(evidenceAt(f, 'terminatingNamespaces'), 'unknown: forbidden: list namespaces');
    assert.deepEqual(evidenceAt(f, 'installed', 'helmRelease'), {
      release: 'metrics-server',
      namespace: 'kube-system',
      installed: 'unknown',
      note: 'Helm records could not be read: forbidden: list secrets',
    });
    assert.equal(f.remediation!.steps[0]!.action.type, 'manual', 'a gate: not proven');
  });

  it('leads the namespace stuck on its discovery failure, whose own plan is dropped; alone, the namespace keeps it', async () => {
    const objects = load('namespace-discovery.yaml');
    const scan = await runScan(new SnapshotSource(objects), {
      rules: [namespaceRule, rule],
      now: new Date('2026-11-22T12:00:00Z'),
      concurrency: 4,
    });
    // Findings are related as a report shows them (after suppression), not by runScan.
    const related = relateFindings(scan.findings, scan.refines);
    const api = related.find((f) => f.rule === 'core/apiservice-unavailable')!;
    const ns = related.filter((f) => f.rule === 'core/namespace-stuck-terminating');
    assert.deepEqual(
      ns.map((f) => f.object.name),
      ['monitoring', 'old-team'],
    );
    for (const f of ns) {
      assert.deepEqual(f.causedBy, [
        { apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', name: 'v1beta1.metrics.k8s.io', uid: 'uid-apiservice-metrics' },
      ]);
      assert.deepEqual(f.related, { ledBy: api.fingerprint });
      assert.equal(f.remediation, undefined);
    }
    assert.deepEqual(new Set(api.related?.seeAlso), new Set(ns.map((f) => f.fingerprint)));
    assert.equal(api.severity, 'critical');

    const alone = await runObjects(namespaceRule, objects);
    const monitoring = relateFindings(alone.findings, { 'core/namespace-stuck-terminating': [] }).find(
      (f) => f.object.name === 'monitoring',
    )!;
    assert.equal(monitoring.related, undefined);
    assert.ok(monitoring.remediation!.steps.some((s) => s.action.type === 'delete'));
  });
});
