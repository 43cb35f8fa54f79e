import { defineRule } from '../../src/engine/rule.ts';
import type { Finding, Severity } from '../../src/engine/finding.ts';
import type { ActionTarget } from '../../src/plan/actions.ts';
import { conditionOf, conditionsOf, field, type KubeObject } from '../../src/kube/object.ts';
import type { Listed } from '../lib/installed.ts';
import { pushAll } from '../../src/util/collections.ts';
import { apiServiceFacts, apiServiceSteps, groupVersionOf, isUnavailable, type ApiServiceFacts } from './apiservices.ts';
import { ageEvidence, deletionAgeMs, heldBackReason, humanDuration, thresholdMs } from '../lib/age.ts';
import { isOrphaned } from './finalizer-owners.ts';
import {
  DEFAULT_MIN_AGE_MS,
  DEPLOYMENT_FIELDS,
  DeletionScan,
  ESCALATE_AFTER_MS,
  kubectlGet,
  MAX_LISTED,
  objectLabel,
  type Step,
  type StuckObject,
} from './stuck-objects.ts';

/** The namespace controller's condition types (k8s.io/api core/v1), in the order the rule reports a cause. */
const DISCOVERY = 'NamespaceDeletionDiscoveryFailure';
const PARSING = 'NamespaceDeletionGroupVersionParsingFailure';
const CONTENT_FAILURE = 'NamespaceDeletionContentFailure';
const CONTENT_REMAINING = 'NamespaceContentRemaining';
const FINALIZERS_REMAINING = 'NamespaceFinalizersRemaining';
const CONDITION_TYPES = [DISCOVERY, PARSING, CONTENT_FAILURE, CONTENT_REMAINING, FINALIZERS_REMAINING];

const reasons = {
  /** NamespaceDeletionDiscoveryFailure: an unavailable aggregated API blocks every namespace deletion. */
  'discovery-failure': 'Terminating for {{age}}: {{cause}}',
  /** NamespaceDeletionGroupVersionParsingFailure. */
  'group-version-parsing': 'Terminating for {{age}}: {{cause}}',
  /** NamespaceDeletionContentFailure: deletes of the content fail (often a webhook). */
  'content-delete-failed': 'Terminating for {{age}}: {{cause}}',
  /** Objects in it are held by finalizers the scan can see. */
  'content-held-by-finalizers': 'Terminating for {{age}}: {{cause}}',
  /** NamespaceFinalizersRemaining / NamespaceContentRemaining name what remains. */
  'content-remaining': 'Terminating for {{age}}: {{cause}}',
  /** Objects remain and no condition says why. */
  'content-remaining-unexplained': 'Terminating for {{age}}: {{cause}}',
  /** No content seen, but some types could not be listed. */
  'content-unknown': 'Terminating for {{age}}: {{cause}}',
  /** Nothing remains and no condition explains it (spec.finalizers of a gone controller). */
  'no-content': 'Terminating for {{age}}: {{cause}}',
};
type NamespaceReason = keyof typeof reasons;

