import { defineRule, type ListedType } from '../../src/engine/rule.ts';
import { resourceName } from '../../src/cluster/resources.ts';
import { atLeast, type Finding, type Severity } from '../../src/engine/finding.ts';
import { shellQuote } from '../../src/plan/command.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { ageEvidence, deletionAgeMs, heldBackReason, humanDuration, thresholdMs } from '../lib/age.ts';
import {
  DEFAULT_MIN_AGE_MS,
  DeletionScan,
  ESCALATE_AFTER_MS,
  MAX_LISTED,
  objectLabel,
  type Step,
  type StuckObject,
  DEPLOYMENT_FIELDS,
} from './stuck-objects.ts';
import { isOrphaned } from './finalizer-owners.ts';

const CRD_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

export default defineRule({
  meta: {
    id: 'core/stuck-deletion',
    summary: 'Objects of any type, CRDs included, stuck deleting on a finalizer nobody removes',
    severity: 'error',
    ecosystem: 'core',
    fixable: 'destructive',
    thresholds: {
      deleting: { ms: DEFAULT_MIN_AGE_MS, minAge: true, describe: 'an object deleting for less is held back, not reported' },
      escalate: {
        ms: ESCALATE_AFTER_MS,
        describe: 'deleting for longer: error instead of warning (an orphaned finalizer is an error at any age)',
      },
    },
    reasons: {
      /** A finalizer whose owner is not installed (or not running): nobody will ever remove it. */
      'orphaned-finalizer': 'deleting for {{age}}, held by {{heldBy}}',
      /** Every finalizer's owner is there, but has not removed it within the threshold. */
      'finalizer-not-removed': 'deleting for {{age}}, held by {{heldBy}}',
      /** A CRD held by customresourcecleanup: its instances are still being deleted. */
      'crd-instances-remain': 'deleting for {{age}}, held by {{heldBy}}; {{instances}}',
      /** A deleting namespace and the stuck objects in it, as one finding. */
      'namespace-content-stuck': 'namespace deleting for {{age}}; {{parts}}',
    },
    reads: {
      all: { resource: '*', metadataOnly: true, subset: { deleting: true, blockingDependents: true } },
      crds: { resource: 'customresourcedefinitions.apiextensions.k8s.io', metadataOnly: true, optional: true },
      /** Replicas and --feature-gates of the controllers that own finalizers (finalizer-owners.ts). */
      deployments: { resource: 'deployments.apps', optional: true, allNamespaces: true, fields: DEPLOYMENT_FIELDS },
    },
    explain: {
      detects:
        'Objects of every listable resource type that carry a metadata.deletionTimestamp and finalizers, and have been ' +
        'deleting for longer than 15 minutes (--min-age overrides). For pods and other graceful deletions the ' +
        'deletionTimestamp is the end of the grace period, so a pod inside its grace period is never reported. ' +
        'Objects inside a namespace that is itself deleting are reported once, grouped under that Namespace. A ' +
        'CustomResourceDefinition held by customresourcecleanup.apiextensions.k8s.io is reported with the instances ' +
        "that still exist and their finalizers. Warning; error when the finalizer's controller is proven absent " +
        '(orphaned finalizer) or the deletion is older than 1 hour.',
      why:
        'A DELETE on an object with finalizers only sets deletionTimestamp; the object stays until every finalizer is ' +
        'removed by the controller that added it, and the API server refuses new finalizers from then on ("no new ' +
        'finalizers can be added if the object is being deleted"). When that controller is uninstalled, scaled to 0, ' +
        'crash-looping, has the feature gate that serves the finalizer switched off, or waits for something that never ' +
        'happens (a dependent, a pod using a claim, a cloud resource), the object stays terminating forever. A CRD ' +
        'stays terminating while any of its instances remain (kubernetes/kubernetes#60538).',
      evidence:
        'Metadata-only, paginated lists of every listable type (no object data is read). For each stuck object: its ' +
        'deletionTimestamp, age and finalizers; for each finalizer who is expected to remove it: built-in Kubernetes ' +
        'finalizers (foregroundDeletion, orphan, kubernetes.io/pvc-protection, ...), the Cluster API catalogue, or ' +
        "the finalizer's domain followed to a CRD (<kind>.<group>, the group, or a parent domain) and from the CRD's " +
        'cluster.x-k8s.io/provider label, Helm release or app.kubernetes.io labels to a Deployment, whose ready ' +
        'replicas say whether it runs; the managedFields manager that added the finalizer; for foregroundDeletion, ' +
        'the dependents with blockOwnerDeletion. A finalizer is called orphaned only when a provider label names a ' +
        'Deployment that exists in no namespace, or its feature gate is off; an owner that cannot be seen (a management ' +
        'cluster, a SaaS operator, an unreadable API) is "unknown". Resource types that could not be listed are ' +
        'reported as coverage gaps.',
      remediation: [
        'Fix the cause (manual): scale up or repair the controller that owns the finalizer, reinstall a removed ' +
          'provider or enable its feature gate, resolve the dependents or pods the finalizer waits for.',
        'Only for a finalizer whose controller is proven absent: remove that one finalizer with a JSON patch that ' +
          "tests the resourceVersion and the finalizer's index and value (destructive: the cleanup it guards, e.g. " +
          'deleting cloud infrastructure, is skipped). One object at a time, never every finalizer of every object.',
        `A namespace with many stuck objects gets steps for at most ${MAX_LISTED} of them and for at most ${MAX_LISTED} ` +
          'finalizer owners, in the order of the objects (objects in foreground deletion that no dependent blocks share ' +
          "one step; a finalizer is removed only in a plan that holds its owner's step); the plan ends by saying how " +
          'many more objects and owners there are (also as remediation.leftTo, so --fix reports the finding pending on ' +
          'them), and the next run plans those.',
        'Never remove customresourcecleanup.apiextensions.k8s.io from a CRD by hand: resolve its instances instead.',
        'If a namespace still does not finish, see core/namespace-stuck-terminating.',
      ],
      references: [
        'https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/',
        'https://kubernetes.io/docs/concepts/architecture/garbage-collection/',
        'https://github.com/kubernetes-sigs/cluster-api/issues/11809',
        'https://github.com/kubernetes-sigs/cluster-api/issues/11812',
        'https://github.com/kubernetes-sigs/cluster-api/pull/11814',
        'https://github.com/kubernetes/kubernetes/issues/60538',
        'https://github.com/kubernetes/kubernetes/issues/77081',
      ],
    },
  },

  check(ctx) {
    const scan = new DeletionScan(ctx, ctx.everyType('all'), ctx.optional('crds'), ctx.optional('deployments'));
    const threshold = thresholdMs(ctx.minAgeMs, DEFAULT_MIN_AGE_MS);
    const stuck = scan.stuck(threshold, undefined, (obj, ageMs) =>
      ctx.heldBack(obj, heldBackReason(`deleting for ${humanDuration(ageMs)}`, threshold)),
    );
    const namespaces = scan.listed.find((l) => l.type.group === '' && l.type.resource === 'namespaces')?.items ?? [];
    const deletingNamespaces = new Map(namespaces.filter((n) => n.metadata.deletionTimestamp).map((n) => [n.metadata.name ?? '', n]));

    const groups = new Map<string, { head?: StuckObject; members: StuckObject[] }>();
    const findings: Finding[] = [];
    for (const s of stuck) {
      const isNamespace = s.obj.kind === 'Namespace' && s.obj.apiVersion === 'v1';
      const ns = isNamespace ? s.obj.metadata.name! : s.obj.metadata.namespace;
      if (ns !== undefined && deletingNamespaces.has(ns)) {
        const group = groups.get(ns) ?? { members: [] };
        if (isNamespace) group.head = s;
        else group.members.push(s);
        groups.set(ns, group);
        continue;
      }
      const evidence = scan.describe(s);
      const data: Record<string, string> = scan.messageData(s);
      let reason: 'orphaned-finalizer' | 'finalizer-not-removed' | 'crd-instances-remain' = s.owners.some(isOrphaned)
        ? 'orphaned-finalizer'
        : 'finalizer-not-removed';
      const own = scan.plan([s]);
      let steps = own.steps;
      if (isCrd(s.obj) && s.obj.metadata.finalizers!.includes(CRD_FINALIZER)) {
        const instances = crdInstances(s.obj, scan);
        evidence.instances = instances.evidence;
        reason = 'crd-instances-remain';
        data.instances = instances.summary;
        steps = [...instances.steps, ...steps];
      }
      findings.push(
        ctx.finding(s.obj, {
          reason,
          data,
          severity: scan.severity(s),
          evidence,
          ...(steps.length > 0
            ? { remediation: { summary: remediationSummary(steps), steps, ...(own.leftTo ? { leftTo: own.leftTo } : {}) } }
            : {}),
        }),
      );
    }

    for (const [name, group] of groups) {
      const namespace = deletingNamespaces.get(name)!;
      const all = group.head ? [group.head, ...group.members] : group.members;
      const severity = all.map((s) => scan.severity(s)).reduce<Severity>((a, b) => (atLeast(a, b) ? a : b), 'warning');
      const ageMs = deletionAgeMs(namespace, ctx.now) ?? 0;
      const evidence: Record<string, unknown> = {
        namespace: group.head
          ? scan.describe(group.head)
          : { deletionTimestamp: namespace.metadata.deletionTimestamp, deletingFor: ageEvidence(ageMs) },
        stuckObjects: group.members.length,
        objects: group.members.slice(0, MAX_LISTED).map((s) => scan.describe(s)),
      };
      if (group.members.length > MAX_LISTED) evidence.notListed = group.members.length - MAX_LISTED;
      if (scan.gaps.length > 0) evidence.coverageGaps = scan.gaps.slice(0, MAX_LISTED);
      const parts: string[] = [];
      if (group.head) parts.push(`the namespace itself is held by ${group.head.owners.map((o) => scan.summarize(o)).join(', ')}`);
      if (group.members.length > 0)
        parts.push(
          `${group.members.length} object${group.members.length === 1 ? '' : 's'} in it cannot finish deleting: ${scan.countByFinalizer(group.members)}`,
        );
      const { steps, leftTo } = scan.plan(all);
      findings.push(
        ctx.finding(namespace, {
          reason: 'namespace-content-stuck',
          data: { age: humanDuration(ageMs), parts: parts.join('; ') },
          severity,
          evidence,
          ...(steps.length > 0
            ? {
                remediation: {
                  summary: `${remediationSummary(steps)} If the namespace still does not finish, see core/namespace-stuck-terminating.`,
                  steps,
                  ...(leftTo ? { leftTo } : {}),
                },
              }
            : {}),
        }),
      );
    }
    return findings;
  },
});

