import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotSource } from '../../src/cluster/snapshot.ts';
import { resourceName } from '../../src/cluster/resources.ts';
import type { ClusterSource, ListOutcome, ListRequest } from '../../src/cluster/source.ts';
import { readCluster, runScan } from '../../src/engine/scan.ts';
import { defineRule } from '../../src/engine/rule.ts';
import { buildReport, exitCodeOf } from '../../src/report/report.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { ruleReading } from '../rule-tester.ts';

const now = new Date('2026-11-22T12:00:00Z');

function obj(apiVersion: string, kind: string, name: string, namespace?: string, extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}), uid: `uid-${name}` }, ...extra };
}

const objects: KubeObject[] = [
  obj('v1', 'Namespace', 'a'),
  obj('v1', 'Namespace', 'b'),
  obj('v1', 'ConfigMap', 'cm1', 'a', { data: { k: 'v' } }),
  obj('v1', 'ConfigMap', 'cm2', 'b'),
  obj('v1', 'Secret', 's1', 'a', { data: { password: 'c2VjcmV0' } }),
  obj('example.com/v1', 'Widget', 'w1', 'a'),
];

/** A snapshot that answers some lists as the API server would refuse them, and counts the lists it serves. */
class ScriptedSource implements ClusterSource {
  readonly inner: SnapshotSource;
  readonly refuse: Map<string, Extract<ListOutcome, { ok: false }>>;
  readonly requests: ListRequest[] = [];
  constructor(refuse: Record<string, Extract<ListOutcome, { ok: false }>> = {}) {
    this.inner = new SnapshotSource(objects);
    this.refuse = new Map(Object.entries(refuse));
  }
  info() {
    return this.inner.info();
  }
  discover() {
    return this.inner.discover();
  }
  stats() {
    return { lists: this.requests.length };
  }
  async list(request: ListRequest): Promise<ListOutcome> {
    this.requests.push(request);
    return this.refuse.get(resourceName(request.type)) ?? this.inner.list(request);
  }
}

const countConfigMaps = defineRule({
  meta: {
    id: 'test/count-configmaps',
    summary: 'flags every configmap',
    severity: 'warning',
    ecosystem: 'test',
    fixable: false,
    reads: { configmaps: { resource: 'configmaps' } },
    reasons: { found: '{{message}}' },
    explain: { detects: '', why: '', evidence: '', remediation: [], references: [] },
  },
  check(ctx) {
    return ctx.list('configmaps').map((cm) =>
      ctx.finding(cm, {
        reason: 'found',
        data: { message: `configmap ${cm.metadata.name}` },
        evidence: { keys: Object.keys((cm.data as object) ?? {}) },
      }),
    );
  },
});

test('a rule whose API is not served is skipped with the resource named, and the scan stays complete', async () => {
  const rule = ruleReading('test/needs-addons', { addons: { resource: 'addons.harvesterhci.io' } });
  const scan = await runScan(new ScriptedSource(), { rules: [rule], now, concurrency: 2 });
  assert.deepEqual(
    scan.rules.map((r) => [r.id, r.status, r.reason, r.incomplete]),
    [['test/needs-addons', 'skipped', 'api not served: addons.harvesterhci.io', false]],
  );
  assert.equal(exitCodeOf(buildReport(scan, 'test'), 'warning'), 0);
});

test('a rule skipped for an API that is not served costs no list for its other reads; a dump still makes them', async () => {
  const rule = ruleReading('test/fleet-like', {
    secrets: { resource: 'secrets', metadataOnly: true },
    bundles: { resource: 'bundledeployments.fleet.cattle.io' },
    configmaps: { resource: 'configmaps', optional: true },
  });
  const source = new ScriptedSource();
  const scan = await runScan(source, { rules: [rule, countConfigMaps], now, concurrency: 2 });
  assert.deepEqual(
    scan.rules.map((r) => [r.id, r.status, r.reason]),
    [
      ['test/fleet-like', 'skipped', 'api not served: bundledeployments.fleet.cattle.io'],
      ['test/count-configmaps', 'fail', undefined],
    ],
  );
  assert.deepEqual(
    source.requests.map((r) => resourceName(r.type)),
    ['configmaps'],
  );
  const dumping = new ScriptedSource();
  await readCluster(dumping, { rules: [rule], concurrency: 2, everyObject: true });
  assert.deepEqual(dumping.requests.map((r) => resourceName(r.type)).sort(), ['configmaps', 'secrets']);
});

