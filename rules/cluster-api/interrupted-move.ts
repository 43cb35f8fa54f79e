import { deleteAction } from '../../src/plan/builder.ts';
import { defineRule } from '../../src/engine/rule.ts';
import type { Finding } from '../../src/engine/finding.ts';
import { shellQuote } from '../../src/plan/command.ts';
import { field, keyOf, type KubeObject } from '../../src/kube/object.ts';
import { ageEvidence, deletionAgeMs, humanDuration, MINUTE_MS, parseTime, thresholdMs } from '../lib/age.ts';
import { finalizerRemovalStep, inScope, kubectlGet, MAX_LISTED, objectLabel, type Step } from '../core/stuck-objects.ts';
import {
  BLOCK_MOVE,
  CAPI_GROUP,
  CAPI_MIN_AGE_MS,
  clusterNameOf,
  Clusters,
  DELETE_FOR_MOVE,
  hasPausedAnnotation,
  isCluster,
  PAUSED_ANNOTATION,
  CLUSTER_PAUSE_FIELDS,
  pausedSince,
  removeAnnotationStep,
  specPaused,
  unpauseClusterStep,
} from './capi.ts';
import { CLUSTERS } from './dump-redactions.ts';
import { maxOf, compareStrings } from '../../src/util/collections.ts';

/** A Cluster paused for less than this may be a move in progress (clusterctl waits ~2 min for block-move). */
const PAUSE_MIN_AGE_MS = 10 * MINUTE_MS;
const TARGET = '<target-kubeconfig>';
/** What the rule reads of a Cluster besides its metadata: whether and since when it is paused, and its ClusterClass. */
const CLUSTER_FIELDS = [
  ...CLUSTER_PAUSE_FIELDS,
  'spec.topology.class',
  'spec.topology.classNamespace',
  'spec.topology.classRef.name',
  'spec.topology.classRef.namespace',
];

interface Group {
  deletingForMove: { obj: KubeObject; ageMs: number }[];
  /** Marked for deletion by a move but never deleted (clusterctl <= v1.9.4 strips finalizers before deleting). */
  markedNotDeleted: KubeObject[];
  blockMove: KubeObject[];
}