export default defineRule({
  meta: {
    id: 'core/namespace-stuck-terminating',
    summary: 'Namespaces stuck Terminating, with the cause their status.conditions give',
    severity: 'critical',
    ecosystem: 'core',
    fixable: 'destructive',
    thresholds: {
      terminating: { ms: DEFAULT_MIN_AGE_MS, minAge: true, describe: 'a Namespace Terminating for less is held back, not reported' },
      escalate: { ms: ESCALATE_AFTER_MS, describe: 'Terminating for longer: error instead of warning' },
    },
    refines: ['core/stuck-deletion'],
    reasons,
    reads: {
      namespaces: { resource: 'namespaces' },
      all: { resource: '*', metadataOnly: true, subset: { deleting: true, inDeletingNamespaces: true, blockingDependents: true } },
      crds: { resource: 'customresourcedefinitions.apiextensions.k8s.io', metadataOnly: true, optional: true },
      apiservices: { resource: 'apiservices.apiregistration.k8s.io', optional: true },
      services: { resource: 'services', metadataOnly: true, optional: true, allNamespaces: true },
      /** Replicas and --feature-gates of the controllers that own finalizers (finalizer-owners.ts). */
      deployments: { resource: 'deployments.apps', optional: true, allNamespaces: true, fields: DEPLOYMENT_FIELDS },
      /** The webhooks a content deletion failure names. */
      validatingWebhooks: { resource: 'validatingwebhookconfigurations.admissionregistration.k8s.io', optional: true },
      mutatingWebhooks: { resource: 'mutatingwebhookconfigurations.admissionregistration.k8s.io', optional: true },
    },
    explain: {
      detects:
        'Namespaces that have been Terminating for longer than 15 minutes (--min-age overrides), with the cause the ' +
        'namespace controller wrote into status.conditions: NamespaceDeletionDiscoveryFailure (an API group cannot be ' +
        'discovered: critical, because it blocks every namespace deletion in the cluster), ' +
        'NamespaceDeletionGroupVersionParsingFailure, NamespaceDeletionContentFailure (deleting some resource type ' +
        'failed), NamespaceContentRemaining and NamespaceFinalizersRemaining (objects remain, usually held by their ' +
        'own finalizers).',
      why:
        'The namespace controller removes the `kubernetes` entry of spec.finalizers only after it has discovered every ' +
        'API group, deleted every namespaced object and seen them all gone, with no error on the way. One aggregated ' +
        'API whose backend is down (an APIService with Available=False, e.g. metrics-server) makes discovery fail, so ' +
        'no namespace in the cluster can finish deleting (kubernetes/kubernetes#84109). Objects whose finalizers are ' +
        'never removed keep their namespace Terminating too.',
      evidence:
        'The namespace (full object: status.phase, status.conditions, spec.finalizers); for a discovery failure the ' +
        'failing group-versions named in the condition, the APIServices whose Available condition is not True with ' +
        'their reason and backing Service, whether that Service still exists, and the other namespaces that are ' +
        'Terminating; for a content deletion failure, the admission webhooks its message names and their ' +
        'configurations; for remaining content, every object still in the namespace (metadata-only lists of all types), ' +
        'those held by finalizers with who is expected to remove each finalizer and whether that controller runs ' +
        '(same resolution as core/stuck-deletion), and the resource types that could not be listed (coverage gaps).',
      remediation: [
        'Fix the cause: restore the backend of an unavailable APIService (manual); or, if its Service is gone because ' +
          'its provider was removed, delete the stale APIService (destructive, opt-in); the namespace then finishes by ' +
          'itself. When core/apiservice-unavailable reports that APIService too, its finding leads with this plan and ' +
          'the namespace finding names it (related.ledBy) instead of repeating it.',
        'For a content deletion that an admission webhook refuses or cannot be called for: fix that webhook. When ' +
          'admission/webhook-backend-unavailable reports its configuration, its finding leads with its plan (related.ledBy).',
        'For remaining content: restore the controllers that own the finalizers (manual); remove a finalizer only ' +
          'where its controller is proven absent, with a JSON patch that tests the resourceVersion and the ' +
          "finalizer's index and value (destructive), one object at a time. At most " +
          `${MAX_LISTED} objects and ${MAX_LISTED} finalizer owners get steps of their own; the plan ends by saying how ` +
          'many more there are (also as remediation.leftTo, so --fix reports the namespace pending on them), and the ' +
          'next run plans those.',
        'Last resort, behind a checkpoint (--fix stops before it), only after the content is gone or consciously ' +
          'abandoned: PUT the namespace to its /finalize subresource with empty spec.finalizers (destructive: remaining ' +
          'objects stay in storage and what their finalizers guard is never cleaned up). Patching spec.finalizers ' +
          'directly is silently ignored.',
      ],
      references: [
        'https://github.com/kubernetes/kubernetes/issues/84109',
        'https://github.com/kubernetes/kubernetes/issues/60807',
        'https://github.com/kubernetes/kubernetes/pull/73405',
        'https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/namespace-v1/',
        'https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/',
      ],
    },
  },

  check(ctx) {
    const threshold = thresholdMs(ctx.minAgeMs, DEFAULT_MIN_AGE_MS);
    const scan = new DeletionScan(ctx, ctx.everyType('all'), ctx.optional('crds'), ctx.optional('deployments'));
    const apiServices = ctx.optional('apiservices');
    const services = ctx.optional('services');
    const namespaces = ctx.list('namespaces');
    const webhookConfigurations = [ctx.optional('validatingWebhooks'), ctx.optional('mutatingWebhooks')].flatMap((l) =>
      Array.isArray(l) ? l : [],
    );
    const terminating = namespaces.filter((n) => n.metadata.deletionTimestamp !== undefined);
    // What each terminating namespace holds, found in one pass over the objects (not one per namespace): a cluster
    // with thousands of namespaces stuck behind one APIService is read in linear time.
    const contents = lazyContents(scan, new Set(terminating.map((n) => n.metadata.name ?? '')));
    const blockersOf = discoveryBlockersOf(apiServices, services, namespaces);
    const findings: Finding[] = [];

    for (const ns of terminating) {
      const name = ns.metadata.name ?? '';
      if (ctx.namespace !== undefined && name !== ctx.namespace) continue;
      const ageMs = deletionAgeMs(ns, ctx.now);
      if (ageMs === undefined) continue;
      if (ageMs < threshold) {
        ctx.heldBack(ns, heldBackReason(`Terminating for ${humanDuration(ageMs)}`, threshold));
        continue;
      }

      const failing = CONDITION_TYPES.map((t) => conditionOf(ns, t)).filter((c) => c?.status === 'True');
      const failed = (type: string) => failing.find((c) => c!.type === type);
      const specFinalizers = (field(ns, 'spec', 'finalizers') as string[] | undefined) ?? [];
      const evidence: Record<string, unknown> = {
        phase: field(ns, 'status', 'phase'),
        deletionTimestamp: ns.metadata.deletionTimestamp,
        terminatingFor: ageEvidence(ageMs),
        specFinalizers,
      };
      if ((ns.metadata.finalizers ?? []).length > 0) evidence.metadataFinalizers = ns.metadata.finalizers;
      evidence.conditions = conditionsOf(ns)
        .filter((c) => CONDITION_TYPES.includes(c.type) && c.status === 'True')
        .map((c) => ({ type: c.type, reason: c.reason, message: c.message }));

      // What is still in the namespace, and what holds it.
      const { remaining, held } = contents().get(name) ?? { remaining: [], held: [] };
      const notDeleting = remaining.filter((o) => o.metadata.deletionTimestamp === undefined);
      evidence.remaining = {
        total: remaining.length,
        byType: countByType(remaining),
        heldByFinalizers: held.slice(0, MAX_LISTED).map((s) => scan.describe(s)),
        ...(held.length > MAX_LISTED ? { notListed: held.length - MAX_LISTED } : {}),
        ...(notDeleting.length > 0 ? { notYetDeleted: notDeleting.slice(0, MAX_LISTED).map(objectLabel) } : {}),
      };
      if (scan.gaps.length > 0) {
        evidence.coverageGaps = scan.gaps.slice(0, MAX_LISTED);
        evidence.coverageNote = `${scan.gaps.length} resource type(s) could not be listed: objects of those types in ${name} are not shown`;
      }

      const steps: Step[] = [];
      const causedBy: KubeObject[] = [];
      let severity: Severity = ageMs >= ESCALATE_AFTER_MS ? 'error' : 'warning';
      let cause: string;
      let reason: NamespaceReason;
      const discovery = failed(DISCOVERY);
      if (discovery) {
        reason = 'discovery-failure';
        severity = 'critical';
        const blockers = blockersOf(discovery.message ?? '');
        causedBy.push(...blockers.blocking);
        evidence.discovery = {
          failingGroupVersions: blockers.groupVersions,
          unavailableAPIServices: blockers.apiServices,
          blocksEveryNamespaceDeletion: true,
          // The first MAX_LISTED others: never more than one past them is looked at.
          otherTerminatingNamespaces: terminating
            .slice(0, MAX_LISTED + 1)
            .filter((n) => n !== ns)
            .map((n) => n.metadata.name)
            .slice(0, MAX_LISTED),
        };
        const named =
          Array.isArray(blockers.apiServices) && blockers.apiServices.length > 0
            ? ` (APIService ${blockers.apiServices.map((a) => `${a.name} unavailable: ${a.reason}`).join('; ')})`
            : '';
        cause = `discovery of ${blockers.groupVersions.length > 0 ? blockers.groupVersions.join(', ') : 'some API groups'} fails${named}, which blocks every namespace deletion in the cluster`;
        steps.push(...blockers.steps(ctx.targetOf.bind(ctx)));
      } else if (failed(PARSING)) {
        reason = 'group-version-parsing';
        severity = 'error';
        cause = `its group-versions could not be parsed: ${failed(PARSING)!.message ?? ''}`;
      } else if (failed(CONTENT_FAILURE)) {
        reason = 'content-delete-failed';
        severity = 'error';
        const message = failed(CONTENT_FAILURE)!.message ?? '';
        cause = `deleting its content failed: ${message}`;
        const webhooks = webhooksNamedIn(message, webhookConfigurations);
        if (webhooks.length > 0) {
          evidence.webhooks = webhooks.map((w) => ({
            name: w.name,
            configuration: w.configuration
              ? objectLabel(w.configuration)
              : 'not found (no configuration defines it, or it could not be listed)',
          }));
          causedBy.push(...new Set(webhooks.flatMap((w) => w.configuration ?? [])));
        }
        const named = webhooks.filter((w) => w.configuration);
        steps.push({
          title:
            named.length > 0
              ? `Fix the admission webhook${named.length === 1 ? '' : 's'} the deletes fail on: ${named.map((w) => `${w.name} (${objectLabel(w.configuration!)})`).join(', ')}; its backend is down or it refuses the deletes`
              : 'Find why the deletes fail: usually an admission webhook or a CRD conversion webhook whose backend is down',
          risk: 'safe',
          reversible: true,
          action: {
            type: 'manual',
            instructions:
              named.length > 0
                ? named.map((w) => kubectlGet(ctx.targetOf(w.configuration!), '-o yaml')).join('\n')
                : 'kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations && kubectl get crd -o custom-columns=NAME:.metadata.name,CONVERSION:.spec.conversion.strategy',
          },
        });
      } else if (held.length > 0) {
        reason = 'content-held-by-finalizers';
        cause = `${held.length} object${held.length === 1 ? '' : 's'} remain${held.length === 1 ? 's' : ''}, held by ${scan.countByFinalizer(held)}`;
      } else if (failed(FINALIZERS_REMAINING) || failed(CONTENT_REMAINING)) {
        const c = failed(FINALIZERS_REMAINING) ?? failed(CONTENT_REMAINING)!;
        reason = 'content-remaining';
        cause = `${c.message ?? c.reason ?? c.type}${scan.gaps.length > 0 ? ' (those objects are of types this scan could not list)' : ''}`;
      } else if (remaining.length > 0) {
        reason = 'content-remaining-unexplained';
        cause = `${remaining.length} object${remaining.length === 1 ? '' : 's'} remain${remaining.length === 1 ? 's' : ''} and status.conditions do not say why`;
      } else if (scan.gaps.length > 0) {
        // A type the scan could not list (forbidden, not in a snapshot) may hold the content: unknown, not none.
        reason = 'content-unknown';
        cause = `no content seen, but ${scan.gaps.length} resource type(s) could not be listed, so what remains is unknown (${scan.gaps
          .slice(0, 3)
          .map((g) => g.reason)
          .join('; ')}${scan.gaps.length > 3 ? '; ...' : ''})`;
      } else {
        reason = 'no-content';
        cause = `no content remains and status.conditions do not say why (spec.finalizers: ${specFinalizers.join(', ') || 'none'})`;
      }
      if (held.some((s) => s.owners.some(isOrphaned)) && severity === 'warning') severity = 'error';
      const content = scan.plan(held);
      pushAll(steps, content.steps);

      if (specFinalizers.length > 0) {
        steps.push({
          title: `Checkpoint: the steps above usually let namespace ${name} finish by itself`,
          risk: 'safe',
          reversible: true,
          action: {
            type: 'checkpoint',
            instructions: `give them a few minutes, then run kubectl doctor again; go on only if ${name} is still Terminating and its content is gone or consciously abandoned`,
          },
        });
        const metadata: Record<string, unknown> = { name };
        if (ns.metadata.resourceVersion) metadata.resourceVersion = ns.metadata.resourceVersion;
        steps.push({
          title:
            `Last resort, only after its content is gone or consciously abandoned: force-finalize namespace ${name} (PUT /finalize with empty spec.finalizers)` +
            (remaining.length > 0
              ? `: the ${remaining.length} remaining object(s) stay in storage and what their finalizers guard is never cleaned up`
              : ''),
          risk: 'destructive',
          reversible: false,
          action: {
            type: 'finalize-namespace',
            target: ctx.targetOf(ns),
            body: { apiVersion: 'v1', kind: 'Namespace', metadata, spec: { finalizers: [] } },
          },
        });
      }

      findings.push(
        ctx.finding(ns, {
          reason,
          data: { age: humanDuration(ageMs), cause },
          severity,
          evidence,
          causedBy,
          remediation: {
            summary: discovery
              ? 'Restore (or, if its provider is gone, delete) the unavailable APIService (core/apiservice-unavailable reports it with the same plan); every terminating namespace then finishes by itself.'
              : 'Resolve what holds the remaining content; force-finalize only as the last step.',
            steps,
            ...(content.leftTo ? { leftTo: content.leftTo } : {}),
          },
        }),
      );
    }
    return findings;
  },
});