test('a forbidden list skips the rule with "forbidden: list <resource>" and makes the scan incomplete (exit 3)', async () => {
  const source = new ScriptedSource({ configmaps: { ok: false, failure: 'forbidden', reason: 'forbidden: list configmaps' } });
  const scan = await runScan(source, { rules: [countConfigMaps], now, concurrency: 2 });
  assert.equal(scan.rules[0]!.status, 'skipped');
  assert.equal(scan.rules[0]!.reason, 'forbidden: list configmaps');
  assert.equal(scan.rules[0]!.incomplete, true);
  const report = buildReport(scan, 'test');
  assert.equal(report.complete, false);
  assert.equal(exitCodeOf(report, 'warning'), 3);
});

test('findings at or above --fail-on exit 1, below it exit 0', async () => {
  const scan = await runScan(new ScriptedSource(), { rules: [countConfigMaps], now, concurrency: 2 });
  const report = buildReport(scan, 'test');
  assert.equal(report.findings.length, 2);
  assert.equal(exitCodeOf(report, 'warning'), 1);
  assert.equal(exitCodeOf(report, 'info'), 1);
  assert.equal(exitCodeOf(report, 'error'), 0);
  assert.equal(exitCodeOf(report, 'critical'), 0);
});

test('findings outrank incompleteness: exit 1 even when another rule was forbidden', async () => {
  const forbidden = ruleReading('test/secrets', { secrets: { resource: 'secrets', metadataOnly: true } });
  const source = new ScriptedSource({ secrets: { ok: false, failure: 'forbidden', reason: 'forbidden: list secrets' } });
  const report = buildReport(await runScan(source, { rules: [countConfigMaps, forbidden], now, concurrency: 2 }), 'test');
  assert.equal(exitCodeOf(report, 'warning'), 1);
  assert.equal(exitCodeOf(report, 'error'), 3);
  // The forbidden rule reports at most "error": with --fail-on critical its gap could hide nothing that gates.
  assert.equal(exitCodeOf(report, 'critical'), 0);
});

test('a rule that throws is reported as error with its message; the other rules still run', async () => {
  const broken = ruleReading('test/broken', { configmaps: { resource: 'configmaps' } }, () => {
    throw new TypeError('cannot read properties of undefined\n  at somewhere');
  });
  const scan = await runScan(new ScriptedSource(), { rules: [broken, countConfigMaps], now, concurrency: 2 });
  assert.deepEqual(
    scan.rules.map((r) => r.status),
    ['error', 'fail'],
  );
  assert.equal(scan.rules[0]!.reason, 'rule failed: cannot read properties of undefined');
  assert.equal(scan.findings.length, 2);
  assert.equal(exitCodeOf(buildReport(scan, 'test'), 'critical'), 3);
});

test('ctx.skip() reports the rule skipped with the reason, not incomplete', async () => {
  const rule = ruleReading('test/versioned', { configmaps: { resource: 'configmaps' } }, (ctx) =>
    ctx.skip('applies to Harvester < v1.5 only'),
  );
  const scan = await runScan(new ScriptedSource(), { rules: [rule], now, concurrency: 2 });
  assert.deepEqual(
    [scan.rules[0]!.status, scan.rules[0]!.reason, scan.rules[0]!.incomplete],
    ['skipped', 'applies to Harvester < v1.5 only', false],
  );
});