function isCrd(obj: KubeObject): boolean {
  return obj.kind === 'CustomResourceDefinition' && obj.apiVersion.startsWith('apiextensions.k8s.io/');
}

function remediationSummary(steps: readonly Step[]): string {
  return steps.some((s) => s.risk === 'destructive')
    ? 'Restore the controllers that own these finalizers first; remove a finalizer by hand only where its controller is proven absent, one object at a time.'
    : 'Fix what the finalizers wait for; their owners then remove them.';
}

function listInstances(crdName: string): string {
  return `kubectl get ${shellQuote(crdName)} -A -o custom-columns=NAMESPACE:.metadata.namespace,NAME:.metadata.name,FINALIZERS:.metadata.finalizers,DELETING:.metadata.deletionTimestamp`;
}

/** The instances of a terminating CRD: they are what customresourcecleanup waits for. */
function crdInstances(crd: KubeObject, scan: DeletionScan): { evidence: Record<string, unknown>; summary: string; steps: Step[] } {
  const name = crd.metadata.name ?? '';
  const listed: ListedType | undefined = scan.listed.find((l) => resourceName(l.type) === name);
  if (!listed) {
    const gap = scan.gaps.find((g) => g.resource === name);
    const reason = gap ? gap.reason : `${name} is no longer served, so its instances cannot be listed`;
    return {
      evidence: { unreadable: reason },
      summary: `its remaining instances could not be listed (${reason})`,
      steps: [
        {
          title: `List the remaining instances of ${name} and resolve their finalizers`,
          risk: 'safe',
          reversible: true,
          action: { type: 'manual', instructions: listInstances(name) },
        },
      ],
    };
  }
  // The instances the scan kept are those being deleted (the cleanup deletes every instance); all are counted.
  const remaining = listed.count;
  const held = listed.items.filter((i) => (i.metadata.finalizers ?? []).length > 0);
  const evidence: Record<string, unknown> = {
    remaining,
    heldByFinalizers: held.slice(0, MAX_LISTED).map((i) => ({
      object: objectLabel(i),
      deleting: i.metadata.deletionTimestamp !== undefined,
      finalizers: i.metadata.finalizers,
    })),
  };
  if (held.length > MAX_LISTED) evidence.notListed = held.length - MAX_LISTED;
  if (remaining === 0) {
    return {
      evidence,
      summary: 'no instance remains, so kube-apiserver should remove customresourcecleanup shortly (check its logs if not)',
      steps: [],
    };
  }
  const finalizers = [...new Set(held.flatMap((i) => i.metadata.finalizers ?? []))];
  return {
    evidence,
    summary:
      `${remaining} instance${remaining === 1 ? '' : 's'} remain${remaining === 1 ? 's' : ''}` +
      (held.length > 0
        ? `, ${held.length} held by finalizer${finalizers.length === 1 ? '' : 's'} ${finalizers.slice(0, 3).join(', ')} (see their own findings)`
        : ''),
    steps: [
      {
        title: `Resolve the ${remaining} remaining instance(s) of ${name}; kube-apiserver then removes ${CRD_FINALIZER} by itself (never remove it by hand: the instances would be left in storage)`,
        risk: 'safe',
        reversible: true,
        action: { type: 'manual', instructions: listInstances(name) },
      },
    ],
  };
}
