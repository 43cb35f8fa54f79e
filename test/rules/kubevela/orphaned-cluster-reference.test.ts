import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import rule from '../../../rules/kubevela/orphaned-cluster-reference.ts';
import { onlyFinding, runRule } from '../../rule-tester.ts';
import { readSnapshotFile, SnapshotSource } from '../../../src/cluster/snapshot.ts';
import { runScan } from '../../../src/engine/scan.ts';
import { resourceName } from '../../../src/cluster/resources.ts';
import type { ListOutcome, ListRequest } from '../../../src/cluster/source.ts';
import { FIXTURES } from '../../rule-tester.ts';
import type { Finding } from '../../../src/engine/finding.ts';
import type { KubeObject } from '../../../src/kube/object.ts';

const DIR = 'kubevela/orphaned-cluster-reference';
const base = [`${DIR}/crds.yaml`, `${DIR}/registry.yaml`];

function steps(f: Finding) {
  return f.remediation?.steps ?? [];
}

function objects(file: string): KubeObject[] {
  return readSnapshotFile(`${FIXTURES}/${DIR}/${file}`);
}

describe('kubevela/orphaned-cluster-reference', () => {
  it('reports the addon app of kubevela#6727 with every place vc2 appears, as an error', async () => {
    const { result, findings } = await runRule(rule, [...base, `${DIR}/broken-addon.yaml`]);
    assert.equal(result.status, 'fail');
    assert.equal(findings.length, 1);
    const f = findings[0]!;
    assert.equal(f.rule, 'kubevela/orphaned-cluster-reference');
    assert.equal(f.severity, 'error');
    assert.deepEqual(f.object, {
      apiVersion: 'core.oam.dev/v1beta1',
      kind: 'Application',
      namespace: 'vela-system',
      name: 'addon-fluxcd',
      uid: '6f1c2a3b-0000-4000-8000-00000000f1c0',
    });
    assert.equal(
      f.message,
      'Application vela-system/addon-fluxcd references unregistered cluster vc2 in topology policy deploy-fluxcd, addon args, status and 1 more (its next deploy or addon enable fails)',
    );
    const e = f.evidence as Record<string, any>;
    assert.deepEqual(e.orphanedClusters, ['vc2']);
    assert.deepEqual(e.knownClusters, ['local', 'vc1']);
    assert.equal(e.gatewayNamespace, 'vela-system');
    assert.equal(e.gatewayNamespaceFrom, 'APIService v1alpha1.cluster.core.oam.dev spec.service.namespace');
    assert.equal(e.managedClusters, 'not served');
    assert.deepEqual(e.references, [
      {
        cluster: 'vc2',
        kind: 'topology-policy',
        where: 'spec.policies[1].properties.clusters[1]',
        policy: 'deploy-fluxcd',
        clusters: ['vc1', 'vc2'],
      },
      {
        cluster: 'vc2',
        kind: 'addon-args',
        where: 'Secret vela-system/addon-secret-fluxcd data.addonParameterDataKey clusters',
        clusters: ['vc1', 'vc2'],
      },
      { cluster: 'vc2', where: 'status.appliedResources[].cluster', count: 2, kind: 'status' },
      { cluster: 'vc2', where: 'status.services[].cluster', count: 1, kind: 'status' },
      {
        cluster: 'vc2',
        where: 'ResourceTracker addon-fluxcd-vela-system spec.managedResources[].cluster',
        tracker: 'addon-fluxcd-vela-system',
        trackerType: 'root',
        compression: 'none',
        entries: 2,
        resources: ['v1/Namespace/flux-system', 'apiextensions.k8s.io/v1/CustomResourceDefinition/helmreleases.helm.toolkit.fluxcd.io'],
      },
    ]);
    assert.equal(e.addon.name, 'fluxcd');
    assert.equal(e.addon.argsSecret, 'vela-system/addon-secret-fluxcd');
    assert.equal(e.addon.argsSecretExists, true);
    assert.equal(e.addon.argsRead, true);
    assert.deepEqual(e.addon.argsClusters, ['vc1', 'vc2']);
    assert.equal(e.addon.otherArgs, 0);
    assert.deepEqual(e.failureMessages, [
      {
        where: 'status.workflow.steps[0] deploy-deploy-fluxcd',
        reason: 'Execute',
        message: 'failed to get cluster vc2: virtualclusters.cluster.core.oam.dev "vc2" not found',
      },
    ]);
    assert.equal(e.velaCore.version, '1.10.2');
    assert.equal(e.velaCore.image, 'oamdev/vela-core:v1.10.2');
    assert.deepEqual(e.age, { seconds: 27_313_200, human: '316d3h' });

    const s = steps(f);
    assert.deepEqual(
      s.map((x) => [x.action.type, x.risk, x.reversible]),
      [
        ['manual', 'safe', true],
        ['json-patch', 'safe', true],
        ['json-patch', 'safe', true],
        ['json-patch', 'safe', true],
        ['manual', 'disruptive', false],
      ],
    );
    assert.equal(s[0]!.command, 'vela addon enable fluxcd --version 2.3.0 --clusters vc1');
    assert.deepEqual(s[1]!.action, {
      type: 'json-patch',
      target: {
        apiVersion: 'core.oam.dev/v1beta1',
        kind: 'Application',
        namespace: 'vela-system',
        name: 'addon-fluxcd',
        uid: '6f1c2a3b-0000-4000-8000-00000000f1c0',
        resource: 'applications.core.oam.dev',
        namespaced: true,
        resourceVersion: '48210',
      },
      patch: [
        { op: 'test', path: '/spec/policies/1/properties/clusters', value: ['vc1', 'vc2'] },
        { op: 'replace', path: '/spec/policies/1/properties/clusters', value: ['vc1'] },
      ],
    });
    // The args hold nothing but the cluster list: a JSON patch pinned to the resourceVersion and the old value.
    assert.deepEqual(s[2]!.action.type === 'json-patch' && s[2]!.action.target, {
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: 'vela-system',
      name: 'addon-secret-fluxcd',
      resource: 'secrets',
      namespaced: true,
      resourceVersion: '48190',
    });
    assert.deepEqual(s[2]!.action.type === 'json-patch' && s[2]!.action.patch, [
      { op: 'test', path: '/data/addonParameterDataKey', value: 'eyJjbHVzdGVycyI6WyJ2YzEiLCJ2YzIiXX0=' },
      { op: 'replace', path: '/data/addonParameterDataKey', value: Buffer.from('{"clusters":["vc1"]}').toString('base64') },
    ]);
    assert.equal(s[3]!.action.type === 'json-patch' && s[3]!.action.target.name, 'addon-fluxcd-vela-system');
    assert.equal(s[3]!.action.type === 'json-patch' && s[3]!.action.target.namespaced, false);
    assert.deepEqual(s[3]!.action.type === 'json-patch' && s[3]!.action.patch, [
      { op: 'test', path: '/spec/managedResources/2/cluster', value: 'vc2' },
      { op: 'remove', path: '/spec/managedResources/2' },
      { op: 'test', path: '/spec/managedResources/0/cluster', value: 'vc2' },
      { op: 'remove', path: '/spec/managedResources/0' },
    ]);
    assert.match(s[4]!.title, /^Upgrade vela-core 1\.10\.2 .* v1\.10\.3 or later/);
  });

  it('never copies credentials into the finding; args data only when they are nothing but cluster names', async () => {
    const { findings } = await runRule(rule, [...base, `${DIR}/broken-addon.yaml`]);
    const text = JSON.stringify(findings);
    for (const value of ['RkFLRS1LRVktRk9SLVRFU1RT', 'RkFLRS1DRVJULUZPUi1URVNUUw==', 'aHR0cHM6Ly8xOTIuMC4yLjEwOjY0NDM=']) {
      assert.equal(text.includes(value), false, `finding holds Secret data ${value}`);
    }
    // {"clusters":["vc1","vc2"]} appears only in the args patch (its action and kubectl command), as the value it tests.
    const args = 'eyJjbHVzdGVycyI6WyJ2YzEiLCJ2YzIiXX0=';
    const f = findings[0]!;
    const inArgsStep = steps(f).filter((x) => JSON.stringify(x).includes(args));
    assert.deepEqual(
      inArgsStep.map((x) => x.action.type === 'json-patch' && x.action.target.name),
      ['addon-secret-fluxcd'],
    );
    assert.equal(
      JSON.stringify({ ...f, remediation: { ...f.remediation, steps: steps(f).filter((x) => !inArgsStep.includes(x)) } }).includes(args),
      false,
    );
  });

  it('args with other arguments (maybe credentials) are rewritten by kubectl | jq, and no argument value reaches the finding', async () => {
    const withToken = Buffer.from('{"clusters":["vc1","vc2"],"token":"s3cr3t-t0ken"}').toString('base64');
    const input = objects('broken-addon.yaml').map((o) =>
      o.kind === 'Secret' && o.metadata.name === 'addon-secret-fluxcd' ? { ...o, data: { addonParameterDataKey: withToken } } : o,
    );
    const { findings } = await runRule(rule, [...objects('crds.yaml'), ...objects('registry.yaml'), ...input]);
    assert.equal(findings.length, 1);
    const text = JSON.stringify(findings);
    assert.equal(text.includes(withToken), false);
    assert.equal(text.includes('s3cr3t'), false);
    const e = findings[0]!.evidence as Record<string, any>;
    assert.deepEqual([e.addon.argsRead, e.addon.argsClusters, e.addon.otherArgs], [true, ['vc1', 'vc2'], 1]);
    const s = steps(findings[0]!);
    assert.deepEqual(
      s.map((x) => x.action.type),
      ['manual', 'json-patch', 'manual', 'json-patch', 'manual'],
    );
    assert.match(
      s[2]!.command,
      /^kubectl get secret addon-secret-fluxcd -n vela-system -o json \| jq '.*\.clusters -= \["vc2"\].*' \| kubectl replace -f -$/,
    );
  });

  it('reports args that still name the gone cluster after the policy was fixed (vela addon upgrade merges them back)', async () => {
    const input = objects('broken-addon.yaml')
      .map((o) =>
        o.kind === 'Application'
          ? {
              ...o,
              spec: { ...(o.spec as object), policies: [{ type: 'topology', name: 'deploy-fluxcd', properties: { clusters: ['vc1'] } }] },
              status: {},
            }
          : o,
      )
      .filter((o) => o.kind !== 'ResourceTracker');
    const { findings } = await runRule(rule, [...objects('crds.yaml'), ...objects('registry.yaml'), ...input]);
    assert.equal(findings.length, 1);
    assert.equal(findings[0]!.severity, 'error');
    assert.equal(
      findings[0]!.message,
      'Application vela-system/addon-fluxcd references unregistered cluster vc2 in addon args (its next deploy or addon enable fails)',
    );
    assert.deepEqual(
      steps(findings[0]!).map((x) => x.action.type),
      ['manual', 'json-patch', 'manual'],
    );
    assert.equal(steps(findings[0]!)[0]!.command, 'vela addon enable fluxcd --version 2.3.0 --clusters vc1');
  });

  it('refuses to empty the args cluster list', async () => {
    const only = Buffer.from('{"clusters":["vc2"]}').toString('base64');
    const input = objects('broken-addon.yaml')
      .map((o) =>
        o.kind === 'Secret' && o.metadata.name === 'addon-secret-fluxcd'
          ? { ...o, data: { addonParameterDataKey: only } }
          : o.kind === 'Application'
            ? { ...o, spec: { ...(o.spec as object), policies: [] }, status: {} }
            : o,
      )
      .filter((o) => o.kind !== 'ResourceTracker');
    const { findings } = await runRule(rule, [...objects('crds.yaml'), ...objects('registry.yaml'), ...input]);
    const s = steps(findings[0]!);
    assert.deepEqual(
      s.map((x) => x.action.type),
      ['manual', 'manual'],
    );
    assert.match(s[0]!.title, /^Refused: removing cluster vc2 would leave the fluxcd addon args with no clusters/);
  });

  it('without access to vela-system Secrets, infers the args from the policy and says so', async () => {
    const result = await runScan(
      new ForbiddingSource([...objects('crds.yaml'), ...objects('registry.yaml'), ...objects('broken-addon.yaml')], [], ['vela-system']),
      {
        rules: [rule],
        now: new Date('2026-11-22T12:00:00Z'),
        concurrency: 2,
      },
    );
    assert.equal(result.rules[0]!.status, 'fail');
    const e = result.findings[0]!.evidence as Record<string, any>;
    assert.equal(e.addon.argsRead, false);
    assert.match(
      e.addon.note,
      /^cannot read Secrets in vela-system \(forbidden: list secrets in vela-system\); the addon's topology policy/,
    );
    assert.equal(steps(result.findings[0]!)[2]!.action.type, 'manual');
  });

  it('decodes a gzip-compressed ResourceTracker and re-compresses it without the orphaned entries (warning only)', async () => {
    const { findings } = await runRule(rule, [...base, `${DIR}/broken-compressed-tracker.yaml`]);
    assert.equal(findings.length, 1);
    const f = findings[0]!;
    assert.equal(f.severity, 'warning');
    assert.equal(f.object.name, 'web');
    assert.equal(f.message, 'Application team-a/web references unregistered cluster vc2 in ResourceTracker web-team-a (stale bookkeeping)');
    const ref = (f.evidence.references as Record<string, unknown>[])[0]!;
    assert.equal(ref.compression, 'gzip');
    assert.equal(ref.entries, 1);
    assert.deepEqual(ref.resources, ['apps/v1/Deployment/web/web']);
    const prune = steps(f)[0]!;
    assert.equal(prune.title, 'Prune the 1 ResourceTracker web-team-a entry for cluster vc2 (re-compressed with gzip)');
    assert.equal(prune.action.type, 'json-patch');
    if (prune.action.type !== 'json-patch') return;
    assert.equal(prune.action.target.resourceVersion, '9121');
    assert.equal(prune.action.patch[0]!.op, 'test');
    assert.equal(prune.action.patch[0]!.path, '/spec/compression/data');
    const replace = prune.action.patch[1]!;
    assert.equal(replace.op === 'replace' && replace.path, '/spec/compression/data');
    const kept = JSON.parse(gunzipSync(Buffer.from((replace as { value: string }).value, 'base64')).toString('utf8'));
    assert.deepEqual(
      kept.map((e: { cluster: string }) => e.cluster),
      ['vc1'],
    );
    assert.equal(kept[0].raw.kind, 'Deployment');
  });

  it('in a kubectl doctor dump, reads a compressed tracker from the entries the dump decoded, and plans no patch of data it never saw', async () => {
    const live = (await runRule(rule, [...base, `${DIR}/broken-compressed-tracker.yaml`])).findings[0]!;
    const { result, findings } = await runRule(rule, [...base, `${DIR}/dumped-compressed-tracker.yaml`]);
    assert.equal(findings.length, 1);
    const f = findings[0]!;
    assert.deepEqual([f.message, f.severity, f.evidence.references], [live.message, live.severity, live.evidence.references]);
    assert.equal(result.incomplete, false, 'every entry was read');
    const prune = steps(f)[0]!;
    assert.equal(
      prune.title,
      'Prune the 1 ResourceTracker web-team-a entry for cluster vc2 (compressed with gzip; its data is redacted in the dump, so the plan cannot rewrite it)',
    );
    assert.equal(prune.action.type, 'manual');
    assert.doesNotMatch(JSON.stringify(f), /\(redacted\)/);
  });

  it('in a kubectl doctor dump, a compressed tracker the dump could not decode is unknown: partial, never a pass', async () => {
    const { result, findings } = await runRule(rule, [...base, `${DIR}/dumped-undecodable-tracker.yaml`]);
    assert.deepEqual(findings, []);
    assert.equal(result.status, 'partial');
    assert.equal(result.incomplete, true);
    assert.match(
      result.reason!,
      /ResourceTracker web-team-a: spec\.compression\.data is unknown \(redacted in the dump, 12 bytes, not decodable when it was taken\)/,
    );
  });

  it('in a live scan too, a compressed tracker whose entries cannot be decoded is unknown: partial, never a pass', async () => {
    const { result, findings } = await runRule(rule, [...base, `${DIR}/broken-undecodable-tracker.yaml`]);
    assert.deepEqual(findings, []);
    assert.equal(result.status, 'partial');
    assert.equal(result.incomplete, true);
    assert.match(result.reason!, /ResourceTracker web-team-a: cannot decode gzip data: /);
    assert.match(result.reason!, /ResourceTracker gone-team-a: unknown compression type "lz4"/);
    // Limited to another namespace (-n), the trackers of team-a's applications are not the rule's to read.
    const elsewhere = await runRule(rule, [...base, `${DIR}/broken-undecodable-tracker.yaml`], { namespace: 'team-b' });
    assert.deepEqual([elsewhere.result.status, elsewhere.result.incomplete], ['pass', false]);
  });

  it('decodes zstd-compressed trackers (node:zlib zstd)', async () => {
    const entries = [{ cluster: 'vc9', apiVersion: 'v1', kind: 'ConfigMap', namespace: 'x', name: 'y' }];
    const rt: KubeObject = {
      apiVersion: 'core.oam.dev/v1beta1',
      kind: 'ResourceTracker',
      metadata: {
        name: 'gone-app-x',
        resourceVersion: '5',
        creationTimestamp: '2026-01-12T08:00:00Z',
        labels: { 'app.oam.dev/name': 'gone-app', 'app.oam.dev/namespace': 'x' },
      },
      spec: {
        type: 'root',
        compression: { type: 'zstd', data: zstdCompressSync(Buffer.from(JSON.stringify(entries))).toString('base64') },
      },
    };
    const { findings } = await runRule(rule, [...objects('crds.yaml'), ...objects('registry.yaml'), rt]);
    assert.equal(findings.length, 1);
    const f = findings[0]!;
    assert.equal(f.object.kind, 'ResourceTracker');
    assert.equal(f.severity, 'warning');
    assert.equal(f.message, 'ResourceTracker gone-app-x tracks resources on unregistered cluster vc9');
    assert.equal(f.evidence.application, 'x/gone-app (not found)');
    const prune = steps(f)[0]!;
    assert.ok(prune.action.type === 'json-patch');
    const value = (prune.action.patch[1] as { value: string }).value;
    assert.deepEqual(JSON.parse(zstdDecompressSync(Buffer.from(value, 'base64')).toString('utf8')), []);
  });

  it('refuses to empty a cluster list, rewrites inline policies, and flags step cluster properties', async () => {
    const { findings } = await runRule(rule, [...base, `${DIR}/broken-last-cluster.yaml`]);
    assert.equal(findings.length, 1);
    const f = findings[0]!;
    assert.equal(f.severity, 'error');
    assert.deepEqual(
      (f.evidence.references as { where: string }[]).map((r) => r.where),
      [
        'spec.policies[0].properties.clusters[0]',
        'spec.workflow.steps[0].properties.inlinePolicies[0].properties.clusters[1]',
        'spec.workflow.steps[1].subSteps[0].properties.cluster',
      ],
    );
    assert.equal((f.evidence.failureMessages as unknown[]).length, 1);
    const s = steps(f);
    assert.deepEqual(
      s.map((x) => x.action.type),
      ['json-patch', 'manual', 'manual', 'manual'],
    );
    assert.ok(s[0]!.action.type === 'json-patch');
    assert.deepEqual(s[0]!.action.patch, [
      { op: 'test', path: '/spec/workflow/steps/0/properties/inlinePolicies/0/properties/clusters', value: ['vc1', 'vc2'] },
      { op: 'replace', path: '/spec/workflow/steps/0/properties/inlinePolicies/0/properties/clusters', value: ['vc1'] },
    ]);
    assert.match(s[1]!.title, /^Refused: removing cluster vc2 would leave policy only-vc2 with no clusters/);
    assert.match(s[2]!.title, /spec\.workflow\.steps\[1\]\.subSteps\[0\]\.properties\.cluster \(vc2\)/);
    // no patch ever writes an empty list
    assert.equal(JSON.stringify(s).includes('"value":[]'), false);
  });

  it('flags env-binding placements and a top-level step cluster, with the failures of sub-step status and conditions', async () => {
    const { findings } = await runRule(rule, [...base, `${DIR}/broken-env-binding.yaml`]);
    const f = onlyFinding(findings);
    assert.equal(f.severity, 'error');
    assert.deepEqual(f.evidence.references, [
      { cluster: 'vc2', kind: 'env-binding', where: 'spec.policies[0].properties.envs[0].placement.clusterSelector.name' },
      { cluster: 'vc3', kind: 'step-cluster', where: 'spec.workflow.steps[0].properties.cluster' },
    ]);
    assert.deepEqual(f.evidence.failureMessages, [
      {
        where: 'status.workflow.steps[0].subSteps[0] apply-cm',
        reason: 'Execute',
        message: 'failed to get cluster vc3: no such cluster vc3',
      },
      { where: 'status.conditions[type=WorkflowFinished]', reason: 'Failed', message: 'cluster vc2 not exist' },
    ]);
    assert.deepEqual(
      steps(f).map((s) => s.title),
      [
        'Point spec.policies[0].properties.envs[0].placement.clusterSelector.name (vc2) at a registered cluster or remove that step',
        'Point spec.workflow.steps[0].properties.cluster (vc3) at a registered cluster or remove that step',
        'Upgrade vela-core 1.10.2 and the vela CLI to v1.10.3 or later, where vela cluster detach prunes ResourceTracker entries',
      ],
    );
  });

  it('resolves the gateway namespace through the APIService', async () => {
    const app: KubeObject = {
      apiVersion: 'core.oam.dev/v1beta1',
      kind: 'Application',
      metadata: { name: 'a', namespace: 'n', resourceVersion: '1', creationTimestamp: '2026-01-12T08:00:00Z' },
      spec: { policies: [{ type: 'topology', name: 't', properties: { clusters: ['vc1', 'vc2'] } }] },
    };
    const { findings } = await runRule(rule, [...objects('crds.yaml'), ...objects('registry-custom-namespace.yaml'), app]);
    assert.equal(findings.length, 1);
    assert.deepEqual(findings[0]!.evidence.orphanedClusters, ['vc2']);
    assert.equal(findings[0]!.evidence.gatewayNamespace, 'kubevela');
    assert.deepEqual(findings[0]!.evidence.clusterSecrets, ['vc1']);
  });

  it('falls back to vela-system without the APIService', async () => {
    const app: KubeObject = {
      apiVersion: 'core.oam.dev/v1beta1',
      kind: 'Application',
      metadata: { name: 'a', namespace: 'n', creationTimestamp: '2026-01-12T08:00:00Z' },
      spec: { policies: [{ type: 'topology', name: 't', properties: { clusters: ['vc1'] } }] },
    };
    const registry = objects('registry.yaml').filter((o) => o.kind !== 'APIService');
    const { result, findings } = await runRule(rule, [...objects('crds.yaml'), ...registry, app]);
    assert.equal(result.status, 'pass');
    assert.equal(findings.length, 0);
  });

  for (const healthy of ['healthy-registered.yaml', 'healthy-ocm.yaml', 'healthy-selector.yaml']) {
    it(`stays silent on ${healthy}`, async () => {
      const { result, findings } = await runRule(rule, [...base, `${DIR}/${healthy}`]);
      assert.equal(result.status, 'pass', result.reason);
      assert.deepEqual(findings, []);
    });
  }

  it('flags the OCM app once the ManagedCluster is gone (the healthy twin is silent because of it)', async () => {
    const withoutMc = objects('healthy-ocm.yaml').filter((o) => o.kind !== 'ManagedCluster');
    const { findings } = await runRule(rule, [...objects('crds.yaml'), ...objects('registry.yaml'), ...withoutMc]);
    assert.equal(findings.length, 1);
    assert.deepEqual(findings[0]!.evidence.orphanedClusters, ['vc3']);
    assert.deepEqual(findings[0]!.evidence.managedClusters, []);
  });

  it('leaves objects younger than the grace period alone unless --min-age says otherwise', async () => {
    const now = '2026-01-10T09:03:00Z'; // the addon app is 3 minutes old
    const young = await runRule(rule, [...base, `${DIR}/broken-addon.yaml`], { now });
    assert.deepEqual(young.findings, []);
    assert.deepEqual(
      young.heldBack.map((h) => [h.object.name, h.reason]),
      [['addon-fluxcd', 'names an unregistered cluster, created 3m ago, reported after 5m']],
    );
    const forced = await runRule(rule, [...base, `${DIR}/broken-addon.yaml`], { now, minAgeMs: 60_000 });
    assert.equal(forced.findings.length, 1);
    assert.deepEqual(forced.findings[0]!.evidence.age, { seconds: 180, human: '3m' });
  });

  it('with -n, ignores trackers of Applications in other namespaces', async () => {
    const { findings } = await runRule(rule, [...base, `${DIR}/broken-addon.yaml`, `${DIR}/broken-compressed-tracker.yaml`], {
      namespace: 'team-a',
    });
    assert.deepEqual(
      findings.map((f) => `${f.object.kind} ${f.object.namespace}/${f.object.name}`),
      ['Application team-a/web'],
    );
  });

  it('is skipped when KubeVela is not installed', async () => {
    const { result, findings } = await runRule(rule, [`${DIR}/registry.yaml`]);
    assert.equal(result.status, 'skipped');
    assert.equal(result.reason, 'api not served: applications.core.oam.dev');
    assert.deepEqual(findings, []);
  });

  it('suggests no upgrade once vela-core is v1.10.3 or later', async () => {
    const registry = objects('registry.yaml').map((o) =>
      o.kind === 'Deployment'
        ? structuredClone({ ...o, spec: { template: { spec: { containers: [{ name: 'kubevela', image: 'oamdev/vela-core:v1.10.3' }] } } } })
        : o,
    );
    const { findings } = await runRule(rule, [...objects('crds.yaml'), ...registry, ...objects('broken-addon.yaml')]);
    assert.equal(findings.length, 1);
    assert.equal(
      steps(findings[0]!).some((s) => s.title.startsWith('Upgrade')),
      false,
    );
    assert.equal((findings[0]!.evidence.velaCore as { version: string }).version, '1.10.3');
  });
});