test('each distinct read is listed once, however many rules declare it; a metadata-only read rides on the full list', async () => {
  const metaReader = ruleReading('test/meta', { cms: { resource: 'configmaps', metadataOnly: true } }, (ctx) => {
    for (const cm of ctx.list('cms')) assert.equal(cm.data, undefined, 'metadata-only reads must not see data');
    return [];
  });
  const other = ruleReading('test/other', { cms: { resource: 'configmaps' }, ns: { resource: 'namespaces' } });
  const source = new ScriptedSource();
  await runScan(source, { rules: [countConfigMaps, metaReader, other], now, concurrency: 2 });
  assert.deepEqual(source.requests.map((r) => `${resourceName(r.type)}:${r.metadataOnly}`).sort(), [
    'configmaps:false',
    'namespaces:false',
  ]);
});

test('an optional read that is forbidden lets the rule run and say so; the scan is marked incomplete', async () => {
  let seen: unknown;
  const rule = ruleReading(
    'test/optional',
    { cms: { resource: 'configmaps' }, secrets: { resource: 'secrets', optional: true, metadataOnly: true } },
    (ctx) => {
      seen = ctx.optional('secrets');
      return [];
    },
  );
  const source = new ScriptedSource({ secrets: { ok: false, failure: 'forbidden', reason: 'forbidden: list secrets' } });
  const scan = await runScan(source, { rules: [rule], now, concurrency: 2 });
  assert.deepEqual(seen, { unavailable: 'forbidden: list secrets' });
  assert.equal(scan.rules[0]!.status, 'partial', 'nothing found in part of the data is not a pass');
  assert.equal(scan.rules[0]!.reason, 'without optional data: forbidden: list secrets');
  assert.equal(scan.rules[0]!.incomplete, true);
  const report = buildReport(scan, 'test');
  assert.deepEqual([report.summary.rules.pass, report.summary.rules.partial, report.complete], [0, 1, false]);
  assert.equal(exitCodeOf(report, 'warning'), 3);
});

test('an optional read of an API that is not served does not make the scan incomplete', async () => {
  const rule = ruleReading('test/optional-missing', { addons: { resource: 'addons.harvesterhci.io', optional: true } }, (ctx) => {
    assert.deepEqual(ctx.optional('addons'), { unavailable: 'api not served: addons.harvesterhci.io' });
    return [];
  });
  const scan = await runScan(new ScriptedSource(), { rules: [rule], now, concurrency: 2 });
  assert.deepEqual([scan.rules[0]!.status, scan.rules[0]!.incomplete], ['pass', false]);
});

test('a "*" read lists every listable type once and reports the types it could not list as gaps', async () => {
  let listedKinds: string[] = [];
  const rule = ruleReading('test/everything', { all: { resource: '*', metadataOnly: true } }, (ctx) => {
    const { listed } = ctx.everyType('all');
    listedKinds = listed
      .filter((l) => l.items.length > 0)
      .map((l) => l.type.kind)
      .sort();
    for (const l of listed) for (const item of l.items) assert.equal(item.data, undefined);
    return [];
  });
  const source = new ScriptedSource({ secrets: { ok: false, failure: 'forbidden', reason: 'forbidden: list secrets' } });
  const scan = await runScan(source, { rules: [rule], now, concurrency: 4 });
  assert.deepEqual(listedKinds, ['ConfigMap', 'Namespace', 'Widget']);
  assert.deepEqual(scan.rules[0]!.gaps, [{ resource: 'secrets', reason: 'forbidden: list secrets' }]);
  assert.equal(scan.rules[0]!.incomplete, true);
  const names = source.requests.map((r) => resourceName(r.type));
  assert.equal(names.length, new Set(names).size, 'no type listed twice');
});

test('-n limits namespaced reads to the namespace, but not reads that ask for all namespaces or cluster-scoped types', async () => {
  const seen: Record<string, string[]> = {};
  const rule = ruleReading(
    'test/scoped',
    {
      cms: { resource: 'configmaps' },
      allCms: { resource: 'configmaps', allNamespaces: true },
      bCms: { resource: 'configmaps', namespace: 'b' },
      ns: { resource: 'namespaces' },
    },
    (ctx) => {
      for (const key of ['cms', 'allCms', 'bCms', 'ns']) seen[key] = ctx.list(key).map((o) => o.metadata.name!);
      return [];
    },
  );
  await runScan(new ScriptedSource(), { rules: [rule], now, concurrency: 2, namespace: 'a' });
  assert.deepEqual(seen, { cms: ['cm1'], allCms: ['cm1', 'cm2'], bCms: ['cm2'], ns: ['a', 'b'] });
});