function countByType(objects: readonly KubeObject[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of objects) counts[o.kind] = (counts[o.kind] ?? 0) + 1;
  return counts;
}

/**
 * The objects in each of `names` (namespaces), in listing order, and those of them held by finalizers, oldest first
 * (DeletionScan.stuck), computed on first use.
 */
function lazyContents(scan: DeletionScan, names: ReadonlySet<string>): () => Map<string, { remaining: KubeObject[]; held: StuckObject[] }> {
  let contents: Map<string, { remaining: KubeObject[]; held: StuckObject[] }> | undefined;
  return () => {
    if (contents) return contents;
    const made = new Map<string, { remaining: KubeObject[]; held: StuckObject[] }>();
    const of = (name: string) => {
      let c = made.get(name);
      if (!c) made.set(name, (c = { remaining: [], held: [] }));
      return c;
    };
    const inNamed = (o: KubeObject) => o.metadata.namespace !== undefined && names.has(o.metadata.namespace);
    for (const l of scan.listed) for (const o of l.items) if (inNamed(o)) of(o.metadata.namespace!).remaining.push(o);
    // One sorted list, split by namespace, keeps each namespace's objects in the order a sort of them alone gives.
    for (const s of scan.stuck(0, inNamed)) of(s.obj.metadata.namespace!).held.push(s);
    contents = made;
    return made;
  };
}

