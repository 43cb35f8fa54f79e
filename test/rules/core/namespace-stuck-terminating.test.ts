import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import rule from '../../../rules/core/namespace-stuck-terminating.ts';
import type { KubeObject } from '../../../src/kube/object.ts';
import { edit, ev, findingOn, load, runObjects, tenantConfigMaps } from './deletion-helpers.ts';
import { MAX_LISTED } from '../../../rules/core/stuck-objects.ts';
import { loadFixtures } from '../../rule-tester.ts';
import webhookRule from '../../../rules/admission/webhook-backend-unavailable.ts';
import { runScan } from '../../../src/engine/scan.ts';
import { SnapshotSource } from '../../../src/cluster/snapshot.ts';
import { relateFindings } from '../../../src/engine/related.ts';

const metricsServer: KubeObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'metrics-server', namespace: 'monitoring', uid: 'uid-svc-ms' },
  spec: { ports: [{ port: 443 }] },
};

describe('core/namespace-stuck-terminating', () => {
  describe('broken: an unavailable aggregated API (NamespaceDeletionDiscoveryFailure)', () => {
    it('is critical for every terminating namespace and names the APIService and its Service', async () => {
      const { result, findings } = await runObjects(rule, load('namespace-discovery.yaml'));
      assert.equal(result.status, 'fail');
      assert.deepEqual(findings.map((f) => [f.object.name, f.severity]).sort(), [
        ['monitoring', 'critical'],
        ['old-team', 'critical'],
      ]);
      const f = findingOn(findings, 'Namespace', 'monitoring');
      assert.equal(
        f.message,
        'Terminating for 4h: discovery of metrics.k8s.io/v1beta1 fails (APIService v1beta1.metrics.k8s.io unavailable: ServiceNotFound), which blocks every namespace deletion in the cluster',
      );
      assert.deepEqual(ev(f, 'discovery'), {
        failingGroupVersions: ['metrics.k8s.io/v1beta1'],
        unavailableAPIServices: [
          {
            name: 'v1beta1.metrics.k8s.io',
            groupVersion: 'metrics.k8s.io/v1beta1',
            reason: 'ServiceNotFound',
            message: 'service/metrics-server in "monitoring" is not present',
            service: 'monitoring/metrics-server',
            serviceExists: false,
          },
        ],
        blocksEveryNamespaceDeletion: true,
        otherTerminatingNamespaces: ['old-team'],
      });
    });

    it('plans: delete the stale APIService (opt-in; its Service namespace is being deleted, so no gate), and only behind a checkpoint force-finalize', async () => {
      const { findings } = await runObjects(rule, load('namespace-discovery.yaml'));
      const steps = findingOn(findings, 'Namespace', 'monitoring').remediation!.steps;
      assert.deepEqual(
        steps.map((s) => [s.risk, s.action.type]),
        [
          ['destructive', 'delete'],
          ['safe', 'checkpoint'],
          ['destructive', 'finalize-namespace'],
        ],
      );
      assert.deepEqual((steps[0]!.action as { preconditions: unknown }).preconditions, {
        uid: 'uid-apiservice-metrics',
        resourceVersion: '88001',
      });
      assert.equal(steps[0]!.command, 'kubectl delete apiservices.apiregistration.k8s.io v1beta1.metrics.k8s.io');
      assert.match(
        steps[0]!.title,
        /its Service monitoring\/metrics-server is gone and its backend's namespace monitoring is being deleted/,
      );
      assert.match((steps[1]!.action as { instructions: string }).instructions, /go on only if monitoring is still Terminating/);
      assert.deepEqual((steps[2]!.action as { body: unknown }).body, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'monitoring', resourceVersion: '991234' },
        spec: { finalizers: [] },
      });
      assert.match(steps[2]!.title, /^Last resort, only after its content is gone or consciously abandoned/);
      assert.equal(steps[2]!.reversible, false);
    });

    it('a backend that still has its Service is to be restored, never deleted', async () => {
      const objects = edit([...load('namespace-discovery.yaml'), metricsServer], 'APIService', 'v1beta1.metrics.k8s.io', (a) => {
        a.status = {
          conditions: [
            {
              type: 'Available',
              status: 'False',
              reason: 'MissingEndpoints',
              message: 'endpoints for service/metrics-server in "monitoring" have no addresses',
            },
          ],
        };
      });
      const { findings } = await runObjects(rule, objects);
      const f = findingOn(findings, 'Namespace', 'monitoring');
      assert.equal(f.severity, 'critical');
      assert.equal(ev(f, 'discovery', 'unavailableAPIServices', 0, 'serviceExists'), true);
      assert.ok(!f.remediation!.steps.some((s) => s.action.type === 'delete'));
    });

    it('unreadable APIServices: still critical from the condition, the gap is said', async () => {
      const { result, findings } = await runObjects(rule, load('namespace-discovery.yaml'), {
        refuse: { 'apiservices.apiregistration.k8s.io': 'forbidden: list apiservices.apiregistration.k8s.io' },
      });
      assert.equal(result.incomplete, true);
      const f = findingOn(findings, 'Namespace', 'monitoring');
      assert.equal(f.severity, 'critical');
      assert.deepEqual(ev(f, 'discovery', 'unavailableAPIServices'), { unavailable: 'forbidden: list apiservices.apiregistration.k8s.io' });
      assert.ok(!f.remediation!.steps.some((s) => s.action.type === 'delete'));
    });

    it('-n reports only that namespace', async () => {
      const { findings } = await runObjects(rule, load('namespace-discovery.yaml'), { namespace: 'old-team' });
      assert.deepEqual(
        findings.map((f) => f.object.name),
        ['old-team'],
      );
    });
  });

  describe('broken: content held by finalizers', () => {
    it('an orphaned provider finalizer: error, the object and its owner, removal before /finalize', async () => {
      const { findings } = await runObjects(rule, load('crds-capi.yaml', 'namespace-content.yaml'));
      assert.deepEqual(
        findings.map((f) => f.object.name),
        ['capi-aws'],
        'just-deleted (5 minutes) is silent',
      );
      const f = findings[0]!;
      assert.equal(f.severity, 'error', 'an orphaned finalizer is an error before 1h');
      assert.equal(
        f.message,
        'Terminating for 30m: 1 object remains, held by awscluster.infrastructure.cluster.x-k8s.io (orphaned: its controller is not installed) on 1 object',
      );
      assert.equal(ev(f, 'remaining', 'total'), 1);
      assert.equal(ev(f, 'remaining', 'heldByFinalizers', 0, 'object'), 'AWSCluster/capi-aws/prod');
      assert.equal(ev(f, 'remaining', 'heldByFinalizers', 0, 'finalizers', 0, 'owner'), 'absent');
      const steps = f.remediation!.steps;
      assert.deepEqual(
        steps.map((s) => s.action.type),
        ['manual', 'json-patch', 'checkpoint', 'finalize-namespace'],
      );
      assert.equal(steps[0]!.command, 'clusterctl init --infrastructure aws');
      assert.deepEqual((steps[1]!.action as { patch: unknown }).patch, [
        { op: 'test', path: '/metadata/finalizers/0', value: 'awscluster.infrastructure.cluster.x-k8s.io' },
        { op: 'remove', path: '/metadata/finalizers/0' },
      ]);
      assert.match(steps[3]!.title, /the 1 remaining object\(s\) stay in storage/);
    });

    it('objects held by built-in finalizers: at most MAX_LISTED steps name one, as for finalizer removals; owners keep theirs', async () => {
      // Oldest first: 30 PersistentVolumeClaims in use (pvc-protection), then 90 ConfigMaps in foreground deletion,
      // then the AWSCluster.
      const held = (kind: string, i: number, finalizer: string, deletionTimestamp: string): KubeObject => ({
        apiVersion: 'v1',
        kind,
        metadata: {
          name: `${kind.toLowerCase()}-${i}`,
          namespace: 'capi-aws',
          uid: `uid-${kind}-${i}`,
          resourceVersion: String(7000 + i),
          deletionTimestamp,
          finalizers: [finalizer],
        },
      });
      const objects = [
        ...load('crds-capi.yaml', 'namespace-content.yaml'),
        ...Array.from({ length: 30 }, (_, i) => held('PersistentVolumeClaim', i, 'kubernetes.io/pvc-protection', '2026-11-22T11:29:00Z')),
        ...Array.from({ length: 90 }, (_, i) => held('ConfigMap', i, 'foregroundDeletion', '2026-11-22T11:30:00Z')),
      ];
      const f = findingOn((await runObjects(rule, objects)).findings, 'Namespace', 'capi-aws');
      assert.equal(ev(f, 'remaining', 'notListed'), 121 - MAX_LISTED);
      const steps = f.remediation!.steps;
      assert.equal(
        steps.filter((s) => /^Stop the pods that still use PersistentVolumeClaim capi-aws\/persistentvolumeclaim-\d+ /.test(s.title))
          .length,
        30,
      );
      // The 90 ConfigMaps no dependent blocks all call for the same check: one step names them (oldest, then by name).
      const lost = steps.filter((s) => s.title.startsWith('No dependent blocks'));
      assert.deepEqual(
        lost.map((s) => s.title),
        [
          'No dependent blocks 90 objects in foreground deletion (ConfigMap/capi-aws/configmap-0, ConfigMap/capi-aws/configmap-1, ConfigMap/capi-aws/configmap-10, ConfigMap/capi-aws/configmap-11, ConfigMap/capi-aws/configmap-12 and 85 more): the garbage collector may have lost track of them (kubernetes/kubernetes#77081, #115570); check kube-controller-manager',
        ],
      );
      assert.deepEqual(
        steps.slice(30).map((s) => s.action.type),
        ['manual', 'manual', 'json-patch', 'checkpoint', 'finalize-namespace'],
      );
      assert.equal(steps[30], lost[0]);
      assert.equal(steps[31]!.command, 'clusterctl init --infrastructure aws');
    });

    it('past MAX_LISTED, objects held by built-in finalizers get no step of their own, and the plan says how many', async () => {
      const pvc = (i: number): KubeObject => ({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name: `claim-${i}`,
          namespace: 'capi-aws',
          uid: `uid-claim-${i}`,
          resourceVersion: String(7000 + i),
          deletionTimestamp: '2026-11-22T11:29:00Z',
          finalizers: ['kubernetes.io/pvc-protection'],
        },
      });
      const objects = [...load('crds-capi.yaml', 'namespace-content.yaml'), ...Array.from({ length: 70 }, (_, i) => pvc(i))];
      const steps = findingOn((await runObjects(rule, objects)).findings, 'Namespace', 'capi-aws').remediation!.steps;
      assert.equal(steps.filter((s) => s.title.startsWith('Stop the pods that still use PersistentVolumeClaim')).length, MAX_LISTED);
      // The 20 claims past the cap are said to be left out, as an aside (--fix does not ask about it).
      const more = steps.filter((s) => s.action.type === 'manual' && s.action.role === 'aside');
      assert.deepEqual(
        more.map((s) => [s.title, s.action]),
        [
          [
            `20 more stuck objects are not in this plan (at most ${MAX_LISTED} get a step of their own)`,
            {
              type: 'manual',
              role: 'aside',
              instructions: 'once the steps above are done, run kubectl doctor again: it plans the next ones',
            },
          ],
        ],
      );
    });

    it('objects past MAX_LISTED with orphaned finalizers get no removal step, and the plan says how many', async () => {
      // 60 AWSClusters whose provider is not installed: each finalizer is orphaned and removable.
      const awsClusters = Array.from({ length: 60 }, (_, i): KubeObject => ({
        apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2',
        kind: 'AWSCluster',
        metadata: {
          name: `extra-${i}`,
          namespace: 'capi-aws',
          uid: `uid-awscluster-extra-${i}`,
          resourceVersion: String(8000 + i),
          deletionTimestamp: '2026-11-22T11:30:01Z',
          finalizers: ['awscluster.infrastructure.cluster.x-k8s.io'],
        },
      }));
      const f = findingOn(
        (await runObjects(rule, [...load('crds-capi.yaml', 'namespace-content.yaml'), ...awsClusters])).findings,
        'Namespace',
        'capi-aws',
      );
      const steps = f.remediation!.steps;
      assert.equal(steps.filter((s) => s.action.type === 'json-patch').length, MAX_LISTED);
      assert.deepEqual(
        steps.filter((s) => s.action.type === 'manual' && s.action.role === 'aside').map((s) => s.title),
        [`11 more stuck objects are not in this plan (at most ${MAX_LISTED} get a step of their own)`],
      );
    });

    it('past MAX_LISTED finalizer owners, the others get no step of their own, and the plan says how many more owners', async () => {
      const objects = [...load('crds-capi.yaml', 'namespace-content.yaml'), ...tenantConfigMaps(1600, '2026-11-22T11:29:00Z')];
      const f = findingOn((await runObjects(rule, objects)).findings, 'Namespace', 'capi-aws');
      const steps = f.remediation!.steps;
      // One step per owner, for the first MAX_LISTED owners in the objects' order (oldest, then by name).
      assert.deepEqual(
        steps
          .filter((s) => s.title.startsWith('Find the controller that removes '))
          .map((s) => /^Find the controller that removes (\S+);/.exec(s.title)![1]),
        Array.from({ length: MAX_LISTED }, (_, i) => `tenant-${i}.saas.example.io/protect`),
      );
      // The AWSCluster, deleted after them, is left out with its owner: its finalizer's removal is never offered
      // without the reinstall that is the safer alternative to it.
      assert.equal(steps.filter((s) => s.action.type === 'json-patch').length, 0);
      const more = `1 more stuck object and ${1600 + 1 - MAX_LISTED} more finalizer owners are not in this plan`;
      assert.deepEqual(
        steps
          .slice(MAX_LISTED)
          .map((s) => [s.title.replace(/^Checkpoint: .*/, 'Checkpoint').replace(/^Last resort.*/, 'Last resort'), s.action.type]),
        [
          [`${more} (at most ${MAX_LISTED} of each get a step of their own)`, 'manual'],
          ['Checkpoint', 'checkpoint'],
          ['Last resort', 'finalize-namespace'],
        ],
      );
      assert.equal(f.remediation!.leftTo, `another run of kubectl doctor: ${more}; once the steps above are done, it plans the next ones`);
    });

    it('owners within MAX_LISTED: every object and owner is planned, nothing is said to be left out', async () => {
      // The AWSCluster first (deleted before them), then 49 tenants: 50 owners, the cap exactly.
      const objects = [...load('crds-capi.yaml', 'namespace-content.yaml'), ...tenantConfigMaps(MAX_LISTED - 1, '2026-11-22T11:31:00Z')];
      const f = findingOn((await runObjects(rule, objects)).findings, 'Namespace', 'capi-aws');
      const steps = f.remediation!.steps;
      assert.match(steps[0]!.title, /^Reinstall provider infrastructure-aws /);
      assert.equal(steps.filter((s) => s.title.startsWith('Find the controller that removes ')).length, MAX_LISTED - 1);
      assert.deepEqual(
        steps.filter((s) => s.action.type === 'json-patch').map((s) => s.title.split(' from ')[1]!.split(':')[0]),
        ['AWSCluster/capi-aws/prod'],
      );
      assert.equal(
        steps.some((s) => s.action.type === 'manual' && s.action.role === 'aside'),
        false,
      );
      assert.equal(f.remediation!.leftTo, undefined);
    });

    it('children whose owners run: warning before 1h, error after, no removal', async () => {
      const { findings } = await runObjects(rule, load('namespace-children.yaml'));
      const f = findingOn(findings, 'Namespace', 'team-a');
      assert.equal(f.severity, 'error');
      assert.match(f.message, /^Terminating for 3h: 2 objects remain, held by /);
      assert.deepEqual(
        f.remediation!.steps.map((s) => [s.risk, s.action.type]),
        [
          ['safe', 'manual'],
          ['safe', 'manual'],
          ['safe', 'checkpoint'],
          ['destructive', 'finalize-namespace'],
        ],
        'only the /finalize step writes',
      );
      const young = edit(load('namespace-children.yaml'), 'Namespace', 'team-a', (n) => {
        n.metadata.deletionTimestamp = '2026-11-22T11:30:00Z';
      });
      assert.equal(findingOn((await runObjects(rule, young)).findings, 'Namespace', 'team-a').severity, 'warning');
    });

    it('content of a type that could not be listed: the gap is named in the evidence', async () => {
      const { findings } = await runObjects(rule, load('namespace-children.yaml'), {
        refuse: { 'widgets.example.com': 'forbidden: list widgets.example.com' },
      });
      const f = findingOn(findings, 'Namespace', 'team-a');
      assert.deepEqual(ev(f, 'coverageGaps'), [{ resource: 'widgets.example.com', reason: 'forbidden: list widgets.example.com' }]);
      assert.equal(ev(f, 'coverageNote'), '1 resource type(s) could not be listed: objects of those types in team-a are not shown');
      assert.equal(ev(f, 'remaining', 'total'), 1);
    });

    it('nothing seen in a namespace, but a type could not be listed: unknown, not "no content"', async () => {
      const empty = loadFixtures('core/namespace-stuck-terminating/conditions.yaml').filter(
        (o) => o.metadata.name === 'empty' || o.metadata.namespace === 'empty',
      );
      const { findings } = await runObjects(rule, empty, { refuse: { configmaps: 'forbidden: list configmaps' } });
      const f = findingOn(findings, 'Namespace', 'empty');
      assert.equal(f.reason, 'content-unknown');
      assert.match(f.message, /could not be listed, so what remains is unknown \(forbidden: list configmaps\)/);
    });

    it('NamespaceDeletionContentFailure: error, with the deletes that failed', async () => {
      const objects = edit(load('namespace-content.yaml'), 'Namespace', 'capi-aws', (n) => {
        (n.status as { conditions: object[] }).conditions = [
          {
            type: 'NamespaceDeletionContentFailure',
            status: 'True',
            reason: 'ContentDeletionFailed',
            message:
              'Failed to delete all resource types, 1 remaining: Internal error occurred: failed calling webhook "vawscluster.kb.io"',
          },
        ];
      });
      const f = findingOn((await runObjects(rule, objects)).findings, 'Namespace', 'capi-aws');
      assert.equal(f.severity, 'error');
      assert.match(f.message, /deleting its content failed: Failed to delete all resource types, 1 remaining: .*failed calling webhook/);
      assert.match(f.remediation!.steps[0]!.title, /admission webhook or a CRD conversion webhook/);
      assert.deepEqual(ev(f, 'webhooks'), [
        { name: 'vawscluster.kb.io', configuration: 'not found (no configuration defines it, or it could not be listed)' },
      ]);
      assert.equal(f.causedBy, undefined);
    });

    it('NamespaceDeletionContentFailure naming a webhook: caused by its configuration, whose dead-backend finding leads', async () => {
      const objects = [
        ...loadFixtures('admission/webhook-backend-unavailable/broken-no-endpoints.yaml'),
        {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: 'team-a', uid: 'uid-ns-team-a', deletionTimestamp: '2026-11-22T10:00:00Z' },
          spec: { finalizers: ['kubernetes'] },
          status: {
            phase: 'Terminating',
            conditions: [
              {
                type: 'NamespaceDeletionContentFailure',
                status: 'True',
                reason: 'ContentDeletionFailed',
                // As the namespace controller joins the API server's error (netbirdio/kubernetes-operator#46).
                message:
                  'Failed to delete all resource types, 1 remaining: Internal error occurred: failed calling webhook \\"validating.core.oam.dev.v1beta1.applications\\": failed to call webhook: Post \\"https://vela-core-webhook.vela-system.svc:443/validating-core-oam-dev-v1beta1-applications?timeout=10s\\": no endpoints available for service \\"vela-core-webhook\\"',
              },
            ],
          },
        } as KubeObject,
      ];
      const f = findingOn((await runObjects(rule, objects)).findings, 'Namespace', 'team-a');
      assert.equal(f.reason, 'content-delete-failed');
      assert.deepEqual(ev(f, 'webhooks'), [
        {
          name: 'validating.core.oam.dev.v1beta1.applications',
          configuration: 'ValidatingWebhookConfiguration/kubevela-vela-core-admission',
        },
      ]);
      assert.deepEqual(
        f.causedBy?.map((c) => `${c.kind}/${c.name}`),
        ['ValidatingWebhookConfiguration/kubevela-vela-core-admission'],
      );
      const step = f.remediation!.steps[0]!;
      assert.match(
        step.title,
        /^Fix the admission webhook the deletes fail on: validating\.core\.oam\.dev\.v1beta1\.applications \(ValidatingWebhookConfiguration\/kubevela-vela-core-admission\)/,
      );
      assert.deepEqual(step.action, {
        type: 'manual',
        instructions: 'kubectl get validatingwebhookconfigurations.admissionregistration.k8s.io kubevela-vela-core-admission -o yaml',
      });

      const scan = await runScan(new SnapshotSource(objects), {
        rules: [rule, webhookRule],
        now: new Date('2026-11-22T12:00:00Z'),
        concurrency: 4,
      });
      const related = relateFindings(scan.findings, scan.refines);
      const webhook = related.find((r) => r.rule === 'admission/webhook-backend-unavailable')!;
      const ns = related.find((r) => r.rule === 'core/namespace-stuck-terminating')!;
      assert.equal(webhook.object.name, 'kubevela-vela-core-admission');
      assert.deepEqual(ns.related, { ledBy: webhook.fingerprint });
      assert.equal(ns.remediation, undefined, 'the webhook finding carries the plan');
    });
  });

  describe('at scale', () => {
    it('thousands of namespaces stuck behind one APIService: each finding holds its own content, in order, and the first others', async () => {
      const base = load('namespace-discovery.yaml');
      const discovery = base.find((o) => o.metadata.name === 'monitoring')!.status as { conditions: unknown[] };
      const names = Array.from({ length: 2000 }, (_, i) => `ns-${i}`);
      const inEach = (kind: string, apiVersion: string, name: string, deletionTimestamp?: string) =>
        names.map((namespace): KubeObject => ({
          apiVersion,
          kind,
          metadata: {
            name,
            namespace,
            uid: `${namespace}-${name}`,
            resourceVersion: '1',
            ...(deletionTimestamp ? { deletionTimestamp, finalizers: ['example.com/cleanup'] } : {}),
          },
        }));
      const objects = [
        ...base,
        ...names.map((name): KubeObject => ({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name, uid: `uid-${name}`, deletionTimestamp: '2026-11-22T08:00:00Z' },
          spec: { finalizers: ['kubernetes'] },
          status: { phase: 'Terminating', conditions: [discovery.conditions[0]] },
        })),
        // Listed type by type, so each namespace's content is spread over the lists; two deletions tie on age.
        ...inEach('ConfigMap', 'v1', 'cm', '2026-11-22T10:00:00Z'),
        ...inEach('ConfigMap', 'v1', 'live'),
        ...inEach('Secret', 'v1', 's', '2026-11-22T10:00:00Z'),
        ...inEach('PersistentVolumeClaim', 'v1', 'older', '2026-11-22T09:00:00Z'),
      ];
      const { findings } = await runObjects(rule, objects);
      assert.equal(findings.length, 2002);
      const all = ['monitoring', 'old-team', ...names];
      const byName = new Map(findings.map((f) => [f.object.name, f]));
      for (const [i, name] of names.entries()) {
        const f = byName.get(name)!;
        assert.equal(f.severity, 'critical');
        assert.deepEqual(f.causedBy, [
          { apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', name: 'v1beta1.metrics.k8s.io', uid: 'uid-apiservice-metrics' },
        ]);
        const remaining = ev(f, 'remaining') as Record<string, unknown>;
        assert.equal(remaining.total, 4);
        assert.deepEqual(remaining.byType, { ConfigMap: 2, Secret: 1, PersistentVolumeClaim: 1 });
        assert.deepEqual(
          (remaining.heldByFinalizers as { object: string }[]).map((h) => h.object),
          [`PersistentVolumeClaim/${name}/older`, `ConfigMap/${name}/cm`, `Secret/${name}/s`],
        );
        assert.deepEqual(remaining.notYetDeleted, [`ConfigMap/${name}/live`]);
        if (i % 500 === 0 || i === names.length - 1) {
          assert.deepEqual(ev(f, 'discovery', 'otherTerminatingNamespaces'), all.filter((n) => n !== name).slice(0, 50));
        }
      }
      assert.deepEqual(ev(byName.get('monitoring')!, 'remaining', 'total'), 0);
      assert.deepEqual(ev(byName.get('monitoring')!, 'discovery', 'otherTerminatingNamespaces'), all.slice(1, 51));
    });
  });

  describe('healthy', () => {
    it('active namespaces and a namespace deleting for less than 15 minutes are silent', async () => {
      const objects = load('namespace-content.yaml').filter((o) => o.metadata.name === 'just-deleted');
      const { result, findings } = await runObjects(rule, [
        ...objects,
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' }, status: { phase: 'Active' } },
      ]);
      assert.equal(result.status, 'pass');
      assert.deepEqual(findings, []);
    });
  });
});