test('findings come out most severe first, then by rule and object', async () => {
  const mixed = ruleReading('test/mixed', { cms: { resource: 'configmaps' } }, (ctx) =>
    ctx
      .list('cms')
      .map((cm, i) => ctx.finding(cm, { reason: 'found', data: { message: 'm' }, severity: i === 0 ? 'info' : 'critical', evidence: {} })),
  );
  const scan = await runScan(new ScriptedSource(), { rules: [mixed], now, concurrency: 2 });
  assert.deepEqual(
    scan.findings.map((f) => [f.severity, f.object.name]),
    [
      ['critical', 'cm2'],
      ['info', 'cm1'],
    ],
  );
  assert.match(scan.findings[0]!.fingerprint, /^[0-9a-f]{16}$/);
});

test('remediation steps get the kubectl command derived from their action', async () => {
  const rule = ruleReading('test/fixable', { cms: { resource: 'configmaps' } }, (ctx) =>
    ctx
      .list('cms')
      .slice(0, 1)
      .map((cm) =>
        ctx.finding(cm, {
          reason: 'found',
          data: { message: 'm' },
          evidence: {},
          remediation: {
            summary: 's',
            steps: [
              {
                title: 'drop key',
                risk: 'safe',
                reversible: true,
                action: { type: 'json-patch', target: ctx.targetOf(cm), patch: [{ op: 'remove', path: '/data/k' }] },
              },
            ],
          },
        }),
      ),
  );
  const scan = await runScan(new ScriptedSource(), { rules: [rule], now, concurrency: 2 });
  assert.equal(
    scan.findings[0]!.remediation!.steps[0]!.command,
    `kubectl patch configmaps cm1 -n a --type=json -p '[{"op":"remove","path":"/data/k"}]'`,
  );
});

test('a "*" read counts group-versions discovery could not describe as gaps: their objects cannot be seen', async () => {
  const source = new ScriptedSource();
  const inner = await source.inner.discover();
  const { Discovery } = await import('../../src/cluster/source.ts');
  source.discover = async () =>
    new Discovery(
      [...inner.types],
      [{ groupVersion: 'metrics.k8s.io/v1beta1', reason: 'stale GroupVersion discovery: metrics.k8s.io/v1beta1' }],
    );
  const rule = ruleReading('test/everything', { all: { resource: '*', metadataOnly: true } });
  const scan = await runScan(source, { rules: [rule], now, concurrency: 2 });
  assert.deepEqual(scan.rules[0]!.gaps, [
    {
      resource: 'metrics.k8s.io/v1beta1',
      reason: 'api unavailable: metrics.k8s.io/v1beta1 (stale GroupVersion discovery: metrics.k8s.io/v1beta1)',
    },
  ]);
  assert.equal(scan.rules[0]!.incomplete, true);
});

test('label-selected and metadata-only reads ride on a full list of the same type, filtered and projected', async () => {
  const labelled: KubeObject[] = [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'fleet', namespace: 'a', labels: { app: 'fleet-controller' } },
      spec: { replicas: 1 },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'other', namespace: 'a', labels: { app: 'web' } },
      spec: { replicas: 2 },
    },
  ];
  const source = new ScriptedSource();
  const inner = new SnapshotSource(labelled);
  source.discover = () => inner.discover();
  source.list = async (request) => {
    source.requests.push(request);
    return inner.list(request);
  };
  const seen: Record<string, unknown> = {};
  const rule = ruleReading(
    'test/deploys',
    {
      all: { resource: 'deployments.apps' },
      fleet: { resource: 'deployments.apps', labelSelector: 'app=fleet-controller' },
      fleetMeta: { resource: 'deployments.apps', labelSelector: 'app=fleet-controller', metadataOnly: true },
      meta: { resource: 'deployments.apps', metadataOnly: true },
    },
    (ctx) => {
      for (const key of ['all', 'fleet', 'fleetMeta', 'meta'])
        seen[key] = ctx.list(key).map((o) => `${o.metadata.name}:${o.spec ? 'spec' : 'meta'}`);
      return [];
    },
  );
  await runScan(source, { rules: [rule], now, concurrency: 2 });
  assert.deepEqual(
    source.requests.map((r) => `${resourceName(r.type)}|${r.labelSelector ?? ''}|${r.metadataOnly}`),
    ['deployments.apps||false'],
  );
  assert.deepEqual(seen, {
    all: ['fleet:spec', 'other:spec'],
    fleet: ['fleet:spec'],
    fleetMeta: ['fleet:meta'],
    meta: ['fleet:meta', 'other:meta'],
  });
});

