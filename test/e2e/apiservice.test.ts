// core/apiservice-unavailable on a real API server. The harness registers APIService v1alpha1.cluster.core.oam.dev
// with a Service that has no endpoints; kube-aggregator itself marks it Available=False (EndpointsNotFound).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueName } from '../harness/env.ts';
import { createNamespace, doctor, namespaceCondition, parseReport, raw, remove, writeTerminating } from './kube.ts';

const API = 'v1alpha1.cluster.core.oam.dev';
const RULE = 'core/apiservice-unavailable';

async function available(): Promise<{ status: string; reason: string; lastTransitionTime: string }> {
  const api = (await raw('GET', `/apis/apiregistration.k8s.io/v1/apiservices/${API}`)) as unknown as {
    status: { conditions: { type: string; status: string; reason: string; lastTransitionTime: string }[] };
  };
  return api.status.conditions.find((c) => c.type === 'Available')!;
}

test('the harness APIService is reported once unavailable past the threshold: restore its backend, never delete; local APIServices are silent', async () => {
  const condition = await available();
  assert.equal(condition.status, 'False');
  assert.equal(condition.reason, 'EndpointsNotFound');
  // A minute after it went unavailable: held back (a restarting backend); 20 minutes after: reported.
  const at = (minutes: number) => new Date(Date.parse(condition.lastTransitionTime) + minutes * 60_000).toISOString();
  const young = parseReport(await doctor(['--rules', RULE, '--now', at(1), '-o', 'json']));
  assert.deepEqual(young.findings, []);
  const report = parseReport(await doctor(['--rules', RULE, '--now', at(20), '-o', 'json']));
  const apis = (await raw('GET', '/apis/apiregistration.k8s.io/v1/apiservices')) as unknown as {
    items: { metadata: { name: string }; spec: { service?: unknown } }[];
  };
  const aggregated = apis.items.filter((a) => a.spec.service).map((a) => a.metadata.name);
  assert.ok(apis.items.length > aggregated.length + 10, 'the server has many local APIServices');
  for (const f of report.findings) assert.ok(aggregated.includes(f.object.name), `${f.object.name} is aggregated`);
  const f = report.findings.find((x) => x.object.name === API);
  assert.ok(f, JSON.stringify(report.findings.map((x) => x.object.name)));
  assert.equal((f as { reason?: string }).reason, 'no-endpoints');
  assert.match(
    f.message,
    /^APIService v1alpha1\.cluster\.core\.oam\.dev has been unavailable for 20m: its Service vela-system\/kubevela-cluster-gateway-service has no ready endpoints \(EndpointsNotFound\)/,
  );
  assert.equal(f.evidence.serviceExists, true);
  assert.deepEqual(
    f.remediation!.steps.map((s) => s.action.type),
    ['manual'],
  );
});

test('a namespace stuck on its discovery failure is led by the APIService finding, which carries the one plan', async () => {
  const ns = uniqueName('e2e-apisvc');
  await createNamespace(ns);
  await remove({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await writeTerminating(ns, [
    namespaceCondition(
      'NamespaceDeletionDiscoveryFailure',
      'True',
      'DiscoveryFailed',
      `Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: cluster.core.oam.dev/v1alpha1: stale GroupVersion discovery: cluster.core.oam.dev/v1alpha1`,
    ),
  ]);
  const rules = `${RULE},core/namespace-stuck-terminating`;
  // Not -n: the APIService is cluster-scoped and its Service lives elsewhere (under -n the namespace keeps the plan).
  const report = parseReport(await doctor(['--rules', rules, '--min-age', '0s', '-o', 'json']));
  const api = report.findings.find((f) => f.rule === RULE && f.object.name === API) as
    (JsonFinding & { fingerprint: string; related?: { seeAlso?: string[] } }) | undefined;
  const stuck = report.findings.find((f) => f.rule === 'core/namespace-stuck-terminating' && f.object.name === ns) as
    (JsonFinding & { fingerprint: string; related?: { ledBy?: string }; causedBy?: { name: string }[] }) | undefined;
  assert.ok(api && stuck, JSON.stringify(report.findings.map((f) => [f.rule, f.object.name])));
  assert.equal(api.severity, 'critical', 'a namespace is Terminating behind it');
  assert.deepEqual(stuck.related, { ledBy: api.fingerprint });
  assert.deepEqual(
    stuck.causedBy?.map((c) => c.name),
    [API],
  );
  assert.equal(stuck.remediation, undefined);
  assert.ok(api.related?.seeAlso?.includes(stuck.fingerprint));
  const limited = parseReport(await doctor(['-n', ns, '--rules', rules, '--min-age', '0s', '-o', 'json']));
  const alone = limited.findings.find((f) => f.object.name === ns) as (JsonFinding & { related?: unknown }) | undefined;
  assert.ok(alone && alone.related === undefined && alone.remediation!.steps.length > 0, 'under -n the namespace keeps its own plan');
  const table = await doctor(['--rules', rules, '--min-age', '0s']);
  assert.match(table.stdout.replace(/\s+/g, ' '), /\(same cause as core\/apiservice-unavailable: its plan applies\)/);
});

type JsonFinding = ReturnType<typeof parseReport>['findings'][number];