export default defineRule({
  meta: {
    id: 'cluster-api/interrupted-move',
    summary: 'Left by a dead clusterctl move: delete-for-move, paused Clusters, block-move',
    severity: 'error',
    ecosystem: 'cluster-api',
    fixable: 'destructive',
    thresholds: {
      deleting: { ms: CAPI_MIN_AGE_MS, minAge: true, describe: 'an object of a move deleting for less is not reported' },
      paused: { ms: PAUSE_MIN_AGE_MS, minAge: true, describe: 'a Cluster paused (not deleting) for less is not reported' },
    },
    refines: ['cluster-api/paused-deletion', 'core/stuck-deletion'],
    reasons: {
      'delete-phase':
        'clusterctl move was interrupted in its delete phase: {{count}} ({{kinds}}) deleting for up to {{age}} with ' +
        DELETE_FOR_MOVE +
        ' still hold their finalizers{{paused}}',
      'left-by-move': 'Cluster left {{since}} by a clusterctl move: {{parts}}',
      'paused-with-class':
        'Cluster paused for {{age}} together with its ClusterClass {{clusterClass}} (' +
        PAUSED_ANNOTATION +
        '), as an interrupted clusterctl move leaves them; ignore if both pauses are intended',
    },
    reads: {
      // The paused annotation: the ClusterClasses clusterctl paused (and the objects of paused Clusters).
      all: { resource: '*', metadataOnly: true, subset: { annotated: [DELETE_FOR_MOVE, BLOCK_MOVE, PAUSED_ANNOTATION] } },
      clusters: { resource: 'clusters.cluster.x-k8s.io', fields: CLUSTER_FIELDS },
    },
    dumpRedactions: [CLUSTERS],
    explain: {
      detects:
        'The state a clusterctl move leaves in the source cluster when it stops half-way. Error: objects deleting for ' +
        'longer than 5 minutes (--min-age overrides) that still have finalizers and carry the ' +
        'clusterctl.cluster.x-k8s.io/delete-for-move annotation (the move died in its delete phase). Warning, for a ' +
        'Cluster that is not deleting but has been paused (spec.paused: true) for longer than 10 minutes: objects of ' +
        'it that still carry clusterctl.cluster.x-k8s.io/block-move (the next move waits ~2 minutes and fails), ' +
        'objects marked delete-for-move that were never deleted, or its ClusterClass carrying ' +
        'cluster.x-k8s.io/paused (clusterctl pauses both). A Cluster that is merely paused, with none of these ' +
        'marks, is treated as intentional and not reported. The clusterctl.cluster.x-k8s.io/move label only adds ' +
        'an object to a move and is not a sign of one.',
      why:
        'clusterctl move pauses the source Clusters (spec.paused) and ClusterClasses (annotation), waits for every ' +
        'block-move annotation to go, creates everything on the target, then for each source object adds ' +
        'delete-for-move, deletes it and removes its finalizers (v1.10.0 / v1.9.5+, PR #11814; older versions strip ' +
        'the finalizers first, which raced with the Cluster and Machine controllers re-adding them, paused or not, since ' +
        'they add their finalizer before checking for a pause: issues #11809, #11812; reproduced with the v1.14.2 ' +
        'controller), and ' +
        'finally unpauses the target. If it dies after a Delete but before the finalizers are removed, the source ' +
        'objects stay deleting forever: their Cluster is paused, so no controller removes the finalizers.',
      evidence:
        'Metadata-only lists of every type (deletionTimestamp, finalizers, the delete-for-move, block-move and paused ' +
        "annotations; whether delete-for-move is the only annotation left, a fingerprint of clusterctl's JSON patch) " +
        "and the Clusters (spec.paused, the Paused condition's lastTransitionTime, spec.topology's ClusterClass).",
      remediation: [
        'Check that the target management cluster has the objects (clusterctl creates them before deleting the source).',
        "If it does: finish clusterctl's job by removing the finalizers of each source object marked delete-for-move, " +
          'one object at a time, children before the Cluster (destructive: JSON patch testing the resourceVersion ' +
          'and every finalizer), then unpause the Clusters on the target.',
        'If it does not: do not unpause the source; restore the objects on the target first (e.g. from a ' +
          'clusterctl move --to-directory backup).',
        'A stale block-move: clusterctl waits for it before creating anything on the target, so the move got no ' +
          'further: find why the provider has not removed it (its controller must run), and unpause the Cluster to ' +
          'resume reconciliation as before the move (disruptive).',
        'Objects marked delete-for-move but never deleted (clusterctl <= v1.9.4): the move reached its delete phase; ' +
          'check the target, then delete them (destructive); never unpause the source.',
        'A Cluster left paused with its ClusterClass: the scan cannot tell how far the move got, so its unpause sits ' +
          'behind a checkpoint (--fix stops before it).',
      ],
      references: [
        'https://github.com/kubernetes-sigs/cluster-api/issues/11809',
        'https://github.com/kubernetes-sigs/cluster-api/issues/11812',
        'https://github.com/kubernetes-sigs/cluster-api/pull/11814',
        'https://github.com/kubernetes-sigs/cluster-api/pull/8322',
        'https://github.com/kubernetes-sigs/cluster-api/pull/8690',
        'https://github.com/kubernetes-sigs/cluster-api/issues/7407',
        'https://cluster-api.sigs.k8s.io/clusterctl/commands/move',
      ],
    },
  },

  check(ctx) {
    const clusters = new Clusters(ctx.list('clusters'));
    const { listed } = ctx.everyType('all');
    const deleteThreshold = thresholdMs(ctx.minAgeMs, CAPI_MIN_AGE_MS);
    const pauseThreshold = thresholdMs(ctx.minAgeMs, PAUSE_MIN_AGE_MS);

    const groups = new Map<string, Group>();
    const classes = new Map<string, KubeObject>();
    for (const { type, items } of listed) {
      for (const obj of items) {
        if (type.group === CAPI_GROUP && type.kind === 'ClusterClass')
          classes.set(keyOf({ namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' }), obj);
        const annotations = obj.metadata.annotations;
        if (!annotations || !inScope(obj, ctx.namespace)) continue;
        const forMove = annotations[DELETE_FOR_MOVE] !== undefined;
        const blocks = annotations[BLOCK_MOVE] !== undefined;
        if (!forMove && !blocks) continue;
        const key = clusters.keyOf(obj) ?? `object:${objectLabel(obj)}`;
        const group = groups.get(key) ?? { deletingForMove: [], markedNotDeleted: [], blockMove: [] };
        groups.set(key, group);
        if (blocks) group.blockMove.push(obj);
        if (!forMove) continue;
        const ageMs = deletionAgeMs(obj, ctx.now);
        if (ageMs === undefined) group.markedNotDeleted.push(obj);
        else if (ageMs >= deleteThreshold && (obj.metadata.finalizers ?? []).length > 0) group.deletingForMove.push({ obj, ageMs });
      }
    }

    const findings: Finding[] = [];
    const reported = new Set<KubeObject>();
    const pausedForMs = (cluster: KubeObject) => {
      const since = parseTime(pausedSince(cluster));
      return since === undefined ? undefined : ctx.now.getTime() - since;
    };
    const leftPaused = (cluster: KubeObject | undefined): cluster is KubeObject => {
      if (!cluster || !specPaused(cluster) || cluster.metadata.deletionTimestamp !== undefined) return false;
      const ms = pausedForMs(cluster);
      return ms === undefined || ms >= pauseThreshold;
    };

    for (const [key, group] of groups) {
      const cluster = clusters.get(key);
      if (group.deletingForMove.length > 0) {
        findings.push(interruptedDelete(cluster, group));
        if (cluster) reported.add(cluster);
      } else if (leftPaused(cluster) && (group.blockMove.length > 0 || group.markedNotDeleted.length > 0)) {
        findings.push(leftBehind(cluster, group));
        reported.add(cluster);
      }
    }
    // A paused Cluster whose ClusterClass clusterctl also paused, with nothing else left behind.
    for (const cluster of clusters.all()) {
      if (reported.has(cluster) || !inScope(cluster, ctx.namespace) || !leftPaused(cluster)) continue;
      const ms = pausedForMs(cluster);
      const cls = classes.get(classKeyOf(cluster) ?? '');
      if (ms !== undefined && cls && hasPausedAnnotation(cls)) findings.push(pausedWithClass(cluster, cls, ms));
    }
    return findings;

    function clusterEvidence(cluster: KubeObject): Record<string, unknown> {
      return {
        name: keyOf({ namespace: cluster.metadata.namespace, name: cluster.metadata.name ?? '' }),
        specPaused: specPaused(cluster),
        pausedSince: pausedSince(cluster) ?? 'unknown (no Paused condition)',
        deleting: cluster.metadata.deletionTimestamp !== undefined,
      };
    }

    function interruptedDelete(cluster: KubeObject | undefined, group: Group): Finding {
      const objects = childrenFirst(group.deletingForMove.map((d) => d.obj));
      const ageOf = new Map(group.deletingForMove.map((d) => [d.obj, d.ageMs]));
      const subject = cluster ?? objects[objects.length - 1]!;
      const oldest = maxOf(group.deletingForMove.map((d) => d.ageMs));
      const evidence: Record<string, unknown> = {};
      if (cluster) evidence.cluster = clusterEvidence(cluster);
      evidence.deletingForMove = objects.slice(0, MAX_LISTED).map((obj) => ({
        object: objectLabel(obj),
        apiVersion: obj.apiVersion,
        deletionTimestamp: obj.metadata.deletionTimestamp,
        deletingFor: ageEvidence(ageOf.get(obj)!),
        finalizers: obj.metadata.finalizers,
        // clusterctl's JSON patch `add /metadata/annotations` replaces the whole map: a strong fingerprint.
        onlyAnnotation: Object.keys(obj.metadata.annotations ?? {}).length === 1,
      }));
      if (objects.length > MAX_LISTED) evidence.notListed = objects.length - MAX_LISTED;
      if (group.markedNotDeleted.length > 0)
        evidence.markedForMoveNotDeleted = group.markedNotDeleted.slice(0, MAX_LISTED).map(objectLabel);
      if (group.blockMove.length > 0) evidence.blockMove = group.blockMove.slice(0, MAX_LISTED).map(objectLabel);

      const ns = subject.metadata.namespace ?? '';
      const clusterName = cluster?.metadata.name ?? clusterNameOf(subject);
      const kinds = [...new Set(objects.map((o) => o.kind))];
      const steps: Step[] = [
        {
          title: `Check that the target management cluster has ${clusterName ? `Cluster ${ns}/${clusterName} and its objects` : 'these objects'} (clusterctl move creates everything there before deleting the source)`,
          risk: 'safe',
          reversible: true,
          action: {
            type: 'manual',
            instructions: clusterName
              ? `kubectl --kubeconfig ${TARGET} -n ${shellQuote(ns)} get ${shellQuote(`clusters.cluster.x-k8s.io/${clusterName}`)} && kubectl --kubeconfig ${TARGET} -n ${shellQuote(ns)} get machines.cluster.x-k8s.io -l ${shellQuote(`cluster.x-k8s.io/cluster-name=${clusterName}`)}`
              : objects
                  .slice(0, 5)
                  .map((o) => kubectlGet(ctx.targetOf(o), '', `kubectl --kubeconfig ${TARGET}`))
                  .join(' && '),
          },
        },
        {
          title:
            'If the target does not have them, stop: restore them on the target first (e.g. clusterctl move --from-directory with a --to-directory backup); never unpause the source, whose controllers would delete the infrastructure',
          risk: 'safe',
          reversible: true,
          action: { type: 'manual', instructions: `clusterctl move --from-directory <backup-dir> --kubeconfig ${TARGET}` },
        },
      ];
      for (const obj of objects.slice(0, MAX_LISTED)) {
        const finalizers = obj.metadata.finalizers ?? [];
        const step = finalizerRemovalStep(
          ctx.targetOf(obj),
          obj,
          finalizers,
          `Once the target has it, finish clusterctl's delete phase for ${objectLabel(obj)}: remove its finalizer${finalizers.length > 1 ? 's' : ''} ${finalizers.join(', ')}, as clusterctl itself does (the source must not clean up infrastructure the target now manages)`,
        );
        if (step) steps.push(step);
      }
      if (clusterName) {
        steps.push({
          title: `Unpause Cluster ${ns}/${clusterName} on the target, the last step of a move`,
          risk: 'safe',
          reversible: true,
          action: {
            type: 'manual',
            instructions: `kubectl --kubeconfig ${TARGET} -n ${shellQuote(ns)} patch clusters.cluster.x-k8s.io ${shellQuote(clusterName)} --type merge -p '{"spec":{"paused":false}}'`,
          },
        });
      }
      const paused = cluster && specPaused(cluster);
      return ctx.finding(subject, {
        reason: 'delete-phase',
        data: {
          count: `${objects.length} object${objects.length === 1 ? '' : 's'}`,
          kinds: kinds.join(', '),
          age: humanDuration(oldest),
          paused: paused ? ', and the Cluster is paused, so no controller will remove them' : '',
        },
        severity: 'error',
        evidence,
        remediation: {
          summary:
            "Verify the target has the objects, then finish the move: remove the source objects' finalizers one object at a time, children first.",
          steps,
        },
      });
    }

    function leftBehind(cluster: KubeObject, group: Group): Finding {
      const ms = pausedForMs(cluster);
      const since = ms === undefined ? 'paused (since an unknown time)' : `paused for ${humanDuration(ms)}`;
      const parts: string[] = [];
      if (group.blockMove.length > 0)
        parts.push(
          `${group.blockMove.length === 1 ? '1 object still carries' : `${group.blockMove.length} objects still carry`} ${BLOCK_MOVE}, so the next move waits ~2 minutes and fails`,
        );
      if (group.markedNotDeleted.length > 0)
        parts.push(
          `${group.markedNotDeleted.length} object${group.markedNotDeleted.length === 1 ? ' was' : 's were'} marked ${DELETE_FOR_MOVE} but never deleted`,
        );
      const evidence: Record<string, unknown> = { cluster: clusterEvidence(cluster) };
      if (group.blockMove.length > 0) evidence.blockMove = group.blockMove.slice(0, MAX_LISTED).map(objectLabel);
      if (group.markedNotDeleted.length > 0)
        evidence.markedForMoveNotDeleted = group.markedNotDeleted.slice(0, MAX_LISTED).map(objectLabel);

      const name = keyOf({ namespace: cluster.metadata.namespace, name: cluster.metadata.name ?? '' });
      const steps: Step[] = [];
      let summary: string;
      if (group.markedNotDeleted.length > 0) {
        // The move reached its delete phase, so the target has the objects: the source must never be unpaused.
        summary = 'The move got as far as deleting: check the target, then delete what it did not get to. Never unpause this Cluster here.';
        steps.push({
          title: `Check that the target management cluster has ${group.markedNotDeleted.slice(0, 3).map(objectLabel).join(', ')}${group.markedNotDeleted.length > 3 ? ' and the others' : ''} (the move created them before it started deleting here); never unpause ${name} here: two management clusters would fight over the same infrastructure`,
          risk: 'safe',
          reversible: true,
          action: {
            type: 'manual',
            instructions: group.markedNotDeleted
              .slice(0, 5)
              .map((o) => kubectlGet(ctx.targetOf(o), '', `kubectl --kubeconfig ${TARGET}`))
              .join(' && '),
          },
        });
        for (const obj of group.markedNotDeleted.slice(0, MAX_LISTED)) {
          if (!obj.metadata.uid || !obj.metadata.resourceVersion) continue;
          steps.push({
            title:
              `Once the target has it, finish clusterctl's delete for ${objectLabel(obj)}` +
              ((obj.metadata.finalizers ?? []).length > 0
                ? ' (it still has finalizers: it will then show up as stuck deleting with delete-for-move)'
                : ''),
            risk: 'destructive',
            reversible: true,
            action: deleteAction(ctx.targetOf(obj)),
          });
        }
      } else {
        // clusterctl waits for block-move before it creates anything on the target: the move never got further, so
        // unpausing restores the state before it.
        summary =
          'The move failed while waiting for block-move, before creating anything on the target: unpause the Cluster to resume normal reconciliation, and fix the provider before moving again.';
        steps.push({
          title: `Find why the provider has not removed ${BLOCK_MOVE} from ${group.blockMove.slice(0, 3).map(objectLabel).join(', ')}: it removes it once it has paused its own resources, so its controller must run (if the provider is gone, remove the annotation by hand before moving again)`,
          risk: 'safe',
          reversible: true,
          action: {
            type: 'manual',
            instructions: group.blockMove
              .slice(0, 5)
              .map((o) => kubectlGet(ctx.targetOf(o), '-o yaml'))
              .join(' && '),
          },
        });
        const unpause = unpauseClusterStep(
          ctx.targetOf(cluster),
          cluster,
          `Unpause Cluster ${name} (spec.paused: false): the move never created it on the target, so reconciliation resumes here as before the move`,
        );
        if (unpause) steps.push(unpause);
      }
      return ctx.finding(cluster, {
        reason: 'left-by-move',
        data: { since, parts: parts.join('; ') },
        severity: 'warning',
        evidence,
        remediation: { summary, steps },
      });
    }

    function pausedWithClass(cluster: KubeObject, cls: KubeObject, ms: number): Finding {
      const name = keyOf({ namespace: cluster.metadata.namespace, name: cluster.metadata.name ?? '' });
      const className = keyOf({ namespace: cls.metadata.namespace, name: cls.metadata.name ?? '' });
      const steps: Step[] = [
        {
          title: `Check whether a clusterctl move of ${name} was meant to run, and whether the target management cluster now manages it`,
          risk: 'safe',
          reversible: true,
          action: {
            type: 'manual',
            instructions: `kubectl --kubeconfig ${TARGET} -n ${shellQuote(cluster.metadata.namespace ?? '')} get ${shellQuote(`clusters.cluster.x-k8s.io/${cluster.metadata.name ?? ''}`)}`,
          },
        },
        {
          title: 'Checkpoint: the scan cannot tell how far the move got, nor whether the pause is intended',
          risk: 'safe',
          reversible: true,
          action: {
            type: 'checkpoint',
            instructions: `go on only if the move was abandoned and the target does not manage ${name}; otherwise finish the move, or leave the pause`,
          },
        },
      ];
      const unpause = unpauseClusterStep(ctx.targetOf(cluster), cluster, `Unpause Cluster ${name} (spec.paused: false)`);
      if (unpause) steps.push(unpause);
      const unpauseClass = removeAnnotationStep(
        ctx.targetOf(cls),
        cls,
        PAUSED_ANNOTATION,
        `Remove ${PAUSED_ANNOTATION} from ClusterClass ${className}`,
      );
      if (unpauseClass) steps.push(unpauseClass);
      return ctx.finding(cluster, {
        reason: 'paused-with-class',
        data: { age: humanDuration(ms), clusterClass: className },
        severity: 'warning',
        evidence: { cluster: clusterEvidence(cluster), clusterClass: { name: className, pausedAnnotation: true } },
        remediation: { summary: 'Finish or abandon the move; unpause only when the target does not manage this Cluster.', steps },
      });
    }
  },
});

/** `namespace/name` of the ClusterClass a Cluster's topology uses (v1beta1 `class`, v1beta2 `classRef`). */
function classKeyOf(cluster: KubeObject): string | undefined {
  const topology = field(cluster, 'spec', 'topology');
  const name = field(topology, 'classRef', 'name') ?? field(topology, 'class');
  if (typeof name !== 'string' || name === '') return undefined;
  const ns = field(topology, 'classRef', 'namespace') ?? field(topology, 'classNamespace');
  return keyOf({ namespace: typeof ns === 'string' && ns !== '' ? ns : cluster.metadata.namespace, name });
}

/**
 * Orders objects as clusterctl deletes them: dependents before their owners (deepest ownerReference chain within the
 * set first), the Cluster last.
 */
function childrenFirst(objects: KubeObject[]): KubeObject[] {
  const byUid = new Map(objects.filter((o) => o.metadata.uid).map((o) => [o.metadata.uid!, o]));
  const ownersOf = (obj: KubeObject) =>
    (obj.metadata.ownerReferences ?? []).map((r) => byUid.get(r.uid)).filter((o): o is KubeObject => o !== undefined);
  const depth = new Map<KubeObject, number>();
  // The longest ownerReference chain above an object within the set; an owner already on the chain being followed (a
  // cycle) counts as 0. Walked with an explicit stack, not recursion: cluster data can chain thousands of objects.
  const depthOf = (start: KubeObject): number => {
    const known = depth.get(start);
    if (known !== undefined) return known;
    const onChain = new Set([start]);
    const chain = [{ obj: start, owners: ownersOf(start), next: 0, deepestOwner: 0 }];
    for (;;) {
      const frame = chain[chain.length - 1]!;
      const owner = frame.owners[frame.next++];
      if (owner) {
        const ownerDepth = depth.get(owner) ?? (onChain.has(owner) ? 0 : undefined);
        if (ownerDepth !== undefined) frame.deepestOwner = Math.max(frame.deepestOwner, ownerDepth);
        else {
          onChain.add(owner);
          chain.push({ obj: owner, owners: ownersOf(owner), next: 0, deepestOwner: 0 });
        }
        continue;
      }
      const d = frame.owners.length === 0 ? 0 : 1 + frame.deepestOwner;
      depth.set(frame.obj, d);
      chain.pop();
      const dependent = chain[chain.length - 1];
      if (!dependent) return d;
      dependent.deepestOwner = Math.max(dependent.deepestOwner, d);
    }
  };
  const rank = (o: KubeObject) => (isCluster(o) ? -1 : depthOf(o));
  return [...objects].sort((a, b) => rank(b) - rank(a) || compareStrings(objectLabel(a), objectLabel(b)));
}