test('a rule may report more findings than a call takes arguments: all of them, in report order', async () => {
  const many = Array.from({ length: 130_000 }, (_, i) => obj('v1', 'ConfigMap', `cm-${String(i).padStart(6, '0')}`, `ns-${i % 3}`));
  const rule = ruleReading('demo/every-configmap', { cms: { resource: 'configmaps', metadataOnly: true } }, (ctx) =>
    ctx
      .list('cms')
      .reverse()
      .map((o, i) =>
        ctx.finding(o, { reason: 'found', data: { message: 'm' }, evidence: {}, severity: i % 2 === 0 ? 'warning' : 'error' }),
      ),
  );
  const scan = await runScan(new SnapshotSource(many), { rules: [rule], now, concurrency: 2 });
  assert.equal(scan.findings.length, 130_000);
  assert.equal(scan.rules[0]!.findings, 130_000);
  // Errors first, then by namespace and name.
  const key = (f: (typeof scan.findings)[number]) => `${f.severity} ${f.object.namespace}/${f.object.name}`;
  assert.deepEqual(scan.findings.slice(0, 2).map(key), ['error ns-0/cm-000000', 'error ns-0/cm-000006']);
  assert.deepEqual(scan.findings.slice(-2).map(key), ['warning ns-2/cm-129989', 'warning ns-2/cm-129995']);
});

test('targetOf finds the first served type of each group and kind among thousands of types', async () => {
  const crd = (group: string, plural: string, kind: string, scope = 'Namespaced') =>
    obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', `${plural}.${group}`, undefined, {
      spec: { group, scope, names: { plural, kind }, versions: [{ name: 'v1', served: true, storage: true }] },
    });
  const groups = Array.from({ length: 3000 }, (_, i) => `g${i}.example.com`);
  const crds = [
    ...groups.map((g, i) => crd(g, 'gadgets', 'Gadget', i % 2 === 0 ? 'Namespaced' : 'Cluster')),
    // A second type of the same group and kind: the first one found serves it.
    crd('g7.example.com', 'gadgets2', 'Gadget', 'Namespaced'),
  ];
  const targets: unknown[] = [];
  const rule = ruleReading('demo/targets', { crds: { resource: 'customresourcedefinitions.apiextensions.k8s.io' } }, (ctx) => {
    for (const g of groups) targets.push(ctx.targetOf(obj(`${g}/v1`, 'Gadget', 'x', 'ns')));
    targets.push(ctx.targetOf(obj('nowhere.example.com/v1', 'Thing', 'y')));
    return [];
  });
  await runScan(new SnapshotSource(crds), { rules: [rule], now, concurrency: 2 });
  assert.equal(targets.length, 3001);
  const shown = (t: unknown) => {
    const { resource, namespaced } = t as { resource: string; namespaced: boolean };
    return `${resource} ${namespaced}`;
  };
  assert.deepEqual(targets.slice(0, 4).map(shown), [
    'gadgets.g0.example.com true',
    'gadgets.g1.example.com false',
    'gadgets.g2.example.com true',
    'gadgets.g3.example.com false',
  ]);
  assert.equal(shown(targets[7]), 'gadgets.g7.example.com false');
  assert.equal(shown(targets[2999]), 'gadgets.g2999.example.com false');
  assert.equal(shown(targets[3000]), 'thing false', 'an unknown kind: its lower-cased kind, scoped as the object is');
});
