import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FinalizerOwners, finalizerDomain, gateDisabled, isOrphaned } from '../../../rules/core/finalizer-owners.ts';
import type { ListedType } from '../../../src/engine/rule.ts';
import type { KubeObject } from '../../../src/kube/object.ts';

const CRD_TYPE = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  resource: 'customresourcedefinitions',
  kind: 'CustomResourceDefinition',
  namespaced: false,
  verbs: [],
};

function crd(name: string, kind: string, labels: Record<string, string> = {}): { crd: KubeObject; type: ListedType['type'] } {
  const dot = name.indexOf('.');
  return {
    crd: { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name, labels } },
    type: { group: name.slice(dot + 1), version: 'v1', resource: name.slice(0, dot), kind, namespaced: true, verbs: [] },
  };
}

function deployment(ns: string, name: string, labels: Record<string, string>, ready: number): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels },
    spec: { replicas: 1 },
    status: { readyReplicas: ready },
  };
}

function owners(crds: ReturnType<typeof crd>[], deployments: KubeObject[] | { unavailable: string }): FinalizerOwners {
  const listed: ListedType[] = [
    { type: CRD_TYPE, items: crds.map((c) => c.crd), count: crds.length },
    ...crds.map((c) => ({ type: c.type, items: [], count: 0 })),
  ];
  return new FinalizerOwners({ listed, crds: crds.map((c) => c.crd), deployments });
}

const obj = (apiVersion: string, kind: string): KubeObject => ({ apiVersion, kind, metadata: { name: 'x', namespace: 'ns' } });

