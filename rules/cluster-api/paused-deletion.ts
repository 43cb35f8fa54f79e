import { defineRule } from '../../src/engine/rule.ts';
import type { Finding } from '../../src/engine/finding.ts';
import { shellQuote } from '../../src/plan/command.ts';
import { keyOf, type KubeObject } from '../../src/kube/object.ts';
import { ageEvidence, humanDuration, thresholdMs } from '../lib/age.ts';
import { deletingObjects, MAX_LISTED, objectLabel, type Step } from '../core/stuck-objects.ts';
import { maxOf, pushTo } from '../../src/util/collections.ts';
import {
  CAPI_MIN_AGE_MS,
  Clusters,
  DELETE_FOR_MOVE,
  hasPausedAnnotation,
  isCapiObject,
  isCluster,
  PAUSED_ANNOTATION,
  CLUSTER_PAUSE_FIELDS,
  pausedSince,
  pauseReasons,
  removeAnnotationStep,
  specPaused,
  unpauseClusterStep,
} from './capi.ts';
import { CLUSTERS } from './dump-redactions.ts';

interface Paused {
  obj: KubeObject;
  ageMs: number;
  reasons: string[];
}

export default defineRule({
  meta: {
    id: 'cluster-api/paused-deletion',
    summary: 'Cluster API objects deleting while paused: their finalizers are never removed',
    severity: 'error',
    ecosystem: 'cluster-api',
    fixable: 'disruptive',
    thresholds: {
      deleting: { ms: CAPI_MIN_AGE_MS, minAge: true, describe: 'a Cluster API object deleting for less is not reported' },
    },
    refines: ['core/stuck-deletion'],
    reasons: {
      'deleting-while-paused':
        '{{what}} while paused ({{pausedBy}}): Cluster API controllers return before their deletion branch, so the finalizers are never removed',
      'deleting-for-move':
        '{{what}} while paused ({{pausedBy}}): Cluster API controllers return before their deletion branch, so the finalizers are never removed; {{forMove}} carry ' +
        DELETE_FOR_MOVE +
        ', an interrupted clusterctl move',
    },
    reads: {
      all: { resource: '*', metadataOnly: true, subset: { deleting: true } },
      clusters: { resource: 'clusters.cluster.x-k8s.io', fields: CLUSTER_PAUSE_FIELDS },
    },
    dumpRedactions: [CLUSTERS],
    explain: {
      detects:
        'Objects of Cluster API and its providers (groups cluster.x-k8s.io and *.cluster.x-k8s.io, or carrying the ' +
        'cluster.x-k8s.io/cluster-name label) that have a deletionTimestamp and finalizers for longer than 5 minutes ' +
        '(--min-age overrides) while their Cluster has spec.paused: true or the object itself carries the ' +
        'cluster.x-k8s.io/paused annotation. Objects of one Cluster are reported together on that Cluster. A paused ' +
        'Cluster that is not deleting anything is intentional and never reported.',
      why:
        'Every Cluster API reconciler calls paused.EnsurePausedCondition and returns when the Cluster is paused or ' +
        'the object has the paused annotation, before it reaches its `if !DeletionTimestamp.IsZero() { reconcileDelete }` ' +
        'branch (cluster-api internal/controllers/{cluster,machine}/ up to v1.11, core/reconcilers/{cluster,machine}/ ' +
        'by v1.14; providers do the same: cluster-api-provider-aws#4584). The v1.14.2 controller, run against a ' +
        'paused deleting Cluster, reconciles it every sync period and leaves it so, finalizer kept and Paused True. So ' +
        'nothing removes the finalizers of a paused object, and it stays ' +
        'deleting forever. An interrupted clusterctl move leaves exactly this state: source Clusters paused and ' +
        'objects deleting with clusterctl.cluster.x-k8s.io/delete-for-move (see cluster-api/interrupted-move).',
      evidence:
        'Metadata-only lists of every type (deletionTimestamp, finalizers, the paused and delete-for-move ' +
        'annotations, the cluster-name label and ownerReferences to find the Cluster) and the Clusters themselves ' +
        "(spec.paused, the Paused condition's lastTransitionTime: when it was paused).",
      remediation: [
        'If the objects carry clusterctl.cluster.x-k8s.io/delete-for-move, a move was interrupted: follow ' +
          'cluster-api/interrupted-move and do not unpause (the source controllers would delete infrastructure the ' +
          'target cluster now manages).',
        'Otherwise, when the deletion is really intended: unpause the Cluster (spec.paused: false) and remove the ' +
          'paused annotation from the objects (disruptive: the controllers then run their deletion and DELETE the ' +
          'infrastructure — machines, load balancers, disks — behind these objects). The failure is over when they ' +
          'have finished: --fix waits for the objects to be gone (up to --timeout) and reports the finding pending, ' +
          'not fixed, while they are still there.',
        'If the pause is intended (maintenance, a move about to run), leave it: the deletion finishes after the unpause.',
      ],
      references: [
        'https://github.com/kubernetes-sigs/cluster-api/issues/11809',
        'https://github.com/kubernetes-sigs/cluster-api/issues/11812',
        'https://github.com/kubernetes-sigs/cluster-api/pull/11814',
        'https://github.com/kubernetes-sigs/cluster-api-provider-aws/issues/4584',
        'https://cluster-api.sigs.k8s.io/clusterctl/commands/move',
      ],
    },
  },

  check(ctx) {
    const clusters = new Clusters(ctx.list('clusters'));
    const deleting = deletingObjects(ctx.everyType('all').listed, ctx, thresholdMs(ctx.minAgeMs, CAPI_MIN_AGE_MS), isCapiObject);
    const byCluster = new Map<string, Paused[]>();
    const alone: Paused[] = [];
    for (const { obj, ageMs } of deleting) {
      const cluster = clusters.of(obj);
      const reasons = pauseReasons(obj, cluster);
      if (reasons.length === 0) continue;
      if (cluster) pushTo(byCluster, clusters.keyOf(obj)!, { obj, ageMs, reasons });
      else alone.push({ obj, ageMs, reasons });
    }

    const findings: Finding[] = [];
    for (const [key, paused] of byCluster) findings.push(report(clusters.get(key)!, paused));
    for (const p of alone) findings.push(report(undefined, [p]));
    return findings;

    function report(cluster: KubeObject | undefined, paused: Paused[]): Finding {
      const subject = cluster ?? paused[0]!.obj;
      // Every object of a group belongs to `cluster`, so a Cluster among them is that Cluster.
      const clusterDeleting = paused.find((p) => isCluster(p.obj));
      const oldest = maxOf(paused.map((p) => p.ageMs));
      const forMove = paused.filter((p) => p.obj.metadata.annotations?.[DELETE_FOR_MOVE] !== undefined);
      const pausedBy = [...new Set(paused.flatMap((p) => p.reasons))];

      const evidence: Record<string, unknown> = {};
      if (cluster) {
        evidence.cluster = {
          name: keyOf({ namespace: cluster.metadata.namespace, name: cluster.metadata.name ?? '' }),
          specPaused: specPaused(cluster),
          pausedAnnotation: hasPausedAnnotation(cluster),
          pausedSince: pausedSince(cluster) ?? 'unknown (no Paused condition)',
          deleting: cluster.metadata.deletionTimestamp !== undefined,
        };
      }
      evidence.deletingObjects = paused.length;
      evidence.objects = paused.slice(0, MAX_LISTED).map((p) => ({
        object: objectLabel(p.obj),
        apiVersion: p.obj.apiVersion,
        deletionTimestamp: p.obj.metadata.deletionTimestamp,
        deletingFor: ageEvidence(p.ageMs),
        finalizers: p.obj.metadata.finalizers,
        pausedBy: p.reasons,
        ...(p.obj.metadata.annotations?.[DELETE_FOR_MOVE] !== undefined ? { deleteForMove: true } : {}),
      }));
      if (paused.length > MAX_LISTED) evidence.notListed = paused.length - MAX_LISTED;

      const what = clusterDeleting
        ? `Cluster deleting for ${humanDuration(clusterDeleting.ageMs)}${paused.length > 1 ? ` with ${paused.length - 1} of its objects` : ''}`
        : paused.length === 1
          ? `${objectLabel(paused[0]!.obj)} deleting for ${humanDuration(oldest)}`
          : `${paused.length} of its objects deleting (oldest ${humanDuration(oldest)})`;

      const steps: Step[] = [];
      if (forMove.length > 0) {
        steps.push({
          title: `Do not unpause: ${forMove.length} object(s) carry ${DELETE_FOR_MOVE}, so a clusterctl move was interrupted in its delete phase and the target cluster may already manage this infrastructure; follow cluster-api/interrupted-move`,
          risk: 'safe',
          reversible: true,
          action: {
            type: 'manual',
            instructions: `kubectl doctor --rules cluster-api/interrupted-move${subject.metadata.namespace ? ` -n ${shellQuote(subject.metadata.namespace)}` : ''}`,
          },
        });
      } else {
        const infra =
          'its controllers then run the deletion and DELETE the infrastructure (machines, load balancers, disks) behind the deleting objects';
        if (cluster && specPaused(cluster)) {
          const step = unpauseClusterStep(
            ctx.targetOf(cluster),
            cluster,
            `Only if the deletion is intended: unpause Cluster ${keyOf({ namespace: cluster.metadata.namespace, name: cluster.metadata.name ?? '' })} (spec.paused: false); ${infra}${clusterDeleting ? '' : ', and normal reconciliation of the whole Cluster resumes'}`,
          );
          if (step) steps.push(step);
        }
        for (const p of paused) {
          const step = removeAnnotationStep(
            ctx.targetOf(p.obj),
            p.obj,
            PAUSED_ANNOTATION,
            `Only if the deletion is intended: remove ${PAUSED_ANNOTATION} from ${objectLabel(p.obj)}; ${infra}`,
          );
          if (step) steps.push(step);
        }
      }
      // Unpausing only lets the controllers start: the failure is over when they have finished the deletion, which
      // for real infrastructure takes minutes. The finding goes at once (nothing is paused any more), so the plan
      // says what done is.
      const unpauses = forMove.length === 0 && steps.length > 0;
      return ctx.finding(subject, {
        reason: forMove.length > 0 ? 'deleting-for-move' : 'deleting-while-paused',
        data: { what, pausedBy: pausedBy.join('; '), forMove: forMove.length },
        severity: 'error',
        evidence,
        remediation: {
          summary:
            forMove.length > 0
              ? 'An interrupted clusterctl move: finish it (cluster-api/interrupted-move) instead of unpausing.'
              : 'Unpause only if the deletion is intended: the controllers then delete the infrastructure. If the pause is intended, the deletion resumes after it.',
          steps,
          ...(unpauses
            ? {
                leftTo:
                  'the Cluster API controllers: they delete the infrastructure behind the deleting objects, then remove their finalizers',
                awaitsDeletion: paused.slice(0, MAX_LISTED).map((p) => ctx.targetOf(p.obj)),
              }
            : {}),
        },
      });
    }
  },
});