/** A snapshot whose lists of some resources answer 403, as a live API server does under narrow RBAC. */
class ForbiddingSource extends SnapshotSource {
  readonly #forbidden: Set<string>;
  readonly #namespaces: Set<string>;
  constructor(objects: KubeObject[], forbidden: string[], namespaces: string[] = []) {
    super(objects);
    this.#forbidden = new Set(forbidden);
    this.#namespaces = new Set(namespaces);
  }
  override async list(request: ListRequest): Promise<ListOutcome> {
    const name = resourceName(request.type);
    if (this.#forbidden.has(name)) return { ok: false, failure: 'forbidden', reason: `forbidden: list ${name}` };
    if (request.namespace && this.#namespaces.has(request.namespace)) {
      return { ok: false, failure: 'forbidden', reason: `forbidden: list ${name} in ${request.namespace}` };
    }
    return super.list(request);
  }
}

describe('kubevela/orphaned-cluster-reference under RBAC limits', () => {
  const input = () => [
    ...objects('crds.yaml'),
    ...objects('registry.yaml'),
    ...objects('healthy-ocm.yaml'),
    ...objects('broken-addon.yaml'),
  ];
  const scan = (forbidden: string[]) =>
    runScan(new ForbiddingSource(input(), forbidden), { rules: [rule], now: new Date('2026-11-22T12:00:00Z'), concurrency: 2 });

  it('is skipped, not flagging everything, when cluster Secrets cannot be listed', async () => {
    const result = await scan(['secrets']);
    assert.equal(result.rules[0]!.status, 'skipped');
    assert.equal(result.rules[0]!.reason, 'forbidden: list secrets');
    assert.deepEqual(result.findings, []);
  });

  it('is skipped when ManagedClusters are served but cannot be listed (OCM clusters would look orphaned)', async () => {
    const result = await scan(['managedclusters.cluster.open-cluster-management.io']);
    assert.equal(result.rules[0]!.status, 'skipped');
    assert.match(
      result.rules[0]!.reason!,
      /^cannot list managedclusters\.cluster\.open-cluster-management\.io \(forbidden: list managedclusters\.cluster\.open-cluster-management\.io\)/,
    );
  });

  it('still decides from the spec when ResourceTrackers cannot be listed, and says so', async () => {
    const result = await scan(['resourcetrackers.core.oam.dev']);
    assert.equal(result.rules[0]!.status, 'fail');
    assert.equal(result.rules[0]!.incomplete, true);
    assert.equal(result.findings.length, 1);
    assert.equal(result.findings[0]!.severity, 'error');
    assert.equal(result.findings[0]!.evidence.resourceTrackers, 'unavailable: forbidden: list resourcetrackers.core.oam.dev');
  });
});