describe('finalizer owners', () => {
  it('takes the domain before the slash, or the whole dotted name', () => {
    assert.equal(finalizerDomain('resources-finalizer.argocd.argoproj.io'), 'resources-finalizer.argocd.argoproj.io');
    assert.equal(finalizerDomain('Example.COM/cleanup'), 'example.com');
    assert.equal(finalizerDomain('foregroundDeletion'), undefined);
    assert.equal(finalizerDomain('wait-for-it'), undefined);
  });

  it('a parent API group (argocd style) followed through app.kubernetes.io labels to a running Deployment', () => {
    const resolver = owners(
      [crd('applications.argoproj.io', 'Application', { 'app.kubernetes.io/part-of': 'argocd' })],
      [deployment('argocd', 'argocd-application-controller', { 'app.kubernetes.io/part-of': 'argocd' }, 1)],
    );
    const o = resolver.resolve('resources-finalizer.argocd.argoproj.io', obj('argoproj.io/v1alpha1', 'Application'));
    assert.equal(o.verdict, 'running');
    assert.equal(o.expectedRemover, 'argocd/argocd-application-controller');
    assert.match(
      o.resolvedBy,
      /^CRD applications\.argoproj\.io \(matched by API group argoproj\.io, a parent of resources-finalizer\.argocd\.argoproj\.io\), label app\.kubernetes\.io\/part-of=argocd$/,
    );
  });

  it('groups under a bare domain (`example.com/x` -> widgets.example.com); no label to follow is unknown', () => {
    const resolver = owners([crd('widgets.stuff.example.com', 'Widget')], []);
    const o = resolver.resolve('example.com/cleanup', obj('stuff.example.com/v1', 'Widget'));
    assert.equal(o.verdict, 'unknown');
    assert.deepEqual(o.crds, ['widgets.stuff.example.com']);
    assert.match(o.detail, /no Deployment could be tied to the CRD/);
    assert.equal(isOrphaned(o), false);
  });

  it('thousands of CRDs and distinct finalizers: each finalizer follows its kind, group, nearest parent group or the groups under it', () => {
    const groups = Array.from({ length: 2000 }, (_, i) => `g${i}.corp.example`);
    const crds = [
      ...groups.flatMap((g) => [crd(`things.${g}`, 'Thing'), crd(`others.${g}`, 'Other')]),
      crd('widgets.deep.g0.corp.example', 'Widget'),
    ];
    const resolver = owners(crds, []);
    const matched = (finalizer: string) => {
      const o = resolver.resolve(finalizer, obj('v1', 'ConfigMap'));
      return [o.crds, /\(matched by ([^)]*)\)/.exec(o.resolvedBy)?.[1]];
    };
    for (const [i, g] of groups.entries()) {
      assert.deepEqual(matched(`thing.${g}/cleanup`), [[`things.${g}`], `the kind and group in thing.${g}`]);
      assert.deepEqual(matched(`${g}/cleanup`), [[`things.${g}`, `others.${g}`], `API group ${g}`]);
      const parent = i === 0 ? `deep.${g}` : g;
      const parentCrds = i === 0 ? ['widgets.deep.g0.corp.example'] : [`things.${g}`, `others.${g}`];
      assert.deepEqual(matched(`x.deep.${g}/cleanup`), [parentCrds, `API group ${parent}, a parent of x.deep.${g}`]);
    }
    // Every CRD under the domain, in CRD order (the finding shows the first 10).
    assert.deepEqual(matched('corp.example/cleanup'), [crds.slice(0, 10).map((c) => c.crd.metadata.name), 'API groups under corp.example']);
    assert.match(resolver.resolve('corp.example/cleanup', obj('v1', 'ConfigMap')).resolvedBy, / and 3998 more \(matched by/);
    const none = resolver.resolve('elsewhere.example/cleanup', obj('v1', 'ConfigMap'));
    assert.equal(none.verdict, 'unknown');
    assert.match(none.detail, /^no CRD of an API group matching elsewhere\.example/);
  });

  it('a provider label that no Deployment carries proves the owner absent; one that is not ready is not-ready', () => {
    const azure = crd('azureclusters.infrastructure.cluster.x-k8s.io', 'AzureCluster', {
      'cluster.x-k8s.io/provider': 'infrastructure-azure',
    });
    const f = 'azurecluster.infrastructure.cluster.x-k8s.io';
    const target = obj('infrastructure.cluster.x-k8s.io/v1beta1', 'AzureCluster');
    assert.equal(owners([azure], []).resolve(f, target).verdict, 'absent');
    assert.equal(
      owners(
        [azure],
        [deployment('capz-system', 'capz-controller-manager', { 'cluster.x-k8s.io/provider': 'infrastructure-azure' }, 0)],
      ).resolve(f, target).verdict,
      'not-ready',
    );
    assert.equal(owners([azure], { unavailable: 'forbidden: list deployments.apps' }).resolve(f, target).verdict, 'unknown');
  });

  it('Kubernetes domains without a CRD are built-in; well-known separately installed components are unknown', () => {
    const resolver = owners([], []);
    assert.equal(resolver.resolve('node.kubernetes.io/some-finalizer', obj('v1', 'Node')).verdict, 'built-in');
    const lb = resolver.resolve('service.kubernetes.io/load-balancer-cleanup', obj('v1', 'Service'));
    assert.equal(lb.verdict, 'unknown');
    assert.match(lb.expectedRemover, /cloud-controller-manager/);
    assert.match(
      resolver.resolve('external-attacher/ebs-csi-aws-com', obj('storage.k8s.io/v1', 'VolumeAttachment')).expectedRemover,
      /CSI driver ebs-csi-aws-com/,
    );
    assert.equal(resolver.resolve('wait-for-it', obj('v1', 'ConfigMap')).verdict, 'unknown');
  });

  it('reads --feature-gates in both spellings', () => {
    const d = (args: string[]): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'm' },
      spec: { template: { spec: { containers: [{ name: 'm', args }] } } },
    });
    assert.equal(gateDisabled(d(['--feature-gates=MachinePool=true,ClusterTopology=false']), 'ClusterTopology'), true);
    assert.equal(gateDisabled(d(['--feature-gates', 'ClusterTopology=false']), 'ClusterTopology'), true);
    assert.equal(gateDisabled(d(['--feature-gates=ClusterTopology=true']), 'ClusterTopology'), false);
    assert.equal(gateDisabled(d([]), 'ClusterTopology'), false);
  });
});