/**
 * discoveryBlockers of a message, with each unavailable APIService's facts (which look its Service and namespace up)
 * found once for all the namespaces stuck behind it.
 */
function discoveryBlockersOf(apiServices: Listed, services: Listed, namespaces: KubeObject[]) {
  const facts = new Map<KubeObject, ApiServiceFacts>();
  const factsOf = (api: KubeObject) => {
    let f = facts.get(api);
    if (!f) facts.set(api, (f = apiServiceFacts(api, services, { namespaces, helmRecords: [] })));
    return f;
  };
  const down = Array.isArray(apiServices) ? apiServices.filter(isUnavailable) : apiServices;
  return (message: string) => discoveryBlockers(message, down, factsOf);
}

/**
 * The group-versions a discovery-failure message names (`metrics.k8s.io/v1beta1: the server is currently unable to
 * handle the request`, `stale GroupVersion discovery: projectcalico.org/v3`) and the unavailable APIServices behind
 * them. When the message names none that match, every unavailable APIService is listed: each one breaks discovery.
 */
function discoveryBlockers(message: string, down: Listed, factsOf: (api: KubeObject) => ApiServiceFacts) {
  const groupVersions = [...new Set([...message.matchAll(/\b([a-z0-9]([a-z0-9.-]*[a-z0-9])?\/v\d+[a-z0-9]*)\b/g)].map((m) => m[1]!))];
  if (!Array.isArray(down)) {
    return {
      groupVersions,
      apiServices: { unavailable: down.unavailable } as const,
      blocking: [] as KubeObject[],
      steps: () => [] as Step[],
    };
  }
  const named = down.filter((a) => groupVersions.includes(groupVersionOf(a)));
  const relevant = (named.length > 0 ? named : down).map((api) => ({ api, facts: factsOf(api) }));
  return {
    groupVersions,
    apiServices: relevant.map(({ facts }) => {
      const { installed: _installed, uninstalled: _uninstalled, since: _since, status: _status, ...e } = facts;
      return e;
    }),
    blocking: relevant.map((r) => r.api),
    steps(targetOf: (obj: KubeObject) => ActionTarget): Step[] {
      return relevant.flatMap(({ api, facts }) => apiServiceSteps(api, facts, targetOf(api)));
    },
  };
}

/**
 * The admission webhooks a NamespaceDeletionContentFailure message names, with the configuration that defines each.
 * The API server words a webhook it could not call `failed calling webhook "<name>": ...` and one that refused
 * `admission webhook "<name>" denied the request: ...` (k8s.io/apiserver pkg/admission/plugin/webhook/errors); the
 * namespace controller joins such errors into its message ("Failed to delete all resource types, 1 remaining: ...",
 * netbirdio/kubernetes-operator#46, open-policy-agent/gatekeeper#3058). The quotes may come escaped.
 */
function webhooksNamedIn(message: string, configurations: KubeObject[]): { name: string; configuration: KubeObject | undefined }[] {
  const names = new Set<string>();
  for (const m of message.matchAll(/(?:failed calling webhook|admission webhook) \\?"([^"\\]+)\\?"/g)) names.add(m[1]!);
  return [...names].map((name) => ({
    name,
    configuration: configurations.find((c) => {
      const webhooks = field(c, 'webhooks');
      return Array.isArray(webhooks) && webhooks.some((w) => field(w, 'name') === name);
    }),
  }));
}
